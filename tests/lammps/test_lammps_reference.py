"""pair_style nbody against the Python references on the same exported float64 model
(docs/lammps.md, "Validation"): total energy, per-atom energies, forces, global virial and per-atom
virial, to <= 1e-12 relative, on periodic cubic, triclinic, non-periodic, two-species, smaller-
than-the-receptive-field and hybrid/overlay-with-NULL systems."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from _lmputils import (
    assert_matches,
    calculator_reference,
    contract_reference,
    lammps_frame,
    make_model,
    run_zero,
)

TOL = 1e-12


@pytest.fixture(params=["fold", "ghost-nodes"])
def image_mode(request, monkeypatch):
    """Both ways of treating a ghost that is a periodic image of an atom owned by the same rank:
    folded onto its owner's node (default), or a graph node of its own (NBODY_LMP_FOLD=0)."""
    monkeypatch.setenv("NBODY_LMP_FOLD", "1" if request.param == "fold" else "0")
    return request.param


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    return {
        "si": make_model(
            d / "si.pt", ["Si"], cutoff=3.0, levels=2, lmax=2, channels=4, gate="first_order"
        ),
        "si3": make_model(
            d / "si3.pt",
            ["Si"],
            cutoff=[2.6, 3.2, 2.4],
            levels=3,
            lmax=1,
            channels=3,
            gate="zeroth_order",
            seed=1,
        ),
        "sio": make_model(
            d / "sio.pt",
            ["Si", "O"],
            cutoff=[3.0, 2.7],
            levels=2,
            lmax=2,
            channels=4,
            gate="first_order",
            seed=2,
        ),
        "pairs": make_model(
            d / "pairs.pt",
            ["Si"],
            cutoff=2.8,
            levels=2,
            lmax=1,
            channels=3,
            gate="first_order_pairs",
            seed=3,
        ),
    }


def random_positions(n, cell, rng, min_dist=1.6):
    pos = []
    while len(pos) < n:
        f = rng.uniform(0, 1, 3)
        p = f @ cell
        ok = True
        for q in pos:
            d = p - q
            # minimum image, good enough for the cells used here
            fd = np.linalg.solve(cell.T, d)
            fd -= np.round(fd)
            if np.linalg.norm(fd @ cell) < min_dist:
                ok = False
                break
        if ok:
            pos.append(p)
    return np.array(pos)


def triclinic(symbols, seed):
    rng = np.random.default_rng(seed)
    cell = np.array([[7.4, 0.4, -0.3], [1.7, 6.9, 0.5], [-1.1, 0.9, 7.6]])
    n = len(symbols)
    return Atoms(symbols=symbols, positions=random_positions(n, cell, rng), cell=cell, pbc=True)


def cluster(n, seed, box=7.0):
    rng = np.random.default_rng(seed)
    pos = []
    while len(pos) < n:
        p = rng.uniform(0, box, 3)
        if all(np.linalg.norm(p - q) > 1.9 for q in pos):
            pos.append(p)
    return Atoms(symbols=["Si"] * n, positions=pos, pbc=False)


def compare(path, atoms, type_symbols, pair_lines=None, calculator=True):
    atoms = lammps_frame(atoms)
    pair_lines = pair_lines or [
        "pair_style nbody",
        f"pair_coeff * * {path} {' '.join(type_symbols)}",
    ]
    got = run_zero(atoms, type_symbols, pair_lines)
    ref = contract_reference(path, atoms)
    assert_matches(got, ref, TOL)
    if calculator:
        assert_matches(got, calculator_reference(path, atoms), TOL)
    return got, ref


def test_cubic_si_crystal(models, image_mode):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    got, ref = compare(models["si"], atoms, ["Si"])
    assert (
        np.abs(got["forces"]).max() > 1e-4
    )  # the rattle makes forces: the comparison means something
    # the per-atom virials add up to the global virial
    np.testing.assert_allclose(got["atom_virial"].sum(0), got["virial"], rtol=0, atol=1e-12)


