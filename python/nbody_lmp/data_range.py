"""Where the training data ends: pairs of atoms closer than any pair of their species in the
training data (docs/theory.md "Short-range prior").

An exported model records the shortest distance of each species pair in its training set
(``shortest_distance``, flattened ``[S, S]``, 0 where unknown; docs/model-format.md). Below it
the network extrapolates. :class:`NBodyCalculator` warns once when a structure has such a pair,
as ``pair_style nbody`` does in LAMMPS.
"""

from __future__ import annotations

import warnings
from typing import List, Sequence, Tuple

import torch


class OutsideTrainingDataWarning(UserWarning):
    """Atoms are closer than any pair of their species in the model's training data."""


def pairs_below_training(
    species: torch.Tensor,
    edge_index: torch.Tensor,
    vectors: torch.Tensor,
    table: Sequence[float],
    n_species: int,
) -> List[Tuple[int, int, float, float]]:
    """``(i, j, r, r_min)`` for each pair ``i < j`` closer than its species pair's shortest
    training distance ``r_min`` (pairs with no recorded distance are not checked)."""
    if not any(v > 0 for v in table) or edge_index.shape[1] == 0:
        return []
    limit = torch.tensor(list(table), dtype=torch.float64, device=vectors.device)
    i, j = edge_index
    r = torch.linalg.norm(vectors.detach().to(torch.float64), dim=-1)
    r_min = limit[species[i] * n_species + species[j]]
    bad = torch.nonzero((r < r_min) & (i < j)).squeeze(-1).tolist()
    return [(int(i[e]), int(j[e]), float(r[e]), float(r_min[e])) for e in bad]


def warn_below_training(pairs: List[Tuple[int, int, float, float]], symbols: Sequence[str]) -> None:
    """One warning naming the closest few pairs, with their distances and the training minimum."""
    pairs = sorted(pairs, key=lambda p: p[2] / p[3])
    shown = "; ".join(
        f"atoms {i} and {j} ({symbols[i]}-{symbols[j]}) at {r:.3f} A < {m:.3f} A"
        for i, j, r, m in pairs[:5]
    )
    more = f" and {len(pairs) - 5} more pairs" if len(pairs) > 5 else ""
    warnings.warn(
        f"{len(pairs)} pair(s) of atoms are closer than any pair of their species in the model's "
        f"training data: {shown}{more}. The model extrapolates there: add such configurations "
        "to the training data, or train with model.zbl: true for a physical short-range "
        "repulsion (warned once per calculator)",
        OutsideTrainingDataWarning,
        stacklevel=3,
    )
