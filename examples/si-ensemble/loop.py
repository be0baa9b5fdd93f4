#!/usr/bin/env python
"""Active learning on Stillinger-Weber silicon with a 3-model nbody ensemble, round after round
(README.md beside this file; the ensemble syntax and the deviation are in docs/lammps.md,
"Several models: model deviation").

    python loop.py                 # 3 rounds, a few minutes on 2 quiet cores; results in runs/,
                                   # figures in figures/
    python loop.py --quick         # a smoke test (tiny sizes, seconds; tests/end_to_end)
    python loop.py --force         # start over (runs/ is moved to runs-previous-<time>/)

1. data: crystal.xyz (crystal MD at 300-1200 K, SW from LAMMPS) and liquid_test.xyz (SW liquid);
2. round 0: `nbody-lmp train config.yaml` (training.ensemble: 3) on crystal.xyz -> runs/round-0/;
3. MD with the ensemble (in.melt.lammps): 64 atoms heated from 300 K to 3000 K, the model
   deviation dumped every --every steps (default 10; compute nbody/deviation) and written to
   devi.out;
4. selection: the frames whose max force deviation lies in [lo, hi) (nbody_lmp.workflows.selection,
   as `nbody-lmp select`), at most --max of them, labelled with SW (LAMMPS pair_style sw)
   -> runs/selection-k/;
5. round k+1: the ensemble retrained from scratch on round k's data + the labelled frames
   (runs/selection-k/train-round-(k+1).xyz) -> runs/round-(k+1)/; the same MD; steps 4-5 again until
   --rounds;
6. each round: the liquid test error of its first model and the ensemble's deviation on the
   liquid test set; figures/deviation_vs_time.png and figures/liquid_test.png; runs/results.json.

Every step is skipped when its output exists, so an interrupted loop continues where it stopped.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def log(msg: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", flush=True)


def make_data(args, runs: Path):
    from nbody_lmp.workflows.generate_sw import generate_sw_si

    crystal, liquid = HERE / "crystal.xyz", HERE / "liquid_test.xyz"
    if args.quick:
        crystal, liquid = runs / "crystal.xyz", runs / "liquid_test.xyz"
    if not crystal.exists():
        log(f"generating {crystal.name}: {args.crystal} crystal configurations (SW, 300-1200 K)")
        generate_sw_si(
            crystal,
            args.crystal,
            seed=1,
            fractions={"crystal": 1.0},
            progress=False,
            **({"equilibration_steps": 50, "sample_interval": 10} if args.quick else {}),
        )
    if not liquid.exists():
        log(f"generating {liquid.name}: {args.liquid} liquid configurations (SW, 2000 K)")
        generate_sw_si(
            liquid,
            args.liquid,
            seed=2,
            fractions={"liquid": 1.0},
            progress=False,
            **({"melt_steps": 100, "sample_interval": 10} if args.quick else {}),
        )
    return crystal, liquid


def train_round(k: int, train_file: Path, runs: Path, args) -> list:
    from nbody_lmp.training import EnsembleTrainer, load_config

    run_dir = runs / f"round-{k}"
    models = [run_dir / f"member-{m}" / "model.pt" for m in range(3)]
    if all(m.is_file() for m in models):
        return models
    overrides = {
        "data.train": str(train_file),
        "output.run_dir": str(run_dir),
        "output.progress": False,
    }
    if args.quick:
        overrides.update({"training.max_epochs": 1, "model.channels": 2, "model.lmax": 1})
    cfg = load_config(HERE / "config.yaml", overrides=overrides)
    log(
        f"round {k}: training a {cfg.training.ensemble}-model ensemble on "
        f"{train_file.name} -> {run_dir}"
    )
    resume = (run_dir / "ensemble.json").is_file()
    EnsembleTrainer(
        cfg, resume=resume, log=lambda s: None if "epoch" in s and "stopped" not in s else log(s)
    ).run()
    return models


def run_md(k: int, models: list, runs: Path, args):
    from nbody_lmp.workflows.lammps_run import run_lammps

    md = runs / f"round-{k}" / "md"
    if (
        (md / "traj.dump").is_file()
        and (md / "devi.out").is_file()
        and "Loop time" in (md / "log.lammps").read_text()
    ):
        return md
    text = (HERE / "in.melt.lammps").read_text()
    head = "".join(f"variable m{m} string {Path(p).resolve()}\n" for m, p in enumerate(models))
    head += f"variable steps string {args.steps}\nvariable every string {args.every}\n"
    log(f"round {k}: MD with the ensemble, {args.steps} steps 300 K -> 3000 K ({md})")
    run_lammps(md, head + text, ranks=1, steps=args.steps, label=f"MD round {k}")
    return md


def md_series(md: Path):
    """step, temperature, max force deviation per frame (from devi.out and the log)."""
    from nbody_lmp.workflows.lammps_run import parse_log

    devi = np.loadtxt(md / "devi.out", ndmin=2)
    th = parse_log((md / "log.lammps").read_text())
    temp = np.interp(devi[:, 0], th["Step"], th["Temp"])
    return devi[:, 0], temp, devi[:, 1]


def select_and_label(k: int, md: Path, runs: Path, args) -> dict:
    """runs/selection-k/: selected.xyz (the frames, labelled with SW) and selection.json,
    returned."""
    from nbody_lmp.workflows.selection import (
        label_with_sw,
        read_lammps_dump,
        select_frames,
        write_frames,
    )

    sel_dir = runs / f"selection-{k}"
    out = sel_dir / "selected.xyz"
    if out.is_file():
        return json.loads((sel_dir / "selection.json").read_text())
    res = select_frames(
        read_lammps_dump(md / "traj.dump", elements=["Si"]),
        args.lo,
        args.hi,
        max_frames=args.max,
        source=str(md / "traj.dump"),
    )
    log(
        f"selection from round {k} in [{args.lo}, {args.hi}) eV/A: {res.summary()}; "
        f"labelling {len(res.frames)} with SW"
    )
    labelled = label_with_sw(res.frames)
    sel_dir.mkdir(parents=True, exist_ok=True)
    write_frames(labelled, out)
    summary = dict(
        lo=args.lo,
        hi=args.hi,
        n_frames=res.n_frames,
        accurate=res.accurate,
        candidates=res.candidates,
        failed=res.failed,
        kept=len(labelled),
        timesteps=[int(a.info["timestep"]) for a in labelled],
    )
    (sel_dir / "selection.json").write_text(json.dumps(summary, indent=1))
    return summary


def liquid_metrics(models: list, liquid: Path) -> dict:
    """Errors of the first model and the ensemble's deviation on the liquid test set."""
    import ase.io

    from nbody_lmp import NBodyCalculator, load_exported
    from nbody_lmp.data import read_configurations
    from nbody_lmp.training import evaluate_model

    first, _ = load_exported(models[0])
    graphs = [
        c.to_graph(list(first.species), max(first.cutoffs)) for c in read_configurations(liquid)
    ]
    acc, _ = evaluate_model(first, graphs)
    s = acc.summary()
    calc = NBodyCalculator([str(m) for m in models])
    devs = []
    for a in ase.io.read(liquid, ":"):
        a.calc = calc
        a.get_forces()
        devs.append(calc.results["max_force_deviation"])
    return dict(
        forces_rmse=s["forces"]["rmse"],
        energy_per_atom_rmse=s["energy_per_atom"]["rmse"],
        mean_max_force_deviation=float(np.mean(devs)),
    )


