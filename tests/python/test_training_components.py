"""Loss, metrics, EMA and atomic checkpoints (nbody_lmp.training)."""

import os

import numpy as np
import pytest
import torch

from _trainutils import TINY_MODEL, lj_configs

from nbody_lmp import NBodyNetwork
from nbody_lmp.data import atoms_to_graph, collate
from nbody_lmp.nn.properties import compute_properties
from nbody_lmp.training.checkpoint import load_checkpoint, save_checkpoint
from nbody_lmp.training.config import LossSection
from nbody_lmp.training.ema import ExponentialMovingAverage
from nbody_lmp.training.losses import WeightedLoss
from nbody_lmp.training.metrics import MetricsAccumulator, format_table


@pytest.fixture
def batch():
    torch.manual_seed(0)
    model = NBodyNetwork(["Si"], dtype=torch.float64, **TINY_MODEL)
    graphs = []
    for a in lj_configs(3):
        t = {"energy": a.get_potential_energy(), "forces": a.get_forces(), "stress": a.get_stress()}
        graphs.append(atoms_to_graph(a, ["Si"], 3.0, targets=t))
    g = collate(graphs)
    pred = compute_properties(model, g, forces=True, stress=True)
    return model, g, pred


def test_weighted_loss_terms(batch):
    _, g, pred = batch
    loss, terms = WeightedLoss(
        LossSection(energy_weight=2.0, forces_weight=3.0, stress_weight=5.0)
    )(pred, g)
    n = g.n_atoms.double()
    e = torch.mean(((pred["energy"] - g.targets["energy"]) / n) ** 2)
    f = torch.mean((pred["forces"] - g.targets["forces"]) ** 2)
    s = torch.mean((pred["stress"] - g.targets["stress"]) ** 2)
    assert torch.allclose(terms["energy"], e) and torch.allclose(terms["forces"], f)
    assert torch.allclose(terms["stress"], s)
    assert torch.allclose(loss, 2 * e + 3 * f + 5 * s)
    # a zero weight drops the term; missing labels too
    _, terms = WeightedLoss(LossSection(stress_weight=0.0))(pred, g)
    assert set(terms) == {"energy", "forces"}
    g.targets.pop("stress")
    _, terms = WeightedLoss(LossSection(stress_weight=1.0))(pred, g)
    assert "stress" not in terms


def test_metrics_match_numpy(batch):
    _, g, pred = batch
    acc = MetricsAccumulator(keep=True)
    acc.add(pred, g)
    s = acc.summary()
    err_f = (pred["forces"] - g.targets["forces"]).detach().numpy().ravel()
    assert s["forces"]["mae"] == pytest.approx(np.abs(err_f).mean(), rel=1e-12)
    assert s["forces"]["rmse"] == pytest.approx(np.sqrt((err_f**2).mean()), rel=1e-12)
    assert s["forces"]["std"] == pytest.approx(g.targets["forces"].numpy().std(), rel=1e-10)
    n = g.n_atoms.double().numpy()
    err_e = ((pred["energy"] - g.targets["energy"]).detach().numpy()) / n
    assert s["energy_per_atom"]["rmse"] == pytest.approx(np.sqrt((err_e**2).mean()), rel=1e-12)
    assert s["stress"]["n"] == 27
    ref, p = acc.pairs("forces")
    assert np.allclose(p - ref, err_f)
    table = format_table({"test": s})
    assert "energy_per_atom" in table and "meV/Å" in table


def test_ema_average_and_swap():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    ema = ExponentialMovingAverage(model, decay=0.5)
    w0 = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # decay min(0.5, 2/11)
    d = 2.0 / 11.0
    expect = d * w0 + (1 - d) * (w0 + 1)
    assert torch.allclose(ema.shadow["weight"], expect)
    raw = model.weight.detach().clone()
    with ema.applied(model):
        assert torch.equal(model.weight, ema.shadow["weight"])
    assert torch.equal(model.weight, raw)
    other = ExponentialMovingAverage(model, decay=0.5)
    other.load_state_dict(ema.state_dict())
    assert other.num_updates == 1 and torch.equal(other.shadow["weight"], ema.shadow["weight"])


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    assert load_checkpoint(path)["epoch"] == 1

    def dying_fsync(fd):  # the process "dies" after the bytes were written, before the rename
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", dying_fsync)
        with pytest.raises(KeyboardInterrupt):
            save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3)})
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


def test_checkpoint_rejects_foreign_files(tmp_path):
    p = tmp_path / "x.pt"
    torch.save({"a": 1}, p)
    with pytest.raises(ValueError, match="not an nbody-lmp training checkpoint"):
        load_checkpoint(p)
    p.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable nbody-lmp checkpoint"):
        load_checkpoint(p)
