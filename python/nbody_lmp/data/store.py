"""A sharded on-disk store of graphs, memory-mapped for training on data sets larger than memory
(docs/training.md, "Large data sets").

    store = open_store("train.xyz.xz", cutoffs=[3.8, 3.8], store_dir="stores")  # built once
    graph = store.graph(17, store.species_lookup(["Si"]))  # an AtomicGraph, read from disk

**Layout.** A store is the folder ``<store_dir>/nbody-lmp-store-<key>/``:

* ``shard-NNNNN/{numbers,positions,forces,edges,shifts}.npy``: the atoms and edges of a run of
  consecutive configurations, ``shard_bytes`` (default 256 MiB) of them per shard; edges are the
  largest-cutoff neighbour list with atom indices within the configuration (int32) and integer
  cell shifts (int8); species are atomic numbers, mapped to the model's species when read;
* one ``.npy`` per per-configuration quantity (:data:`~.store_writer.CONFIG_FILES`): where its
  atoms and edges are, cell, pbc, energy, stress, which labels it has, and the summaries the
  statistics need (:mod:`.store_statistics`); ``composition.npy`` and ``minima.npy`` hold each
  configuration's element counts and shortest distance per element pair;
* ``meta.json``: the format, the key and what it was computed from, the counts, the elements and
  the shards. It is written last.

Every array is opened with ``np.load(mmap_mode="r")``: reading a configuration touches only its
own rows, and the kernel keeps or drops those pages as memory allows.

**Key.** A SHA-256 of the source file's content, the largest cutoff and every level's cutoff (the
neighbour counts per level), the reading options (label keys, which labels are required) and the
store format. The species are not part of it: the store holds atomic numbers, and a model's
species are checked against the store's elements when it is opened, so models with other species
lists share one store.

**Written atomically.** A store is written into a temporary folder
``.nbody-lmp-store-<key>.<random>.tmp`` beside its final name and renamed to it when complete
(``meta.json`` included), so a store that exists is whole. A write that fails removes its
temporary folder; one that is killed leaves it behind, never read (delete it when no build is
running). When two processes build the same store, the first rename wins and the other's copy is
removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .io import DataError
from .store_writer import (
    FLAG_ENERGY,
    FLAG_FORCES,
    FLAG_STRESS,
    SHARD_FILES,
    STORE_FORMAT,
    write_meta,
    write_store,
)

__all__ = ["GraphStore", "open_store", "store_key", "DEFAULT_SHARD_BYTES", "PREFIX"]

DEFAULT_SHARD_BYTES = 256 << 20
PREFIX = "nbody-lmp-store-"


def store_key(
    path: str | os.PathLike,
    cutoffs: Sequence[float],
    options: Mapping[str, Any] | None = None,
    digest: str | None = None,
) -> tuple[str, dict]:
    """(SHA-256 hex key, the description it hashes) of a store of ``path`` (module docstring)."""
    from .cache import file_digest
    from .graph import AtomicGraph

    description = {
        "format": STORE_FORMAT,
        "file_sha256": digest or file_digest(path),
        "cutoff": repr(float(max(cutoffs))),
        "pair_cutoffs": sorted({repr(float(c)) for c in cutoffs}),
        "options": {k: options[k] for k in sorted(options or {})},
        "graph_fields": [f.name for f in fields(AtomicGraph)],
    }
    text = json.dumps(description, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest(), description


def _read_meta(folder: Path, key: str) -> dict | None:
    """The meta.json of a complete store with this key, else None."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if isinstance(meta, dict) and meta.get("format") == STORE_FORMAT and meta.get("key") == key:
        return meta
    return None


def open_store(
    path: str | os.PathLike,
    cutoffs: Sequence[float],
    store_dir: str | os.PathLike,
    *,
    shard_bytes: int = DEFAULT_SHARD_BYTES,
    progress: bool = False,
    log=None,
    **read_options,
) -> "GraphStore":
    """The store of ``path`` for these cutoffs and reading options: the existing one in
    ``store_dir``, or one written now in one pass over the file (module docstring).

    ``read_options`` are those of :func:`~.io.read_configurations` except ``species`` (the
    model's species are checked by :meth:`GraphStore.species_lookup`).
    """
    if "species" in read_options:
        raise TypeError("open_store takes no species: the store holds atomic numbers")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    key, description = store_key(path, cutoffs, read_options)
    store_dir = Path(store_dir)
    final = store_dir / f"{PREFIX}{key}"
    if final.exists():
        if _read_meta(final, key) is None:
            raise DataError(
                f"{final} exists but is not a complete graph store of this file (no valid "
                "meta.json): it was not written by this nbody-lmp; delete it and it is rebuilt"
            )
        return GraphStore(final, source=path)
    if store_dir.exists() and not store_dir.is_dir():
        raise NotADirectoryError(f"data.store_dir {store_dir} exists and is not a folder")
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=store_dir))
    except PermissionError:
        raise PermissionError(
            f"cannot write a graph store into {store_dir} (permission denied): set data.store_dir "
            "to a folder you can write to"
        ) from None
    if log is not None:
        log(f"data: writing the graph store of {path} into {final}")
    try:
        pair_cutoffs = sorted({float(c) for c in cutoffs})
        meta = write_store(
            tmp,
            path,
            max(cutoffs),
            pair_cutoffs,
            read_options,
            shard_bytes=shard_bytes,
            progress=progress,
        )
        meta.update(key=key, description=description, bytes=_folder_bytes(tmp))
        write_meta(tmp, meta)
        _publish(tmp, final, key)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return GraphStore(final, source=path)


