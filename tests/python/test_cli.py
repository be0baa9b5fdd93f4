"""The `nbody-lmp` command (nbody_lmp/cli.py): --help with an example for every subcommand;
`evaluate` and `info` on a tiny exported model; train -> export; errors are one line, exit 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from _trainutils import TINY_MODEL, tiny_config, write_lj_data

import nbody_lmp
from nbody_lmp.cli import main

SUBCOMMANDS = [
    ["train"],
    ["evaluate"],
    ["export"],
    ["info"],
    ["generate"],
    ["generate", "sw-si"],
    ["plugin-path"],
    ["demo"],
    ["select"],
]


@pytest.mark.parametrize("cmd", SUBCOMMANDS, ids=lambda c: " ".join(c))
def test_help_has_an_example(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main(cmd + ["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "nbody-lmp " + cmd[0] in out.split("example:")[1]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    model = nbody_lmp.NBodyNetwork(["Si"], dtype=torch.float64, e0={"Si": -1.0}, **TINY_MODEL)
    path = nbody_lmp.export(model, folder / "tiny.pt", metadata={"note": "tiny test model"})
    data = write_lj_data(folder / "data.xyz", n=5, seed=7)
    return model, path, data


def test_evaluate_tiny_model(tiny_model, tmp_path, capsys):
    model, path, data = tiny_model
    plot, js = tmp_path / "parity.png", tmp_path / "m.json"
    assert (
        main(["evaluate", str(path), str(data), "--plot", str(plot), "--json", str(js), "-q"]) == 0
    )
    out = capsys.readouterr().out
    for word in ("energy_per_atom", "forces", "stress", "MAE", "RMSE", "meV/Å"):
        assert word in out
    assert plot.stat().st_size > 5000
    m = json.loads(js.read_text())
    # the same errors from the ASE calculator, configuration by configuration
    import ase.io

    calc = nbody_lmp.NBodyCalculator(str(path))
    de, df, ds = [], [], []
    for a in ase.io.read(str(data), ":"):
        ref_e, ref_f, ref_s = a.get_potential_energy(), a.get_forces(), a.get_stress(voigt=False)
        b = a.copy()
        b.calc = calc
        de.append((b.get_potential_energy() - ref_e) / len(a))
        df.append(b.get_forces() - ref_f)
        ds.append(b.get_stress(voigt=False) - ref_s)
    de, df, ds = np.array(de), np.concatenate(df).ravel(), np.array(ds).ravel()
    assert m["energy_per_atom"]["rmse"] == pytest.approx(np.sqrt(np.mean(de**2)), rel=1e-9)
    assert m["forces"]["mae"] == pytest.approx(np.mean(np.abs(df)), rel=1e-9)
    assert m["forces"]["rmse"] == pytest.approx(np.sqrt(np.mean(df**2)), rel=1e-9)
    assert m["stress"]["rmse"] == pytest.approx(np.sqrt(np.mean(ds**2)), rel=1e-9)
    assert m["n_configs"] == 5


def test_info_tiny_model(tiny_model, capsys):
    _, path, _ = tiny_model
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for word in (
        "format_version",
        "species",
        "[Si]",
        "receptive_field",
        "6",
        "dtype",
        "float64",
        "model_hash",
        "hyperparameters.lmax",
        "note",
        "tiny test model",
    ):
        assert word in out
    assert main(["info", str(path), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["species"] == ["Si"] and meta["receptive_field"] == pytest.approx(6.0)


def one_line_error(capsys, rc, *needles):
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("nbody-lmp ") and "error:" in lines[0], err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


def test_user_errors_are_one_line(tmp_path, tiny_model, capsys):
    _, path, data = tiny_model
    one_line_error(
        capsys, main(["evaluate", str(tmp_path / "missing.pt"), str(data)]), "does not exist"
    )
    one_line_error(
        capsys, main(["evaluate", str(path), str(tmp_path / "missing.xyz")]), "missing.xyz"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"data: {{train: {data}}}\ntraining: {{batchsize: 2}}\n")
    one_line_error(
        capsys,
        main(["train", str(bad)]),
        "unknown key 'training.batchsize'",
        "Did you mean 'batch_size'?",
    )
    not_model = tmp_path / "x.pt"
    not_model.write_bytes(b"hello")
    one_line_error(
        capsys,
        main(["info", str(not_model)]),
        "neither an exported nbody-lmp model nor a checkpoint",
    )
    one_line_error(
        capsys, main(["export", str(tmp_path), "-o", str(tmp_path / "m.pt")]), "holds no best.pt"
    )


def test_train_export_info_evaluate(tmp_path, capsys):
    data = write_lj_data(tmp_path / "train.xyz", n=8)
    cfg = tiny_config(
        tmp_path,
        data=data,
        run_dir="run",
        training={"max_epochs": 2},
        output={"plots": True, "export_dtype": "float64"},
    )
    assert main(["train", str(cfg), "-q"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "stopped after epoch 2" in out
    run = tmp_path / "run"
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,time_s,lr,train_loss,val_loss") and "val_forces_rmse" in header
    assert len((run / "metrics.csv").read_text().splitlines()) == 3
    for png in ("learning_curves.png", "parity.png"):
        assert (run / png).stat().st_size > 5000
    # the run folder is not reused without --resume/--force
    one_line_error(capsys, main(["train", str(cfg)]), "already exists", "--resume", "--force")

    out_model = tmp_path / "m32.pt"
    assert main(["export", str(run), "-o", str(out_model), "--dtype", "float32"]) == 0
    one_line_error(capsys, main(["export", str(run), "-o", str(out_model)]), "exists", "--force")
    assert main(["export", str(run / "last.pt"), "-o", str(out_model), "--force"]) == 0
    capsys.readouterr()
    assert main(["info", str(out_model)]) == 0
    out = capsys.readouterr().out
    assert (
        "training_data.n_train" in out
        and "metrics.validation.forces" in out
        and "training.best_epoch" in out
    )

    # the exported model (float64) reproduces the checkpoint's evaluation weights
    from nbody_lmp.training import load_checkpoint, model_from_checkpoint
    import ase.io

    ref = model_from_checkpoint(load_checkpoint(run / "best.pt"))
    atoms = ase.io.read(str(data), 0)
    a, b = atoms.copy(), atoms.copy()
    a.calc = nbody_lmp.NBodyCalculator(ref)
    b.calc = nbody_lmp.NBodyCalculator(str(run / "model.pt"))
    assert abs(a.get_potential_energy() - b.get_potential_energy()) < 1e-10
    assert np.abs(a.get_forces() - b.get_forces()).max() < 1e-10

    # evaluate accepts a run folder too
    assert main(["evaluate", str(run), str(data), "--plot", "none", "-q"]) == 0
    assert "forces" in capsys.readouterr().out


def test_generate_sw_si_and_refuse_overwrite(tmp_path, capsys):
    out = tmp_path / "sw.xyz"
    assert main(["generate", "sw-si", "-o", str(out), "--configs", "3", "--seed", "4", "-q"]) == 0
    import ase.io

    frames = ase.io.read(str(out), ":")
    assert len(frames) == 3 and all(len(f) in (63, 64) for f in frames)
    capsys.readouterr()
    one_line_error(
        capsys, main(["generate", "sw-si", "-o", str(out), "--configs", "3", "-q"]), "exists"
    )


def test_plugin_path(capsys):
    rc = main(["plugin-path"])
    if rc == 0:
        path = capsys.readouterr().out.strip()
        assert path.endswith(".so") and os.path.isfile(path)
    else:
        one_line_error(capsys, rc, "plugin")


def test_console_script_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "nbody_lmp.cli", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "train" in proc.stdout and "evaluate" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "nbody_lmp.cli", "info", "/nonexistent/model.pt"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
