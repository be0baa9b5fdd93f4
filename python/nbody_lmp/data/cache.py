"""Optional on-disk cache of graphs / neighbour lists (docs/data.md, "Split, statistics, graphs,
cache").

An entry is keyed by a SHA-256 of (the data file's *content*, the cutoff, the species list, the
reading options, the cache format and the graph layout), so renaming or touching a file keeps its
entry and editing it, or changing the cutoff or species, makes a new one. Entries are
``<cache_dir>/nbody-lmp-<kind>-<key>.pt`` files holding only tensors, lists, dicts and strings
(loaded with ``torch.load(weights_only=True)``: no pickle code runs).

Safety: an existing file is never replaced. Entries are written to a temporary file in the cache
folder and then hard-linked to their final name, which fails if that name exists (another process
won the race, or a foreign file sits there); the temporary file is removed in every case. A
corrupt or foreign file under an entry's name is ignored with a warning, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

__all__ = [
    "CACHE_FORMAT_VERSION",
    "file_digest",
    "cache_key",
    "DiskCache",
    "graph_to_payload",
    "graph_from_payload",
    "load_graphs",
    "load_neighbor_lists",
]

CACHE_FORMAT_VERSION = 1


def file_digest(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def cache_key(
    path: str | os.PathLike,
    cutoff: float,
    species: Sequence[str],
    options: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 (hex) of the file content, cutoff, species, options and cache/graph format."""
    from .graph import AtomicGraph

    description = {
        "format": CACHE_FORMAT_VERSION,
        "file_sha256": file_digest(path),
        "cutoff": repr(float(cutoff)),
        "species": list(species),
        "options": {k: options[k] for k in sorted(options or {})},
        "graph_fields": [f.name for f in fields(AtomicGraph)],
    }
    text = json.dumps(description, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class DiskCache:
    """A folder of cache entries, written atomically and never overwriting a file."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise NotADirectoryError(f"cache folder {self.directory} exists and is not a folder")

    def path_for(self, kind: str, key: str) -> Path:
        return self.directory / f"nbody-lmp-{kind}-{key}.pt"

    def load(self, kind: str, key: str):
        """The payload stored under (kind, key), or None (missing, unreadable or foreign file)."""
        path = self.path_for(kind, key)
        if not path.is_file():
            return None
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            warnings.warn(f"ignoring unreadable cache file {path} ({exc}); it is left untouched")
            return None
        if not (
            isinstance(stored, dict)
            and stored.get("format") == CACHE_FORMAT_VERSION
            and stored.get("key") == key
            and stored.get("kind") == kind
        ):
            warnings.warn(f"ignoring {path}: not a matching nbody-lmp cache entry; left untouched")
            return None
        return stored["payload"]

    def save(self, kind: str, key: str, payload) -> Path | None:
        """Store ``payload``; return its path, or None if a file of that name already exists."""
        path = self.path_for(kind, key)
        if path.exists():
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(
                    {"format": CACHE_FORMAT_VERSION, "key": key, "kind": kind, "payload": payload},
                    fh,
                )
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # atomic, and fails rather than replace an existing file
            except FileExistsError:
                return None
            return path
        finally:
            os.unlink(tmp)

    def load_or_compute(self, kind: str, key: str, compute: Callable[[], Any]):
        payload = self.load(kind, key)
        if payload is None:
            payload = compute()
            self.save(kind, key, payload)
        return payload


# --------------------------------------------------------------------------------------------
# graphs


def graph_to_payload(graph) -> dict:
    """An :class:`AtomicGraph` as a dict of tensors (safe to ``torch.load(weights_only=True)``)."""
    out = {}
    for f in fields(graph):
        value = getattr(graph, f.name)
        out[f.name] = dict(value) if isinstance(value, dict) else value
    return out


def graph_from_payload(payload: dict):
    from .graph import AtomicGraph

    return AtomicGraph(**payload)


def _read_options(options: Mapping[str, Any]) -> dict:
    allowed = {
        "index",
        "format",
        "energy_key",
        "forces_key",
        "stress_key",
        "virial_key",
        "stress_format",
        "require_energy",
        "require_forces",
        "require_stress",
        "min_distance",
    }
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unknown reading options {sorted(unknown)}; valid: {sorted(allowed)}")
    return dict(options)


def load_graphs(
    path: str | os.PathLike,
    species: Sequence[str],
    cutoff: float,
    *,
    cache_dir: str | os.PathLike | None = None,
    **read_options,
) -> list:
    """Read ``path`` and build one :class:`AtomicGraph` per configuration (targets included).

    With ``cache_dir``, the graphs are loaded from / saved to the cache (key: module docstring).
    ``read_options`` go to :func:`nbody_lmp.data.io.read_configurations`.
    """
    from .io import read_configurations

    options = _read_options(read_options)

    def compute():
        configs = read_configurations(path, species=species, **options)
        return [graph_to_payload(c.to_graph(species, cutoff)) for c in configs]

    if cache_dir is None:
        payloads = compute()
    else:
        key = cache_key(path, cutoff, species, options)
        payloads = DiskCache(cache_dir).load_or_compute("graphs", key, compute)
    return [graph_from_payload(p) for p in payloads]


def load_neighbor_lists(
    path: str | os.PathLike,
    cutoff: float,
    *,
    cache_dir: str | os.PathLike | None = None,
    **read_options,
) -> list[tuple]:
    """``(i, j, shifts)`` int64 tensors of every configuration of ``path`` (cached like graphs)."""
    from .io import read_configurations
    from .neighbors import neighbor_list

    options = _read_options(read_options)

    def compute():
        out = []
        for conf in read_configurations(path, **options):
            i, j, s = neighbor_list(conf.positions, conf.cell, conf.pbc, cutoff)
            out.append([torch.from_numpy(i), torch.from_numpy(j), torch.from_numpy(s)])
        return out

    if cache_dir is None:
        lists = compute()
    else:
        key = cache_key(path, cutoff, [], options)
        lists = DiskCache(cache_dir).load_or_compute("neighbors", key, compute)
    return [tuple(x) for x in lists]
