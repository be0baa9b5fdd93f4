"""Data-parallel training (docs/training.md, "Several processes"): 2 processes with gloo give the
weights 1 process gives for the same global batch and seed; a run resumes with another process
count; an error on the main process, or a killed process, stops every process with a message
that says what to do, and leaves last.pt whole."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from _trainutils import tiny_config, write_lj_data

from nbody_lmp.training import load_checkpoint

CLI = [sys.executable, "-m", "nbody_lmp.cli", "train"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # 13 configurations, batches of 3: uneven shares, and a last batch of 1 on one process only
    return write_lj_data(tmp_path_factory.mktemp("data") / "train.xyz", n=13)


def train(config, *extra, nproc=None, timeout=300):
    cmd = CLI + [str(config), "-q", *extra] + (["--nproc", str(nproc)] if nproc else [])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def max_relative_difference(a, b):
    worst = 0.0
    for key in ("model_state", "eval_state"):
        assert a[key].keys() == b[key].keys()
        for k, x in a[key].items():
            y = b[key][k]
            if x.dtype.is_floating_point and x.numel():
                worst = max(worst, float((x - y).abs().max() / x.abs().max().clamp_min(1e-300)))
            else:
                assert torch.equal(x, y), f"{key}.{k}"
    return worst


def config(tmp_path, data, name, dtype="float64", epochs=3, **training):
    return tiny_config(
        tmp_path,
        name=f"{name}.yaml",
        data=data,
        run_dir=tmp_path / name,
        training={"batch_size": 3, "max_epochs": epochs, "dtype": dtype, **training},
    )


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-6)])
def test_two_processes_give_the_weights_of_one(tmp_path, data, dtype, tol):
    one = train(config(tmp_path, data, "one", dtype))
    assert one.returncode == 0, one.stderr
    two = train(config(tmp_path, data, "two", dtype), nproc=2)
    assert two.returncode == 0, two.stderr
    assert "data-parallel training: 2 processes, gloo" in two.stdout
    assert two.stdout.count("run folder:") == 1  # only the main process reports
    a = load_checkpoint(tmp_path / "one" / "last.pt")
    b = load_checkpoint(tmp_path / "two" / "last.pt")
    assert max_relative_difference(a, b) < tol
    for ra, rb in zip(a["history"], b["history"]):
        for k in ("train_loss", "val_loss", "train_forces_rmse", "val_stress_mae"):
            assert ra[k] == pytest.approx(rb[k], rel=tol * 10)
    assert (
        a["final_metrics"]["validation"]["forces"]["n"]
        == (b["final_metrics"]["validation"]["forces"]["n"])
    )


def test_resume_with_another_process_count(tmp_path, data):
    straight = train(config(tmp_path, data, "straight", epochs=4))
    assert straight.returncode == 0, straight.stderr
    cfg = config(tmp_path, data, "split", epochs=2)
    first = train(cfg, nproc=2)
    assert first.returncode == 0, first.stderr
    second = train(cfg, "--resume", "--set", "training.max_epochs=4")
    assert second.returncode == 0, second.stderr
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "split" / "last.pt")
    assert b["epoch"] == 4
    assert max_relative_difference(a, b) < 1e-12


def test_an_error_on_the_main_process_stops_them_all(tmp_path, data):
    cfg = config(tmp_path, data, "taken")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    t0 = time.monotonic()
    run = train(cfg, nproc=2, timeout=120)
    assert run.returncode != 0
    assert time.monotonic() - t0 < 100  # no process waited for one that stopped
    assert "already exists" in run.stderr and "--resume" in run.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def _children(pid):
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _worker(launcher_pid, local_rank):
    """The pid of the training process with LOCAL_RANK ``local_rank`` under the launcher."""
    todo = [launcher_pid]
    while todo:
        pid = todo.pop()
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            env = []
        if f"LOCAL_RANK={local_rank}".encode() in env:
            return pid
        todo += _children(pid)
    return None


def test_a_killed_process_stops_the_others_and_last_checkpoint_stays_whole(tmp_path, data):
    cfg = config(tmp_path, data, "killed", epochs=10_000)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        CLI + [str(cfg), "-q", "--nproc", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    csv = tmp_path / "killed" / "metrics.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (csv.exists() and csv.read_text().count("\n") >= 3):
        time.sleep(0.2)
    victim = _worker(proc.pid, 1)
    assert victim is not None, "no training process with LOCAL_RANK=1 found"
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "the training processes stopped" in err and "--resume" in err
    state = load_checkpoint(tmp_path / "killed" / "last.pt")  # whole: it loads
    assert state["epoch"] >= 2
    resumed = train(cfg, "--resume", "--set", f"training.max_epochs={state['epoch'] + 1}")
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == state["epoch"] + 1


def test_nproc_rejects_an_ensemble(tmp_path, data):
    run = train(config(tmp_path, data, "ens", ensemble=2), nproc=2)
    assert run.returncode == 2
    assert "--nproc and training.ensemble > 1 do not combine" in run.stderr


def test_nproc_names_a_run_folder_in_the_way_once_and_starts_nothing(tmp_path, data):
    cfg = config(tmp_path, data, "busy")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "best.pt").write_bytes(b"a user's checkpoint")
    run = train(cfg, nproc=2)
    assert run.returncode == 2
    assert run.stderr.count("already exists and holds best.pt") == 1, run.stderr
    assert "torch.distributed" not in run.stderr and "ChildFailedError" not in run.stderr
    assert (tmp_path / "busy" / "best.pt").read_bytes() == b"a user's checkpoint"


def test_balanced_shards_partition_each_batch_by_work():
    """Every configuration of a batch goes to exactly one process, in the batch's order, and the
    work per process is as even as the largest-first rule makes it."""
    from nbody_lmp.training.distributed import Distributed

    costs = [512, 64, 64, 64, 300, 64, 200, 64]
    batch = [5, 0, 7, 4, 1, 6, 2, 3]
    shares = [Distributed(rank=r, world_size=2).shard_balanced(batch, costs) for r in range(2)]
    assert sorted(shares[0] + shares[1]) == sorted(batch)
    for share in shares:
        assert share == [i for i in batch if i in share]
    work = [sum(costs[i] for i in share) for share in shares]
    assert abs(work[0] - work[1]) <= 64  # 640 and 692 (strided shares: 256 and 1076)
    assert Distributed().shard_balanced(batch, costs) == batch
