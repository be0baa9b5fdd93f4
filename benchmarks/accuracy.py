#!/usr/bin/env python
"""Accuracy per cost on public benchmarks, side by side with MACE and NequIP (the examples'
READMEs, e.g. examples/rmd17-aspirin/README.md, give its tables).

For each recipe (the built-in ones, benchmarks/recipes/*.yaml: examples/rmd17-aspirin,
rmd17-ethanol, 3bpa, si-dft, mlearn-ge; a recipe file of one's own, --recipe-file; or one's own
data given on the command line, --train/--test/--config) and each wall-clock budget: train ours
with `nbody-lmp train` (or reuse the finished run), evaluate it on the recipe's test file,
measure its LAMMPS MD throughput beside pair_style sw in the same run; then train each peer
(--peers mace nequip) in its own virtual environment for the same budget on the same training
file, on this machine, one after the other, and evaluate it on the same test file. Prints one
table with the published figures (the recipe files') beside them, writes results.json (after
each model, so an interrupted benchmark keeps what it measured) and a plot of test force error
against MD throughput (and against training time, where a peer has no LAMMPS number).

    python -m benchmarks.accuracy --recipes aspirin --budget 5 --peers mace
    python -m benchmarks.accuracy --recipes aspirin si --budget 10 30 --peers mace nequip
    python -m benchmarks.accuracy --recipe-file my_recipe.yaml --budget 10 --peers mace
    python -m benchmarks.accuracy --train A.xyz --test B.xyz --config C.yaml [--e0 atoms.xyz] \\
        [--molecule | --periodic] --budget 5 --peers mace nequip       # your own data
    python -m benchmarks.accuracy --table runs/accuracy/results.json        # print it again

With --train, ours trains with C.yaml, its data.train replaced by A.xyz (data.e0 by --e0); the
species come from the config, else from the data; energies are per molecule when no training
configuration is periodic and per atom when all are (else say which: --molecule, --periodic);
B.xyz is checked for energies and forces before training and read only by the final
evaluation. benchmarks/README.md ("Your own data") has a run of it.

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

from .accuracy_parts import own_data, ours, recipes, table
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

    for recipe in args.recipe_list:
        name = recipe.name
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
                    f"[nbody {name}] LAMMPS MD throughput ({args.md_seconds:g} s, "
                    f"beside pair_style sw)"
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
                f"{r['model']} on {r['recipe']} ({r['budget_min']:g} min): "
                f"not measured: {r['error']}"
            )
        if r.get("size"):
            best = r.get("best_at_s")
            kept = (
                f"; kept checkpoint: epoch {r.get('best_epoch')}, "
                f"written at minute {best / 60:.1f} "
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


def _own_data_options(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group(
        "your own data (instead of a recipe file; accuracy_parts/own_data.py)"
    )
    g.add_argument("--train", type=Path, help="training file (extended XYZ, energies and forces)")
    g.add_argument("--test", type=Path, help="test file, read only by the final evaluation")
    g.add_argument("--config", type=Path, help="our training config (its data.train is --train)")
    g.add_argument("--e0", type=Path, help="isolated-atom energies (default: the config's data.e0)")
    g.add_argument(
        "--name", help="the recipe's name in the table and run folders (default: --train's)"
    )
    m = g.add_mutually_exclusive_group()
    m.add_argument(
        "--molecule",
        dest="molecule",
        action="store_const",
        const=True,
        default=None,
        help="energies per molecule (default: when no training configuration is periodic)",
    )
    m.add_argument(
        "--periodic",
        dest="molecule",
        action="store_const",
        const=False,
        help="energies per atom (default: when every training configuration is periodic)",
    )
    g.add_argument(
        "--stress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train and test on stress (default: loss.stress_weight > 0 and the data has it)",
    )


def _peer_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--peers", nargs="*", default=[], choices=PEERS, help="peers to train beside ours"
    )
    ap.add_argument(
        "--mace-size",
        nargs="+",
        default=["small"],
        help="MACE sizes, each trained: small (128x0e, its smallest documented) and/or tiny "
        "(32x0e); see accuracy_parts/mace_peer.py",
    )
    ap.add_argument(
        "--nequip-size",
        nargs="+",
        default=["small"],
        help="NequIP sizes: small (its tutorial's) and/or tiny; see accuracy_parts/nequip_peer.py",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="CPU threads of each peer's training (ours: its config)",
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    ap.add_argument(
        "--recipes",
        nargs="+",
        default=None,
        choices=list(recipes.RECIPES),
        help="built-in recipes to measure, benchmarks/recipes/NAME.yaml (default aspirin, when "
        "neither --recipe-file nor --train is given)",
    )
    ap.add_argument(
        "--recipe-file",
        nargs="+",
        type=Path,
        default=[],
        metavar="YAML",
        help="recipe files of your own (keys: benchmarks/README.md, 'Recipes')",
    )
    _own_data_options(ap)
    ap.add_argument(
        "--budget",
        nargs="+",
        type=float,
        default=[10.0],
        help="wall-clock training minutes per model (default 10; the examples report 10 and 30)",
    )
    _peer_options(ap)
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
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override one of our config keys for every recipe (e.g. model.channels=16); "
        "repeatable",
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
    return ap


OWN = ("test", "config", "e0", "name", "molecule", "stress")


def select_recipes(args) -> list:
    """The recipes to measure, in order: --recipes, --recipe-file, then --train's. Errors name
    the option to change."""
    if args.train is None:
        stray = [f"--{k}" for k in OWN if getattr(args, k) is not None]
        if stray:
            raise recipes.RecipeError(
                f"{', '.join(stray)}: options of your own data, which go with --train FILE "
                f"(and --test FILE, --config C.yaml): add --train, or leave them out"
            )
    else:
        missing = [f"--{k}" for k in ("test", "config") if getattr(args, k) is None]
        if missing:
            raise recipes.RecipeError(
                f"--train needs {' and '.join(missing)}: the test file of the final evaluation "
                f"and our training config (e.g. examples/mlearn-ge/config.yaml)"
            )
    names = args.recipes
    if names is None:
        names = [] if (args.train or args.recipe_file) else ["aspirin"]
    chosen = [recipes.get(n) for n in names] + [recipes.load_recipe(f) for f in args.recipe_file]
    if args.train is not None:
        chosen.append(
            own_data.recipe_from_files(
                args.train,
                args.test,
                args.config,
                e0=args.e0,
                molecule=args.molecule,
                stress=args.stress,
                name=args.name,
                sets=args.set or [],
            )
        )
    seen = [r.name for r in chosen]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise recipes.RecipeError(
            f"two recipes named {', '.join(twice)}: their runs would share folders; rename one "
            f"(a recipe file's name key, or --name)"
        )
    return chosen


def check_budget(budget) -> None:
    bad = [b for b in budget if not b > 0]
    if bad:
        raise SystemExit(
            f"--budget must be positive minutes of training per model (e.g. --budget 5); "
            f"got {' '.join(f'{b:g}' for b in bad)}"
        )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.table:
        if not args.table.is_file():
            raise SystemExit(
                f"--table {args.table}: no such file (benchmarks.accuracy writes OUT/results.json)"
            )
        rows = json.loads(args.table.read_text())["rows"]
        report(rows, args.plot or args.table.parent / "force_error_vs_cost.png")
        return 0
    check_budget(args.budget)
    try:
        args.recipe_list = select_recipes(args)
    except recipes.RecipeError as exc:
        raise SystemExit(f"error: {exc}") from None
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = measure(args)
    report(rows, args.plot or args.out / "force_error_vs_cost.png")
    print(f"results: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
