#!/usr/bin/env python
"""Accuracy per cost on public benchmarks, side by side with MACE and NequIP (the examples'
READMEs, e.g. examples/rmd17-aspirin/README.md, give its tables).

For each recipe (examples/rmd17-aspirin, rmd17-ethanol, 3bpa, si-dft, mlearn-ge) and each
wall-clock budget: train ours with `nbody-lmp train` (or reuse the finished run), evaluate it on
the recipe's test file, measure its LAMMPS MD throughput beside pair_style sw in the same run;
then train each peer (--peers mace nequip) in its own virtual environment for the same budget on
the same training file, on this machine, one after the other, and evaluate it on the same test
file. Prints one table with the published figures (accuracy_parts/recipes.py) beside them, writes
results.json (after each model, so an interrupted benchmark keeps what it measured) and a plot
of test force error against MD throughput (and against training time, where a peer has no
LAMMPS number).

    python -m benchmarks.accuracy --recipes aspirin --budget 5 --peers mace
    python -m benchmarks.accuracy --recipes aspirin si --budget 10 30 --peers mace nequip
    python -m benchmarks.accuracy --table runs/accuracy/results.json        # print it again

Runs go to --out (default runs/accuracy/<recipe>-<model>-<budget>min); a finished one is
reused, an unfinished one is an error unless --force (which moves it aside, deleting nothing).
The machine is shared and loaded: only numbers measured in the same run are compared, and MD
speed is printed as a ratio to pair_style sw. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if not __package__:  # run as a file: the package's other modules are not importable
    raise SystemExit(
        "run it from the repository root as a module: python -m benchmarks.accuracy ..."
    )

from .accuracy_parts import ours, recipes, table
from .accuracy_parts.plot import force_error_plot

PEERS = ("mace", "nequip")


def _val_fraction(recipe) -> float:
    return recipe.training_config().data.val_fraction


def _species(recipe):
    return recipe.model_species()


def peer_runs(args) -> list:
    """(peer, size) in the order they train: each peer at each of its sizes."""
    sizes = {"mace": args.mace_size, "nequip": args.nequip_size}
    return [(p, s) for p in args.peers for s in sizes[p]]


def run_peer(peer: str, size: str, recipe, budget: float, args) -> dict:
    common = dict(
        force=args.force,
        val_fraction=_val_fraction(recipe),
        species=_species(recipe),
        threads=args.threads,
        size=size,
    )
    if peer == "mace":
        from .accuracy_parts import mace_peer

        return mace_peer.train_and_evaluate(recipe, budget, args.out, **common)
    from .accuracy_parts import nequip_peer

    return nequip_peer.train_and_evaluate(recipe, budget, args.out, **common)


def measure(args) -> list:
    rows = []
    results = args.out / "results.json"

    def save():
        table.save_rows(results, rows)

    for name in args.recipes:
        recipe = recipes.get(name)
        for budget in args.budget:
            r = ours.train_and_evaluate(
                recipe, budget, args.out, force=args.force, overrides=args.set or []
            )
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
            if args.md_seconds > 0:
                from .accuracy_parts import throughput

                print(
                    f"[nbody {name}] LAMMPS MD throughput ({args.md_seconds:g} s, beside pair_style sw)"
                )
                row.update(
                    throughput.measure(
                        recipe, r["model"], r["run_dir"] / "md", seconds=args.md_seconds
                    )
                )
            rows.append(row)
            save()
            for peer, size in peer_runs(args):
                try:
                    p = run_peer(peer, size, recipe, budget, args)
                except (RuntimeError, SystemExit, OSError, KeyError, ValueError) as exc:
                    print(f"[{peer} {name}] FAILED: {exc}", file=sys.stderr)
                    rows.append(
                        {
                            "recipe": name,
                            "model": f"{peer}-{size}",
                            "budget_min": budget,
                            "error": " ".join(str(exc).split())[:2000],
                        }
                    )
                    save()
                    continue
                rows.append(
                    table.row_from_metrics(
                        recipe,
                        f"{peer}-{size}",
                        p["metrics"],
                        budget_min=budget,
                        train_s=p["train_s"],
                        params=p["params"],
                        epochs=p.get("epochs"),
                        run_dir=str(p["run_dir"]),
                        size=p.get("size"),
                        stopped_by=p.get("stopped_by"),
                        best_epoch=p.get("best_epoch"),
                        best_at_s=p.get("best_at_s"),
                    )
                )
                save()
        rows.extend(table.published_rows(recipe))
        save()
    return rows


def report(rows: list, plot: Path) -> None:
    print(table.format_table([r for r in rows if "error" not in r]))
    for r in rows:
        if "error" in r:
            print(
                f"{r['model']} on {r['recipe']} ({r['budget_min']:g} min): not measured: {r['error']}"
            )
        if r.get("size"):
            best = r.get("best_at_s")
            kept = (
                f"; kept checkpoint: epoch {r.get('best_epoch')}, written at minute {best / 60:.1f} "
                f"of {r['budget_min']:g}"
                if best is not None
                else ""
            )
            print(
                f"{r['model']} on {r['recipe']}: size {r['size']}; {r.get('epochs')} epochs; "
                f"stopped by {r.get('stopped_by')}{kept}"
            )
    if any("published" not in r["model"] and "error" not in r for r in rows):
        print(f"plot: {force_error_plot(rows, plot)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    ap.add_argument(
        "--recipes",
        nargs="+",
        default=["aspirin"],
        choices=list(recipes.RECIPES),
        help="recipes to measure (default aspirin)",
    )
    ap.add_argument(
        "--budget",
        nargs="+",
        type=float,
        default=[10.0],
        help="wall-clock training minutes per model (default 10; the examples report 10 and 30)",
    )
    ap.add_argument(
        "--peers", nargs="*", default=[], choices=PEERS, help="peers to train beside ours"
    )
    ap.add_argument(
        "--mace-size",
        nargs="+",
        default=["small"],
        help="MACE sizes, each trained: small (128x0e, its smallest documented) and/or tiny (32x0e); "
        "see accuracy_parts/mace_peer.py",
    )
    ap.add_argument(
        "--nequip-size",
        nargs="+",
        default=["small"],
        help="NequIP sizes: small (its tutorial's) and/or tiny; see accuracy_parts/nequip_peer.py",
    )
    ap.add_argument(
        "--out", type=Path, default=Path("runs/accuracy"), help="run folders and results.json"
    )
    ap.add_argument(
        "--force", action="store_true", help="redo finished runs (old ones are moved aside)"
    )
    ap.add_argument(
        "--md-seconds", type=float, default=10.0, help="timed LAMMPS seconds per style (0: no MD)"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="CPU threads of each peer's training (ours: its config)",
    )
    ap.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override one of our config keys for every recipe (e.g. model.channels=16); repeatable",
    )
    ap.add_argument(
        "--plot", type=Path, default=None, help="plot file (default OUT/force_error_vs_cost.png)"
    )
    ap.add_argument(
        "--table",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="print the table and plot of an earlier results.json; measure nothing",
    )
    args = ap.parse_args(argv)
    if args.table:
        if not args.table.is_file():
            raise SystemExit(
                f"--table {args.table}: no such file (benchmarks.accuracy writes OUT/results.json)"
            )
        rows = json.loads(args.table.read_text())["rows"]
        report(rows, args.plot or args.table.parent / "force_error_vs_cost.png")
        return 0
    if any(b <= 0 for b in args.budget):
        raise SystemExit(f"--budget must be positive minutes, got {args.budget}")
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = measure(args)
    report(rows, args.plot or args.out / "force_error_vs_cost.png")
    print(f"results: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