def test_perfect_crystal_is_symmetric(models):
    """Unrattled diamond: zero forces, isotropic virial, equal per-atom energies."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    got, _ = compare(models["si"], atoms, ["Si"])
    assert np.abs(got["forces"]).max() < 1e-12
    assert np.ptp(got["energies"]) < 1e-12
    v = got["virial"]
    assert abs(v[0] - v[1]) < 1e-12 and abs(v[0] - v[2]) < 1e-12 and np.abs(v[3:]).max() < 1e-12


@pytest.mark.parametrize("model", ["si", "si3", "pairs"])
def test_triclinic_cell(models, model, image_mode):
    compare(models[model], triclinic(["Si"] * 14, seed=4), ["Si"])


def test_nonperiodic_cluster(models):
    got, _ = compare(models["si3"], cluster(18, seed=5), ["Si"])
    assert np.abs(got["forces"].sum(0)).max() < 1e-12  # no external field: momentum conserved


def test_isolated_atoms(models):
    """Atoms farther apart than every cutoff: no edges at all, energies E0 + readout, no forces."""
    atoms = Atoms("Si2O", positions=[[0, 0, 0], [7.0, 0, 0], [0, 7.5, 0]], pbc=False)
    # (NBodyCalculator cannot do a structure without edges yet: autograd on an energy without grad)
    got, ref = compare(models["sio"], atoms, ["Si", "O"], calculator=False)
    assert np.abs(got["forces"]).max() == 0.0 and np.abs(got["virial"]).max() == 0.0


def test_two_species_types_in_other_order(models, image_mode):
    """Two species, LAMMPS types in the reverse of the model's order (type 1 = O, type 2 = Si)."""
    atoms = triclinic(["Si", "O", "O"] * 5, seed=6)
    compare(models["sio"], atoms, ["O", "Si"])


def test_two_species_several_types_per_species(models):
    """Several LAMMPS types may map to the same species."""
    atoms = lammps_frame(triclinic(["Si", "O", "O"] * 4, seed=7))
    symbols = atoms.get_chemical_symbols()
    # types: 1 = Si (first half), 2 = O, 3 = Si (second half)
    types = ["Si", "O", "Si"]
    relabelled = atoms.copy()
    half = len(atoms) // 2
    tags = [
        ("Si" if s == "Si" and k < half else ("O" if s == "O" else "Ar"))
        for k, s in enumerate(symbols)
    ]
    relabelled.set_chemical_symbols(tags)  # Ar stands for "Si of type 3" while creating atoms
    path = models["sio"]
    got = run_zero(
        relabelled,
        ["Si", "O", "Ar"],
        ["pair_style nbody", f"pair_coeff * * {path} {' '.join(types)}"],
    )
    ref = contract_reference(path, atoms)
    assert_matches(got, ref, TOL)


def test_box_smaller_than_receptive_field(models, image_mode):
    """The 2-atom primitive diamond cell (3.84 A vectors) with a 6 A receptive field: many
    images."""
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.positions[1] += [0.07, -0.03, 0.05]
    got, _ = compare(models["si"], atoms, ["Si"])
    assert np.abs(got["forces"]).max() > 1e-4


def test_small_orthogonal_box(models):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=8)
    compare(models["si3"], atoms, ["Si"])


def test_hybrid_overlay_with_null(models, image_mode):
    """Ar atoms (type 2) are NULL for nbody and left to another style: nbody sees only Si."""
    atoms = lammps_frame(triclinic(["Si", "Si", "Ar"] * 5, seed=9))
    path = models["si"]
    got = run_zero(
        atoms,
        ["Si", "Ar"],
        [
            "pair_style hybrid/overlay nbody zero 6.0",
            f"pair_coeff * * nbody {path} Si NULL",
            "pair_coeff * * zero",
        ],
    )
    si = atoms[[s == "Si" for s in atoms.get_chemical_symbols()]]
    ref = contract_reference(path, si)
    is_si = np.array([s == "Si" for s in atoms.get_chemical_symbols()])
    assert_matches(
        {k: (v if np.ndim(v) == 0 or k == "virial" else v[is_si]) for k, v in got.items()}, ref, TOL
    )
    assert np.abs(got["forces"][~is_si]).max() == 0.0
    assert np.abs(got["energies"][~is_si]).max() == 0.0
    assert np.abs(got["atom_virial"][~is_si]).max() == 0.0


