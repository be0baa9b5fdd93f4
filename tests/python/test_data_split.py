"""nbody_lmp.data.split: deterministic by seed, disjoint and complete, separate files."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from nbody_lmp.data import load_train_val, split_indices, train_val_split


def test_split_is_deterministic_and_a_partition():
    a_train, a_val = split_indices(100, 0.2, seed=7)
    b_train, b_val = split_indices(100, 0.2, seed=7)
    np.testing.assert_array_equal(a_train, b_train)
    np.testing.assert_array_equal(a_val, b_val)
    assert len(a_val) == 20 and len(a_train) == 80
    assert sorted(np.concatenate([a_train, a_val]).tolist()) == list(range(100))
    assert np.all(np.diff(a_train) > 0) and np.all(np.diff(a_val) > 0)  # file order kept
    c_train, c_val = split_indices(100, 0.2, seed=8)
    assert not np.array_equal(a_val, c_val)


def test_split_pinned_values():
    """The split of a given seed never changes (PCG64 stream is stable across NumPy versions)."""
    _, val = split_indices(10, 0.3, seed=0)
    assert val.tolist() == sorted(np.random.default_rng(0).permutation(10)[:3].tolist())


def test_split_edge_cases():
    train, val = split_indices(5, 0.0)
    assert train.tolist() == [0, 1, 2, 3, 4] and val.size == 0
    train, val = split_indices(3, 0.01)  # at least one validation item
    assert len(val) == 1 and len(train) == 2
    train, val = split_indices(2, 0.9)  # at least one training item
    assert len(train) == 1
    with pytest.raises(ValueError, match="val_fraction"):
        split_indices(10, 1.0)
    with pytest.raises(ValueError, match="cannot split 1"):
        split_indices(1, 0.5)


def test_train_val_split_items():
    items = list("abcdefghij")
    train, val = train_val_split(items, 0.3, seed=3)
    assert sorted(train + val) == items and len(val) == 3
    assert train_val_split(items, 0.3, seed=3) == (train, val)


def _write(path, n, offset=0.0):
    import ase.io

    frames = []
    for k in range(n):
        atoms = Atoms("Si2", positions=[[0, 0, 0], [2.0 + 0.01 * k, 0, 0]], pbc=False)
        atoms.calc = SinglePointCalculator(atoms, energy=offset + k, forces=np.zeros((2, 3)))
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")
    return path


def test_load_train_val_fraction_and_files(tmp_path):
    train_file = _write(tmp_path / "train.xyz", 10)
    val_file = _write(tmp_path / "val.xyz", 3, offset=100.0)
    train, val = load_train_val(train_file, val_fraction=0.2, seed=1)
    assert len(train) == 8 and len(val) == 2
    again = load_train_val(train_file, val_fraction=0.2, seed=1)
    assert [c.frame for c in val] == [c.frame for c in again[1]]
    train, val = load_train_val(train_file, val_file)
    assert len(train) == 10 and [c.energy for c in val] == [100.0, 101.0, 102.0]
