"""Dataset statistics for the model's energy scale and shift: per-species reference energies E0
by least squares, scale and shift (docs/data.md, "Split, statistics, graphs, cache").

* ``E0`` (eV per atom of each species): least squares on the training set,
  ``min sum_c (E_c - sum_s n_cs E0_s)^2`` with ``n_cs`` the number of atoms of species ``s`` in
  configuration ``c``; or given (e.g. isolated-atom energies, :func:`e0_from_isolated_atoms`).
  When all training configurations have proportional compositions (one molecule, one element)
  the fit is underdetermined: NumPy's minimum-norm solution is used (any solution leaves the
  same residuals) and a warning suggests giving E0.
* per-atom energy after E0, ``e_c = (E_c - sum_s n_cs E0_s) / N_c``: its mean (``shift``), standard
  deviation and RMS;
* force RMS over all components, ``sqrt(mean(F_ia^2))`` (the usual ``scale``);
* the average number of neighbours within a cutoff (periodic images included, the atom itself
  excluded), from :func:`nbody_lmp.data.neighbors.neighbor_list`: total directed pairs / total
  atoms.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .io import Configuration

__all__ = [
    "composition_matrix",
    "fit_e0",
    "e0_from_isolated_atoms",
    "per_atom_energies",
    "force_rms",
    "average_num_neighbors",
    "neighbor_pairs",
    "count_pairs",
    "DatasetStatistics",
    "compute_statistics",
    "shortest_distances",
    "fit_e0_from_counts",
    "per_atom_energies_from_counts",
    "rms_from_sums",
    "statistics_from_summaries",
    "pair_minima",
    "shortest_from_minima",
]


def _symbols(conf) -> list[str]:
    if isinstance(conf, Configuration):
        return conf.symbols
    return list(conf.get_chemical_symbols())  # ase.Atoms


def _energy(conf) -> float | None:
    if isinstance(conf, Configuration):
        return conf.energy
    try:
        return float(conf.get_potential_energy())
    except Exception:
        return None


def composition_matrix(configs: Sequence, species: Sequence[str]) -> np.ndarray:
    """``[n_configs, n_species]`` atom counts; an element outside ``species`` is a ValueError."""
    index = {s: k for k, s in enumerate(species)}
    counts = np.zeros((len(configs), len(species)), dtype=np.float64)
    for c, conf in enumerate(configs):
        for sym in _symbols(conf):
            if sym not in index:
                where = getattr(conf, "source", "?"), getattr(conf, "frame", c)
                raise ValueError(
                    f"{where[0]}, frame {where[1]}: species '{sym}' is not in the model's species "
                    f"{list(species)}; add it to `species` or remove the frame"
                )
            counts[c, index[sym]] += 1
    return counts


def fit_e0(
    configs: Sequence, species: Sequence[str], e0: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Per-species reference energies (eV) by least squares on ``configs`` (module docstring).

    If ``e0`` is given it is checked (every species present, finite) and returned instead.
    A species of ``species`` that no configuration contains gets E0 = 0 (with a warning).
    """
    if e0 is not None:
        missing = [s for s in species if s not in e0]
        if missing:
            raise ValueError(
                f"E0 is given for {sorted(e0)} but not for species {missing}; give a value for "
                f"every species, or let E0 be fitted"
            )
        out = {s: float(e0[s]) for s in species}
        bad = [s for s, v in out.items() if not np.isfinite(v)]
        if bad:
            raise ValueError(f"E0 of species {bad} is not finite")
        return out
    if len(configs) == 0:
        raise ValueError("cannot fit E0 on an empty training set")
    energies = np.array([_energy(c) for c in configs], dtype=object)
    if any(e is None for e in energies):
        k = next(i for i, e in enumerate(energies) if e is None)
        raise ValueError(f"configuration {k} has no energy; E0 needs every training energy")
    return fit_e0_from_counts(
        composition_matrix(configs, species), energies.astype(np.float64), species
    )


def fit_e0_from_counts(
    counts: np.ndarray, energies: np.ndarray, species: Sequence[str]
) -> dict[str, float]:
    """The least squares of :func:`fit_e0` on a ``[n_configs, n_species]`` composition matrix and
    the total energies (the same arithmetic whether the counts come from configurations in memory
    or from a graph store)."""
    if len(energies) == 0:
        raise ValueError("cannot fit E0 on an empty training set")
    present = counts.sum(axis=0) > 0
    absent = [s for s, p in zip(species, present) if not p]
    if absent:
        warnings.warn(
            f"species {absent} do not occur in the training set: their E0 is set to 0 eV",
            stacklevel=3,
        )
    a = counts[:, present]
    solution, _, rank, _ = np.linalg.lstsq(a, energies, rcond=None)
    if rank < a.shape[1]:
        warnings.warn(
            f"E0 least squares is underdetermined (rank {rank} < {a.shape[1]} species: the "
            f"training compositions are proportional); using the minimum-norm solution. Give E0 "
            f"(e.g. isolated-atom energies) for physically meaningful reference energies",
            stacklevel=3,
        )
    out = {s: 0.0 for s in species}
    for s, value in zip([s for s, p in zip(species, present) if p], solution):
        out[s] = float(value)
    return out


