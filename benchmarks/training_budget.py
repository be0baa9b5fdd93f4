#!/usr/bin/env python
"""Test force error against training budget: the figure of the longer recipes (config-long.yaml)
in examples/rmd17-aspirin and examples/rmd17-ethanol, against the published MACE numbers.

Reads finished nbody run folders (``metrics.csv``, ``metrics.json`` and the ``test_metrics.json``
that ``run.sh`` or ``nbody-lmp evaluate --json`` writes) and, with ``--side-by-side``, the nbody
rows of a ``benchmarks.accuracy`` JSON; the published figures (MAE) come from the recipe
(``accuracy_parts/recipes.py``). It prints one table (budget, epochs, width, test force MAE,
ratio to the published MACE figure) and draws the validation force MAE of each run against its
training time, its test MAE at the end, and the published figures as lines. With end points at
budgets a factor 1.5 or more apart it fits a power law, test MAE = a * minutes^-b, and prints
where it would reach at ``--extrapolate`` minutes: a trend, not a measurement, and said so.

    python -m benchmarks.training_budget --recipe aspirin \\
        --side-by-side examples/rmd17-aspirin/figures/side_by_side_30min.json \\
        --run "config-long, 100 min=runs/long/aspirin-long-100min" --extrapolate 720 \\
        --out examples/rmd17-aspirin/figures/training_budget
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

if not __package__:  # run as a file: the package's other modules are not importable
    raise SystemExit(
        "run it from the repository root as a module: python -m benchmarks.training_budget ..."
    )

from .accuracy_parts import recipes, table


def read_run(recipe: recipes.Recipe, label: str, folder: Path) -> Dict[str, Any]:
    """One finished run folder: its learning curve, training time, width and test errors."""
    need = {
        "metrics.csv": "train it to the end (nbody-lmp train, or --resume)",
        "metrics.json": "train it to the end (nbody-lmp train, or --resume)",
        "test_metrics.json": (
            f"nbody-lmp evaluate {folder}/model.pt TEST.xyz --json {folder}/test_metrics.json"
        ),
    }
    for name, fix in need.items():
        if not (folder / name).is_file():
            raise SystemExit(f"training_budget.py: {folder / name} is missing; {fix}")
    with open(folder / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    curve = [
        (float(r["time_s"]) / 60, 1000 * float(r["val_forces_mae"]))
        for r in rows
        if r.get("val_forces_mae")
    ]
    summary = json.loads((folder / "metrics.json").read_text())
    row = table.row_from_metrics(
        recipe, "nbody", json.loads((folder / "test_metrics.json").read_text())
    )
    return {
        "label": label,
        "minutes": summary["training_time_s"] / 60,
        "epochs": summary["epochs"],
        "channels": _channels(folder),
        "F_mae": row["F_mae"],
        "F_rmse": row["F_rmse"],
        "E_mae": row["E_mae"],
        "curve": curve,
        "run_dir": str(folder),
    }


def _channels(folder: Optional[Path]) -> Optional[int]:
    """model.channels of the run's resolved config.yaml, if the folder is still there."""
    if folder is None or not (Path(folder) / "config.yaml").is_file():
        return None
    import yaml

    return (
        (yaml.safe_load((Path(folder) / "config.yaml").read_text()) or {})
        .get("model", {})
        .get("channels")
    )


def read_side_by_side(path: Path, recipe: str) -> List[Dict[str, Any]]:
    """The nbody rows of an accuracy.py JSON, as end points."""
    rows = [r for r in json.loads(path.read_text())["rows"] if r.get("recipe") == recipe]
    ours = [
        {
            "label": f"config.yaml, {r['budget_min']:g} min",
            "minutes": r["train_s"] / 60,
            "epochs": r.get("epochs"),
            "channels": _channels(r.get("run_dir")),
            "F_mae": r["F_mae"],
            "F_rmse": r.get("F_rmse"),
            "E_mae": r.get("E_mae"),
            "curve": [],
            "run_dir": r.get("run_dir"),
        }
        for r in rows
        if r["model"] == "nbody"
    ]
    return ours


