"""The cosine learning-rate schedule (``training.scheduler: cosine``): it
anneals from ``lr`` to ``min_lr`` by ``max_epochs`` or by the time limit, whichever comes first."""

import math
from types import SimpleNamespace

import pytest
import torch

from _trainutils import tiny_config, write_lj_data

from nbody_lmp.training import Trainer, load_config

LR, MIN_LR = 0.01, 1e-4


def cosine(progress):
    return MIN_LR + (LR - MIN_LR) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def trainer_at(epoch, elapsed, max_epochs=100):
    """The state ``Trainer._cosine_lr`` reads, after ``epoch`` epochs and ``elapsed`` seconds."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    cfg = SimpleNamespace(training=SimpleNamespace(lr=LR, min_lr=MIN_LR, max_epochs=max_epochs))
    return SimpleNamespace(cfg=cfg, epoch=epoch, elapsed=elapsed, optimizer=opt)


@pytest.mark.parametrize(
    "epoch, elapsed, limit, epoch_time, progress",
    [
        (0, 0.0, None, 0.0, 0.0),  # the first epoch runs at lr
        (25, 50.0, None, 2.0, 0.25),  # no time limit: epochs over max_epochs
        (25, 50.0, 600.0, 2.0, 0.25),  # the epochs are ahead of the clock
        (
            5,
            28.0,
            60.0,
            2.0,
            0.5,
        ),  # the clock is ahead: time at the end of this epoch over the limit
        (9, 59.0, 60.0, 6.0, 1.0),  # this epoch would end past the limit: min_lr, not beyond
        (0, 0.0, 60.0, 0.0, 0.0),  # no epoch yet: no time estimate either
    ],
)
def test_cosine_progress_is_the_larger_of_epochs_and_time(
    epoch, elapsed, limit, epoch_time, progress
):
    t = trainer_at(epoch, elapsed)
    Trainer._cosine_lr(t, Trainer._progress(t, limit, epoch_time))
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(cosine(progress), rel=1e-12)


def test_cosine_lr_of_each_epoch_in_a_run(tmp_path):
    data = write_lj_data(tmp_path / "train.xyz", n=6)
    cfg = load_config(
        tiny_config(
            tmp_path,
            data=data,
            training={"scheduler": "cosine", "lr": LR, "min_lr": MIN_LR, "max_epochs": 4},
        )
    )
    Trainer(cfg, log=lambda s: None).run()
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    col = rows[0].split(",").index("lr")
    lrs = [float(r.split(",")[col]) for r in rows[1:]]
    assert lrs == pytest.approx([cosine(k / 4) for k in range(4)], rel=1e-6)


def _late_stage_of(progress, late_energy_weight=None, late_batch_size=None):
    """A stand-in trainer (energy weight 1, forces 10, batch 4, late_fraction 0.2) after
    Trainer._late_stage at ``progress``."""
    from nbody_lmp.training.losses import WeightedLoss

    loss = SimpleNamespace(
        energy_weight=1.0,
        forces_weight=10.0,
        stress_weight=0.0,
        late_energy_weight=late_energy_weight,
        late_fraction=0.2,
    )
    training = SimpleNamespace(batch_size=4, late_batch_size=late_batch_size)
    t = SimpleNamespace(
        cfg=SimpleNamespace(loss=loss, training=training),
        train_loss=WeightedLoss(loss),
        loss=WeightedLoss(loss),
    )
    Trainer._late_stage(t, progress)
    return t


@pytest.mark.parametrize(
    "progress, late, expected",
    [(0.0, 50.0, 1.0), (0.79, 50.0, 1.0), (0.8, 50.0, 50.0), (1.0, 50.0, 50.0), (0.9, None, 1.0)],
)
def test_late_energy_weight_replaces_the_training_weight_in_the_last_part(progress, late, expected):
    t = _late_stage_of(progress, late_energy_weight=late)
    assert t.train_loss.w["energy"] == expected and t.train_loss.w["forces"] == 10.0
    assert t.loss.w["energy"] == 1.0  # validation and model selection keep the configured weight
    assert t.batch_size == 4


@pytest.mark.parametrize("progress, late, expected", [(0.5, 16, 4), (0.85, 16, 16), (0.9, None, 4)])
def test_late_batch_size_in_the_last_part(progress, late, expected):
    t = _late_stage_of(progress, late_batch_size=late)
    assert t.batch_size == expected and t.train_loss.w["energy"] == 1.0


def test_run_with_a_late_batch_size_takes_fewer_steps_late(tmp_path):
    """4 epochs of 6 configurations, batches of 2, then of 6 in the last half: 3 + 3 + 1 + 1 steps
    (the optimizer's step count in the checkpoint)."""
    from nbody_lmp.training import load_checkpoint

    data = write_lj_data(tmp_path / "train.xyz", n=7)
    cfg = load_config(
        tiny_config(
            tmp_path,
            data=data,
            loss={"late_fraction": 0.5},
            training={
                "scheduler": "cosine",
                "max_epochs": 4,
                "batch_size": 2,
                "late_batch_size": 6,
            },
        )
    )
    Trainer(cfg, log=lambda s: None).run()
    state = load_checkpoint(tmp_path / "run" / "last.pt")["optimizer"]["state"]
    steps = {int(v["step"]) for v in state.values()}
    assert steps == {3 + 3 + 1 + 1}


def test_run_with_a_late_energy_weight_selects_on_the_configured_loss(tmp_path):
    data = write_lj_data(tmp_path / "train.xyz", n=6)
    cfg = load_config(
        tiny_config(
            tmp_path,
            data=data,
            loss={"late_energy_weight": 1000.0, "late_fraction": 0.5},
            training={"scheduler": "cosine", "max_epochs": 4},
        )
    )
    tr = Trainer(cfg, log=lambda s: None)
    tr.run()
    assert tr.train_loss.w["energy"] == 1000.0 and tr.loss.w["energy"] == cfg.loss.energy_weight
