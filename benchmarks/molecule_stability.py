#!/usr/bin/env python
"""MD stability of a molecule model in LAMMPS, boundary f f f (examples/rmd17-aspirin/README.md
reports it for aspirin, 20 ps NVT at 500 K). One test configuration in vacuum, with
``pair_style nbody``: NVT (Nose-Hoover) for --ps picoseconds at --temperature, then NVE for
--nve-ps from the last NVT state, 0.5 fs steps. Prints and writes (``--out``/stability.json):

* whether the run finished (a blow-up that stops LAMMPS is reported with the step it reached);
* whether the molecule stayed whole: its covalent bond graph (pairs closer than 1.25 x the sum
  of covalent radii) in every dumped frame equals the one of the starting structure; the first
  frame where a bond broke or formed, if any; the shortest and longest bond seen;
* the mean NVT temperature (second half), the NVE drift (meV/ps, linear fit) and the largest
  NVE excursion |E(t) - E(0)|; and the MD throughput (steps/s).

It plots temperature and NVE energy against time (stability.png). A measurement, not a test.

    python benchmarks/molecule_stability.py --model examples/rmd17-aspirin/runs/aspirin/model.pt \\
        --data examples/rmd17-aspirin/data/aspirin_test.xyz.xz --out runs/aspirin-md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ase.data import covalent_radii
from ase.io import read, write

from nbody_lmp.workflows.lammps_run import parse_log, run_lammps

DT = 0.0005  # ps: 0.5 fs, for the hydrogens


def md_input(species: list, nvt: int, nve: int, temperature: float, seed: int, every: int) -> str:
    return (
        f"# nbody-lmp: molecule stability, NVT {nvt} steps at {temperature} K "
        f"then NVE {nve} steps\n"
        f"""units metal
atom_style atomic
boundary f f f
read_data molecule.data
pair_style nbody
pair_coeff * * model.pt {" ".join(species)}
neighbor 1.0 bin
timestep {DT}
velocity all create {temperature} {seed} mom yes rot yes dist gaussian
thermo_style custom step temp pe etotal fmax
thermo_modify flush yes format float %.10g
thermo {every}
dump traj all custom {every} traj.dump id type x y z
dump_modify traj sort id
fix md all nvt temp {temperature} {temperature} 0.05
run {nvt}
unfix md
fix md all nve
run {nve}
"""
    )


def bond_graph(pos: np.ndarray, numbers: np.ndarray, scale: float = 1.25):
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    r = covalent_radii[numbers]
    bonded = (d < scale * (r[:, None] + r[None])) & ~np.eye(len(pos), dtype=bool)
    return bonded, d


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, required=True, help="exported nbody model")
    ap.add_argument(
        "--data",
        type=Path,
        required=True,
        help="extended-XYZ file; --index picks the configuration",
    )
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--ps", type=float, default=20.0, help="NVT length (ps)")
    ap.add_argument("--nve-ps", type=float, default=5.0, help="NVE length after the NVT (ps)")
    ap.add_argument("--temperature", type=float, default=500.0)
    ap.add_argument("--every", type=int, default=100, help="thermo and dump every this many steps")
    ap.add_argument("--seed", type=int, default=4928459)
    ap.add_argument(
        "--out", type=Path, required=True, help="a new folder (an existing one is not overwritten)"
    )
    return ap.parse_args(argv)


def prepare(args) -> tuple:
    """The molecule (``--index`` of ``--data``) centred in a 60 A box, written to OUT/molecule.data
    beside a link to the model; returns it and the model's species."""
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} exists and is not empty: give a new --out")
    from nbody_lmp.export import load_exported

    species = load_exported(args.model)[0].species
    atoms = read(args.data, args.index)
    missing = sorted(set(atoms.get_chemical_symbols()) - set(species))
    if missing:
        raise SystemExit(
            f"{args.data} has {missing}, which the model {args.model} does not know ({species})"
        )
    atoms.set_pbc(False)
    atoms.set_cell([60.0, 60.0, 60.0])
    atoms.center()
    args.out.mkdir(parents=True, exist_ok=True)
    write(
        args.out / "molecule.data",
        atoms,
        format="lammps-data",
        specorder=list(species),
        masses=True,
    )
    (args.out / "model.pt").symlink_to(args.model.resolve())
    return atoms, list(species)


