#!/usr/bin/env python
"""Training runs side by side, on their validation data only (docs/theory.md reads the tables
this prints): for each run folder, the best epoch's validation errors (the checkpoint a run keeps,
chosen by the validation loss), the epochs and training time it took, the time per epoch, and
each error as a ratio to the first run's, which is the reference. A plot of validation force and
energy MAE against epochs and against training time shows where the curves part.

    python -m benchmarks.compare_runs runs/base runs/corr3 --labels base "correlation 3" \\
        --plot docs/figures/body_order.png --json docs/figures/body_order.json

The runs should differ in one factor and share data, seed and epoch or time budget; this reads
their ``metrics.csv`` and ``config.yaml`` and checks nothing else. The test file plays no part.
Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Dict, List

COLUMNS = ("val_forces_mae", "val_forces_rmse", "val_energy_per_atom_mae", "train_forces_mae")


def read_run(folder: Path) -> Dict:
    path = folder / "metrics.csv"
    if not path.is_file():
        raise SystemExit(f"{folder}: no metrics.csv; give the run folders of nbody-lmp train runs")
    with open(path) as fh:
        rows = [
            {k: (float(v) if v not in ("", None) else None) for k, v in r.items()}
            for r in csv.DictReader(fh)
        ]
    if not rows or rows[0].get("val_loss") is None:
        raise SystemExit(f"{folder}: metrics.csv has no validation rows")
    best = min(rows, key=lambda r: r["val_loss"])
    n = len(rows)
    return {
        "folder": str(folder),
        "epochs": n,
        "time_s": rows[-1]["time_s"],
        "s_per_epoch": rows[-1]["time_s"] / n,
        "best_epoch": int(best["epoch"]),
        "best": {k: best.get(k) for k in COLUMNS},
        "curve": {k: [r.get(k) for r in rows] for k in ("epoch", "time_s", *COLUMNS)},
    }


def table(runs: List[Dict], labels: List[str]) -> str:
    ref = runs[0]["best"]
    head = (
        "| run | epochs | min | s/epoch | best epoch | val F MAE (meV/Å) | val F RMSE | "
        "val E MAE (meV/atom) | train F MAE | F MAE / ref | E MAE / ref |"
    )
    lines = [head, "|" + "---|" * 11]
    for label, r in zip(labels, runs):
        b = r["best"]
        lines.append(
            f"| {label} | {r['epochs']} | {r['time_s'] / 60:.0f} | {r['s_per_epoch']:.1f} | "
            f"{r['best_epoch']} | {1e3 * b['val_forces_mae']:.2f} | "
            f"{1e3 * b['val_forces_rmse']:.2f} | {1e3 * b['val_energy_per_atom_mae']:.3f} | "
            f"{1e3 * b['train_forces_mae']:.2f} | "
            f"{b['val_forces_mae'] / ref['val_forces_mae']:.3f} | "
            f"{b['val_energy_per_atom_mae'] / ref['val_energy_per_atom_mae']:.3f} |"
        )
    return "\n".join(lines)


def plot(runs: List[Dict], labels: List[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for label, r in zip(labels, runs):
        c = r["curve"]
        f = [1e3 * v for v in c["val_forces_mae"]]
        ax[0].plot(c["epoch"], f, label=label)
        ax[1].plot([t / 60 for t in c["time_s"]], f, label=label)
        ax[2].plot(c["epoch"], [1e3 * v for v in c["val_energy_per_atom_mae"]], label=label)
    for a, (x, y) in zip(
        ax,
        [
            ("epoch", "validation force MAE (meV/Å)"),
            ("training time (min)", "validation force MAE (meV/Å)"),
            ("epoch", "validation energy MAE (meV/atom)"),
        ],
    ):
        a.set_xlabel(x)
        a.set_ylabel(y)
        a.set_yscale("log")
        a.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run folders; the first is the reference")
    p.add_argument("--labels", nargs="+", default=None, help="one label per run")
    p.add_argument("--plot", type=Path, default=None, help="PNG of the validation curves")
    p.add_argument("--json", type=Path, default=None, help="the table's numbers as JSON")
    args = p.parse_args(argv)
    labels = args.labels or [r.name for r in args.runs]
    if len(labels) != len(args.runs):
        raise SystemExit(f"--labels gives {len(labels)} labels for {len(args.runs)} runs")
    runs = [read_run(r) for r in args.runs]
    print(table(runs, labels))
    if args.plot:
        plot(runs, labels, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        slim = [
            {k: v for k, v in r.items() if k != "curve"} | {"label": lb}
            for r, lb in zip(runs, labels)
        ]
        args.json.write_text(json.dumps(slim, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
