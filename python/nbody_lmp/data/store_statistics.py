"""The training statistics of any subset of a graph store, from its per-configuration summaries
alone (docs/training.md, "Large data sets"): E0 by least squares (or checked when given), the
energy shift and scale, the average number of children per level, and the shortest distance per
species pair. They go through the same functions as the statistics of configurations in memory
(:mod:`.statistics`), on the same numbers, so they are equal to them, not merely close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .statistics import (
    DatasetStatistics,
    fit_e0,
    fit_e0_from_counts,
    shortest_from_minima,
    statistics_from_summaries,
)
from .store_writer import FLAG_ENERGY, FLAG_FORCES

__all__ = ["SubsetStatistics", "subset_statistics", "composition"]


@dataclass
class SubsetStatistics:
    """What training takes from its training set: :class:`~.statistics.DatasetStatistics` (at
    the largest cutoff), the average number of children per level, the shortest distance per
    species pair, and the number of edges."""

    stats: DatasetStatistics
    avg_num_children: list[float]
    shortest_distances: dict[str, float]
    n_edges: int


def _rows(begin: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, row) of every row ``begin[i]:begin[i + 1]`` of each ``i`` in ``indices``."""
    starts, ends = begin[indices], begin[indices + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(len(indices)), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, np.arange(int(lengths.sum())) - first + np.repeat(starts, lengths)


def composition(store, indices: np.ndarray, species: Sequence[str]) -> np.ndarray:
    """``[len(indices), n_species]`` atom counts (float64, as
    :func:`~.statistics.composition_matrix`)."""
    lut = store.species_lookup(species)
    owner, rows = _rows(np.asarray(store.array("composition_begin")), indices)
    table = np.asarray(store.array("composition"))[rows]
    out = np.zeros((len(indices), len(species)), dtype=np.float64)
    np.add.at(out, (owner, lut[table[:, 0]]), table[:, 1].astype(np.float64))
    return out


def _shortest(store, indices: np.ndarray, species: Sequence[str]) -> dict[str, float]:
    lut, n = store.species_lookup(species), len(species)
    _, rows = _rows(np.asarray(store.array("minima_begin")), indices)
    table = np.asarray(store.array("minima"))[rows]
    best = np.full(n * n, np.inf)
    pair = lut[table[:, 0].astype(np.int64)] * n + lut[table[:, 1].astype(np.int64)]
    np.minimum.at(best, pair, table[:, 2])
    return shortest_from_minima(best, species)


def _e0(counts, energies, has_energy, species, e0) -> dict[str, float]:
    if e0 is not None:
        return fit_e0([], species, e0)
    if not has_energy.all():
        k = int(np.flatnonzero(~has_energy)[0])
        raise ValueError(f"configuration {k} has no energy; E0 needs every training energy")
    return fit_e0_from_counts(counts, energies, species)


def subset_statistics(
    store,
    indices: Sequence[int],
    species: Sequence[str],
    cutoffs: Sequence[float],
    e0: Mapping[str, float] | None = None,
) -> SubsetStatistics:
    """The statistics of configurations ``indices`` of ``store`` for a model of ``species`` and
    per-level ``cutoffs`` (E0 fitted unless given), as :class:`SubsetStatistics`."""
    species, idx = list(species), np.asarray(indices, dtype=np.int64)
    counts = composition(store, idx, species)
    flags = np.asarray(store.array("flags"))[idx]
    has_e, has_f = (flags & FLAG_ENERGY) > 0, (flags & FLAG_FORCES) > 0
    energies = np.asarray(store.array("energy"))[idx][has_e]
    e0_values = _e0(counts, energies, has_e, species, e0)
    pairs = np.asarray(store.array("pairs"))[idx]
    column = {c: k for k, c in enumerate(store.pair_cutoffs)}
    total = {c: int(pairs[:, column[float(c)]].sum()) for c in set(cutoffs)}
    stats = statistics_from_summaries(
        species,
        e0_values,
        e0_fitted=e0 is None,
        counts=counts,
        energy_counts=counts[has_e],
        energies=energies,
        force_squares=np.asarray(store.array("force_squares"))[idx][has_f].tolist(),
        force_sizes=np.asarray(store.array("force_sizes"))[idx][has_f].tolist(),
        cutoff=max(cutoffs),
        pairs=total[max(cutoffs)],
    )
    return SubsetStatistics(
        stats=stats,
        avg_num_children=[total[c] / stats.n_atoms + 1.0 for c in cutoffs],
        shortest_distances=_shortest(store, idx, species),
        n_edges=int(np.asarray(store.array("n_edges"))[idx].sum()),
    )
