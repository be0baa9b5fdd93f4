"""Neighbour lists for the composition scheme (paper §3: a level-``k`` node aggregates the atoms
within the level-``k`` cutoff; docs/theory.md, "Paper → code"), from a maintained library, vesin
(periodic and triclinic cells, several images of narrow cells).

``neighbor_list`` returns every directed pair ``(i, j, S)`` with
``|r_j - r_i + S @ cell| < cutoff``, ``S`` an integer cell shift; the pair of an atom with itself
at zero shift is excluded (a node's own child enters the network separately), its periodic images
are included.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
from vesin import NeighborList


def neighbor_list(
    positions: np.ndarray, cell: np.ndarray, pbc, cutoff: float
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    if not cutoff > 0:
        raise ValueError(f"cutoff must be > 0 Angstrom, got {cutoff}")
    if len(positions) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros((0, 3), dtype=np.int64)
    if pbc.any() and abs(np.linalg.det(cell)) < 1e-9:
        raise ValueError(
            "the cell is singular (zero volume) but periodic boundaries are on: give a cell with "
            "three independent lattice vectors, or set pbc=False"
        )
    box = cell if pbc.any() else np.zeros((3, 3))
    nl = NeighborList(cutoff=float(cutoff), full_list=True)
    i, j, S = nl.compute(
        points=positions, box=box, periodic=[bool(p) for p in pbc], quantities="ijS"
    )
    i, j, S = i.astype(np.int64), j.astype(np.int64), S.astype(np.int64)
    keep = ~((i == j) & (S == 0).all(axis=1))
    return i[keep], j[keep], S[keep]
