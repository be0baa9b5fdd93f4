"""Checkpoints and --resume: a training killed after a checkpoint resumes and ends with the
same weights as an uninterrupted run; run folders are never reused silently."""

import signal
import subprocess
import sys
import time

import pytest
import torch

from _trainutils import tiny_config, write_lj_data

from nbody_lmp.training import Trainer, load_checkpoint, load_config
from nbody_lmp.training.config import ConfigError


class Killed(Exception):
    pass


def kill_after(epoch):
    def cb(trainer, row):
        if row["epoch"] == epoch:
            # nothing more is written: as if the process died right after the checkpoint
            raise Killed

    return cb


def assert_same_state(a, b):
    for key in ("model_state", "eval_state"):
        assert a[key].keys() == b[key].keys()
        for k in a[key]:
            assert torch.equal(a[key][k], b[key][k]), f"{key}.{k} differs"
    for k in a["ema"]["shadow"]:
        assert torch.equal(a["ema"]["shadow"][k], b["ema"]["shadow"][k])
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for p in sa:
        for k in sa[p]:
            assert torch.equal(torch.as_tensor(sa[p][k]), torch.as_tensor(sb[p][k])), (
                f"optimizer {p}.{k}"
            )
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    assert a["scheduler"] == b["scheduler"]
    assert (
        a["epoch"] == b["epoch"]
        and a["best_epoch"] == b["best_epoch"]
        and a["best_loss"] == b["best_loss"]
    )
    strip = lambda h: [{k: v for k, v in r.items() if "time" not in k} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_lj_data(tmp_path_factory.mktemp("data") / "train.xyz", n=8)


@pytest.mark.parametrize("scheduler", ["plateau", "cosine"])
def test_killed_then_resumed_equals_uninterrupted(tmp_path, data, scheduler):
    training = {"scheduler": scheduler, "lr_patience": 0, "max_epochs": 5}
    full = load_config(tiny_config(tmp_path, "a.yaml", data, run_dir="full", training=training))
    Trainer(full, log=lambda s: None).run()

    cfg = load_config(tiny_config(tmp_path, "b.yaml", data, run_dir="killed", training=training))
    with pytest.raises(Killed):
        Trainer(cfg, callbacks=[kill_after(2)], log=lambda s: None).run()
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 2
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(cfg, log=lambda s: None).run()
    result = Trainer(cfg, resume=True, log=lambda s: None).run()
    assert result.epochs == 5

    a, b = (
        load_checkpoint(tmp_path / "full" / "last.pt"),
        load_checkpoint(tmp_path / "killed" / "last.pt"),
    )
    assert_same_state(a, b)
    assert_same_state(
        load_checkpoint(tmp_path / "full" / "best.pt"),
        load_checkpoint(tmp_path / "killed" / "best.pt"),
    )
    rows = lambda p: [
        ",".join(r.split(",")[:1] + r.split(",")[2:]) for r in p.read_text().splitlines()
    ]  # noqa
    assert rows(tmp_path / "full" / "metrics.csv") == rows(tmp_path / "killed" / "metrics.csv")


def test_sigkill_during_training_then_resume(tmp_path, data):
    """A real kill (SIGKILL of `nbody-lmp train`) at an arbitrary moment after the first
    checkpoint."""
    training = {"max_epochs": 12}
    cfg_path = tiny_config(tmp_path, "k.yaml", data, run_dir="killed", training=training)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbody_lmp.cli", "train", str(cfg_path), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    last = tmp_path / "killed" / "last.pt"
    deadline = time.time() + 300
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        if last.exists():
            try:
                killed_at = load_checkpoint(last)["epoch"]
            except ValueError:  # it cannot be half-written; but be explicit if it ever is
                pytest.fail("last.pt was unreadable while training ran")
            if killed_at >= 1:
                proc.send_signal(signal.SIGKILL)
                break
        time.sleep(0.02)
    proc.wait(timeout=60)
    if proc.returncode != -signal.SIGKILL:
        pytest.skip(f"training finished before it could be killed (rc {proc.returncode})")
    state = load_checkpoint(last)  # intact after the kill
    assert 1 <= state["epoch"] < 12
    Trainer(load_config(cfg_path), resume=True, log=lambda s: None).run()

    full = load_config(tiny_config(tmp_path, "f.yaml", data, run_dir="full", training=training))
    Trainer(full, log=lambda s: None).run()
    assert_same_state(load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(last))


def test_resume_checks_config_and_state(tmp_path, data):
    cfg_path = tiny_config(tmp_path, "c.yaml", data, run_dir="run", training={"max_epochs": 2})
    Trainer(load_config(cfg_path), log=lambda s: None).run()
    with pytest.raises(ConfigError, match="already finished"):
        Trainer(load_config(cfg_path), resume=True).run()
    with pytest.raises(ConfigError, match="differs from the run's in training.lr"):
        Trainer(
            load_config(cfg_path, overrides={"training.lr": 0.5, "training.max_epochs": 3}),
            resume=True,
        ).run()
    # more epochs may be asked for
    r = Trainer(
        load_config(cfg_path, overrides={"training.max_epochs": 3}), resume=True, log=lambda s: None
    ).run()
    assert r.epochs == 3
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        Trainer(
            load_config(cfg_path, overrides={"output.run_dir": str(tmp_path / "new")}), resume=True
        ).run()
    with pytest.raises(ConfigError, match="contradict"):
        Trainer(load_config(cfg_path), resume=True, force=True).run()


def test_force_moves_old_results_aside(tmp_path, data):
    run = tmp_path / "run"
    run.mkdir()
    (run / "precious.txt").write_text("user results")
    cfg = load_config(
        tiny_config(
            tmp_path,
            "d.yaml",
            data,
            run_dir="run",
            training={"max_epochs": 1},
            output={"plots": True, "export_dtype": "float32"},
        )
    )
    with pytest.raises(FileExistsError, match="already exists and holds precious.txt"):
        Trainer(cfg, log=lambda s: None).run()
    assert (run / "precious.txt").read_text() == "user results"
    Trainer(cfg, force=True, log=lambda s: None).run()
    previous = [p for p in run.iterdir() if p.name.startswith("previous-")]
    assert len(previous) == 1 and (previous[0] / "precious.txt").read_text() == "user results"
    for name in (
        "best.pt",
        "last.pt",
        "metrics.csv",
        "metrics.json",
        "config.yaml",
        "learning_curves.png",
        "parity.png",
        "model.pt",
    ):
        assert (run / name).stat().st_size > 0, name


def interrupt_after(epoch):
    def cb(trainer, row):
        if row["epoch"] == epoch:
            raise KeyboardInterrupt  # Ctrl-C

    return cb


def test_learning_curves_drawn_while_training_and_on_interrupt(tmp_path, data):
    """A long run shows its learning curves while it trains (every output.plot_every_minutes; 0:
    every epoch) and keeps them when interrupted, so a run stopped part-way has its figure."""
    output = {"plots": True, "plot_every_minutes": 0}
    cfg = load_config(
        tiny_config(
            tmp_path, "p.yaml", data, run_dir="every", output=output, training={"max_epochs": 3}
        )
    )
    with pytest.raises(Killed):
        Trainer(cfg, callbacks=[kill_after(1)], log=lambda s: None).run()
    assert (tmp_path / "every" / "learning_curves.png").stat().st_size > 0

    output = {"plots": True, "plot_every_minutes": None}  # at the end only ...
    cfg = load_config(
        tiny_config(
            tmp_path, "q.yaml", data, run_dir="ctrl-c", output=output, training={"max_epochs": 3}
        )
    )
    with pytest.raises(Killed):
        Trainer(cfg, callbacks=[kill_after(1)], log=lambda s: None).run()
    assert not (tmp_path / "ctrl-c" / "learning_curves.png").exists()
    with pytest.raises(KeyboardInterrupt):  # ... and when interrupted
        Trainer(cfg, resume=True, callbacks=[interrupt_after(2)], log=lambda s: None).run()
    assert (tmp_path / "ctrl-c" / "learning_curves.png").stat().st_size > 0
    assert load_checkpoint(tmp_path / "ctrl-c" / "last.pt")["epoch"] == 2
    assert Trainer(cfg, resume=True, log=lambda s: None).run().epochs == 3


@pytest.mark.parametrize("bad", [-1, "often", True])
def test_plot_every_minutes_is_checked(tmp_path, data, bad):
    with pytest.raises(ConfigError, match="plot_every_minutes"):
        load_config(tiny_config(tmp_path, "bad.yaml", data, output={"plot_every_minutes": bad}))
