"""nbody_lmp.data.cache: content-keyed, reused, never overwrites, atomic."""

import os

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from nbody_lmp.data import DiskCache, cache_key, load_graphs, load_neighbor_lists


def _write(path, n=3, shift=0.0):
    import ase.io

    frames = []
    for k in range(n):
        atoms = Atoms(
            "Si2",
            positions=[[0, 0, 0], [1.3 + 0.1 * k + shift, 0.2, 0.1]],
            cell=np.eye(3) * 4.0,
            pbc=True,
        )
        atoms.calc = SinglePointCalculator(
            atoms, energy=-k, forces=np.ones((2, 3)) * k, stress=np.arange(6.0) * 1e-3
        )
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")
    return path


def _entries(d):
    return sorted(p for p in os.listdir(d) if p.startswith("nbody-lmp-"))


def test_key_depends_on_content_cutoff_species(tmp_path):
    a = _write(tmp_path / "a.xyz")
    b = tmp_path / "b.xyz"
    b.write_bytes(a.read_bytes())  # same content, other name: same key
    k = cache_key(a, 3.0, ["Si"])
    assert cache_key(b, 3.0, ["Si"]) == k
    assert cache_key(a, 3.5, ["Si"]) != k
    assert cache_key(a, 3.0, ["Si", "O"]) != k
    assert cache_key(a, 3.0, ["Si"], {"stress_key": None}) != k
    _write(b, shift=0.01)
    assert cache_key(b, 3.0, ["Si"]) != k


def test_graph_cache_roundtrip_and_reuse(tmp_path):
    data = _write(tmp_path / "data.xyz")
    cache = tmp_path / "cache"
    fresh = load_graphs(data, ["Si"], 3.0)
    first = load_graphs(data, ["Si"], 3.0, cache_dir=cache)
    (entry,) = _entries(cache)
    mtime = os.stat(cache / entry).st_mtime_ns
    second = load_graphs(data, ["Si"], 3.0, cache_dir=cache)
    assert os.stat(cache / entry).st_mtime_ns == mtime  # read, not rewritten
    for g0, g1, g2 in zip(fresh, first, second):
        for name in ("positions", "species", "cell", "edge_index", "shifts", "n_atoms"):
            assert torch.equal(getattr(g0, name), getattr(g2, name))
        for key in ("energy", "forces", "stress"):
            assert torch.equal(g0.targets[key], g2.targets[key])
    assert not [p for p in os.listdir(cache) if p.endswith(".tmp")]
    load_graphs(data, ["Si"], 3.5, cache_dir=cache)  # another cutoff: another entry
    assert len(_entries(cache)) == 2


def test_neighbor_list_cache(tmp_path):
    data = _write(tmp_path / "data.xyz")
    lists = load_neighbor_lists(data, 3.0, cache_dir=tmp_path / "c")
    again = load_neighbor_lists(data, 3.0, cache_dir=tmp_path / "c")
    assert len(lists) == 3 and all(
        torch.equal(a, b) for x, y in zip(lists, again) for a, b in zip(x, y)
    )


def test_cache_never_overwrites_a_foreign_file(tmp_path):
    data = _write(tmp_path / "data.xyz")
    cache = DiskCache(tmp_path / "c")
    key = cache_key(data, 3.0, ["Si"], {})
    target = cache.path_for("graphs", key)
    target.parent.mkdir()
    target.write_text("a user's file that happens to have this name")
    with pytest.warns(UserWarning, match="left untouched"):
        graphs = load_graphs(data, ["Si"], 3.0, cache_dir=tmp_path / "c")
    assert len(graphs) == 3
    assert target.read_text() == "a user's file that happens to have this name"
    assert cache.save("graphs", key, [1]) is None  # refuses, leaves no temporary file
    assert os.listdir(target.parent) == [target.name]


def test_cache_dir_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError):
        DiskCache(f)


def test_unknown_read_option(tmp_path):
    data = _write(tmp_path / "data.xyz")
    with pytest.raises(TypeError, match="unknown reading options"):
        load_graphs(data, ["Si"], 3.0, energy_kee="x")
