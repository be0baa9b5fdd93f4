"""Writing a graph store in one streaming pass (docs/training.md, "Large data sets"; the layout
and its reader: :mod:`.store`).

:func:`write_store` reads the configurations one at a time (:mod:`.stream`), builds each one's
graph exactly as training in memory does (:meth:`~.io.Configuration.to_graph`, with atomic
numbers for species), and appends its atoms and edges to the current shard, which is written as
``.npy`` files once it holds ``shard_bytes``. Beside the graphs it keeps what the statistics of
any subset need (:mod:`.store_statistics`): each configuration's composition, energy, sum of
squared forces, neighbour pairs per cutoff and shortest distance per element pair. Memory holds
one shard and these per-configuration summaries, whatever the size of the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .io import DataError

__all__ = ["write_store", "SHARD_FILES", "CONFIG_FILES", "STORE_FORMAT"]

STORE_FORMAT = 1
# per-atom and per-edge arrays of a shard: file -> dtype
SHARD_FILES = {
    "numbers": np.uint8,  # atomic numbers
    "positions": np.float64,
    "forces": np.float64,  # zero where a configuration has none (flags)
    "edges": np.int32,  # [E, 2] (centre, neighbour), atom indices within the configuration
    "shifts": np.int8,  # [E, 3] integer cell shifts
}
# per-configuration arrays of the whole store
CONFIG_FILES = {
    "shard": np.int32,
    "atom_begin": np.int64,  # first atom in its shard
    "n_atoms": np.int64,
    "edge_begin": np.int64,  # first edge in its shard
    "n_edges": np.int64,
    "cell": np.float64,
    "pbc": np.bool_,
    "energy": np.float64,  # NaN where absent
    "stress": np.float64,  # zero where absent
    "flags": np.uint8,  # bit 0 energy, bit 1 forces, bit 2 stress
    "force_squares": np.float64,  # sum of squared force components
    "force_sizes": np.int64,  # number of force components (0 without forces)
    "pairs": np.int64,  # [n, n_cutoffs] directed pairs within each pair cutoff
    "composition_begin": np.int64,  # rows of composition.npy of the configuration
    "minima_begin": np.int64,  # rows of minima.npy of the configuration
}
FLAG_ENERGY, FLAG_FORCES, FLAG_STRESS = 1, 2, 4
_MAX_SHIFT = np.iinfo(np.int8).max


class _Growing:
    """A numpy array that grows by appending rows (amortised doubling)."""

    def __init__(self, dtype, shape=()):
        self.data = np.empty((256, *shape), dtype=dtype)
        self.n = 0

    def append(self, rows) -> None:
        rows = np.asarray(rows, dtype=self.data.dtype).reshape(-1, *self.data.shape[1:])
        need = self.n + len(rows)
        if need > len(self.data):
            bigger = np.empty(
                (max(need, 2 * len(self.data)), *self.data.shape[1:]), self.data.dtype
            )
            bigger[: self.n] = self.data[: self.n]
            self.data = bigger
        self.data[self.n : need] = rows
        self.n = need

    def array(self) -> np.ndarray:
        return self.data[: self.n]


def _save(folder: Path, name: str, array: np.ndarray) -> None:
    with open(folder / f"{name}.npy", "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
        fh.flush()
        os.fsync(fh.fileno())


class _Shards:
    """The shard being filled, and the shards written so far."""

    def __init__(self, folder: Path, shard_bytes: int):
        self.folder, self.shard_bytes = folder, int(shard_bytes)
        self.written: list[dict] = []
        self._reset()

    def _reset(self) -> None:
        self.arrays = {
            "numbers": _Growing(np.uint8),
            "positions": _Growing(np.float64, (3,)),
            "forces": _Growing(np.float64, (3,)),
            "edges": _Growing(np.int32, (2,)),
            "shifts": _Growing(np.int8, (3,)),
        }
        self.n_configs = 0

    @property
    def index(self) -> int:
        return len(self.written)

    def add(self, graph) -> tuple[int, int]:
        """Append one graph's atoms and edges; returns where they begin in the shard."""
        a, e = self.arrays["numbers"].n, self.arrays["edges"].n
        n = int(graph.positions.shape[0])
        self.arrays["numbers"].append(graph.species.numpy())
        self.arrays["positions"].append(graph.positions.numpy())
        forces = graph.targets.get("forces")
        self.arrays["forces"].append(np.zeros((n, 3)) if forces is None else forces.numpy())
        self.arrays["edges"].append(graph.edge_index.numpy().T)
        self.arrays["shifts"].append(graph.shifts.numpy())
        self.n_configs += 1
        nbytes = sum(g.n * g.data[:1].nbytes for g in self.arrays.values())
        if nbytes >= self.shard_bytes:
            self.flush()
        return a, e

    def flush(self) -> None:
        if self.n_configs == 0:
            return
        folder = self.folder / f"shard-{self.index:05d}"
        folder.mkdir()
        for name, grown in self.arrays.items():
            _save(folder, name, grown.array())
        self.written.append(
            {
                "name": folder.name,
                "n_configs": self.n_configs,
                "n_atoms": self.arrays["numbers"].n,
                "n_edges": self.arrays["edges"].n,
            }
        )
        self._reset()


