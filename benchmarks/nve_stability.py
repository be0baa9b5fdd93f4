#!/usr/bin/env python
"""Long NVE stability of pair_style nbody against pair_style sw on the same box (docs/lammps.md,
"Validation"): diamond Si, velocities at 2T so the crystal
equilibrates near T, then NVE for --ps picoseconds at 1 fs, on 1 and 2 MPI ranks, one run
after the other. Prints, for each style and rank count:

* the linear drift of the total energy over the whole run (meV/atom/ps), and its ratio to sw's;
* the largest excursion |E(t) - E(0)| (meV/atom) and the largest force component seen (thermo
  `fmax`, every --thermo steps);
* the mean temperature and the number of steps; a run that blows up is reported as such.

It writes nve_stability.png (total energy per atom and temperature against time) and
nve_stability.json into --out.

    python benchmarks/nve_stability.py --model runs/si-sw/model64.pt              # 100 ps, 1500 K
    python benchmarks/nve_stability.py --model m.pt --ps 5 --temperature 1000 --reps 2
    python benchmarks/nve_stability.py --model m.pt --from-logs      # tables and plot from the logs
                                                                      # in --out, finished or not

A measurement, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nbody_lmp.workflows.lammps_run import (
    diamond_si_box,
    pair_lines,
    parse_log,
    parse_throughput,
    run_lammps,
)


def md_input(
    style: str, model: str | None, reps: int, steps: int, temperature: float, thermo: int, seed: int
) -> str:
    return f"""# nbody-lmp: NVE stability, diamond Si, {8 * reps**3} atoms, pair_style {style}
{diamond_si_box(reps)}{pair_lines(style, model)}neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
timestep 0.001
velocity all create {2 * temperature} {seed} mom yes rot yes dist gaussian
thermo_style custom step temp pe etotal press fmax
thermo_modify norm yes flush yes format float %.12g
thermo {thermo}
fix md all nve
run {steps}
"""


def analyse(thermo: dict, natoms: int) -> dict:
    t_ps = thermo["Step"] * 1e-3
    e = thermo["TotEng"]  # eV/atom (thermo_modify norm yes)
    slope = float(np.polyfit(t_ps, e, 1)[0])
    return dict(
        steps=int(thermo["Step"][-1]),
        drift_meV_atom_ps=1e3 * slope,
        max_dev_meV_atom=1e3 * float(np.max(np.abs(e - e[0]))),
        max_force_eV_A=float(np.max(thermo["Fmax"])),
        mean_T=float(np.mean(thermo["Temp"][len(e) // 5 :])),
        natoms=natoms,
    )


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for name, r in results.items():
        t = np.asarray(r["t_ps"])
        a1.plot(t, 1e3 * (np.asarray(r["etotal"]) - r["etotal"][0]), lw=0.8, label=name)
        a2.plot(t, r["temp"], lw=0.6, label=name)
    a1.set_ylabel("E_tot(t) - E_tot(0) (meV/atom)")
    a2.set_ylabel("T (K)")
    a2.set_xlabel("time (ps)")
    a1.legend(fontsize=8)
    a1.set_title("NVE, 1 fs: pair_style nbody against pair_style sw")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", required=True, help="exported nbody model (float64 for the drift figure)"
    )
    ap.add_argument("--ps", type=float, default=100.0, help="NVE length in ps (1 fs steps)")
    ap.add_argument("--temperature", type=float, default=1500.0)
    ap.add_argument(
        "--reps", type=int, default=2, help="conventional cells per side (8 reps^3 atoms)"
    )
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--thermo", type=int, default=10, help="thermo (and fmax) every this many steps"
    )
    ap.add_argument("--seed", type=int, default=4928459)
    ap.add_argument("--out", type=Path, default=Path("nve_stability"))
    ap.add_argument(
        "--from-logs",
        action="store_true",
        help=(
            "run nothing: analyse the logs already in --out "
            "(a run still going counts up to its last row)"
        ),
    )
    args = ap.parse_args()
    steps = int(round(args.ps * 1000))
    args.out.mkdir(parents=True, exist_ok=True)
    results, rows = {}, []
    for style in ("sw", "nbody"):
        for ranks in args.ranks:
            name = f"{style}, {ranks} rank{'s' if ranks > 1 else ''}"
            text = md_input(
                style,
                args.model if style == "nbody" else None,
                args.reps,
                steps,
                args.temperature,
                args.thermo,
                args.seed,
            )
            folder = args.out / f"{style}-np{ranks}"
            if args.from_logs:
                log = (
                    (folder / "log.lammps").read_text() if (folder / "log.lammps").exists() else ""
                )
                th, natoms, speed = parse_log(log), 8 * args.reps**3, parse_throughput(log)
                if "Step" not in th or len(th["Step"]) < 3:
                    rows.append((name, f"no thermo rows in {folder / 'log.lammps'}"))
                    continue
            else:
                try:
                    md = run_lammps(
                        folder, text, ranks=ranks, steps=steps, label=name, timeout=6 * 3600
                    )
                except RuntimeError as exc:
                    rows.append((name, f"FAILED: {exc}"))
                    continue
                th, natoms, speed = md.thermo, md.natoms, md.atom_steps_per_s
            r = analyse(th, natoms)
            r.update(
                atom_steps_per_s=speed,
                t_ps=(th["Step"] * 1e-3).tolist(),
                etotal=th["TotEng"].tolist(),
                temp=th["Temp"].tolist(),
            )
            results[name] = r
            rows.append((name, r))
    sw_drift = {
        k.split(", ")[1]: v["drift_meV_atom_ps"] for k, v in results.items() if k.startswith("sw")
    }
    print(
        f"\nNVE of {8 * args.reps**3} Si atoms, up to {args.ps:g} ps at 1 fs from "
        f"{2 * args.temperature:g} K velocities, model {args.model}\n"
    )
    print(
        "| run | steps | mean T (K) | drift (meV/atom/ps) | drift / sw drift "
        "| max abs(E-E0) (meV/atom) | largest force (eV/A) | atom-steps/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        if isinstance(r, str):
            print(f"| {name} | {r} |||||||")
            continue
        ref = sw_drift.get(name.split(", ")[1])
        ratio = f"{r['drift_meV_atom_ps'] / ref:.2f}" if ref else "n/a"
        print(
            f"| {name} | {r['steps']} | {r['mean_T']:.0f} | {r['drift_meV_atom_ps']:+.5f} | "
            f"{ratio} | {r['max_dev_meV_atom']:.4f} | {r['max_force_eV_A']:.3f} | "
            f"{r['atom_steps_per_s']:,.0f} |"
        )
    (args.out / "nve_stability.json").write_text(
        json.dumps(
            {
                k: {kk: vv for kk, vv in v.items() if kk not in ("t_ps", "etotal", "temp")}
                for k, v in results.items()
            },
            indent=2,
        )
    )
    if results:
        plot(results, args.out / "nve_stability.png")
        print(f"\nplot: {args.out / 'nve_stability.png'}")


if __name__ == "__main__":
    main()
