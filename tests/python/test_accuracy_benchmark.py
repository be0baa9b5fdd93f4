"""benchmarks.accuracy and benchmarks.ablation without training anything and without the peers: the
recipes load and validate and ship their data, the table is built from evaluate's metrics JSON,
the peers' inputs (data files, MACE arguments, NequIP config) are what they should be, and an
E0 file may list more elements than the model has."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.accuracy_parts import mace_peer, nequip_peer, peer_data, recipes, table
from nbody_lmp.training.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_recipe_config_loads_and_ships_its_data(name):
    r = recipes.get(name)
    cfg = load_config(r.path / "config.yaml")
    assert Path(cfg.data.train) == r.data("train").resolve()
    assert r.data("train").is_file() and r.data("test").is_file()
    assert (
        "train" in r.data("train").name and "test" not in r.data("train").name
    )  # never train on test
    assert (r.path / "README.md").is_file()
    if r.e0_file:
        assert Path(cfg.data.e0) == r.e0_path
        e0 = peer_data.e0_by_number(r, cfg.model.species)
        assert len(e0) == len(cfg.model.species)  # every model species has an isolated-atom energy
    if r.path.name not in ("si-dft",):
        assert (r.path / "run.sh").is_file()


@pytest.mark.parametrize("name", ["aspirin", "ethanol", "3bpa"])
def test_long_recipe_is_the_recipe_with_a_longer_budget(name):
    """config-long.yaml (the documented longer recipe) trains on the same file, with the
    same split and E0, into its own run folder; what it changes is the budget and the capacity."""
    r = recipes.get(name)
    short, long = load_config(r.path / "config.yaml"), load_config(r.path / "config-long.yaml")
    assert long.data == short.data and long.loss == short.loss and long.seed == short.seed
    assert long.training.time_limit_minutes > 10 * short.training.time_limit_minutes
    assert long.model.channels > short.model.channels
    assert (
        Path(long.output.run_dir).name != Path(short.output.run_dir).name
    )  # never the short run's folder
    assert "config-long.yaml" in (r.path / "README.md").read_text()


def test_shipped_data_stays_small():
    added = [
        p
        for n in ("rmd17-aspirin", "rmd17-ethanol", "3bpa", "mlearn-ge")
        for p in (recipes.EXAMPLES / n / "data").iterdir()
    ]
    assert sum(p.stat().st_size for p in added) < 10e6


METRICS = {
    "energy": {"mae": 0.0021, "rmse": 0.0030, "n": 10},
    "energy_per_atom": {"mae": 1e-4, "rmse": 2e-4},
    "forces": {"mae": 0.0066, "rmse": 0.0091, "n": 630},
}


def test_row_from_metrics_in_mev_per_molecule():
    row = table.row_from_metrics(
        recipes.get("aspirin"), "nbody", METRICS, budget_min=5, train_s=300.0, params=1234
    )
    assert row["E_mae"] == pytest.approx(2.1) and row["E_rmse"] == pytest.approx(3.0)
    assert row["F_mae"] == pytest.approx(6.6) and row["F_rmse"] == pytest.approx(9.1)
    assert "S_rmse" not in row


def test_row_from_metrics_per_atom_with_stress():
    m = {**METRICS, "stress": {"mae": 1e-4, "rmse": 3e-4}}
    row = table.row_from_metrics(recipes.get("ge"), "nbody", m)
    assert row["E_mae"] == pytest.approx(0.1) and row["S_rmse"] == pytest.approx(0.3)


def test_row_from_metrics_names_what_is_missing():
    with pytest.raises(ValueError, match="forces"):
        table.row_from_metrics(recipes.get("ethanol"), "mace", {"energy": METRICS["energy"]})


def test_table_has_every_model_and_the_published_figures():
    rows = [
        table.row_from_metrics(
            recipes.get("aspirin"),
            "nbody",
            METRICS,
            budget_min=5,
            train_s=300.0,
            params=1234,
            md_atom_steps_s=5000.0,
            md_vs_sw=0.01,
        ),
        table.row_from_metrics(
            recipes.get("aspirin"), "mace-small", METRICS, budget_min=5, train_s=290.0
        ),
    ]
    rows += table.published_rows(recipes.get("aspirin"))
    text = table.format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["recipe", "model", "budget"]
    nb = next(ln for ln in lines if " nbody " in ln)
    assert (
        "2.10" in nb
        and "6.6" in nb
        and "1,234" in nb
        and "5,000" in nb
        and "0.0100" in nb
        and "5.0" in nb
    )
    pub = next(ln for ln in lines if "MACE (published)" in ln)
    assert "2.20" in pub and "6.6" in pub and " - " in pub  # MAE given, RMSE not published
    assert "meV per molecule" in text and "MACE paper" in text


def test_peer_data_is_what_our_reader_reads(tmp_path):
    import ase.io

    from nbody_lmp.data import read_configurations

    r = recipes.get("ge")
    out = peer_data.write_ref_file(r.data("test"), tmp_path / "test.xyz", r)
    frames = ase.io.read(out, ":")
    ours = read_configurations(
        str(r.data("test")), stress_key="virial_kbar_raw", stress_format="vasp_kbar"
    )
    assert len(frames) == len(ours) == 25
    for a, c in zip(frames, ours):
        assert a.info["REF_energy"] == pytest.approx(c.energy, abs=1e-9)
        np.testing.assert_allclose(a.arrays["REF_forces"], c.forces, atol=1e-9)
        np.testing.assert_allclose(np.reshape(a.info["REF_stress"], (3, 3)), c.stress, atol=1e-12)
        assert a.pbc.all()


def test_mace_arguments():
    r = recipes.get("aspirin")
    args = mace_peer.mace_arguments(r, {"train": Path("train.xyz")}, "small", 0.05, ["H", "C", "O"])
    opt = {a: args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("--")}
    e0 = ast.literal_eval(opt["--E0s"])
    assert set(e0) == {1, 6, 8} and e0[1] == pytest.approx(-13.568422383046626)
    assert (
        opt["--num_channels"] == "128"
        and opt["--max_L"] == "0"
        and opt["--valid_fraction"] == "0.05"
    )
    assert (
        opt["--train_file"] == "train.xyz" and "--test_file" not in opt
    )  # the test file is ours to use, once
    ge = mace_peer.mace_arguments(recipes.get("ge"), {"train": Path("t.xyz")}, "tiny", 0.1, ["Ge"])
    assert "average" in ge and "REF_stress" in ge


def test_nequip_config():
    cfg = nequip_peer.config(
        recipes.get("ethanol"), Path("train.xyz"), 10, "small", 0.05, ["H", "C", "O"]
    )
    assert cfg["trainer"]["max_time"] == "00:00:10:00"
    assert nequip_peer._max_time(90.5) == "00:01:30:30"
    m = cfg["training_module"]["model"]
    assert (m["num_layers"], m["l_max"], m["num_features"]) == (4, 1, 32)
    assert set(m["per_type_energy_shifts"]) == {"H", "C", "O"}
    assert (
        cfg["data"]["split_dataset"]["val"] == 0.05 and "test" not in cfg["data"]["split_dataset"]
    )
    json.dumps(cfg)  # plain data (written as YAML)


def test_nequip_epoch_record_finds_the_best_validation_epoch(tmp_path):
    """Which epoch best.ckpt holds, and when it was written: tells a run that stopped improving
    from one the budget cut short."""
    import os
    import time

    log = tmp_path / "lightning_logs" / "version_0" / "metrics.csv"
    log.parent.mkdir(parents=True)
    rows = ["epoch,step,train_loss_step,val0_epoch/weighted_sum"]
    rows += [f"{e},{10 * e},0.5," for e in range(4)]  # training rows: no validation value
    rows += [f"{e},{10 * e + 9},,{v}" for e, v in enumerate([3.0, 1.5, 2.0, 1.7])]
    log.write_text("\n".join(rows) + "\n")
    start = time.time() - 100.0
    (tmp_path / "best.ckpt").write_bytes(b"x")
    os.utime(tmp_path / "best.ckpt", (start + 40.0, start + 40.0))
    rec = nequip_peer.epoch_record(tmp_path, start)
    assert rec["epochs"] == 4 and rec["best_epoch"] == 2
    assert rec["best_at_s"] == pytest.approx(40.0, abs=1e-3)
    assert nequip_peer.epoch_record(tmp_path / "nothing", start) == {}


def test_mace_kept_checkpoint_is_the_newest_epoch(tmp_path):
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location(
        "mace_train", ROOT / "benchmarks/accuracy_parts/in_peer/mace_train.py"
    )
    mace_train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mace_train)  # stdlib only at import: MACE is imported inside main()
    assert mace_train._kept_checkpoint(str(tmp_path), 0.0) == {}
    for epoch in (3, 11, 7):
        f = tmp_path / f"mace_run-0_epoch-{epoch}.pt"
        f.write_bytes(b"x")
        os.utime(f, (1000.0 + epoch, 1000.0 + epoch))
    (tmp_path / "mace_run-0_epoch-99.txt").write_text("not a checkpoint")
    assert mace_train._kept_checkpoint(str(tmp_path), 1000.0) == {
        "best_epoch": 12,
        "best_at_s": 11.0,
    }


def test_e0_file_may_list_more_elements(tmp_path):
    """rMD17's isolated_atoms.xyz has N, which aspirin lacks: training takes E0 of its own
    species."""
    import ase.io
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    from nbody_lmp.training import Trainer, load_config as load
    from _trainutils import tiny_config

    iso = []
    for s, e in (("Si", -1.5), ("N", -3.0)):
        a = Atoms(s, positions=[[0, 0, 0]])
        a.calc = SinglePointCalculator(a, energy=e)
        iso.append(a)
    ase.io.write(tmp_path / "iso.xyz", iso, format="extxyz")
    path = tiny_config(tmp_path, run_dir=tmp_path / "run", training={"max_epochs": 1})
    cfg = load(path, overrides={"data.e0": str(tmp_path / "iso.xyz")})
    result = Trainer(cfg).run()
    summary = json.loads((result.run_dir / "metrics.json").read_text())
    assert summary["data"]["e0"] == {"Si": -1.5}


def test_ablation_variants_are_valid_configs_one_factor_each():
    import yaml

    from benchmarks import ablation
    from benchmarks.accuracy_parts.variants import FACTORS, variants

    for name, multi in (("aspirin", True), ("si", False)):
        r = recipes.get(name)
        base = ablation._base_model(r, ["model.channels=16"])
        vs = variants(base, list(FACTORS))
        assert vs[0].factor == "default" and vs[0].tag == ""  # the folder accuracy.py uses
        assert ("species" in {v.factor for v in vs}) == multi  # one element: no species factor
        assert {(v.factor, v.value) for v in vs if v.factor == "channels"} == {
            ("channels", "8"),
            ("channels", "32"),
        }

        def key(m, f):
            return str(m.species_levels if f == "species" else getattr(m, f))

        for v in vs[1:]:
            over = {
                k: yaml.safe_load(x)
                for k, _, x in (o.partition("=") for o in ["model.channels=16", *v.overrides])
            }
            m = load_config(r.path / "config.yaml", overrides=over).model
            assert {f for f in FACTORS if key(m, f) != key(base, f)} == {v.factor}, v
            if v.tag == "levels-3":  # one more level at the recipe's top cutoff
                assert m.cutoff == [*base.cutoff, base.cutoff[-1]]
            if v.tag == "levels-1":  # the recipe's level-1 neighbourhood only
                assert m.cutoff == base.cutoff[:1]
    with pytest.raises(SystemExit, match="unknown ablation factor"):
        variants(base, ["width"])


def test_ablation_table_has_ratios_to_the_default():
    from benchmarks import ablation

    r = recipes.get("si")
    rows = []
    for factor, value, f in (
        ("default", "-", 0.060),
        ("channels", "32", 0.045),
        ("gate", "zeroth_order", 0.090),
    ):
        m = {**METRICS, "forces": {"mae": f, "rmse": 2 * f}}
        row = table.row_from_metrics(
            r, "nbody", m, train_s=1800.0, params=100, epochs=10, md_atom_steps_s=1e4
        )
        row.update(factor=factor, value=value, val_F_mae=1e3 * f)
        rows.append(row)
    rows.append({"recipe": "si", "factor": "lmax", "value": "3", "error": "training failed"})
    text = ablation.format_table(rows)
    ch = next(ln for ln in text.splitlines() if ln.startswith("channels"))
    assert "45.0" in ch and "0.75" in ch and "30.0" in ch
    assert "1.50" in next(ln for ln in text.splitlines() if ln.startswith("gate"))
    assert "lmax 3: not measured: training failed" in text and "meV/atom" in text


def test_ablation_calls_with_one_out_add_up():
    """A second call (another factor) keeps the first call's rows; a variant measured again replaces
    its row."""
    from benchmarks import ablation

    earlier = [
        {"recipe": "si", "factor": "default", "value": "-", "F_mae": 60.0},
        {"recipe": "si", "factor": "gate", "value": "zeroth_order", "F_mae": 80.0},
        {"recipe": "aspirin", "factor": "gate", "value": "zeroth_order", "F_mae": 50.0},
    ]
    now = [
        {"recipe": "si", "factor": "default", "value": "-", "F_mae": 61.0},
        {"recipe": "si", "factor": "channels", "value": "32", "error": "training failed"},
    ]
    rows = ablation.merged(earlier, now)
    assert [(r["recipe"], r["factor"], r.get("F_mae")) for r in rows] == [
        ("si", "gate", 80.0),
        ("aspirin", "gate", 50.0),
        ("si", "default", 61.0),
        ("si", "channels", None),
    ]
    assert ablation.merged([], now) == now
