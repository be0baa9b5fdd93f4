"""The per-channel radial weights variant (``radial_weights: per_channel``,
docs/theory.md "Per-channel radial weights and Proposition 1"), float64: every intermediate part of
every gate is covariant under rotations, inversion and improper rotations to 1e-12 relative; forces
are -grad E by finite differences; the channel-wise neighbourhood sum is the plain per-edge sum;
the option reaches the exported file's metadata and the training config."""

import json

import numpy as np
import pytest
import torch

from nbody_lmp import NBodyCalculator, NBodyNetwork, export
from nbody_lmp.nn.aggregation import channelwise_neighbourhood_sum
from nbody_lmp.nn.channel_fragments import ChannelNeighbourhoodFragments
from nbody_lmp.nn.tensor_product import ChannelwiseProduct
from nbody_lmp.so3 import random_rotation
from nbody_lmp.training.config import ConfigError, config_from_dict

from _netutils import (
    apply_D,
    five_point,
    model_inputs,
    random_cluster,
    random_crystal,
    record_parts,
    rel_err,
)

pytestmark = pytest.mark.usefixtures("float64")
GATES = ["zeroth_order", "first_order", "first_order_pairs"]


def _record(model, species, positions):
    return record_parts(
        model, species, positions, (ChannelNeighbourhoodFragments, ChannelwiseProduct)
    )


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("parity", ["natural", "full"])
def test_per_channel_parts_covariant(gate, parity):
    torch.manual_seed(3)
    atoms = random_cluster(7, ("Si", "O"), seed=3, box=4.5)
    model = NBodyNetwork(
        ["Si", "O"],
        cutoff=[3.5, 3.0, 3.2],
        levels=3,
        lmax=2,
        channels=3,
        gate=gate,
        parity=parity,
        radial_weights="per_channel",
        dtype=torch.float64,
    )
    assert any(isinstance(m, ChannelNeighbourhoodFragments) for m in model.modules())
    species = torch.tensor([model.species.index(s) for s in atoms.get_chemical_symbols()])
    pos = torch.from_numpy(atoms.positions)
    R = random_rotation(torch.Generator().manual_seed(7))
    e0, rec0 = _record(model, species, pos)
    kinds = {len(a) if isinstance(a, list) else 0 for _, a in rec0}
    assert len(rec0) >= 2 * model.levels and len(kinds) >= 2
    for T in (R, -torch.eye(3, dtype=torch.float64), -R):
        e1, rec1 = _record(model, species, pos @ T.T)
        assert rel_err(e1, e0) < 1e-12
        for (irreps, a), (_, b) in zip(rec0, rec1):
            expected = apply_D(a, irreps, None, T)
            if isinstance(a, list):
                for x, y in zip(expected, b):
                    assert rel_err(y, x) < 1e-12
                assert any(x.abs().max() > 1e-6 for x in a)
            else:
                assert rel_err(b, expected) < 1e-12


@pytest.mark.parametrize("gate", GATES)
def test_per_channel_forces_are_minus_gradient(gate):
    torch.manual_seed(1)
    model = NBodyNetwork(
        ["Si", "O"],
        cutoff=[3.2, 2.8],
        levels=2,
        lmax=2,
        channels=4,
        gate=gate,
        radial_weights="per_channel",
        dtype=torch.float64,
    )
    atoms = random_crystal(("Si", "O"), seed=5, n=6)

    def energy_forces(a):
        b = a.copy()
        b.calc = NBodyCalculator(model)
        return b.get_potential_energy(), b.get_forces()

    _, f = energy_forces(atoms)
    assert np.abs(f).max() > 1e-3
    h = 1e-4
    for a, c in [(0, 0), (2, 1), (5, 2)]:

        def energy(x):
            b = atoms.copy()
            b.positions[a, c] = x
            return energy_forces(b)[0]

        fd = -five_point(energy, atoms.positions[a, c], h)
        assert abs(fd - f[a, c]) < 1e-9 * max(1.0, np.abs(f).max())


def test_channelwise_sum_is_per_edge_sum():
    g = torch.Generator().manual_seed(0)
    E, N, C, B = 40, 9, 3, 5
    center = torch.randint(0, N - 1, (E,), generator=g)  # node N-1 has no children
    child = torch.randint(0, N + 2, (E,), generator=g)
    for A in (1, 4):
        x, weight = torch.randn(N + 2, C, A, generator=g), torch.randn(E, C, B, generator=g)
        expected = torch.zeros(N, C, A, B).index_add(
            0, center, x[child].unsqueeze(-1) * weight.unsqueeze(-2)
        )
        got = channelwise_neighbourhood_sum(x, child, weight, center, N).transpose(0, 1)
        assert rel_err(got, expected) < 1e-13
        assert got[N - 1].abs().max() == 0
        empty = channelwise_neighbourhood_sum(x, child[:0], weight[:0], center[:0], N)
        assert empty.shape == (C, N, A, B) and empty.abs().max() == 0


