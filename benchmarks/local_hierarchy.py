"""The local hierarchy of one MPI subdomain, counted without LAMMPS (docs/lammps.md, "Ghost atoms
and the communication cutoff" and "Strong scaling"): which nodes each level must compute on a rank
that owns the atoms of a box ``[lo, hi)`` of a periodic crystal, by the rules of
``lammps_plugin/nbody_graph.cpp``:

* level ``K`` (the energy) has a node for every owned atom;
* a node of level ``k`` needs, at level ``k - 1``, itself and every atom within ``cutoffs[k-1]``
  (an edge each);
* a ghost atom is a periodic image ``(atom, shift)``; an image of an atom the rank owns is folded
  onto its owner's node (``NBODY_LMP_FOLD``, the default), any other ghost is a node of its own.

``count(positions, cell, owned, cutoffs)`` returns nodes per level ``0..K`` and edges per level
``1..K``, as the pair style prints them with ``NBODY_LMP_TIMING=1``; ``benchmarks.strong_scaling``
compares the two and extrapolates.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["diamond_si", "count", "subdomain_of", "steiner_volume"]

SI_LATTICE = 5.431  # Angstrom, as the benchmarks' diamond boxes


def diamond_si(reps: Sequence[int], a: float = SI_LATTICE) -> Tuple[np.ndarray, np.ndarray]:
    """Positions ``[8 nx ny nz, 3]`` and the orthorhombic cell lengths of diamond Si."""
    basis = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], dtype=float)  # fcc
    basis = np.concatenate([basis, basis + 0.25])
    nx, ny, nz = reps
    grid = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), -1)
    pos = (grid.reshape(-1, 1, 3) + basis[None]).reshape(-1, 3) * a
    return pos, np.array([nx, ny, nz], dtype=float) * a


def subdomain_of(positions: np.ndarray, cell: np.ndarray, grid: Sequence[int], rank: int = 0):
    """Owned mask of ``rank`` in LAMMPS's brick decomposition ``grid = (px, py, pz)`` (rank 0 is the
    subdomain at the origin; LAMMPS numbers x fastest)."""
    px, py, pz = grid
    ix, iy, iz = rank % px, (rank // px) % py, rank // (px * py)
    idx = np.floor(positions / (cell / np.array(grid, dtype=float)) + 1e-9).astype(int)
    return (idx[:, 0] == ix) & (idx[:, 1] == iy) & (idx[:, 2] == iz)


def _level_down(
    nodes: Dict[Tuple[int, int, int, int], None],
    positions: np.ndarray,
    cell: np.ndarray,
    owned: np.ndarray,
    tree: cKDTree,
    cutoff: float,
    fold: bool,
) -> Tuple[Dict[Tuple[int, int, int, int], None], int]:
    """The level-(k-1) nodes that the level-k ``nodes`` need, and the number of edges."""
    keys = list(nodes)
    atoms = np.array([k[0] for k in keys])
    shifts = np.array([k[1:] for k in keys], dtype=float)
    centres = positions[atoms] + shifts * cell
    below: Dict[Tuple[int, int, int, int], None] = dict.fromkeys(keys)  # a node's own child
    edges = 0
    found_all = tree.query_ball_point(np.mod(centres, cell), cutoff)
    for atom, shift, centre, found in zip(atoms, shifts, centres, found_all):
        for j in found:
            d = positions[j] - centre
            image = -np.round(d / cell)  # the image of j nearest the centre
            if np.linalg.norm(d + image * cell) >= cutoff:
                continue
            if j == atom and np.array_equal(image, shift):
                continue  # the node itself, not an edge
            edges += 1
            s = (0, 0, 0) if fold and owned[j] else tuple(int(v) for v in image)
            below[(int(j), *s)] = None
    return below, edges


def count(
    positions: np.ndarray,
    cell: np.ndarray,
    owned: np.ndarray,
    cutoffs: Sequence[float],
    fold: bool = True,
) -> Tuple[List[int], List[int]]:
    """Nodes per level ``0..K`` and edges per level ``1..K`` of the rank that owns ``owned``.
    Every cutoff must be below half the shortest cell length (minimum images)."""
    if max(cutoffs) >= 0.5 * cell.min():
        raise ValueError(f"cutoffs {list(cutoffs)} need a cell over twice as long as {cell}")
    tree = cKDTree(np.mod(positions, cell), boxsize=cell)
    nodes = dict.fromkeys((int(i), 0, 0, 0) for i in np.flatnonzero(owned))
    counts, edges = [len(nodes)], []
    for c in reversed(list(cutoffs)):
        nodes, e = _level_down(nodes, positions, cell, owned, tree, float(c), fold)
        counts.append(len(nodes))
        edges.append(e)
    return counts[::-1], edges[::-1]


def steiner_volume(sides: Sequence[float], radius: float) -> float:
    """Volume of the points within ``radius`` of a box (Steiner's formula): the region whose atoms
    a level needs when the level above needs the box."""
    a, b, c = sides
    r = radius
    return (
        a * b * c
        + 2 * r * (a * b + b * c + a * c)
        + np.pi * r**2 * (a + b + c)
        + 4 / 3 * np.pi * r**3
    )
