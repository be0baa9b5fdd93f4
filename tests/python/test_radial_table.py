"""Tabulated radial functions of an exported model (``export(..., radial_table=N)``,
``nbody-lmp export --radial-table N``; python/nbody_lmp/nn/radial_table.py), float64: the table
reproduces the radial functions and their derivatives, is exactly zero from the cutoff on, and
the tabulated model keeps covariance (1e-12), force = -grad E (finite differences) and agrees
with the untabulated model to 1e-8 relative, for both radial-weight variants."""

import copy
import json

import numpy as np
import pytest
import torch

from nbody_lmp import NBodyCalculator, NBodyNetwork, export
from nbody_lmp.nn.channel_fragments import ChannelRadial
from nbody_lmp.nn.radial import InversePowerRadial
from nbody_lmp.nn.radial_table import TabulatedRadial, radial_min_distance, tabulate_radials
from nbody_lmp.so3 import random_rotation

from _netutils import five_point, model_inputs, random_cluster, random_crystal, rel_err

pytestmark = pytest.mark.usefixtures("float64")


def make(radial_weights, seed=0):
    torch.manual_seed(seed)
    return NBodyNetwork(
        ["Si", "O"],
        cutoff=[3.2, 2.8],
        levels=2,
        lmax=2,
        channels=4,
        radial_max_power=6,
        n_radial=6,
        radial_hidden=32,
        radial_weights=radial_weights,
        dtype=torch.float64,
    )


def shared_or_per_channel(radial, kind):
    """``radial`` itself, or a per-channel radial over it (tabulated through its shared
    functions)."""
    return radial if kind == "shared" else ChannelRadial(radial, 3, 2).to(torch.float64)


@pytest.mark.parametrize("kind", ["shared", "per_channel"])
def test_table_values_derivatives_and_cutoff(kind):
    torch.manual_seed(0)
    radial = shared_or_per_channel(InversePowerRadial(3.5, 6, 8, 32).to(torch.float64), kind)
    table = TabulatedRadial(radial, 3.5, points=2048)
    assert table.mixed == (kind == "per_channel")
    r = torch.linspace(1.5, 3.49, 777, dtype=torch.float64).requires_grad_(True)
    y, yt = radial(r), table(r)
    assert rel_err(yt, y) < 1e-9
    d = torch.autograd.grad(y.sum(), r)[0]
    dt = torch.autograd.grad(table(r).sum(), r)[0]
    assert rel_err(dt, d) < 1e-6
    beyond = torch.tensor([3.5, 3.7, 10.0], dtype=torch.float64, requires_grad=True)
    out = table(beyond)
    assert out.abs().max() == 0
    assert torch.autograd.grad(out.sum(), beyond)[0].abs().max() == 0


@pytest.mark.parametrize("kind", ["shared", "per_channel"])
def test_table_holds_below_min_distance_like_the_model(kind):
    """Below radial_min_distance the table is the model's held value with zero slope, not
    its first cubic extrapolated towards r = 0."""
    torch.manual_seed(1)
    radial = shared_or_per_channel(
        InversePowerRadial(3.8, 6, 8, 32, min_distance=0.5).to(torch.float64), kind
    )
    table = TabulatedRadial(radial, 3.8, points=2048, r_min=radial_min_distance(radial))
    assert table.r_min == 0.5
    r = torch.tensor([1e-4, 0.1, 0.3, 0.5, 0.50001, 0.7], dtype=torch.float64, requires_grad=True)
    y, yt = radial(r), table(r)
    assert rel_err(yt, y) < 1e-9
    g = torch.autograd.grad(yt.sum(), r)[0]
    assert g[:3].abs().max() == 0 and g[5].abs() > 0


@pytest.mark.parametrize("radial_weights", ["shared", "per_channel"])
def test_tabulated_model_symmetric_and_conservative(radial_weights):
    model = make(radial_weights)
    tab = copy.deepcopy(model)
    for p in tab.parameters():
        p.requires_grad_(False)
    assert tabulate_radials(tab, 2048) == tab.levels
    atoms = random_cluster(8, ("Si", "O"), seed=4, box=5.0)
    species = torch.tensor([model.species.index(s) for s in atoms.get_chemical_symbols()])
    pos = torch.from_numpy(atoms.positions)
    e = tab(species, *model_inputs(tab, pos))
    assert rel_err(e, model(species, *model_inputs(model, pos))) < 1e-8
    R = random_rotation(torch.Generator().manual_seed(5))
    for T in (R, -R):
        assert rel_err(tab(species, *model_inputs(tab, pos @ T.T)), e) < 1e-12

    crystal = random_crystal(("Si", "O"), seed=5, n=6)

    def energy_forces(a):
        b = a.copy()
        b.calc = NBodyCalculator(tab)
        return b.get_potential_energy(), b.get_forces()

    _, f = energy_forces(crystal)
    for a, c in [(0, 0), (3, 2)]:

        def energy(x):
            b = crystal.copy()
            b.positions[a, c] = x
            return energy_forces(b)[0]

        fd = -five_point(energy, crystal.positions[a, c], 1e-4)
        assert abs(fd - f[a, c]) < 1e-8 * max(1.0, np.abs(f).max())


def test_export_with_table_metadata(tmp_path):
    model = make("per_channel")
    path = export(model, tmp_path / "t.pt", radial_table=1024)
    extra = {"metadata.json": ""}
    scripted = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra["metadata.json"])
    assert meta["radial_table"]["points"] == 1024 and meta["radial_table"]["r_min"] == 0.5
    assert (
        json.loads(
            torch.jit.load(str(export(model, tmp_path / "n.pt")), _extra_files=extra)
            and extra["metadata.json"]
        )["radial_table"]
        is None
    )
    atoms = random_crystal(("Si", "O"), seed=1, n=6)
    species = torch.tensor([model.species.index(s) for s in atoms.get_chemical_symbols()])
    pos = torch.from_numpy(atoms.positions)
    assert (
        rel_err(
            scripted(species, *model_inputs(model, pos)), model(species, *model_inputs(model, pos))
        )
        < 1e-8
    )
    assert all(p.requires_grad for p in model.parameters())  # the model itself is untouched
