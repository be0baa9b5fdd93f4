"""LAMMPS MD throughput of a model on its recipe's own system, beside ``pair_style sw`` in the
same run: atom-steps/s and the ratio to pair_style sw on the same machine, as
benchmarks/lammps_speed.py measures them.

The system is the first configuration of the recipe's test file: a molecule alone in a
non-periodic box (``boundary s s s``), a periodic cell replicated to at least ``min_atoms``
atoms. ``pair_style sw`` runs on the 512-atom diamond-Si box of lammps_speed.py just before, as
the machine's yardstick (the machine is shared: only the ratio is comparable between runs).
Both go through lammps_speed.run (same executable, environment, timing and parsing), and so
through the library's runner (:func:`nbody_lmp.workflows.lammps_run.run_lammps`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List

from .recipes import Recipe


def system_input(
    recipe: Recipe,
    model: Path,
    species: List[str],
    folder: Path,
    seconds: float,
    warmup: int = 2,
    min_atoms: int = 500,
    temperature: float = 300.0,
) -> str:
    """Write ``folder/system.data`` and return the LAMMPS input of the timed run."""
    import ase.io

    atoms = ase.io.read(recipe.data("test"), 0)
    atoms.calc = None
    folder.mkdir(parents=True, exist_ok=True)
    if recipe.molecule:
        atoms.pbc = False
        atoms.center(vacuum=10.0)
        boundary, replicate, timestep = "s s s", "", 0.0005
    else:
        reps = max(1, math.ceil((min_atoms / len(atoms)) ** (1 / 3)))
        boundary, replicate, timestep = "p p p", f"replicate {reps} {reps} {reps}\n", 0.001
    ase.io.write(
        folder / "system.data",
        atoms,
        format="lammps-data",
        specorder=list(species),
        masses=True,
        atom_style="atomic",
    )
    return f"""# nbody-lmp benchmarks.accuracy: {recipe.name}, first test configuration
units metal
atom_style atomic
boundary {boundary}
read_data system.data
{replicate}pair_style nbody device cpu
pair_coeff * * {Path(model).resolve()} {" ".join(species)}
neighbor 1.0 bin
timestep {timestep}
velocity all create {temperature} 4928459 mom yes rot yes dist gaussian
fix nve all nve
thermo 100000
run {warmup}
timer timeout {seconds:.0f} every 1
run 100000000
"""


def measure(recipe: Recipe, model: Path, workdir: Path, seconds: float = 10.0) -> Dict[str, float]:
    """``{"md_atom_steps_s", "md_vs_sw", "sw_atom_steps_s", "md_atoms"}`` for an exported nbody
    model."""
    from nbody_lmp.export import load_exported

    from .. import (
        lammps_speed,
    )  # the speed benchmark's timed run: same executable, environment, parsing

    _, meta = load_exported(str(model))
    species = list(meta["species"])
    lmp, env = lammps_speed.lammps_binary()
    workdir = Path(workdir)
    sw = lammps_speed.run("sw", 4, 1, None, seconds, 2, workdir, lmp, env, tag=f"sw_{recipe.name}")
    folder = workdir / f"nbody_{recipe.name}"
    text = system_input(recipe, model, species, folder, seconds)
    nb = lammps_speed.run(
        "nbody", 0, 1, model, seconds, 2, workdir, lmp, env, tag=folder.name, text=text
    )
    return {
        "md_atom_steps_s": nb["atom_steps_per_s"],
        "sw_atom_steps_s": sw["atom_steps_per_s"],
        "md_vs_sw": nb["atom_steps_per_s"] / sw["atom_steps_per_s"],
        "md_atoms": nb["natoms"],
        "md_steps": nb["steps"],
    }