def _publish(tmp: Path, final: Path, key: str) -> None:
    """Rename the finished ``tmp`` to ``final``; if another process got there first, keep its
    store (``tmp`` is then removed by the caller)."""
    os.chmod(tmp, 0o755)
    try:
        os.rename(tmp, final)
    except OSError:
        if _read_meta(final, key) is None:
            raise


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class GraphStore:
    """A complete store, opened read-only; arrays are memory-mapped when first used."""

    def __init__(self, folder: str | os.PathLike, source: str | None = None):
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text())
        if meta.get("format") != STORE_FORMAT:
            raise DataError(
                f"{self.folder} is a graph store of format {meta.get('format')}, this nbody-lmp "
                f"reads format {STORE_FORMAT}: delete the folder and it is rebuilt"
            )
        self.meta = meta
        self.source = source or meta["source"]
        self.n_configs = int(meta["n_configs"])
        self.elements = [int(z) for z in meta["elements"]]
        self.pair_cutoffs = [float(c) for c in meta["pair_cutoffs"]]
        self._arrays: dict[str, np.ndarray] = {}
        self._shards: dict[int, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return self.n_configs

    @property
    def nbytes(self) -> int:
        """The store's size on disk."""
        return int(self.meta["bytes"])

    def array(self, name: str) -> np.ndarray:
        """A per-configuration array (``CONFIG_FILES``, ``composition``, ``minima``), mapped."""
        if name not in self._arrays:
            self._arrays[name] = np.load(self.folder / f"{name}.npy", mmap_mode="r")
        return self._arrays[name]

    def _shard(self, k: int) -> dict[str, np.ndarray]:
        if k not in self._shards:
            folder = self.folder / self.meta["shards"][k]["name"]
            self._shards[k] = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in SHARD_FILES}
        return self._shards[k]

    def symbols(self) -> list[str]:
        """The chemical symbols of the store's elements, by atomic number."""
        from ase.data import chemical_symbols

        return [chemical_symbols[z] for z in self.elements]

    def species_lookup(self, species: Sequence[str]) -> np.ndarray:
        """Atomic number -> model species index; an element of the store that the model lacks is
        a DataError naming the first frame that has it (as reading the file would)."""
        from ase.data import atomic_numbers

        lut = np.full(119, -1, dtype=np.int64)
        for k, s in enumerate(species):
            lut[atomic_numbers[s]] = k
        missing = [z for z in self.elements if lut[z] < 0]
        if missing:
            comp, begin = self.array("composition"), self.array("composition_begin")
            row = int(np.flatnonzero(np.isin(comp[:, 0], missing))[0])
            frame = int(np.searchsorted(begin, row, side="right") - 1)
            from ase.data import chemical_symbols

            raise DataError(
                f"species {sorted(chemical_symbols[z] for z in missing)} are not in the model's "
                f"species {list(species)}. Add them to the model's species list (config key "
                "`species`) or remove these frames",
                self.source,
                frame,
            )
        return lut

    def graph(self, k: int, lut: np.ndarray | None = None):
        """Configuration ``k`` as the :class:`~.graph.AtomicGraph` that
        :meth:`~.io.Configuration.to_graph` gives (species mapped by ``lut``, else atomic
        numbers), read from the memory-mapped arrays."""
        import torch

        from .graph import AtomicGraph

        k = int(k)
        if not 0 <= k < self.n_configs:
            raise IndexError(f"configuration {k} of a store of {self.n_configs}")
        col = {n: self.array(n)[k] for n in ("shard", "atom_begin", "n_atoms", "edge_begin")}
        n_edges, flags = int(self.array("n_edges")[k]), int(self.array("flags")[k])
        shard = self._shard(int(col["shard"]))
        a, n, e = int(col["atom_begin"]), int(col["n_atoms"]), int(col["edge_begin"])
        numbers = shard["numbers"][a : a + n].astype(np.int64)
        targets = {}
        if flags & FLAG_ENERGY:
            targets["energy"] = torch.tensor([float(self.array("energy")[k])], dtype=torch.float64)
        if flags & FLAG_FORCES:
            targets["forces"] = torch.from_numpy(np.array(shard["forces"][a : a + n]))
        if flags & FLAG_STRESS:
            targets["stress"] = torch.from_numpy(np.array(self.array("stress")[k])).unsqueeze(0)
        return AtomicGraph(
            positions=torch.from_numpy(np.array(shard["positions"][a : a + n])),
            species=torch.from_numpy(numbers if lut is None else lut[numbers]),
            cell=torch.from_numpy(np.array(self.array("cell")[k])).unsqueeze(0),
            pbc=torch.from_numpy(np.array(self.array("pbc")[k])).unsqueeze(0),
            edge_index=torch.from_numpy(
                np.ascontiguousarray(shard["edges"][e : e + n_edges].T, dtype=np.int64)
            ),
            shifts=torch.from_numpy(shard["shifts"][e : e + n_edges].astype(np.float64)),
            batch=torch.zeros(n, dtype=torch.long),
            n_atoms=torch.tensor([n]),
            targets=targets,
        )
