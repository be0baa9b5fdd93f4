"""Deterministic train/validation split, by fraction or separate files (docs/data.md, "Split,
statistics, graphs, cache").

The same ``(n, val_fraction, seed)`` always gives the same split, on any machine: the permutation
comes from ``numpy.random.default_rng(seed)`` (PCG64, whose stream NumPy keeps stable), and each
part keeps the file order of its configurations.
"""

from __future__ import annotations

import os
from typing import Sequence, TypeVar

import numpy as np

__all__ = ["split_indices", "train_val_split", "load_train_val"]

T = TypeVar("T")


def split_indices(
    n: int, val_fraction: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices of ``n`` items, each sorted ascending.

    ``round(val_fraction * n)`` items go to validation, but at least one when
    ``val_fraction > 0`` and at most ``n - 1`` (training keeps one item). ``val_fraction = 0``
    gives an empty validation set.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(
            f"val_fraction must be in [0, 1), got {val_fraction}; to validate on another file give "
            f"a validation file instead"
        )
    if val_fraction == 0 or n == 0:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if n < 2:
        raise ValueError(
            f"cannot split {n} configuration into training and validation sets; give more data, "
            f"a separate validation file, or val_fraction=0"
        )
    n_val = min(max(int(round(val_fraction * n)), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]).astype(np.int64), np.sort(perm[:n_val]).astype(np.int64)


def train_val_split(
    items: Sequence[T], val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[T], list[T]]:
    """Split a sequence (e.g. configurations) with :func:`split_indices`."""
    train, val = split_indices(len(items), val_fraction, seed)
    return [items[k] for k in train], [items[k] for k in val]


def load_train_val(
    train_path: str | os.PathLike,
    val_path: str | os.PathLike | None = None,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    **read_options,
):
    """(train, validation) configurations: from two files, or one file split by ``val_fraction``.

    ``read_options`` go to :func:`nbody_lmp.data.io.read_configurations` (keys, species, ...).
    """
    from .io import read_configurations

    train = read_configurations(train_path, **read_options)
    if val_path is not None:
        return train, read_configurations(val_path, **read_options)
    return train_val_split(train, val_fraction, seed)
