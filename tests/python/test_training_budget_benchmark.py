"""benchmarks.training_budget (the longer recipe's figure): it reads finished run
folders, fits the power-law trend of their test force MAE against training time, and says what is
missing when a folder is not finished or not evaluated."""

import csv
import json
from pathlib import Path

import pytest

from benchmarks import training_budget


def fake_run(folder: Path, minutes: float, f_mae: float, evaluated: bool = True) -> Path:
    folder.mkdir(parents=True)
    with open(folder / "metrics.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["epoch", "time_s", "val_forces_mae"])
        w.writeheader()
        for k in range(1, 6):
            w.writerow(
                {"epoch": k, "time_s": 12 * minutes * k, "val_forces_mae": f_mae / 1000 * (6 - k)}
            )
    (folder / "metrics.json").write_text(json.dumps({"training_time_s": 60 * minutes, "epochs": 5}))
    (folder / "config.yaml").write_text("model: {channels: 32}\n")
    if evaluated:
        (folder / "test_metrics.json").write_text(
            json.dumps(
                {
                    "forces": {"mae": f_mae / 1000, "rmse": 1.5 * f_mae / 1000},
                    "energy": {"mae": 0.002, "rmse": 0.003},
                }
            )
        )
    return folder


def test_power_law_trend_and_outputs(tmp_path, capsys):
    a, b = 80.0, 0.4
    runs = [fake_run(tmp_path / f"r{m}", m, a * m**-b) for m in (10, 40, 160)]
    out = tmp_path / "fig" / "budget"
    assert (
        training_budget.main(
            ["--recipe", "aspirin", "--extrapolate", "720", "--out", str(out)]
            + [f"--run=run {k}={p}" for k, p in enumerate(runs)]
        )
        == 0
    )
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["power_law"]["a"] == pytest.approx(a) and record["power_law"][
        "b"
    ] == pytest.approx(b)
    assert record["trend_F_mae"] == pytest.approx(a * 720**-b)
    assert [r["channels"] for r in record["runs"]] == [32, 32, 32]
    assert record["runs"][0]["curve"][0] == pytest.approx((2.0, 5 * a * 10**-b))
    assert out.with_suffix(".png").stat().st_size > 0
    assert "not a measurement" in capsys.readouterr().out


def test_no_trend_from_one_budget():
    assert training_budget.power_law([(30.0, 10.0), (30.5, 12.0)]) is None
    assert training_budget.power_law([(30.0, 10.0)]) is None


def test_unevaluated_run_says_what_to_do(tmp_path):
    run = fake_run(tmp_path / "r", 10, 20.0, evaluated=False)
    with pytest.raises(SystemExit, match="nbody-lmp evaluate"):
        training_budget.main(
            ["--recipe", "aspirin", "--run", f"a={run}", "--out", str(tmp_path / "o")]
        )