def test_hybrid_overlay_adds_up(models, tmp_path):
    """nbody + lj/cut under hybrid/overlay = the sum of the two run alone."""
    atoms = lammps_frame(triclinic(["Si"] * 12, seed=10))
    path = models["si"]
    lj = ["pair_coeff * * lj/cut 0.01 2.2"]
    both = run_zero(
        atoms,
        ["Si"],
        ["pair_style hybrid/overlay nbody lj/cut 5.0", f"pair_coeff * * nbody {path} Si", *lj],
    )
    alone = run_zero(atoms, ["Si"], ["pair_style lj/cut 5.0", "pair_coeff * * 0.01 2.2"])
    ref = contract_reference(path, atoms)
    summed = {k: ref[k] + alone[k] for k in ref}
    assert_matches(both, summed, TOL)


def test_float32_model(tmp_path):
    """A float32 export runs in float32 (to float32 rounding of the float64 reference)."""
    p64 = make_model(tmp_path / "m64.pt", ["Si"], cutoff=3.0, seed=11)
    p32 = make_model(tmp_path / "m32.pt", ["Si"], cutoff=3.0, seed=11, dtype="float32")
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=12)
    atoms = lammps_frame(atoms)
    got = run_zero(atoms, ["Si"], ["pair_style nbody", f"pair_coeff * * {p32} Si"])
    ref = contract_reference(p64, atoms)
    assert_matches(got, ref, 1e-4, keys=["energy", "energies", "forces", "virial"])
    # and `dtype float64` runs the float32 file in float64: closer to the float64 model's numbers
    got64 = run_zero(atoms, ["Si"], ["pair_style nbody dtype float64", f"pair_coeff * * {p32} Si"])
    assert_matches(got64, ref, 1e-5, keys=["energy", "forces"])


def test_float32_file_run_in_float64_is_exactly_covariant(tmp_path):
    """The exported file carries exact float64 CG matrices, so `dtype float64` on a float32
    file is covariant to float64 rounding, not to the ~1e-9 of float32-rounded constants."""
    from nbody_lmp.so3 import random_rotation
    import torch

    p32 = make_model(
        tmp_path / "m32.pt", ["Si"], cutoff=3.2, seed=13, dtype="float32", lmax=2, channels=6
    )
    atoms = cluster(14, seed=14)
    lines = ["pair_style nbody dtype float64", f"pair_coeff * * {p32} Si"]
    ref = run_zero(atoms, ["Si"], lines)
    R = random_rotation(torch.Generator().manual_seed(15)).numpy()
    for T in (R, -R):
        b = atoms.copy()
        b.positions = atoms.positions @ T.T
        got = run_zero(b, ["Si"], lines)
        assert abs(got["energy"] - ref["energy"]) <= 1e-13 * abs(ref["energy"])
        assert (
            np.abs(got["forces"] - ref["forces"] @ T.T).max() <= 1e-12 * np.abs(ref["forces"]).max()
        )


def test_oldest_format_version_still_runs(tmp_path):
    """A file of the oldest format version this plugin reads (docs/model-format.md, "Versions")
    gives the same results as the file this version writes."""
    import torch

    from nbody_lmp import NBodyNetwork, export
    from nbody_lmp.nn.network import FORMAT_VERSION, OLDEST_FORMAT_VERSION

    torch.manual_seed(3)
    model = NBodyNetwork(["Si"], cutoff=3.0, levels=2, lmax=1, channels=3, dtype=torch.float64)
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=4)
    results = []
    for version in (OLDEST_FORMAT_VERSION, FORMAT_VERSION):
        model.format_version = version
        path = export(model, tmp_path / f"v{version}.pt", metadata={"format_version": version})
        results.append(compare(path, atoms, ["Si"], calculator=False)[0])
    assert_matches(results[0], results[1], TOL)


def test_widths_per_level(tmp_path):
    """A model with channels and lmax per level (docs/theory.md, "Width per level")."""
    path = make_model(
        tmp_path / "widths.pt", ["Si"], cutoff=[3.0, 2.6], channels=[5, 3], lmax=[2, 1], seed=5
    )
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=6)
    compare(path, atoms, ["Si"])
