"""Training data read lazily from graph stores, ``data.store: sharded`` (docs/training.md,
"Large data sets").

:func:`load_sharded` opens (or, on the first process only, writes) the store of the training
file and of the validation file if there is one (:mod:`nbody_lmp.data.store`), draws the same
validation split as training in memory (:func:`~nbody_lmp.data.split.split_indices`), and takes
the statistics from the stores' summaries (:mod:`nbody_lmp.data.store_statistics`), equal to
those in memory. :class:`ShardedGraphs` is the sequence of graphs the epoch loop indexes: a
graph is read from the memory-mapped shards when a batch asks for it and dropped after, so a
process holds a batch of graphs at a time, not the data set. Several processes index the same
global batches (:mod:`.epoch`) and each reads only its own share of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

__all__ = ["ShardedGraphs", "ShardedData", "load_sharded", "store_folder", "open_stores"]

STORE_FOLDER = "nbody-lmp-store"


class ShardedGraphs(Sequence):
    """Configurations ``indices`` of a store as :class:`~nbody_lmp.data.graph.AtomicGraph` s with
    the model's species indices, each read from disk when indexed."""

    def __init__(self, store, indices: Sequence[int], species: Sequence[str]):
        self.store = store
        self.indices = np.asarray(indices, dtype=np.int64)
        self.lut = store.species_lookup(species)

    def __len__(self) -> int:
        return int(len(self.indices))

    def __getitem__(self, i: int):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return self.store.graph(self.indices[i], self.lut)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def costs(self) -> np.ndarray:
        """Atoms plus edges of each configuration, from the store's index (nothing is read but
        two columns)."""
        if not hasattr(self, "_costs"):
            atoms = np.asarray(self.store.array("n_atoms"))[self.indices]
            edges = np.asarray(self.store.array("n_edges"))[self.indices]
            self._costs = atoms.astype(np.int64) + edges.astype(np.int64)
        return self._costs


@dataclass
class ShardedData:
    """What the trainer takes from the stores."""

    species: List[str]
    train_graphs: ShardedGraphs
    val_graphs: Sequence
    statistics: Any  # nbody_lmp.data.store_statistics.SubsetStatistics
    train_sha256: str
    stores: List[Any]


def store_folder(cfg) -> Path:
    """``data.store_dir``, else ``nbody-lmp-store/`` beside the training file."""
    d = cfg.data
    return Path(d.store_dir) if d.store_dir else Path(d.train).parent / STORE_FOLDER


def _cutoffs(cfg) -> List[float]:
    m = cfg.model
    return [float(c) for c in (m.cutoff if isinstance(m.cutoff, list) else [m.cutoff] * m.levels)]


def open_stores(
    cfg, read_options: Optional[Dict[str, Any]] = None, progress: bool = False, log=None
) -> List:
    """The stores of the training (and validation) file, written now if they are not there
    (``read_options``: the run's, :func:`~.trainer.read_options`, by default)."""
    from ..data.store import open_store
    from .trainer import read_options as run_read_options

    options = run_read_options(cfg) if read_options is None else read_options
    files = [cfg.data.train] + ([cfg.data.validation] if cfg.data.validation else [])
    return [
        open_store(f, _cutoffs(cfg), store_folder(cfg), progress=progress, log=log, **options)
        for f in files
    ]


def _species(cfg, stores) -> List[str]:
    """``model.species``, else the elements of the stores by atomic number."""
    if cfg.model.species is not None:
        return list(cfg.model.species)
    return sorted({s for st in stores for s in st.symbols()}, key=lambda s: _z(s))


def _z(symbol: str) -> int:
    from ase.data import atomic_numbers

    return atomic_numbers[symbol]


def _e0(cfg, species) -> Optional[Dict[str, float]]:
    from ..data import e0_from_isolated_atoms, read_configurations

    e0 = cfg.data.e0
    if isinstance(e0, dict):
        return e0
    if e0 == "fit":
        return None
    return e0_from_isolated_atoms(read_configurations(e0, require_forces=False), species)


def load_sharded(
    cfg, read_options: Dict[str, Any], dist, log: Callable[[str], None] = print
) -> ShardedData:
    """Open the stores (the main process writes a missing one while the others wait), split,
    and compute the training statistics (module docstring)."""
    from ..data import split_indices
    from ..data.store import GraphStore
    from ..data.store_statistics import subset_statistics

    d = cfg.data
    progress = bool(cfg.output.progress and dist.is_main)
    folders = dist.on_main(
        lambda: [str(s.folder) for s in open_stores(cfg, read_options, progress, log)]
    )
    sources = [d.train] + ([d.validation] if d.validation else [])
    stores = [GraphStore(f, source=src) for f, src in zip(folders, sources)]
    species = _species(cfg, stores)
    train = stores[0]
    if d.validation:
        train_idx, val_idx = np.arange(len(train)), np.arange(len(stores[1]))
        val_graphs = ShardedGraphs(stores[1], val_idx, species)
    else:
        seed = cfg.seed if d.split_seed is None else d.split_seed
        train_idx, val_idx = split_indices(len(train), d.val_fraction, seed)
        val_graphs = ShardedGraphs(train, val_idx, species)
    statistics = subset_statistics(train, train_idx, species, _cutoffs(cfg), _e0(cfg, species))
    for st in stores:
        log(
            f"data: graph store {st.folder} ({len(st)} configurations, {st.nbytes / 2**20:.1f} MiB)"
        )
    return ShardedData(
        species=species,
        train_graphs=ShardedGraphs(train, train_idx, species),
        val_graphs=val_graphs,
        statistics=statistics,
        train_sha256=train.meta["description"]["file_sha256"],
        stores=stores,
    )


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m nbody_lmp.training.sharded_data config.yaml``: write the stores the config's
    run will read, in this one process (before a run on many processes, for a file so large
    that the others would tire of waiting)."""
    import argparse

    from .config import load_config

    p = argparse.ArgumentParser(prog="python -m nbody_lmp.training.sharded_data")
    p.add_argument("config", help="the training config (data.store: sharded)")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    for store in open_stores(cfg, progress=True, log=print):
        print(f"{store.folder}: {len(store)} configurations, {store.nbytes / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