def power_law(points: List[Tuple[float, float]]) -> Optional[Tuple[float, float]]:
    """Least-squares fit of log(err) = log(a) - b log(t); None unless the budgets span a factor
    of 1.5 or more (end points at nearly one budget say nothing about the trend)."""
    times = [t for t, _ in points]
    if len(times) < 2 or max(times) < 1.5 * min(times):
        return None
    xs, ys = [math.log(t) for t, _ in points], [math.log(e) for _, e in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(my - slope * mx), -slope


def plot(
    runs: List[Dict[str, Any]],
    published: Dict[str, float],
    fit,
    extrapolate: Optional[float],
    recipe: str,
    path: Path,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, r in enumerate(runs):
        color = f"C{i}"
        if r["curve"]:
            t, e = zip(*r["curve"])
            ax.plot(t, e, color=color, lw=0.8, alpha=0.7, label=f"{r['label']}: validation")
        ax.scatter(
            [r["minutes"]],
            [r["F_mae"]],
            color=color,
            s=60,
            marker="D",
            zorder=3,
            label=f"{r['label']}: test {r['F_mae']:.1f}",
        )
    if fit is not None and extrapolate:
        a, b = fit
        lo = min(r["minutes"] for r in runs)
        ts = [lo * (extrapolate / lo) ** (k / 50) for k in range(51)]
        ax.plot(
            ts,
            [a * t**-b for t in ts],
            "k--",
            lw=1,
            label=(
                f"trend of the test end points, t^-{b:.2f}: "
                f"{a * extrapolate**-b:.1f} at {extrapolate:g} min"
            ),
        )
    for k, (name, value) in enumerate(sorted(published.items(), key=lambda kv: kv[1])):
        ax.axhline(value, ls=":", lw=0.8, color="grey")
        ax.annotate(
            f"{name} (published) {value:g}",
            (0.01 + 0.2 * (k % 4), value),  # staggered: close lines
            xycoords=("axes fraction", "data"),
            fontsize=7,
            color="grey",
            va="bottom",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training wall time (min, one CPU core)")
    ax.set_ylabel("force MAE (meV/Å)")
    ax.set_title(f"{recipe}: force error against training budget")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--recipe",
        required=True,
        choices=list(recipes.RECIPES),
        help="the recipe (accuracy_parts/recipes.py): energy unit and published figures",
    )
    p.add_argument(
        "--run", action="append", default=[], metavar="LABEL=FOLDER", help="a finished run folder"
    )
    p.add_argument(
        "--side-by-side", type=Path, help="a benchmarks.accuracy JSON: its nbody rows as end points"
    )
    p.add_argument(
        "--extrapolate", type=float, help="minutes at which to print the power-law trend"
    )
    p.add_argument("--out", type=Path, required=True, help="writes OUT.png and OUT.json")
    args = p.parse_args(argv)

    recipe = recipes.get(args.recipe)
    published = {name: p["F"] for name, p in recipe.published.items() if p["metric"] == "MAE"}
    runs = read_side_by_side(args.side_by_side, args.recipe) if args.side_by_side else []
    for item in args.run:
        label, sep, folder = item.partition("=")
        if not sep:
            raise SystemExit(f"training_budget.py: --run wants LABEL=FOLDER, got {item!r}")
        runs.append(read_run(recipe, label, Path(folder)))
    if not runs:
        raise SystemExit(
            "training_budget.py: nothing to show; give --run LABEL=FOLDER and/or --side-by-side"
        )
    runs.sort(key=lambda r: r["minutes"])
    fit = power_law([(r["minutes"], r["F_mae"]) for r in runs])
    target = published.get("MACE")

    print(f"{args.recipe}: test force MAE against training budget (one CPU core per run)")
    print(
        f"{'run':<34} {'minutes':>8} {'epochs':>7} {'width':>6} {'F MAE':>8} {'F RMSE':>8}"
        + (f" {'/ MACE pub.':>11}" if target else "")
    )
    for r in runs:
        width = "" if r["channels"] is None else str(r["channels"])
        print(
            f"{r['label']:<34} {r['minutes']:>8.1f} {r['epochs'] or '':>7} {width:>6} "
            f"{r['F_mae']:>8.2f} {(r['F_rmse'] or float('nan')):>8.2f}"
            + (f" {r['F_mae'] / target:>10.2f}x" if target else "")
        )
    trend = None
    if fit is not None and args.extrapolate:
        a, b = fit
        trend = a * args.extrapolate**-b
        print(
            f"power-law trend through the {len(runs)} end points: "
            f"F MAE ~ {a:.1f} * minutes^-{b:.3f}; at {args.extrapolate:g} min {trend:.1f} meV/Å"
            + (f" ({trend / target:.2f}x the published MACE {target:g})" if target else "")
            + ". A trend of different recipes' end points, not a measurement."
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = plot(runs, published, fit, args.extrapolate, args.recipe, args.out.with_suffix(".png"))
    record = {
        "recipe": args.recipe,
        "runs": runs,
        "published_F_mae": published,
        "power_law": None if fit is None else {"a": fit[0], "b": fit[1]},
        "extrapolate_min": args.extrapolate,
        "trend_F_mae": trend,
    }
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    print(f"wrote {png} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