class _Summaries:
    """Per-configuration records: where its graph is, its labels, and what statistics need."""

    def __init__(self, pair_cutoffs: Sequence[float]):
        self.pair_cutoffs = [float(c) for c in pair_cutoffs]
        self.columns = {
            "shard": _Growing(np.int32),
            "atom_begin": _Growing(np.int64),
            "n_atoms": _Growing(np.int64),
            "edge_begin": _Growing(np.int64),
            "n_edges": _Growing(np.int64),
            "cell": _Growing(np.float64, (3, 3)),
            "pbc": _Growing(np.bool_, (3,)),
            "energy": _Growing(np.float64),
            "stress": _Growing(np.float64, (3, 3)),
            "flags": _Growing(np.uint8),
            "force_squares": _Growing(np.float64),
            "force_sizes": _Growing(np.int64),
            "pairs": _Growing(np.int64, (len(self.pair_cutoffs),)),
            "composition_begin": _Growing(np.int64),
            "minima_begin": _Growing(np.int64),
        }
        self.composition = _Growing(np.int64, (2,))  # (atomic number, count)
        self.minima = _Growing(np.float64, (3,))  # (Z centre, Z neighbour, shortest edge)

    def add(self, conf, graph, where: tuple[int, int, int], rmax: float) -> None:
        from .statistics import count_pairs, pair_minima

        c = self.columns
        shard, a, e = where
        n, n_edges = int(graph.positions.shape[0]), int(graph.edge_index.shape[1])
        for name, value in (("shard", shard), ("atom_begin", a), ("n_atoms", n)):
            c[name].append(value)
        c["edge_begin"].append(e)
        c["n_edges"].append(n_edges)
        c["cell"].append(conf.cell)
        c["pbc"].append(conf.pbc)
        c["energy"].append(np.nan if conf.energy is None else conf.energy)
        c["stress"].append(np.zeros((3, 3)) if conf.stress is None else conf.stress)
        flags = (conf.energy is not None) * FLAG_ENERGY + (conf.forces is not None) * FLAG_FORCES
        c["flags"].append(flags + (conf.stress is not None) * FLAG_STRESS)
        f = np.zeros((0,)) if conf.forces is None else np.asarray(conf.forces, dtype=np.float64)
        c["force_squares"].append(float(np.sum(f * f)) if f.size else 0.0)
        c["force_sizes"].append(f.size)
        c["pairs"].append(
            [n_edges if cut == rmax else count_pairs(conf, cut) for cut in self.pair_cutoffs]
        )
        c["composition_begin"].append(self.composition.n)
        z, counts = np.unique(graph.species.numpy(), return_counts=True)
        self.composition.append(np.stack([z, counts], axis=1))
        c["minima_begin"].append(self.minima.n)
        best = pair_minima(graph, 119).numpy()
        pairs = np.flatnonzero(np.isfinite(best))
        self.minima.append(np.stack([pairs // 119, pairs % 119, best[pairs]], axis=1))

    def save(self, folder: Path) -> None:
        ends = {"composition_begin": self.composition.n, "minima_begin": self.minima.n}
        for name, grown in self.columns.items():
            if name in ends:  # one more row: the end of the last configuration
                _save(folder, name, np.append(grown.array(), ends[name]))
            else:
                _save(folder, name, grown.array())
        _save(folder, "composition", self.composition.array())
        _save(folder, "minima", self.minima.array())


def _check_shifts(graph, conf) -> None:
    if graph.shifts.numel() and float(graph.shifts.abs().max()) > _MAX_SHIFT:
        raise DataError(
            f"neighbours lie more than {_MAX_SHIFT} periodic images away: the cell is far smaller "
            "than the cutoff, which the graph store does not hold (8-bit cell shifts); train on "
            "this file with data.store: memory",
            conf.source,
            conf.frame,
        )


def _fill(shards: _Shards, summaries: _Summaries, source, cutoff, read_options, progress):
    """The streaming pass: every configuration's graph into the shards, its summary beside."""
    from ase.data import chemical_symbols

    from ..progress import progress as progress_bar
    from .stream import iter_configurations

    bar = progress_bar(desc=f"graph store of {os.path.basename(source)}", unit="config")
    bar = bar if progress else progress_bar(enabled=False)
    for conf in iter_configurations(source, **read_options):
        graph = conf.to_graph(chemical_symbols, cutoff)  # species = atomic numbers
        _check_shifts(graph, conf)
        shard = shards.index
        a, e = shards.add(graph)
        summaries.add(conf, graph, (shard, a, e), cutoff)
        bar.update(1)
    bar.close()
    shards.flush()


def write_store(
    folder: Path,
    source: str,
    cutoff: float,
    pair_cutoffs: Sequence[float],
    read_options: dict,
    *,
    shard_bytes: int,
    progress: bool = False,
) -> dict:
    """Write the store of ``source`` into the empty ``folder``; returns its ``meta.json``
    content (without the key, which :mod:`.store` adds). Torch runs on one thread meanwhile:
    the tensors of one configuration are small, and threads waiting on a busy core cost more
    than they give."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        shards, summaries = _Shards(folder, shard_bytes), _Summaries(pair_cutoffs)
        _fill(shards, summaries, source, cutoff, read_options, progress)
    finally:
        torch.set_num_threads(threads)
    summaries.save(folder)
    z = np.unique(summaries.composition.array()[:, 0]).tolist()
    return {
        "format": STORE_FORMAT,
        "source": source,
        "cutoff": float(cutoff),
        "pair_cutoffs": [float(c) for c in pair_cutoffs],
        "n_configs": summaries.columns["shard"].n,
        "n_atoms": int(summaries.columns["n_atoms"].array().sum()),
        "n_edges": int(summaries.columns["n_edges"].array().sum()),
        "elements": [int(x) for x in z],
        "shards": shards.written,
    }


def write_meta(folder: Path, meta: dict) -> None:
    """``meta.json``, the last file written: a folder without it is not a store."""
    with open(folder / "meta.json", "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
