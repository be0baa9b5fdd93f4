"""pair_style nbody with the short-range prior and the training data's shortest distances
(docs/theory.md, "Short-range prior"): a model with the ZBL term and the Bessel radial basis
gives in LAMMPS what the Python calculator gives, on 1 and 2 MPI ranks, and two atoms closer than
the training data's shortest pair of their species get one warning that names them by tag."""

import numpy as np
import pytest
import torch
from ase import Atoms

from nbody_lmp import NBodyNetwork, export

from _lmputils import (
    assert_matches,
    calculator_reference,
    lammps_frame,
    run_lmp_input,
    run_zero,
    write_data,
)


@pytest.fixture(scope="module")
def zbl_model(tmp_path_factory):
    torch.manual_seed(4)
    model = NBodyNetwork(
        ["C", "H"],
        cutoff=[3.0, 2.6],
        levels=2,
        lmax=2,
        channels=4,
        radial_basis="bessel",
        zbl=True,
        dtype=torch.float64,
    )
    model.set_energy_statistics(e0={"C": -1.0, "H": -0.5})
    model.set_shortest_distances({"C-C": 1.2, "C-H": 0.95, "H-H": 0.7})
    return export(model, tmp_path_factory.mktemp("zbl") / "zbl.pt", overwrite=True)


def cluster():
    rng = np.random.default_rng(5)
    pos = rng.uniform(0, 4.0, (8, 3))
    pos[1] = pos[0] + [0.62, 0.1, -0.05]  # a C-H pair inside the ZBL range and below 0.95 A
    return lammps_frame(Atoms("CHCHCHCH", positions=pos))


def test_zbl_model_matches_the_calculator(zbl_model):
    atoms = cluster()
    ref = calculator_reference(zbl_model, atoms)
    got = run_zero(atoms, ["C", "H"], ["pair_style nbody", f"pair_coeff * * {zbl_model} C H"])
    assert_matches(got, ref, tol=1e-10, keys=["energy", "energies", "forces"])


@pytest.mark.parametrize("ranks", [1, 2])
def test_one_warning_names_the_atoms_below_the_training_data(zbl_model, tmp_path, ranks):
    atoms = cluster()
    write_data(tmp_path / "data.lmp", atoms, ["C", "H"])
    text = (
        f"units metal\natom_style atomic\nboundary f f f\nread_data data.lmp\n"
        f"pair_style nbody\npair_coeff * * {zbl_model} C H\nrun 0\nrun 0\n"
    )
    out = run_lmp_input(tmp_path, text, nprocs=ranks)
    assert out.returncode == 0, out.output[-3000:]
    lines = [l for l in out.output.splitlines() if "closer than any" in l]
    assert len(lines) == 1, out.output[-3000:]
    assert (
        "atoms with tags 1 and 2 (C-H)" in lines[0] or "atoms with tags 2 and 1 (H-C)" in lines[0]
    )
    assert "(0.950 A)" in lines[0] and "model.zbl: true" in lines[0]


def test_no_warning_inside_the_training_data(zbl_model, tmp_path):
    atoms = lammps_frame(
        Atoms("CHCH", positions=[[0, 0, 0], [1.1, 0, 0], [0, 2.5, 0], [0, 3.6, 0]])
    )
    write_data(tmp_path / "data.lmp", atoms, ["C", "H"])
    text = (
        f"units metal\natom_style atomic\nboundary f f f\nread_data data.lmp\n"
        f"pair_style nbody\npair_coeff * * {zbl_model} C H\nrun 0\n"
    )
    out = run_lmp_input(tmp_path, text)
    assert out.returncode == 0, out.output[-3000:]
    assert "closer than any" not in out.output