def test_per_channel_export_metadata_and_script(tmp_path):
    torch.manual_seed(0)
    model = NBodyNetwork(
        ["Si"],
        cutoff=3.0,
        levels=2,
        lmax=2,
        channels=4,
        radial_weights="per_channel",
        dtype=torch.float64,
    )
    path = export(model, tmp_path / "m.pt")
    extra = {"metadata.json": ""}
    scripted = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra["metadata.json"])
    assert (
        meta["radial_weights"] == "per_channel"
        and meta["hyperparameters"]["radial_weights"] == "per_channel"
    )
    atoms = random_crystal(("Si",), seed=2, n=6)
    pos = torch.from_numpy(atoms.positions)
    species = torch.zeros(len(atoms), dtype=torch.long)
    ei, ev, nn = model_inputs(model, pos)
    assert rel_err(scripted(species, ei, ev, nn), model(species, ei, ev, nn)) < 1e-12
    shared = NBodyNetwork(
        ["Si"],
        cutoff=3.0,
        levels=2,
        lmax=2,
        channels=4,
        radial_weights="shared",
        dtype=torch.float64,
    )
    assert sum(p.numel() for p in model.parameters()) != sum(p.numel() for p in shared.parameters())


def test_radial_weights_option_checked():
    with pytest.raises(ValueError, match="radial_weights"):
        NBodyNetwork(["Si"], radial_weights="diagonal")
    cfg = config_from_dict({"data": {"train": "x.xyz"}, "model": {"radial_weights": "per_channel"}})
    assert cfg.model_kwargs()["radial_weights"] == "per_channel"
    with pytest.raises(ConfigError, match="radial_weights"):
        config_from_dict({"data": {"train": "x.xyz"}, "model": {"radial_weights": "diagonal"}})


def test_default_is_per_channel_and_old_checkpoints_stay_shared():
    """per_channel is the default; a checkpoint whose model_config has no radial_weights key
    rebuilds the shared network, the only kind such a checkpoint holds."""
    from nbody_lmp.training.checkpoint import model_from_checkpoint

    assert (
        NBodyNetwork(["Si"], cutoff=3.0, levels=1, channels=2).config["radial_weights"]
        == "per_channel"
    )
    assert (
        config_from_dict({"data": {"train": "x.xyz"}}).model_kwargs()["radial_weights"]
        == "per_channel"
    )
    shared = NBodyNetwork(
        ["Si"],
        cutoff=3.0,
        levels=2,
        lmax=1,
        channels=2,
        radial_weights="shared",
        dtype=torch.float64,
    )
    old_config = {k: v for k, v in shared.config.items() if k != "radial_weights"}
    state = {
        "model_config": old_config,
        "dtype": "float64",
        "model_state": shared.state_dict(),
        "eval_state": None,
    }
    rebuilt = model_from_checkpoint(state)
    assert rebuilt.config["radial_weights"] == "shared"
    for (k, a), (_, b) in zip(
        sorted(shared.state_dict().items()), sorted(rebuilt.state_dict().items())
    ):
        assert torch.equal(a, b), k


def test_channelwise_sum_gradients_match_the_per_edge_sum():
    """The padded sum's backward (a scatter-add for the children, a gather for the weights) gives
    the gradients of the plain per-edge sum, with repeated children and a parent without
    children."""
    g = torch.Generator().manual_seed(1)
    E, N, C, A, B = 30, 7, 2, 4, 5
    center = torch.randint(0, N - 1, (E,), generator=g)
    child = torch.randint(0, N, (E,), generator=g)
    x = torch.randn(N, C, A, generator=g, requires_grad=True)
    weight = torch.randn(E, C, B, generator=g, requires_grad=True)
    probe = torch.randn(N, C, A, B, generator=g)
    expected = torch.zeros(N, C, A, B).index_add(
        0, center, x[child].unsqueeze(-1) * weight.unsqueeze(-2)
    )
    want = torch.autograd.grad((expected * probe).sum(), (x, weight))
    got = channelwise_neighbourhood_sum(x, child, weight, center, N).transpose(0, 1)
    have = torch.autograd.grad((got * probe).sum(), (x, weight))
    for a, b in zip(have, want):
        assert rel_err(a, b) < 1e-13
