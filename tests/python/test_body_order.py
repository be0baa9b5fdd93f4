"""The triple product in the first-order gate (``model.correlation: 3``; docs/theory.md, "Body
order per level"), float64: the model keeps every symmetry and force = -grad E, the exported
file gives the same numbers, the new term takes part, and bad settings say what to change."""

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


def make_model(seed=0, **kw):
    torch.manual_seed(seed)
    return NBodyNetwork(
        ["C", "H"],
        cutoff=[3.2, 2.8],
        levels=2,
        lmax=2,
        channels=4,
        dtype=torch.float64,
        correlation=3,
        **kw,
    )


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("parity", ["natural", "full"])
def test_symmetries_with_the_triple_product(periodic, parity):
    model = make_model(parity=parity)
    atoms = (
        random_crystal(("C", "H"), seed=2, n=8)
        if periodic
        else random_cluster(8, ("C", "H"), seed=2, box=3.6, min_dist=0.7)
    )
    assert_symmetric(model, atoms, periodic)


def test_forces_are_minus_the_gradient():
    model = make_model(seed=1)
    atoms = random_cluster(7, ("C", "H"), seed=5, box=3.4, min_dist=0.8)
    assert_forces_are_gradient(model, atoms)


def test_the_triple_product_takes_part():
    model = make_model(seed=2)
    atoms = random_cluster(8, ("C", "H"), seed=6, box=3.6, min_dist=0.7)
    e = props(model, atoms)["energy"]
    cubes = [h for g in model.gates for h in g.higher]
    assert len(cubes) == 2  # one per level
    with torch.no_grad():
        for c in cubes:
            for w in c.mix_c.weights:
                w.zero_()
    assert abs(props(model, atoms)["energy"] - e) > 1e-6 * abs(e)


def test_export_gives_the_same_numbers(tmp_path):
    model = make_model(seed=3, radial_basis="bessel")
    atoms = random_crystal(("C", "H"), seed=7, n=8)
    ref = props(model, atoms)
    export(model, tmp_path / "m.pt", dtype="float64")
    loaded, meta = load_exported(tmp_path / "m.pt")
    assert meta["hyperparameters"]["correlation"] == 3
    out = props(loaded, atoms)
    assert abs(out["energy"] - ref["energy"]) < 1e-12 * abs(ref["energy"])
    np.testing.assert_allclose(
        out["forces"], ref["forces"], rtol=0, atol=1e-12 * np.abs(ref["forces"]).max()
    )


def test_bad_settings_say_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="correlation must be 2, or 3 with gate first_order"):
        NBodyNetwork(["Si"], gate="zeroth_order", correlation=3)
    with pytest.raises(ValueError, match="correlation must be 2, or 3"):
        NBodyNetwork(["Si"], correlation=4)
    from nbody_lmp.training import load_config
    from nbody_lmp.training.config import ConfigError

    from _trainutils import tiny_config

    cfg = tiny_config(tmp_path, model={"gate": "zeroth_order", "correlation": 3})
    with pytest.raises(ConfigError, match="model.correlation: 3 needs model.gate: first_order"):
        load_config(cfg)
