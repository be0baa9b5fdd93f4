"""Channels and lmax per level (``model.channels: [C1, C2]``, ``model.lmax: [L1, L2]``;
docs/theory.md, "Width per level"), float64: every symmetry and force = -grad E hold, the exported
file gives the same numbers, the widths are those asked for, and bad settings say what to change."""

import numpy as np
import pytest
import torch

from nbody_lmp import NBodyNetwork, export, load_exported

from _netutils import (
    assert_forces_are_gradient,
    assert_symmetric,
    props,
    random_cluster,
    random_crystal,
)

pytestmark = pytest.mark.usefixtures("float64")


def make_model(seed=0, gate="first_order", channels=(6, 3), lmax=(2, 1), **kw):
    torch.manual_seed(seed)
    return NBodyNetwork(
        ["C", "H"],
        cutoff=[3.2, 2.8],
        levels=2,
        lmax=list(lmax),
        channels=list(channels),
        gate=gate,
        dtype=torch.float64,
        **kw,
    )


@pytest.mark.parametrize("gate", ["first_order", "zeroth_order"])
@pytest.mark.parametrize("periodic", [False, True])
def test_symmetries_with_widths_per_level(gate, periodic):
    model = make_model(gate=gate, channels=(5, 3), lmax=(1, 2), species_levels="all")
    atoms = (
        random_crystal(("C", "H"), seed=2, n=8)
        if periodic
        else random_cluster(8, ("C", "H"), seed=2, box=3.6, min_dist=0.7)
    )
    assert_symmetric(model, atoms, periodic)


def test_forces_are_minus_the_gradient():
    model = make_model(seed=1, radial_weights="shared")
    atoms = random_cluster(7, ("C", "H"), seed=5, box=3.4, min_dist=0.8)
    assert_forces_are_gradient(model, atoms)


def test_the_levels_have_the_widths_asked_for():
    model = make_model(channels=(6, 3), lmax=(2, 1))
    assert model.embedding.shape == (2, 6)
    assert model.readout[0].in_features == 3
    assert max(p.l for p in model.gates[0].irreps_out) == 2
    same = NBodyNetwork(["C", "H"], levels=2, lmax=[2, 2], channels=[4, 4])
    one = NBodyNetwork(["C", "H"], levels=2, lmax=2, channels=4)
    assert sum(p.numel() for p in same.parameters()) == sum(p.numel() for p in one.parameters())
    narrow = make_model(channels=(6, 2))
    wide = make_model(channels=(6, 6))
    assert sum(p.numel() for p in narrow.parameters()) < sum(p.numel() for p in wide.parameters())


def test_export_gives_the_same_numbers(tmp_path):
    model = make_model(seed=3, radial_basis="bessel", correlation=3)
    atoms = random_crystal(("C", "H"), seed=7, n=8)
    ref = props(model, atoms)
    export(model, tmp_path / "m.pt", dtype="float64")
    loaded, meta = load_exported(tmp_path / "m.pt")
    assert meta["channels"] == [6, 3] and meta["lmax"] == [2, 1]
    out = props(loaded, atoms)
    assert abs(out["energy"] - ref["energy"]) < 1e-12 * abs(ref["energy"])
    np.testing.assert_allclose(
        out["forces"], ref["forces"], rtol=0, atol=1e-12 * np.abs(ref["forces"]).max()
    )


def test_bad_settings_say_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="channels lists 3 values but levels = 2"):
        NBodyNetwork(["Si"], levels=2, channels=[4, 4, 4])
    with pytest.raises(ValueError, match="lmax must be whole numbers >= 0"):
        NBodyNetwork(["Si"], levels=2, lmax=[2, -1])
    with pytest.raises(ValueError, match="first_order_pairs keeps one width"):
        NBodyNetwork(["Si"], levels=2, channels=[4, 2], gate="first_order_pairs")
    from nbody_lmp.training import load_config
    from nbody_lmp.training.config import ConfigError

    from _trainutils import tiny_config

    with pytest.raises(ConfigError, match="model.channels lists 1 values but model.levels = 2"):
        load_config(tiny_config(tmp_path, model={"levels": 2, "channels": [4]}))
    with pytest.raises(ConfigError, match="model.lmax must be a whole number"):
        load_config(tiny_config(tmp_path, model={"levels": 2, "lmax": [2, 1.5]}))
    cfg = load_config(tiny_config(tmp_path, model={"levels": 2, "channels": [4, 2]}))
    assert cfg.model.channels == [4, 2]