def bond_history(frames, numbers, ref, every: int) -> tuple:
    """(the first dumped step whose bond graph differs from ``ref``, or None; the shortest and the
    longest length of a bond of ``ref`` in any frame)."""
    broken, shortest, longest = None, np.inf, 0.0
    for k, frame in enumerate(frames):
        g, d = bond_graph(frame.positions, numbers)
        shortest, longest = min(shortest, float(d[ref].min())), max(longest, float(d[ref].max()))
        if broken is None and not np.array_equal(g, ref):
            broken = k * every
    return broken, shortest, longest


def plot(
    path: Path, nvt: dict, t_nve, e, natoms: int, temperature: float, broken, error, done: int
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 5.5))
    a1.plot(nvt["Step"] * DT, nvt["Temp"], lw=0.6)
    a1.axhline(temperature, color="k", lw=0.5)
    a1.set_xlabel("NVT time (ps)")
    a1.set_ylabel("T (K)")
    a1.set_title(
        f"{natoms} atoms, boundary f f f: "
        + ("bond graph intact" if broken is None else f"bond graph changed at step {broken}")
        + ("" if error is None else f", LAMMPS stopped at step {done}")
    )
    a2.plot(t_nve, 1e3 * (e - e[0]), lw=0.8)
    a2.set_xlabel("NVE time (ps)")
    a2.set_ylabel("E_tot(t) - E_tot(0) (meV)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> None:
    args = parse_args(argv)
    atoms, species = prepare(args)
    nvt_steps, nve_steps = int(round(args.ps / DT)), int(round(args.nve_ps / DT))
    steps = nvt_steps + nve_steps
    error = None
    try:
        res = run_lammps(
            args.out,
            md_input(species, nvt_steps, nve_steps, args.temperature, args.seed, args.every),
            steps=steps,
            label="NVT + NVE",
        )
        rate = res.atom_steps_per_s / len(atoms)
    except RuntimeError as exc:  # a blow-up stops LAMMPS with an error: report how far it got
        error, rate = str(exc), float("nan")
    log = (args.out / "log.lammps").read_text()
    nvt = parse_log(log.split("unfix md")[0])
    nve = parse_log(log) if "unfix md" in log else {}
    if not nvt:
        raise SystemExit(
            f"LAMMPS wrote no thermo output: {error or 'see ' + str(args.out / 'log.lammps')}"
        )
    ref, _ = bond_graph(atoms.positions, atoms.numbers)
    frames = read(
        args.out / "traj.dump", ":", format="lammps-dump-text"
    )  # every --every steps, from 0
    broken, shortest, longest = bond_history(frames, atoms.numbers, ref, args.every)
    t_nve = (nve["Step"] - nve["Step"][0]) * DT if nve else np.zeros(1)
    e = nve["TotEng"] if nve else np.full(1, np.nan)
    done = int((nve or nvt)["Step"][-1])
    out = dict(
        model=str(args.model),
        data=str(args.data),
        index=args.index,
        natoms=len(atoms),
        nvt_ps=args.ps,
        nve_ps=args.nve_ps,
        temperature=args.temperature,
        frames=len(frames),
        steps_done=done,
        steps_asked=steps,
        lammps_error=error,
        intact=broken is None and error is None and done == steps,
        first_changed_step=broken,
        shortest_bond_A=shortest,
        longest_bond_A=longest,
        mean_T_nvt=float(np.mean(nvt["Temp"][len(nvt["Temp"]) // 2 :])),
        nve_drift_meV_ps=1e3 * float(np.polyfit(t_nve, e, 1)[0]) if len(e) > 2 else None,
        nve_max_dev_meV=1e3 * float(np.max(np.abs(e - e[0]))) if len(e) > 2 else None,
        steps_per_s=rate,
    )
    (args.out / "stability.json").write_text(json.dumps(out, indent=2))
    for k, v in out.items():
        print(f"  {k:20s} {v}")
    plot(
        args.out / "stability.png", nvt, t_nve, e, len(atoms), args.temperature, broken, error, done
    )
    print(f"wrote {args.out / 'stability.json'} and stability.png")


if __name__ == "__main__":
    main()