def e0_from_isolated_atoms(
    configs: Sequence, species: Sequence[str] | None = None
) -> dict[str, float]:
    """E0 from the single-atom configurations of ``configs`` (e.g. a file ``iso_atoms.xyz``)."""
    out: dict[str, float] = {}
    for conf in configs:
        syms = _symbols(conf)
        if len(syms) != 1:
            continue
        energy = _energy(conf)
        if energy is None:
            raise ValueError(f"an isolated {syms[0]} atom has no energy")
        if syms[0] in out and out[syms[0]] != energy:
            raise ValueError(f"two different isolated-atom energies for {syms[0]}")
        out[syms[0]] = float(energy)
    if species is not None:
        missing = [s for s in species if s not in out]
        if missing:
            raise ValueError(
                f"no isolated-atom configuration for species {missing} (found {sorted(out)})"
            )
        out = {s: out[s] for s in species}
    return out


def per_atom_energies(configs: Sequence, e0: Mapping[str, float]) -> np.ndarray:
    """``(E_c - sum_s n_cs E0_s) / N_c`` for every configuration with an energy (eV/atom)."""
    species = list(e0)
    with_energy = [c for c in configs if _energy(c) is not None]
    energies = np.array([_energy(c) for c in with_energy], dtype=np.float64)
    return per_atom_energies_from_counts(composition_matrix(with_energy, species), energies, e0)


def per_atom_energies_from_counts(
    counts: np.ndarray, energies: np.ndarray, e0: Mapping[str, float]
) -> np.ndarray:
    """:func:`per_atom_energies` from a composition matrix (columns in the order of ``e0``) and
    the total energies: the reference energy is summed species by species, so the result does
    not depend on how the rows are grouped."""
    reference = np.zeros(len(energies), dtype=np.float64)
    for k, value in enumerate(e0.values()):
        reference += counts[:, k] * float(value)
    return (np.asarray(energies, dtype=np.float64) - reference) / counts.sum(axis=1)


def force_rms(configs: Sequence) -> float:
    """``sqrt(mean(F_ia^2))`` over every force component of every configuration (eV/Å)."""
    squares, sizes = [], []
    for conf in configs:
        f = conf.forces if isinstance(conf, Configuration) else conf.get_forces()
        if f is None:
            continue
        f = np.asarray(f, dtype=np.float64)
        squares.append(float(np.sum(f * f)))
        sizes.append(f.size)
    return rms_from_sums(squares, sizes)


def rms_from_sums(squares: Sequence[float], sizes: Sequence[int]) -> float:
    """``sqrt(sum(squares) / sum(sizes))``, summed in order (NaN when there is nothing):
    :func:`force_rms` from each configuration's sum of squared components."""
    total, count = 0.0, 0
    for sq, size in zip(squares, sizes):
        total += float(sq)
        count += int(size)
    if count == 0:
        return float("nan")
    return float(np.sqrt(total / count))


def average_num_neighbors(configs: Sequence, cutoff: float) -> float:
    """Mean number of neighbours within ``cutoff`` Å per atom (images included, self excluded)."""
    pairs, atoms = neighbor_pairs(configs, cutoff)
    if atoms == 0:
        raise ValueError("no atoms to count neighbours of")
    return pairs / atoms


def neighbor_pairs(configs: Sequence, cutoff: float) -> tuple[int, int]:
    """(directed pairs within ``cutoff``, atoms) over ``configs``."""
    pairs, atoms = 0, 0
    for conf in configs:
        pairs += count_pairs(conf, cutoff)
        atoms += len(conf.positions)
    return pairs, atoms


def count_pairs(conf, cutoff: float) -> int:
    """The directed pairs within ``cutoff`` of one configuration (or ``ase.Atoms``)."""
    from .neighbors import neighbor_list

    if isinstance(conf, Configuration):
        pos, cell, pbc = conf.positions, conf.cell, conf.pbc
    else:
        pos, cell, pbc = conf.positions, conf.cell.array, conf.pbc
    return len(neighbor_list(pos, cell, pbc, cutoff)[0])


@dataclass
class DatasetStatistics:
    """Statistics of a training set (units: eV, Å). ``shift``/``scale`` are the suggested
    per-atom energy shift (mean per-atom energy after E0) and scale (force RMS, or the per-atom
    energy standard deviation when there are no forces)."""

    species: list[str]
    e0: dict[str, float]
    e0_fitted: bool
    n_configs: int
    n_atoms: int
    energy_per_atom_mean: float
    energy_per_atom_std: float
    energy_per_atom_rms: float
    force_rms: float
    cutoff: float | None = None
    avg_num_neighbors: float | None = None
    species_counts: dict[str, int] = field(default_factory=dict)

    @property
    def shift(self) -> float:
        return self.energy_per_atom_mean

    @property
    def scale(self) -> float:
        if np.isfinite(self.force_rms) and self.force_rms > 0:
            return self.force_rms
        return self.energy_per_atom_std if self.energy_per_atom_std > 0 else 1.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["shift"], out["scale"] = self.shift, self.scale
        return out


