"""Atomic systems as graphs for the network: positions, species, cells, the largest-cutoff edge
list with periodic shifts, and batching of systems of different sizes (the leaves and edges of the
composition scheme, paper §3; docs/theory.md, "Paper → code").

The per-level edge lists of the composition scheme are selected from the largest-cutoff list by
distance when the network is evaluated (:mod:`nbody_lmp.nn.properties`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .neighbors import neighbor_list

MIN_DISTANCE = (
    0.1  # Angstrom: closer atoms overlap (the same limit as pair_style nbody, nbody_checks.h)
)


@dataclass
class AtomicGraph:
    positions: torch.Tensor  # [N, 3] float64
    species: torch.Tensor  # [N] int64, model species index
    cell: torch.Tensor  # [B, 3, 3] float64 (rows = lattice vectors)
    pbc: torch.Tensor  # [B, 3] bool
    edge_index: torch.Tensor  # [2, E] int64: (center i, neighbour j)
    shifts: torch.Tensor  # [E, 3] float64 integer cell shifts
    batch: torch.Tensor  # [N] int64 system of each atom
    n_atoms: torch.Tensor  # [B] int64
    targets: Dict[str, torch.Tensor] = field(
        default_factory=dict
    )  # energy [B], forces [N,3], stress [B,3,3]

    @property
    def num_systems(self) -> int:
        return int(self.n_atoms.shape[0])

    def to(self, device=None, dtype: Optional[torch.dtype] = None) -> "AtomicGraph":
        def mv(t: torch.Tensor) -> torch.Tensor:
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            return t.to(device) if device is not None else t

        kw = {f.name: mv(getattr(self, f.name)) for f in fields(self) if f.name != "targets"}
        return replace(self, **kw, targets={k: mv(v) for k, v in self.targets.items()})

    def edge_vectors(self) -> torch.Tensor:
        """``r_j - r_i + S @ cell`` for every edge, ``[E, 3]``."""
        i, j = self.edge_index
        cell = self.cell[self.batch[i]]
        return self.positions[j] - self.positions[i] + torch.einsum("ea,eab->eb", self.shifts, cell)


def species_indices(symbols: Sequence[str], species: Sequence[str], where: str = "") -> np.ndarray:
    lookup = {s: k for k, s in enumerate(species)}
    missing = sorted(set(symbols) - set(lookup))
    if missing:
        raise ValueError(
            f"{where}species {missing} not in the model's species {list(species)}: "
            "train a model that includes them, or remove those atoms"
        )
    return np.array([lookup[s] for s in symbols], dtype=np.int64)


def atoms_to_graph(
    atoms,
    species: Sequence[str],
    cutoff: float,
    targets: Optional[Dict[str, np.ndarray]] = None,
    where: str = "",
) -> AtomicGraph:
    """One ``ase.Atoms`` -> :class:`AtomicGraph` with all neighbours within ``cutoff``."""
    n = len(atoms)
    if n == 0:
        raise ValueError(f"{where}the structure has no atoms")
    spec = species_indices(atoms.get_chemical_symbols(), species, where)
    pos = np.asarray(atoms.get_positions(), dtype=np.float64)
    if not np.isfinite(pos).all():
        bad = np.flatnonzero(~np.isfinite(pos).all(axis=1))
        raise ValueError(
            f"{where}positions of atoms {bad[:5].tolist()}{' ...' if len(bad) > 5 else ''} are NaN "
            "or infinite: the structure is broken (a blown-up MD run?); fix the coordinates"
        )
    cell = np.asarray(atoms.get_cell(), dtype=np.float64)
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    i, j, S = neighbor_list(pos, cell, pbc, max(cutoff, MIN_DISTANCE))
    if len(i):
        d = np.linalg.norm(pos[j] - pos[i] + S @ cell, axis=1)
        if d.min() < MIN_DISTANCE:
            k = int(np.argmin(d))
            raise ValueError(
                f"{where}atoms {i[k]} and {j[k]} are {d[k]:.3g} A apart (< {MIN_DISTANCE} A): "
                "remove the overlapping atom or fix the coordinates"
            )
    return AtomicGraph(
        positions=torch.from_numpy(pos),
        species=torch.from_numpy(spec),
        cell=torch.from_numpy(cell).unsqueeze(0),
        pbc=torch.from_numpy(pbc).unsqueeze(0),
        edge_index=torch.from_numpy(np.stack([i, j])),
        shifts=torch.from_numpy(S.astype(np.float64)),
        batch=torch.zeros(n, dtype=torch.long),
        n_atoms=torch.tensor([n]),
        targets=_target_tensors(targets or {}, n, where),
    )


def _target_tensors(targets: Dict[str, np.ndarray], n: int, where: str) -> Dict[str, torch.Tensor]:
    """Canonical shapes: energy [1], forces [N, 3], stress [1, 3, 3] (Voigt 6-vectors accepted)."""
    out: Dict[str, torch.Tensor] = {}
    for key, value in targets.items():
        v = np.asarray(value, dtype=np.float64)
        if key == "energy":
            v = v.reshape(1)
        elif key == "forces":
            if v.shape != (n, 3):
                raise ValueError(f"{where}forces have shape {v.shape}, expected ({n}, 3)")
        elif key == "stress":
            if v.shape == (6,):
                xx, yy, zz, yz, xz, xy = v
                v = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
            if v.shape != (3, 3):
                raise ValueError(
                    f"{where}stress has shape {v.shape}, expected (3, 3) or Voigt (6,)"
                )
            v = v.reshape(1, 3, 3)
        out[key] = torch.from_numpy(np.ascontiguousarray(v))
    return out


def collate(graphs: List[AtomicGraph]) -> AtomicGraph:
    """Disjoint union of graphs (node indices offset; targets concatenated when all have them)."""
    if not graphs:
        raise ValueError("cannot batch an empty list of structures")
    offsets = np.cumsum([0] + [int(g.positions.shape[0]) for g in graphs[:-1]])
    sys_off = np.cumsum([0] + [g.num_systems for g in graphs[:-1]])
    keys = set.intersection(*(set(g.targets) for g in graphs))
    return AtomicGraph(
        positions=torch.cat([g.positions for g in graphs]),
        species=torch.cat([g.species for g in graphs]),
        cell=torch.cat([g.cell for g in graphs]),
        pbc=torch.cat([g.pbc for g in graphs]),
        edge_index=torch.cat([g.edge_index + int(o) for g, o in zip(graphs, offsets)], dim=1),
        shifts=torch.cat([g.shifts for g in graphs]),
        batch=torch.cat([g.batch + int(o) for g, o in zip(graphs, sys_off)]),
        n_atoms=torch.cat([g.n_atoms for g in graphs]),
        targets={k: torch.cat([g.targets[k] for g in graphs]) for k in sorted(keys)},
    )