COLORS = ["tab:red", "tab:orange", "tab:blue", "tab:purple", "tab:green"]


def color(k: int) -> str:
    return COLORS[k % len(COLORS)]


def figures(series: dict, selections: dict, metrics: dict, args, out: Path):
    """deviation_vs_time.png (each round's MD, the frames selected from it) and liquid_test.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, (ax, bx) = plt.subplots(
        2, 1, figsize=(7.5, 6.5), sharex=True, gridspec_kw=dict(height_ratios=[3, 2])
    )
    ax.axhspan(
        args.lo,
        args.hi,
        color="tab:green",
        alpha=0.12,
        label=f"candidate window [{args.lo}, {args.hi}) eV/Å",
    )
    for k, (step, temp, dev) in series.items():
        t = step * 1e-3
        n_sel = sum(selections[j]["kept"] for j in range(k))
        ax.semilogy(
            t,
            dev,
            color=color(k),
            lw=1.2,
            label=f"round {k}: crystal" + (f" + {n_sel} selected frames" if k else " only"),
        )
        bx.plot(t, temp, color=color(k), lw=1.0, label=f"round {k}")
        if k in selections:
            picked = np.isin(step, selections[k]["timesteps"])
            ax.plot(t[picked], dev[picked], "o", ms=4, mfc="none", color=color(k))
    ax.plot(
        [],
        [],
        "o",
        ms=4,
        mfc="none",
        color="k",
        label="frames selected for the next round (labelled with SW)",
    )
    top = max(float(np.max(s[2])) for s in series.values())
    ax.set_ylim(0.02, 2 * top)  # step 0, the perfect crystal, has a deviation of ~1e-15
    ax.set_ylabel("max force deviation over atoms (eV/Å)")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.set_title("64 Si atoms heated 300 K → 3000 K (Langevin); dynamics of model 0")
    bx.axhline(1690, color="gray", ls=":", lw=1)
    bx.text(0.02, 1720, "SW melting point ≈ 1690 K", fontsize=8, color="gray")
    bx.set_ylabel("temperature (K)")
    bx.set_xlabel("time (ps)")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "deviation_vs_time.png", dpi=120)
    plt.close(fig)

    rounds = sorted(metrics)
    fig, axs = plt.subplots(1, 3, figsize=(9, 3))
    names = [
        ("forces_rmse", "force RMSE (meV/Å)"),
        ("energy_per_atom_rmse", "energy RMSE (meV/atom)"),
        ("mean_max_force_deviation", "mean max force deviation (meV/Å)"),
    ]
    for a, (key, label) in zip(axs, names):
        vals = [metrics[k][key] * 1e3 for k in rounds]
        a.bar([f"round {k}" for k in rounds], vals, color=[color(k) for k in rounds])
        for x, v in enumerate(vals):
            a.text(x, v, f"{v:.0f}", ha="center", va="bottom", fontsize=8)
        a.set_title(label, fontsize=9)
    fig.suptitle("SW liquid test set (2000 K), first model of each round's ensemble", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "liquid_test.png", dpi=120)
    plt.close(fig)


BINS = [(300, 1000), (1000, 1700), (1700, 2400), (2400, 3100)]


def by_temperature(temp, dev) -> dict:
    out = {}
    for lo, hi in BINS:
        m = (temp >= lo) & (temp < hi)
        out[f"{lo}-{hi} K"] = float(np.median(dev[m])) if m.any() else None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    ap.add_argument("--force", action="store_true", help="move runs/ aside and start over")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="ensembles trained, each on the data of the one before "
        "plus the frames selected from its MD (default 3: rounds 0, 1, 2)",
    )
    ap.add_argument(
        "--lo", type=float, default=0.1, help="candidate window: lower bound, eV/Å (default 0.1)"
    )
    ap.add_argument(
        "--hi", type=float, default=1.5, help="candidate window: upper bound, eV/Å (default 1.5)"
    )
    ap.add_argument(
        "--max",
        type=int,
        default=16,
        help="at most this many selected frames per round (default 16)",
    )
    ap.add_argument("--steps", type=int, default=2000, help="MD steps (default 2000: 2 ps)")
    ap.add_argument(
        "--every", type=int, default=10, help="deviation output interval (default 10 steps)"
    )
    ap.add_argument(
        "--crystal", type=int, default=24, help="crystal training configurations (default 24)"
    )
    ap.add_argument(
        "--liquid", type=int, default=20, help="liquid test configurations (default 20)"
    )
    args = ap.parse_args(argv)
    if args.rounds < 2:
        ap.error(
            f"--rounds {args.rounds}: the loop needs at least 2 rounds (one to select from, "
            "one to retrain)"
        )
    if args.quick:
        args.steps, args.crystal, args.liquid, args.max, args.rounds = 60, 6, 3, 3, 2
        args.lo, args.hi = 0.0, 1e9  # any deviation: the smoke test must select something
    runs = HERE / "runs"
    if args.quick:
        runs = Path.cwd() / "runs-quick"
    if args.force and runs.exists():
        dest = runs.with_name(f"{runs.name}-previous-{datetime.datetime.now():%Y%m%d-%H%M%S}")
        shutil.move(str(runs), str(dest))
        log(f"moved the earlier results to {dest}")
    runs.mkdir(parents=True, exist_ok=True)

    crystal, liquid = make_data(args, runs)
    train, series, metrics, selections = Path(crystal), {}, {}, {}
    for k in range(args.rounds):
        if k:
            sel_dir = runs / f"selection-{k - 1}"
            previous, train = train, sel_dir / f"train-round-{k}.xyz"
            if not train.is_file():
                train.write_text(previous.read_text() + (sel_dir / "selected.xyz").read_text())
        models = train_round(k, train, runs, args)
        md = run_md(k, models, runs, args)
        series[k], metrics[k] = md_series(md), liquid_metrics(models, liquid)
        log(
            f"round {k}: liquid test set, first model: "
            f"force RMSE {metrics[k]['forces_rmse'] * 1e3:.0f} meV/Å, "
            f"energy RMSE {metrics[k]['energy_per_atom_rmse'] * 1e3:.1f} meV/atom; "
            "ensemble mean max force deviation "
            f"{metrics[k]['mean_max_force_deviation'] * 1e3:.0f} meV/Å"
        )
        if k + 1 < args.rounds:
            selections[k] = select_and_label(k, md, runs, args)
    figures(series, selections, metrics, args, runs / "figures" if args.quick else HERE / "figures")

    results = dict(
        selections={str(k): v for k, v in selections.items()},
        liquid_test={str(k): v for k, v in metrics.items()},
        md={
            str(k): dict(
                last_step=int(s[0][-1]),
                halted=bool(s[0][-1] < args.steps),
                max_temperature=float(s[1].max()),
                median_max_force_deviation_by_temperature=by_temperature(s[1], s[2]),
            )
            for k, s in series.items()
        },
    )
    (runs / "results.json").write_text(json.dumps(results, indent=1))
    for k, r in results["md"].items():
        log(
            f"MD round {k}: {'halted' if r['halted'] else 'ran'} to step {r['last_step']} "
            f"(max {r['max_temperature']:.0f} K); median max force deviation by temperature: "
            + ", ".join(
                f"{b} {'-' if v is None else f'{v:.3f}'}"
                for b, v in r["median_max_force_deviation_by_temperature"].items()
            )
        )
    log(f"results: {runs / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
