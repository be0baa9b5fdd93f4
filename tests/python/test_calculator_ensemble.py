"""NBodyCalculator on several models (docs/lammps.md, "Several models:
model deviation", for the same quantities in LAMMPS): energy, forces, stress and per-atom energies
are the first model's; results hold the per-atom force deviation sqrt(<|F_m - <F>|^2>), its max, the
per-atom energy deviation and the deviation of the total energy per atom; models with other
species or cutoffs are refused with a message that names the model."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from nbody_lmp import NBodyCalculator, NBodyNetwork, export
from nbody_lmp.deviation import energy_deviation, force_deviation, total_energy_deviation


def net(seed, species=("Si",), cutoff=3.0):
    torch.manual_seed(seed)
    return NBodyNetwork(
        list(species), cutoff=cutoff, levels=2, lmax=1, channels=3, dtype=torch.float64
    )


@pytest.fixture(scope="module")
def atoms():
    a = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 1, 1))
    a.rattle(0.1, seed=3)
    return a


def single(model, atoms):
    a = atoms.copy()
    a.calc = NBodyCalculator(model)
    return dict(
        energy=a.get_potential_energy(),
        forces=a.get_forces(),
        energies=a.get_potential_energies(),
        stress=a.get_stress(),
    )


def test_ensemble_results(atoms, tmp_path):
    models = [net(k) for k in range(3)]
    files = [export(m, tmp_path / f"m{k}.pt") for k, m in enumerate(models)]
    refs = [single(m, atoms) for m in models]
    for given in (models, [str(f) for f in files]):
        a = atoms.copy()
        a.calc = NBodyCalculator(given)
        # the first model's properties
        assert a.get_potential_energy() == pytest.approx(refs[0]["energy"], abs=1e-12)
        np.testing.assert_allclose(a.get_forces(), refs[0]["forces"], atol=1e-12)
        np.testing.assert_allclose(a.get_stress(), refs[0]["stress"], atol=1e-12)
        np.testing.assert_allclose(a.get_potential_energies(), refs[0]["energies"], atol=1e-12)
        # the deviations, against a direct evaluation of the definitions
        F = np.stack([r["forces"] for r in refs])
        E = np.stack([r["energies"] for r in refs])
        fd = np.array(
            [
                np.sqrt(np.mean([np.sum((F[m, i] - F[:, i].mean(0)) ** 2) for m in range(3)]))
                for i in range(len(atoms))
            ]
        )
        r = a.calc.results
        np.testing.assert_allclose(r["force_deviation"], fd, rtol=1e-10, atol=1e-14)
        assert r["max_force_deviation"] == pytest.approx(fd.max(), rel=1e-10)
        np.testing.assert_allclose(r["energies_deviation"], E.std(0), rtol=1e-10, atol=1e-14)
        assert r["energy_deviation"] == pytest.approx(E.sum(1).std() / len(atoms), rel=1e-10)
        assert a.calc.get_property("max_force_deviation", a) == r["max_force_deviation"]
        assert fd.min() > 0  # the models do differ


def test_single_model_has_no_deviation(atoms):
    a = atoms.copy()
    a.calc = NBodyCalculator(net(0))
    a.get_forces()
    assert "force_deviation" not in a.calc.results


def test_definitions():
    F = np.array([[[1.0, 0, 0]], [[-1.0, 0, 0]]])  # two models, one atom: mean 0, |F - <F>| = 1
    assert force_deviation(F) == pytest.approx([1.0])
    assert energy_deviation([[1.0, 2.0], [3.0, 2.0]]) == pytest.approx([1.0, 0.0])
    assert total_energy_deviation([[1.0, 2.0], [3.0, 2.0]]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shape"):
        force_deviation(np.zeros((2, 3)))


def test_mismatched_models_are_refused(tmp_path):
    a = export(net(0), tmp_path / "a.pt")
    b = export(net(1, species=("O", "Si")), tmp_path / "b.pt")
    c = export(net(2, cutoff=3.5), tmp_path / "c.pt")
    with pytest.raises(
        ValueError, match=r"b\.pt \(model 2 of the ensemble\) has species \['O', 'Si'\].*\['Si'\]"
    ):
        NBodyCalculator([a, b])
    with pytest.raises(
        ValueError, match=r"c\.pt \(model 3 of the ensemble\) has level cutoffs \[3\.5, 3\.5\]"
    ):
        NBodyCalculator([a, a, c])
    with pytest.raises(ValueError, match="needs a model"):
        NBodyCalculator([])
