#!/usr/bin/env python
"""What a model does when two atoms come much closer than in any training pair (docs/lammps.md,
"Short-range repulsion and geometries far from the training data"), beside pair_style sw in the same
run: in a 64-atom diamond Si cell an atom's nearest neighbour is moved towards it along their bond,
from 2.35 A down to 0.3 A. For each distance the script prints the energy above the crystal and the
force on the moved atom along the bond (positive: pushed away). Columns: `pair_style nbody`,
`pair_style sw` and `hybrid/overlay nbody zbl` (the overlay that section describes). Every number
comes from LAMMPS through the plugin.

    python benchmarks/close_pairs.py --model runs/si-sw/model.pt

A measurement, not a test: tests/lammps/test_lammps_geometries.py pins the behaviour.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nbody_lmp.workflows.lammps_run import load_lammps, sw_potential_file

DISTANCES = [2.35, 2.0, 1.8, 1.6, 1.5, 1.2, 1.0, 0.7, 0.5, 0.3]


def energy_and_force(pair_lines: list[str], r: float) -> tuple[float, float]:
    """Energy (eV) of the cell with atom 1's nearest neighbour moved to distance ``r`` from it along
    their bond, and the force on the moved atom along the bond."""
    lmp = load_lammps()
    try:
        for c in [
            "units metal",
            "atom_style atomic",
            "atom_modify map array",
            "lattice diamond 5.431",
            "region box block 0 2 0 2 0 2",
            "create_box 1 box",
            "create_atoms 1 box",
            "mass 1 28.0855",
        ]:
            lmp.command(c)
        x = lmp.numpy.extract_atom("x")
        tags = lmp.numpy.extract_atom("id")
        i1 = int(np.flatnonzero(tags == 1)[0])
        L = 2 * 5.431
        d = x[: len(tags)] - x[i1]
        d -= L * np.round(d / L)  # minimum image in the cubic box
        dist = np.linalg.norm(d, axis=1)
        dist[i1] = np.inf
        i2 = int(np.argmin(dist))
        u = d[i2]
        u = u / np.linalg.norm(u)
        x[i2] = x[i1] + r * u
        for c in pair_lines:
            lmp.command(c)
        moved = int(tags[i2])
        lmp.command("run 0")
        tags = lmp.numpy.extract_atom("id")  # run 0 may have sorted the atoms
        f = lmp.numpy.extract_atom("f")
        return float(lmp.get_thermo("pe")), float(f[int(np.flatnonzero(tags == moved)[0])] @ u)
    finally:
        lmp.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument(
        "--zbl", default="0.8 1.6", help="inner and outer cutoff of the overlaid zbl (A)"
    )
    args = ap.parse_args()
    model = args.model.resolve()
    styles = {
        "nbody": ["pair_style nbody", f"pair_coeff * * {model} Si"],
        "sw": ["pair_style sw", f"pair_coeff * * {sw_potential_file()} Si"],
        "nbody+zbl": [
            f"pair_style hybrid/overlay nbody zbl {args.zbl}",
            f"pair_coeff * * nbody {model} Si",
            "pair_coeff * * zbl 14.0 14.0",
        ],
    }
    rows = {name: [energy_and_force(lines, r) for r in DISTANCES] for name, lines in styles.items()}
    print(
        f"model {model}; atom 1's nearest neighbour moved towards it in a 64-atom diamond cell "
        "(bond 2.35 A)\n"
    )
    print(
        "| r (A) | "
        + " | ".join(f"E - E(2.35) {n} (eV)" for n in styles)
        + " | "
        + " | ".join(f"F along bond {n} (eV/A)" for n in styles)
        + " |"
    )
    print("|---" * (1 + 2 * len(styles)) + "|")
    for k, r in enumerate(DISTANCES):
        es = [rows[n][k][0] - rows[n][0][0] for n in styles]
        fs = [rows[n][k][1] for n in styles]
        print(
            f"| {r:.2f} | "
            + " | ".join(f"{e:.4g}" for e in es)
            + " | "
            + " | ".join(f"{f:.4g}" for f in fs)
            + " |"
        )


if __name__ == "__main__":
    main()
