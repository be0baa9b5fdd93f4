#!/usr/bin/env python
"""The ablation the paper invites: one factor of a recipe changed at a time, each
variant trained for the same wall-clock budget on the same training file, tested once, and timed
in LAMMPS beside pair_style sw. One table per recipe (test error, validation error, training
time, parameters, MD throughput) and one plot (test force MAE against MD throughput); docs/theory.md
("What the first-order gate buys, measured", "What a level buys, measured") reads them.

Factors (accuracy_parts/variants.py): gate (eq. 10 / 11 / 12), levels (1 / 2 / 3), lmax
(1 / 2 / 3), channels (8 / 16 / 32), species (embedding at the leaves only / at every level).

    python -m benchmarks.ablation --recipes aspirin si --budget 30 --set model.channels=16 \\
        --out runs/accuracy30 --jobs 2
    python -m benchmarks.ablation --table runs/accuracy30/ablation.json       # print it again

``--jobs 2`` trains two variants at a time, one thread each (on a 2-core machine two one-thread
trainings use the cores better than one two-thread training); the LAMMPS timings come
afterwards, one at a time. The default variant's folder is the one benchmarks.accuracy uses for the
same recipe and budget, so with the same --out and --set a finished side-by-side run is reused, not
trained again. Rows already in OUT/ablation.json from an earlier call (another factor, say) are
kept; a variant measured again replaces its row. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

if not __package__:  # run as a file: the package's other modules are not importable
    raise SystemExit(
        "run it from the repository root as a module: python -m benchmarks.ablation ..."
    )

from .accuracy_parts import ours, recipes, table
from .accuracy_parts.variants import FACTORS, variants


def _base_model(recipe, base_sets):
    from nbody_lmp.training.config import load_config

    over = {}
    for item in base_sets:
        key, _, value = item.partition("=")
        over[key.strip()] = yaml.safe_load(value)
    return load_config(recipe.config_path, overrides=over).model


def _row(recipe, v, r, budget):
    val = r["summary"]["metrics"]["validation"]
    row = table.row_from_metrics(
        recipe,
        "nbody",
        r["metrics"],
        budget_min=budget,
        train_s=r["train_s"],
        params=r["params"],
        epochs=r["epochs"],
        run_dir=str(r["run_dir"]),
    )
    row.update(
        factor=v.factor,
        value=v.value or "-",
        overrides=list(v.overrides),
        best_epoch=r["summary"].get("best_epoch"),
        val_F_mae=1e3 * val["forces"]["mae"],
    )
    return row


def _key(row):
    return row["recipe"], row["factor"], str(row.get("value") or "-")


def merged(earlier, rows):
    """The rows of an earlier ablation.json that this call did not measure again, then this call's:
    factors measured in separate calls with the same --out add up in one table."""
    now = {_key(r) for r in rows}
    return [r for r in earlier if _key(r) not in now] + rows


def measure(args):
    rows = []
    out_json = args.out / "ablation.json"
    earlier = json.loads(out_json.read_text())["rows"] if out_json.is_file() else []

    def save():
        table.save_rows(out_json, merged(earlier, rows))

    for name in args.recipes:
        recipe = recipes.get(name)
        vs = variants(_base_model(recipe, args.set), args.factors)
        print(
            f"[ablation {name}] {len(vs)} variants x {args.budget:g} min, {args.jobs} at a time: "
            + ", ".join(v.tag or "default" for v in vs),
            flush=True,
        )
        threads = [f"training.num_threads={args.threads}"]

        def train(v):
            return ours.train_and_evaluate(
                recipe,
                args.budget,
                args.out,
                force=args.force,
                overrides=[*args.set, *threads, *v.overrides],
                tag=v.tag,
            )

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [(v, pool.submit(train, v)) for v in vs]
            done = []
            for v, fut in futures:
                try:
                    done.append((v, fut.result()))
                except (RuntimeError, SystemExit) as exc:
                    print(f"[ablation {name}] {v.tag} FAILED: {exc}", file=sys.stderr)
                    rows.append(
                        {
                            "recipe": name,
                            "factor": v.factor,
                            "value": v.value,
                            "error": str(exc)[:2000],
                        }
                    )
                    save()
        for v, r in done:  # LAMMPS timings one at a time, after every training has finished
            row = _row(recipe, v, r, args.budget)
            if args.md_seconds > 0:
                from .accuracy_parts import throughput

                row.update(
                    throughput.measure(
                        recipe, r["model"], r["run_dir"] / "md", seconds=args.md_seconds
                    )
                )
            rows.append(row)
            save()
    return merged(earlier, rows)


COLUMNS = [
    ("factor", "factor", "s", 9),
    ("value", "value", "s", 18),
    ("params", "params", ",d", 8),
    ("epochs", "epochs", "d", 6),
    ("train min", "train_s", ".1f", 9),
    ("val F MAE", "val_F_mae", ".1f", 9),
    ("E MAE", "E_mae", ".2f", 7),
    ("F MAE", "F_mae", ".1f", 6),
    ("F RMSE", "F_rmse", ".1f", 6),
    ("S RMSE", "S_rmse", ".2f", 6),
    ("MD atom-steps/s", "md_atom_steps_s", ",.0f", 15),
    ("MD/sw", "md_vs_sw", ".4f", 7),
    ("F MAE/default", "F_ratio", ".2f", 13),
]


def format_table(rows):
    lines = []
    for name in dict.fromkeys(r["recipe"] for r in rows):
        mine = [r for r in rows if r["recipe"] == name and "error" not in r]
        base = next((r for r in mine if r["factor"] == "default"), None)
        unit = recipes.get(name).energy_unit[1]
        lines.append(
            f"{name}: one factor at a time around the default; E in {unit}, F in meV/Å, S in meV/Å³"
        )
        head = " ".join(
            h.ljust(w) if i < 2 else h.rjust(w) for i, (h, _, _, w) in enumerate(COLUMNS)
        )
        lines += [head, "-" * len(head)]
        order = ["default", *FACTORS]
        for r in sorted(mine, key=lambda r: (order.index(r["factor"]), str(r["value"]))):
            r = dict(
                r, train_s=r["train_s"] / 60, F_ratio=r["F_mae"] / base["F_mae"] if base else None
            )
            cells = []
            for _, key, fmt, _ in COLUMNS:
                val = r.get(key)
                ok = val is not None and not (isinstance(val, float) and math.isnan(val))
                cells.append(str(val) if ok and fmt == "s" else format(val, fmt) if ok else "-")
            lines.append(
                " ".join(
                    c.ljust(w) if i < 2 else c.rjust(w)
                    for i, (c, (_, _, _, w)) in enumerate(zip(cells, COLUMNS))
                )
            )
        for r in rows:
            if r["recipe"] == name and "error" in r:
                lines.append(
                    f"{r['factor']} {r['value']}: not measured: "
                    f"{' '.join(r['error'].split())[:300]}"
                )
        lines.append("")
    lines.append(
        "val F MAE: the best epoch's validation error (what chooses the default); "
        "E, F, S: the test file, once. MD: LAMMPS on the first test configuration, beside "
        "pair_style sw on 512 Si atoms."
    )
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["recipe"] for r in rows if "error" not in r))
    fig, axes = plt.subplots(
        1, len(names) or 1, figsize=(6.5 * max(1, len(names)), 5), squeeze=False
    )
    colours = dict(zip(["default", *FACTORS], plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, name in zip(axes[0], names):
        for r in (
            r for r in rows if r["recipe"] == name and "error" not in r and r.get("md_atom_steps_s")
        ):
            ax.scatter(
                r["md_atom_steps_s"],
                r["F_mae"],
                color=colours[r["factor"]],
                s=60 if r["factor"] == "default" else 35,
                marker="*" if r["factor"] == "default" else "o",
            )
            ax.annotate(
                "default" if r["factor"] == "default" else f"{r['factor']} {r['value']}",
                (r["md_atom_steps_s"], r["F_mae"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
        ax.set_xscale("log")
        ax.set_xlabel("LAMMPS MD throughput (atom-steps/s, this machine)")
        ax.set_ylabel("test force MAE (meV/Å)")
        ax.set_title(f"{name}: one factor at a time")
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    ap.add_argument(
        "--recipes", nargs="+", default=["aspirin", "si"], choices=list(recipes.RECIPES)
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=30.0,
        help="wall-clock training minutes per variant (default 30)",
    )
    ap.add_argument("--factors", nargs="+", default=list(FACTORS), choices=list(FACTORS))
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="base override of the recipe, for every variant (e.g. model.channels=16); repeatable",
    )
    ap.add_argument(
        "--jobs", type=int, default=2, help="variants trained at the same time (default 2)"
    )
    ap.add_argument(
        "--threads", type=int, default=1, help="training threads of each variant (default 1)"
    )
    ap.add_argument(
        "--out", type=Path, default=Path("runs/ablation"), help="run folders and ablation.json"
    )
    ap.add_argument(
        "--force", action="store_true", help="redo finished runs (old files are moved aside)"
    )
    ap.add_argument(
        "--md-seconds", type=float, default=10.0, help="timed LAMMPS seconds per style (0: no MD)"
    )
    ap.add_argument(
        "--table",
        type=Path,
        default=None,
        metavar="ABLATION_JSON",
        help="print the table and plot of an earlier ablation.json; train nothing",
    )
    args = ap.parse_args(argv)
    if args.table:
        if not args.table.is_file():
            raise SystemExit(
                f"--table {args.table}: no such file (benchmarks.ablation writes OUT/ablation.json)"
            )
        rows = json.loads(args.table.read_text())["rows"]
        print(format_table(rows))
        print(f"plot: {plot(rows, args.table.parent / 'ablation.png')}")
        return 0
    if args.budget <= 0 or args.jobs < 1 or args.threads < 1:
        raise SystemExit("--budget must be positive minutes, --jobs and --threads at least 1")
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = measure(args)
    print(format_table(rows))
    print(f"plot: {plot(rows, args.out / 'ablation.png')}")
    print(f"results: {args.out / 'ablation.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
