"""Training from a graph store, ``data.store: sharded`` (docs/training.md, "Large data sets"):
the weights of ``data.store: memory`` (float64, 1e-12), on 1 process and on 2 processes that
share one store (the first one writes it while the other waits), and a run may switch between the
two on ``--resume``."""

import os
import subprocess
import sys

import pytest
import yaml

from _trainutils import tiny_config, write_lj_data
from test_distributed_training import max_relative_difference

from nbody_lmp.training import Trainer, load_checkpoint, load_config

CLI = [sys.executable, "-m", "nbody_lmp.cli", "train"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # 11 configurations in batches of 3: uneven shares on 2 processes
    return write_lj_data(tmp_path_factory.mktemp("data") / "train.xyz", n=11, species=("Si", "C"))


def config(tmp_path, data, name, epochs=3, **data_keys):
    path = tiny_config(
        tmp_path,
        name=f"{name}.yaml",
        data=data,
        run_dir=tmp_path / name,
        training={"batch_size": 3, "max_epochs": epochs, "dtype": "float64"},
    )
    cfg = yaml.safe_load(path.read_text())
    cfg["data"].update(e0={"Si": -0.3, "C": -0.2}, **data_keys)  # one Si:C ratio: give E0
    path.write_text(yaml.safe_dump(cfg))
    return path


def train(path):
    return Trainer(load_config(path), log=lambda m: None).run()


def test_sharded_store_gives_the_weights_of_memory(tmp_path, data):
    train(config(tmp_path, data, "memory"))
    sharded = config(tmp_path, data, "sharded", store="sharded", store_dir=str(tmp_path / "s"))
    train(sharded)
    a = load_checkpoint(tmp_path / "memory" / "last.pt")
    b = load_checkpoint(tmp_path / "sharded" / "last.pt")
    assert max_relative_difference(a, b) < 1e-12
    assert a["data_summary"] == b["data_summary"]
    for ra, rb in zip(a["history"], b["history"]):
        assert ra["val_loss"] == pytest.approx(rb["val_loss"], rel=1e-12)
    assert (tmp_path / "s").is_dir() and len(list((tmp_path / "s").iterdir())) == 1


def test_two_processes_on_one_store_give_the_weights_of_one(tmp_path, data):
    train(config(tmp_path, data, "one"))
    two = config(tmp_path, data, "two", store="sharded")  # the store beside the data file
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run(
        CLI + [str(two), "-q", "--nproc", "2"], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("run folder:") == 1
    a = load_checkpoint(tmp_path / "one" / "last.pt")
    b = load_checkpoint(tmp_path / "two" / "last.pt")
    assert max_relative_difference(a, b) < 1e-12
    assert (data.parent / "nbody-lmp-store").is_dir()


def test_resume_may_switch_between_memory_and_sharded(tmp_path, data):
    train(config(tmp_path, data, "straight", epochs=4))
    cfg = config(tmp_path, data, "switched", epochs=2)
    train(cfg)
    overrides = {"training.max_epochs": 4, "data.store": "sharded", "data.store_dir": "s"}
    Trainer(load_config(cfg, overrides), resume=True, log=lambda m: None).run()
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "switched" / "last.pt")
    assert b["epoch"] == 4 and max_relative_difference(a, b) < 1e-12
