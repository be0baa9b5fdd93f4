"""nbody_lmp.data.io: every bad input gives a clear error; keys, stress conventions, shared data."""

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa

from nbody_lmp.data import DataError, read_configurations
from nbody_lmp.data.io import matrix_to_voigt, vasp_kbar_to_stress, voigt_to_matrix

SHARED = Path("/work/shared/data")


def _frame(n=3, cell=5.0, pbc=True, energy=-1.5, forces=True, key_style="calc", seed=0, **extra):
    rng = np.random.default_rng(seed)
    pos = np.array([[0.0, 0.0, 0.0], [1.2, 0.3, 0.1], [0.2, 1.9, 1.1], [2.5, 2.5, 2.5]])[:n]
    pos = pos + rng.normal(scale=0.01, size=pos.shape)
    atoms = Atoms(["Si", "Si", "O", "Si"][:n], positions=pos, cell=np.eye(3) * cell, pbc=pbc)
    f = rng.normal(size=(n, 3))
    if key_style == "calc":
        results = {}
        if energy is not None:
            results["energy"] = energy
        if forces:
            results["forces"] = f
        results.update(extra)
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
    else:
        if energy is not None:
            atoms.info["REF_energy"] = energy
        if forces:
            atoms.arrays["REF_forces"] = f
        atoms.info.update(extra)
    return atoms


def _write(tmp_path, frames, name="data.xyz"):
    import ase.io

    path = tmp_path / name
    ase.io.write(path, frames, format="extxyz")
    return path


def _expect(path, match, **kw):
    with pytest.raises(DataError, match=match) as info:
        read_configurations(path, **kw)
    message = str(info.value)
    assert str(path) in message  # names the file
    return info.value


# ------------------------------------------------------------------------- good inputs


def test_reads_calc_results_and_frames(tmp_path):
    path = _write(tmp_path, [_frame(seed=k, energy=-float(k)) for k in range(4)])
    confs = read_configurations(path)
    assert [c.energy for c in confs] == [0.0, -1.0, -2.0, -3.0]
    assert [c.frame for c in confs] == [0, 1, 2, 3]
    assert confs[1].forces.shape == (3, 3) and confs[1].stress is None
    assert confs[0].source == str(path)
    sub = read_configurations(path, "1::2")
    assert [c.frame for c in sub] == [1, 3]


def test_custom_keys(tmp_path):
    path = _write(tmp_path, [_frame(key_style="info")])
    with pytest.raises(DataError, match="energy_key"):
        read_configurations(path)
    (c,) = read_configurations(path, energy_key="REF_energy", forces_key="REF_forces")
    assert c.energy == -1.5 and c.forces.shape == (3, 3)


def test_stress_conventions(tmp_path):
    s = np.array([[1.0, 0.2, 0.3], [0.2, 2.0, 0.4], [0.3, 0.4, 3.0]]) * 1e-3
    volume = 125.0
    frames = [
        _frame(stress=matrix_to_voigt(s)),  # calculator Voigt
        _frame(key_style="info", virial=(-s * volume).ravel()),  # virial = -V stress
        _frame(key_style="info", my_stress=s),  # 3x3 in info
    ]
    path = _write(tmp_path, frames)
    # frame 0 has its labels on the calculator under the standard names
    (c0,) = read_configurations(path, "0")
    np.testing.assert_allclose(c0.stress, s)
    c1, c2 = read_configurations(
        path, "1:", energy_key="REF_energy", forces_key="REF_forces", stress_key="my_stress"
    )
    assert (c1.frame, c2.frame) == (1, 2)
    np.testing.assert_allclose(c1.stress, s)  # from the virial
    np.testing.assert_allclose(c2.stress, s)


def test_vasp_kbar_conversion_matches_readme():
    raw = np.array([10.0, 20.0, 30.0, 1.0, 2.0, 3.0])  # xx yy zz xy yz zx, kbar, compression +
    s = vasp_kbar_to_stress(raw)
    expected = voigt_to_matrix(-raw[[0, 1, 2, 4, 5, 3]] * 0.1 * GPa)
    np.testing.assert_allclose(s, expected)
    assert s[0, 0] < 0  # compression -> negative ASE stress
    np.testing.assert_allclose(s[0, 1], -1.0 * 0.1 * GPa)  # xy
    np.testing.assert_allclose(s[1, 2], -2.0 * 0.1 * GPa)  # yz
    np.testing.assert_allclose(s[0, 2], -3.0 * 0.1 * GPa)  # zx


def test_single_atom_without_forces_gets_zero_forces(tmp_path):
    path = _write(tmp_path, [_frame(n=1, forces=False, pbc=False)])
    (c,) = read_configurations(path)
    np.testing.assert_array_equal(c.forces, np.zeros((1, 3)))


