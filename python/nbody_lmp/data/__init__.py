"""Data layer (docs/data.md).

* :mod:`.io` — read anything ASE reads into validated :class:`Configuration` s;
* :mod:`.split` — deterministic train/validation split;
* :mod:`.statistics` — E0 by least squares, energy shift/scale, force RMS, neighbour counts;
* :mod:`.cache` — optional on-disk cache of graphs and neighbour lists;
* :mod:`.stream` — configurations one at a time, for files of any size;
* :mod:`.store` (with :mod:`.store_writer`, :mod:`.store_statistics`) — the sharded, memory-mapped
  graph store for data larger than memory (docs/training.md, "Large data sets");
* :mod:`.neighbors`, :mod:`.graph` — neighbour lists (vesin) and batched graphs.
"""

from .cache import DiskCache, cache_key, load_graphs, load_neighbor_lists
from .graph import AtomicGraph, atoms_to_graph, collate
from .io import (
    Configuration,
    DataError,
    configurations_from_atoms,
    read_configurations,
    validate_configuration,
)
from .neighbors import neighbor_list
from .split import load_train_val, split_indices, train_val_split
from .store import GraphStore, open_store
from .stream import iter_configurations
from .statistics import (
    DatasetStatistics,
    average_num_neighbors,
    compute_statistics,
    e0_from_isolated_atoms,
    fit_e0,
    force_rms,
    per_atom_energies,
)

__all__ = [
    "AtomicGraph",
    "Configuration",
    "DataError",
    "DatasetStatistics",
    "DiskCache",
    "GraphStore",
    "atoms_to_graph",
    "average_num_neighbors",
    "cache_key",
    "collate",
    "compute_statistics",
    "configurations_from_atoms",
    "e0_from_isolated_atoms",
    "fit_e0",
    "force_rms",
    "iter_configurations",
    "load_graphs",
    "load_neighbor_lists",
    "load_train_val",
    "neighbor_list",
    "open_store",
    "per_atom_energies",
    "read_configurations",
    "split_indices",
    "train_val_split",
    "validate_configuration",
]
