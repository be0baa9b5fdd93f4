"""The same data for the peers: a recipe's
train and test files rewritten as plain extended XYZ with the keys the peers read by default
(``REF_energy``, ``REF_forces``, ``REF_stress`` in ASE's sign and eV/Å³), decompressed, and the
isolated-atom energies as ``{Z: eV}``. The values are those our reader gives (same conversions,
including mlearn's VASP kbar stress), so every model sees the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .recipes import Recipe

KEYS = {"energy": "REF_energy", "forces": "REF_forces", "stress": "REF_stress"}


def write_ref_file(src: Path, dst: Path, recipe: Recipe) -> Path:
    import ase.io
    from ase import Atoms

    from nbody_lmp.data import read_configurations

    confs = read_configurations(str(src), **recipe.read_options())
    frames = []
    for c in confs:
        a = Atoms(
            numbers=np.asarray(c.numbers),
            positions=np.asarray(c.positions),
            cell=np.asarray(c.cell),
            pbc=np.asarray(c.pbc),
        )
        a.info[KEYS["energy"]] = float(c.energy)
        a.arrays[KEYS["forces"]] = np.asarray(c.forces, dtype=float)
        if recipe.stress and getattr(c, "stress", None) is not None:
            s = np.asarray(c.stress, dtype=float).reshape(3, 3)
            a.info[KEYS["stress"]] = s.ravel()  # full 3x3, row-major (MACE reads 6 or 9 values)
        frames.append(a)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(dst, frames, format="extxyz")
    return dst


def e0_by_number(recipe: Recipe, species) -> Optional[Dict[int, float]]:
    """``{Z: E0}`` from the recipe's isolated-atom file, for the elements of ``species``; None when
    the recipe fits E0 (mlearn)."""
    if recipe.e0_file is None:
        return None
    import ase.io
    from ase.data import atomic_numbers

    out = {}
    for a in ase.io.read(recipe.e0_path, ":"):
        if len(a) == 1 and a.get_chemical_symbols()[0] in species:
            out[atomic_numbers[a.get_chemical_symbols()[0]]] = float(a.get_potential_energy())
    return out


def prepare(recipe: Recipe, folder: Path) -> Dict[str, Path]:
    """``{"train": path, "test": path}`` in ``folder`` (written once; reused when there)."""
    out = {}
    for which in ("train", "test"):
        dst = Path(folder) / f"{which}.xyz"
        if not dst.is_file():
            write_ref_file(recipe.data(which), dst, recipe)
        out[which] = dst
    return out