def test_optional_labels(tmp_path):
    path = _write(tmp_path, [_frame(energy=None, forces=False)])
    (c,) = read_configurations(path, require_energy=False, require_forces=False)
    assert c.energy is None and c.forces is None


def test_to_atoms_roundtrip(tmp_path):
    s = np.diag([1.0, 2.0, 3.0]) * 1e-3
    path = _write(tmp_path, [_frame(stress=matrix_to_voigt(s))])
    (c,) = read_configurations(path)
    atoms = c.to_atoms()
    assert atoms.get_potential_energy() == c.energy
    np.testing.assert_allclose(atoms.get_stress(voigt=False), s)
    np.testing.assert_allclose(atoms.get_forces(), c.forces)


@pytest.mark.parametrize("suffix", [".xz", ".gz", ".bz2"])
def test_compressed_files_read_like_plain_ones(tmp_path, suffix):
    import bz2
    import gzip
    import lzma

    plain = _write(tmp_path, [_frame(seed=i, energy=-1.0 - i) for i in range(4)])
    packed = tmp_path / ("data.xyz" + suffix)
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}[suffix]
    with opener(packed, "wb") as fh:
        fh.write(plain.read_bytes())
    for index in (":", "1:3", -1):
        want = read_configurations(plain, index=index)
        got = read_configurations(packed, index=index)
        assert [c.energy for c in got] == [c.energy for c in want]
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.positions, b.positions)
            np.testing.assert_array_equal(a.forces, b.forces)


def test_unreadable_compressed_file(tmp_path):
    path = tmp_path / "broken.xyz.xz"
    path.write_bytes(b"not xz at all")
    _expect(path, "ASE could not read the file")


# ------------------------------------------------------------------------- bad inputs


def test_missing_energy(tmp_path):
    path = _write(tmp_path, [_frame(), _frame(energy=None)])
    err = _expect(path, "frame 1: no energy found under key 'energy'")
    assert err.frame == 1 and "energy_key" in str(err)


def test_missing_forces(tmp_path):
    path = _write(tmp_path, [_frame(forces=False)])
    _expect(path, "frame 0: no forces found under key 'forces'.*forces_key")


def test_nan_energy(tmp_path):
    path = _write(tmp_path, [_frame(), _frame(), _frame(energy=float("nan"))])
    _expect(path, "frame 2: the energy is nan")


def test_inf_forces(tmp_path):
    atoms = _frame(key_style="info")
    atoms.arrays["REF_forces"][1, 2] = np.inf
    path = _write(tmp_path, [atoms])
    _expect(
        path,
        r"forces on atoms \[1\] are NaN or inf",
        energy_key="REF_energy",
        forces_key="REF_forces",
    )


def test_nan_stress(tmp_path):
    path = _write(tmp_path, [_frame(key_style="info", my_stress=np.full(9, np.nan))])
    _expect(
        path,
        "stress contains NaN",
        energy_key="REF_energy",
        forces_key="REF_forces",
        stress_key="my_stress",
    )


def test_nan_positions(tmp_path):
    atoms = _frame()
    pos = atoms.positions
    pos[0, 0] = np.nan
    atoms.positions = pos
    path = _write(tmp_path, [atoms])
    _expect(path, r"positions of atoms \[0\] are NaN")


def test_species_not_in_model(tmp_path):
    path = _write(tmp_path, [_frame()])
    _expect(path, r"species \['O'\] are not in the model's species \['Si'\]", species=["Si"])
    assert len(read_configurations(path, species=["O", "Si"])) == 1


def test_wrong_force_shape(tmp_path):
    atoms = _frame(key_style="info")
    atoms.info["REF_forces"] = np.zeros(5)  # not per-atom
    del atoms.arrays["REF_forces"]
    path = _write(tmp_path, [atoms])
    _expect(
        path, r"shape \(5,\), expected \(3, 3\)", energy_key="REF_energy", forces_key="REF_forces"
    )


def test_wrong_force_columns_in_file(tmp_path):
    path = tmp_path / "cols.xyz"
    path.write_text(
        '2\nProperties=species:S:1:pos:R:3:forces:R:2 energy=1.0 pbc="F F F"\n'
        "Si 0 0 0 0 0\nSi 2 0 0 0 0\n"
    )
    _expect(path, r"forces under key 'forces' have shape \(2, 2\), expected \(2, 3\)")


def test_wrong_stress_shape(tmp_path):
    path = _write(tmp_path, [_frame(key_style="info", my_stress=np.zeros(4))])
    _expect(
        path,
        r"stress under key 'my_stress' has shape \(4,\)",
        energy_key="REF_energy",
        forces_key="REF_forces",
        stress_key="my_stress",
    )


def test_energy_not_scalar(tmp_path):
    path = _write(tmp_path, [_frame(key_style="info", energy=None, E=np.array([1.0, 2.0]))])
    _expect(path, "expected one number", energy_key="E", forces_key="REF_forces")


