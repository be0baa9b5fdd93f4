"""``species_levels: all`` (nn/species_gain.py): a species gain and scalar bias at every level keep
the network exactly invariant (rotation, reflection, translation, permutation) and its forces
-grad E, in float64 to 1e-12; they change the energies; TorchScript export runs them; a model
without them keeps its old parameters (checkpoints of the leaves-only default still load)."""

import numpy as np
import pytest
import torch

from nbody_lmp import NBodyCalculator, NBodyNetwork
from nbody_lmp.nn.species_gain import SpeciesGain
from nbody_lmp.so3 import natural_irreps, random_rotation
from nbody_lmp.so3.irreps import Irrep

from _netutils import apply_D, five_point, random_cluster, rel_err

pytestmark = pytest.mark.usefixtures("float64")


def _model(gate="first_order", species_levels="all", seed=0):
    torch.manual_seed(seed)
    m = NBodyNetwork(
        ["Si", "O", "H"],
        cutoff=[3.2, 2.8],
        levels=2,
        lmax=2,
        channels=4,
        gate=gate,
        species_levels=species_levels,
        dtype=torch.float64,
    )
    g = torch.Generator().manual_seed(seed + 10)
    for mod in m.modules():
        if isinstance(mod, SpeciesGain):  # away from the identity they start at
            mod.gain.data = 0.5 + torch.rand(mod.gain.shape, generator=g, dtype=torch.float64)
            mod.bias.data = torch.randn(mod.bias.shape, generator=g, dtype=torch.float64)
    return m


def _props(model, atoms):
    a = atoms.copy()
    a.calc = NBodyCalculator(model)
    return a.get_potential_energy(), a.get_forces(), a.get_potential_energies()


@pytest.mark.parametrize("parity", ["natural", "full"])
def test_gain_commutes_with_o3(parity):
    irreps = (
        natural_irreps(2, parity)
        if parity == "natural"
        else [Irrep(0, 1), Irrep(0, -1), Irrep(1, -1), Irrep(1, 1), Irrep(2, 1)]
    )
    C, n = 3, 5
    sg = SpeciesGain(irreps, C, n_species=2)
    g = torch.Generator().manual_seed(1)
    sg.gain.data = torch.rand(sg.gain.shape, generator=g, dtype=torch.float64) + 0.5
    sg.bias.data = torch.randn(sg.bias.shape, generator=g, dtype=torch.float64)
    x = torch.randn(n, C, sum(ir.dim for ir in irreps), generator=g, dtype=torch.float64)
    s = torch.tensor([0, 1, 1, 0, 1])
    R = random_rotation(torch.Generator().manual_seed(2))
    for T in (R, -torch.eye(3, dtype=torch.float64), -R):
        assert rel_err(sg(apply_D(x, irreps, C, T), s), apply_D(sg(x, s), irreps, C, T)) < 1e-13
    # only the true scalar 0e gets the bias (a bias on 0o would break reflection)
    y = sg(torch.zeros_like(x), s)
    assert y[:, :, 0].abs().max() > 0.1 and y[:, :, 1:].abs().max() == 0


@pytest.mark.parametrize("gate", ["zeroth_order", "first_order", "first_order_pairs"])
def test_invariance_and_forces(gate):
    model = _model(gate)
    atoms = random_cluster(8, ("Si", "O", "H"), seed=4, box=5.0)
    e, f, ea = _props(model, atoms)
    assert abs(e) > 1e-3 and np.abs(f).max() > 1e-4
    R = random_rotation(torch.Generator().manual_seed(3)).numpy()
    for T in (R, -np.eye(3), np.diag([1.0, 1.0, -1.0])):
        b = atoms.copy()
        b.positions = atoms.positions @ T.T + np.array([0.7, -2.0, 1.3])
        e1, f1, _ = _props(model, b)
        assert abs(e1 - e) < 1e-13 * abs(e)
        np.testing.assert_allclose(f1, f @ T.T, rtol=0, atol=1e-12 * np.abs(f).max())
    perm = np.random.default_rng(0).permutation(len(atoms))
    e2, f2, ea2 = _props(model, atoms[perm])
    assert abs(e2 - e) < 1e-13 * abs(e)
    np.testing.assert_allclose(ea2, ea[perm], rtol=0, atol=1e-12 * np.abs(ea).max())
    np.testing.assert_allclose(f2, f[perm], rtol=0, atol=1e-12 * np.abs(f).max())
    for a, c in [(0, 0), (3, 1), (7, 2)]:

        def energy(x):
            b = atoms.copy()
            b.positions[a, c] = x
            return _props(model, b)[0]

        fd = -five_point(energy, atoms.positions[a, c], 1e-4)
        assert abs(fd - f[a, c]) < 1e-9 * max(1.0, np.abs(f).max())


def test_gains_change_the_energy_and_start_as_the_identity():
    atoms = random_cluster(8, ("Si", "O", "H"), seed=5, box=5.0)
    torch.manual_seed(0)
    leaves = NBodyNetwork(
        ["Si", "O", "H"], cutoff=[3.2, 2.8], lmax=2, channels=4, dtype=torch.float64
    )
    torch.manual_seed(0)
    fresh = NBodyNetwork(
        ["Si", "O", "H"],
        cutoff=[3.2, 2.8],
        lmax=2,
        channels=4,
        species_levels="all",
        dtype=torch.float64,
    )
    fresh.load_state_dict(leaves.state_dict(), strict=False)
    assert abs(_props(fresh, atoms)[0] - _props(leaves, atoms)[0]) < 1e-12 * abs(
        _props(leaves, atoms)[0]
    )
    trained = _model()
    assert abs(_props(trained, atoms)[0] - _props(_model(species_levels="leaves"), atoms)[0]) > 1e-3
    # the leaves-only default has no new parameters: its state dict is what it was
    assert not any("species_gain" in k for k in leaves.state_dict())
    # 3 species x 4 channels: gains of 3 parts + biases at level 1, of the 1 scalar part + biases at
    # level 2
    extra = (3 * 4 * 3 + 3 * 4) + (3 * 4 * 1 + 3 * 4)
    assert (
        sum(p.numel() for p in fresh.parameters()) - sum(p.numel() for p in leaves.parameters())
        == extra
    )


def test_scripted_equals_eager(tmp_path):
    from nbody_lmp.export import export, load_exported

    model = _model()
    atoms = random_cluster(6, ("Si", "O", "H"), seed=6, box=4.5)
    path = tmp_path / "m.pt"
    export(model, str(path), dtype="float64")
    _, meta = load_exported(str(path))
    assert meta["hyperparameters"]["species_levels"] == "all"
    e, f, _ = _props(model, atoms)
    e_s, f_s, _ = _props(str(path), atoms)
    assert abs(e_s - e) < 1e-12 * abs(e)
    np.testing.assert_allclose(f_s, f, rtol=0, atol=1e-12 * np.abs(f).max())