def compute_statistics(
    configs: Sequence,
    species: Sequence[str],
    cutoff: float | None = None,
    e0: Mapping[str, float] | None = None,
) -> DatasetStatistics:
    """All statistics of :class:`DatasetStatistics` for a training set (E0 fitted unless given)."""
    species = list(species)
    e0_values = fit_e0(configs, species, e0)
    with_energy = [c for c in configs if _energy(c) is not None]
    forces = [c.forces if isinstance(c, Configuration) else c.get_forces() for c in configs]
    forces = [np.asarray(f, dtype=np.float64) for f in forces if f is not None]
    return statistics_from_summaries(
        species,
        e0_values,
        e0_fitted=e0 is None,
        counts=composition_matrix(configs, species),
        energy_counts=composition_matrix(with_energy, species),
        energies=np.array([_energy(c) for c in with_energy], dtype=np.float64),
        force_squares=[float(np.sum(f * f)) for f in forces],
        force_sizes=[f.size for f in forces],
        cutoff=cutoff,
        pairs=None if cutoff is None else neighbor_pairs(configs, cutoff)[0],
    )


def statistics_from_summaries(
    species: Sequence[str],
    e0_values: Mapping[str, float],
    *,
    e0_fitted: bool,
    counts: np.ndarray,
    energy_counts: np.ndarray,
    energies: np.ndarray,
    force_squares: Sequence[float],
    force_sizes: Sequence[int],
    cutoff: float | None = None,
    pairs: int | None = None,
) -> DatasetStatistics:
    """:class:`DatasetStatistics` from per-configuration summaries: the composition matrix of all
    configurations and of those with an energy, their energies, each configuration's sum of
    squared force components and their number, and the directed pairs within ``cutoff`` (in
    memory, :func:`compute_statistics` makes them; a graph store keeps them on disk)."""
    e = per_atom_energies_from_counts(energy_counts, energies, e0_values)
    totals = counts.sum(axis=0)
    n_atoms = int(totals.sum())
    if pairs is not None and n_atoms == 0:
        raise ValueError("no atoms to count neighbours of")
    return DatasetStatistics(
        species=list(species),
        e0=dict(e0_values),
        e0_fitted=e0_fitted,
        n_configs=int(counts.shape[0]),
        n_atoms=n_atoms,
        energy_per_atom_mean=float(e.mean()) if e.size else 0.0,
        energy_per_atom_std=float(e.std()) if e.size else 0.0,
        energy_per_atom_rms=float(np.sqrt(np.mean(e * e))) if e.size else 0.0,
        force_rms=rms_from_sums(force_squares, force_sizes),
        cutoff=None if cutoff is None else float(cutoff),
        avg_num_neighbors=None if pairs is None else pairs / n_atoms,
        species_counts={s: int(c) for s, c in zip(species, totals)},
    )


def pair_minima(graph, n_species: int):
    """The shortest edge of each ordered species pair ``a * n_species + b`` of one graph
    (``inf`` where a pair has no edge), float64 ``[n_species ** 2]``."""
    import torch

    best = torch.full((n_species * n_species,), float("inf"), dtype=torch.float64)
    if graph.edge_index.shape[1] == 0:
        return best
    r = torch.linalg.norm(graph.edge_vectors(), dim=-1).to(torch.float64)
    pair = graph.species[graph.edge_index[0]] * n_species + graph.species[graph.edge_index[1]]
    return best.scatter_reduce(0, pair, r, "amin")


def shortest_distances(graphs: Sequence, species: Sequence[str]) -> dict[str, float]:
    """The shortest distance (Å) of each species pair over the edges of ``graphs``
    (:class:`~nbody_lmp.data.graph.AtomicGraph`), keyed ``"A-B"`` in model order; pairs that never
    occur within the graphs' cutoff are left out. MD below these distances has left the data
    (docs/theory.md "Short-range prior")."""
    import torch

    n = len(species)
    best = torch.full((n * n,), float("inf"), dtype=torch.float64)
    for g in graphs:
        best = torch.minimum(best, pair_minima(g, n))
    return shortest_from_minima(best.numpy(), species)


def shortest_from_minima(best: np.ndarray, species: Sequence[str]) -> dict[str, float]:
    """:func:`shortest_distances` from the element-wise minimum of :func:`pair_minima`."""
    n = len(species)
    out: dict[str, float] = {}
    for a in range(n):
        for b in range(a, n):
            d = min(float(best[a * n + b]), float(best[b * n + a]))
            if np.isfinite(d):
                out[f"{species[a]}-{species[b]}"] = round(d, 4)
    return out