def test_atoms_too_close(tmp_path):
    atoms = _frame()
    pos = atoms.positions
    pos[2] = pos[1] + [0.05, 0.0, 0.0]
    atoms.positions = pos
    path = _write(tmp_path, [_frame(), atoms])
    _expect(path, r"frame 1: atoms 1 and 2 are 0.05 Å apart")


def test_atoms_too_close_through_periodic_image(tmp_path):
    atoms = _frame(n=2)
    atoms.positions = [[0.01, 1.0, 1.0], [4.96, 1.0, 1.0]]  # 0.05 Å apart across the boundary
    path = _write(tmp_path, [atoms])
    _expect(path, "periodic images included")
    atoms.pbc = False  # not neighbours without periodicity
    path2 = _write(tmp_path, [atoms], "open.xyz")
    assert len(read_configurations(path2)) == 1


def test_frame_without_atoms(tmp_path):
    path = tmp_path / "empty.xyz"
    path.write_text(
        '1\nProperties=species:S:1:pos:R:3:forces:R:3 energy=1.0 pbc="F F F"\n'
        "Si 0 0 0 0 0 0\n"
        '0\nProperties=species:S:1:pos:R:3 energy=1.0 pbc="F F F"\n'
    )
    _expect(path, "frame 1: the frame has no atoms")


def test_singular_cell_with_pbc(tmp_path):
    atoms = _frame()
    atoms.cell = [[5.0, 0, 0], [0, 5.0, 0], [5.0, 5.0, 0]]  # coplanar lattice vectors
    path = _write(tmp_path, [atoms])
    _expect(path, "cell is singular")


def test_zero_cell_with_pbc(tmp_path):
    path = tmp_path / "nocell.xyz"
    path.write_text(
        '2\nProperties=species:S:1:pos:R:3:forces:R:3 energy=1.0 pbc="T T T"\n'
        "Si 0 0 0 0 0 0\nSi 2 0 0 0 0 0\n"
    )
    _expect(path, "cell is singular.*Lattice")


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.xyz"
    path.write_text("3\nnot a comment line\nSi 0 0\n")
    _expect(path, "ASE could not read the file")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_configurations(tmp_path / "nope.xyz")


def test_bad_stress_format(tmp_path):
    path = _write(tmp_path, [_frame()])
    with pytest.raises(ValueError, match="vasp_kbar"):
        read_configurations(path, stress_format="voigt")


# ------------------------------------------------------------------------- shared data sets


needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared data sets not present")


@needs_shared
@pytest.mark.parametrize(
    "name, species",
    [
        ("rmd17/aspirin_train.xyz", ["H", "C", "N", "O"]),
        ("rmd17/ethanol_test.xyz", ["H", "C", "O"]),
        ("3bpa/train_300K.xyz", ["H", "C", "N", "O"]),
        ("3bpa/iso_atoms.xyz", ["H", "C", "N", "O"]),
        ("rmd17/isolated_atoms.xyz", ["H", "C", "N", "O"]),
    ],
)
def test_shared_molecules(name, species):
    confs = read_configurations(SHARED / name, ":5", species=species)
    assert 1 <= len(confs) <= 5
    for c in confs:
        assert np.isfinite(c.energy) and c.forces.shape == (c.n_atoms, 3)
        assert not c.pbc.any() and c.stress is None


@needs_shared
@pytest.mark.parametrize("element", ["si", "ge", "mo"])
def test_shared_mlearn_with_stress(element):
    path = SHARED / "mlearn" / f"{element}_train.xyz"
    symbol = element.capitalize()
    confs = read_configurations(
        path,
        ":5",
        species=[symbol],
        stress_key="virial_kbar_raw",
        stress_format="vasp_kbar",
        require_stress=True,
    )
    assert len(confs) == 5
    import ase.io

    raw = ase.io.read(path, 0).info["virial_kbar_raw"]
    c = confs[0]
    assert c.pbc.all() and c.stress.shape == (3, 3)
    np.testing.assert_allclose(c.stress, c.stress.T)
    # README: stress = -raw[[0, 1, 2, 4, 5, 3]] * 0.1 * GPa (Voigt xx yy zz yz xz xy)
    np.testing.assert_allclose(matrix_to_voigt(c.stress), -raw[[0, 1, 2, 4, 5, 3]] * 0.1 * GPa)
    # without the option the stress is simply absent
    assert read_configurations(path, ":1")[0].stress is None


@needs_shared
def test_shared_mlearn_narrow_cells_load():
    """mlearn Mo has cells down to 2.6 Å across: several periodic images of an atom."""
    confs = read_configurations(SHARED / "mlearn" / "mo_test.xyz", species=["Mo"])
    assert min(c.n_atoms for c in confs) >= 1
