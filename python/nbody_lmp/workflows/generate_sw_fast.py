"""Large Stillinger–Weber silicon data sets quickly: ``nbody-lmp generate sw-si --fast``
(docs/data.md, "Stillinger–Weber silicon reference data", "Large data sets fast").

The MD recipe of :mod:`.generate_sw` spends about 0.5 s per configuration on dynamics. For
benchmarks of training on 10^4–10^5 configurations this module draws the configurations directly
and labels them all in one LAMMPS instance: per configuration a ``change_box`` to its cell, its
positions scattered into LAMMPS, ``run 0``, then the energy, the forces and the pair virial
gathered back (a few milliseconds each), written to the file as they come, so memory does not
grow with the number of configurations.

Recipe (every random number from ``numpy.random.default_rng(seed)`` and, per configuration,
``default_rng([seed, k])``, so the same arguments give a byte-identical file):

* size: a diamond supercell drawn uniformly from :data:`SUPERCELLS` (64 to 512 atoms);
* kinds (``config_type``; shares by largest remainder, :data:`DEFAULT_FAST_FRACTIONS`):
  ``rattled`` the crystal; ``strained`` diagonal strains uniform in ±``max_strain`` (4 %), half
  of them also sheared (tilts uniform in ±``max_strain``, triclinic); ``vacancy`` 1 to 3 random
  atoms removed;
* every atom displaced by a Gaussian of standard deviation ``rattle`` (info key), drawn uniformly
  in [0.02, ``max_rattle``] Å per configuration (default 0.15 Å);
* positions are rounded to the 8 decimals the file keeps before they are labelled, so the labels
  are those of the written geometry; labels as in :mod:`.generate_sw` (energy, forces, stress of
  the pair virial, ASE sign).

Configurations with the same number of atoms are labelled one after the other in the same LAMMPS
box (a new box only when the atom count changes), so the file is ordered by atom count, then by
draw.
"""

from __future__ import annotations

import ctypes
from typing import Sequence, TextIO

import numpy as np

from .generate_sw import SW_LATTICE_CONSTANT, _allocate, _diamond, _f, _SWSession

__all__ = ["write_fast_sw_si", "fast_plan", "extxyz_frame", "SUPERCELLS", "DEFAULT_FAST_FRACTIONS"]

SUPERCELLS = ((2, 2, 2), (2, 2, 3), (2, 3, 3), (3, 3, 3), (3, 3, 4), (3, 4, 4), (4, 4, 4))
DEFAULT_FAST_FRACTIONS = {"rattled": 0.40, "strained": 0.35, "vacancy": 0.25}
FAST_KINDS = tuple(DEFAULT_FAST_FRACTIONS)


def fast_plan(n_configs: int, seed: int, fractions=None, max_strain=0.04, max_rattle=0.15):
    """The draws of every configuration: a structured array of kind, supercell, vacancies,
    rattle and strain (diagonal, tilts), in draw order."""
    counts = _allocate(int(n_configs), fractions or DEFAULT_FAST_FRACTIONS, FAST_KINDS)
    rng = np.random.default_rng(seed)
    kinds = np.repeat(np.arange(len(FAST_KINDS)), [counts[k] for k in FAST_KINDS])
    rng.shuffle(kinds)
    plan = np.zeros(
        int(n_configs),
        dtype=[
            ("kind", "i1"),
            ("supercell", "i1"),
            ("vacancies", "i1"),
            ("rattle", "f8"),
            ("diag", "f8", 3),
            ("tilt", "f8", 3),
        ],
    )
    plan["kind"] = kinds
    plan["supercell"] = rng.integers(len(SUPERCELLS), size=n_configs)
    plan["rattle"] = rng.uniform(0.02, max_rattle, size=n_configs)
    vacancy, strained = kinds == FAST_KINDS.index("vacancy"), kinds == FAST_KINDS.index("strained")
    plan["vacancies"] = np.where(vacancy, rng.integers(1, 4, size=n_configs), 0)
    diag = rng.uniform(-max_strain, max_strain, size=(n_configs, 3))
    tilt = rng.uniform(-max_strain, max_strain, size=(n_configs, 3))
    tilt[rng.random(n_configs) < 0.5] = 0.0  # half of the strained cells stay orthorhombic
    plan["diag"] = np.where(strained[:, None], diag, 0.0)
    plan["tilt"] = np.where(strained[:, None], tilt, 0.0)
    return plan


def _structure(row, k: int, seed: int, lattice_constant: float):
    """(positions, lower-triangular cell) of draw ``row`` (configuration ``k``)."""
    frac, cube = _diamond(lattice_constant, SUPERCELLS[int(row["supercell"])])
    rng = np.random.default_rng([seed, k])
    if row["vacancies"]:
        frac = np.delete(frac, rng.choice(len(frac), int(row["vacancies"]), replace=False), 0)
    a = np.diag(cube)
    d, t = 1.0 + row["diag"], row["tilt"]
    cell = np.array(
        [
            [a[0] * d[0], 0.0, 0.0],
            [a[1] * t[0], a[1] * d[1], 0.0],
            [a[2] * t[1], a[2] * t[2], a[2] * d[2]],
        ]
    )
    positions = frac @ cell + rng.normal(0.0, float(row["rattle"]), size=(len(frac), 3))
    wrapped = np.linalg.solve(cell.T, positions.T).T % 1.0
    return np.round(wrapped @ cell, 8), cell


class _Labeller:
    """One LAMMPS instance: a box per atom count, then change_box / scatter / run 0 / gather."""

    def __init__(self, session: _SWSession):
        self.session, self.n = session, None

    def label(self, positions: np.ndarray, cell: np.ndarray):
        """(energy, forces, stress) of ``positions`` in the lower-triangular ``cell``."""
        lmp, n = self.session.lmp, len(positions)
        if n != self.n:
            self.session.setup(positions, cell)
            self.n = n
        lmp.command(
            f"change_box all x final 0 {_f(cell[0, 0])} y final 0 {_f(cell[1, 1])} "
            f"z final 0 {_f(cell[2, 2])} xy final {_f(cell[1, 0])} xz final {_f(cell[2, 0])} "
            f"yz final {_f(cell[2, 1])} units box"
        )
        x = np.ascontiguousarray(positions, dtype=np.float64).reshape(-1)
        lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * x.size).from_buffer(x))
        _, _, energy, forces, stress = self.session.labels(periodic=True)  # run 0, by atom id
        return energy, forces, stress


def _floats(values) -> str:
    return " ".join(repr(float(v)) for v in np.asarray(values).ravel())


def extxyz_frame(positions, cell, energy, forces, stress, kind: str, rattle: float) -> str:
    """One frame as extended XYZ, the text ``ase.io.write`` gives for it (species, positions and
    forces to 8 decimals; cell, energy and stress exactly), formatted in one pass over the atoms
    rather than atom by atom: writing is most of the fast recipe's time otherwise."""
    n = len(positions)
    header = (
        f'{n}\nLattice="{_floats(cell)}" Properties=species:S:1:pos:R:3:forces:R:3 '
        f"config_type={kind} rattle={round(float(rattle), 6)!r} energy={float(energy)!r} "
        f'stress="{_floats(stress)}" pbc="T T T"\n'
    )
    columns = np.concatenate([positions, forces], axis=1).ravel().tolist()
    return header + ("Si " + " ".join(["%16.8f"] * 6) + "\n") * n % tuple(columns)


def write_fast_sw_si(
    fh: TextIO,
    n_configs: int,
    seed: int = 0,
    *,
    lattice_constant: float = SW_LATTICE_CONSTANT,
    fractions: dict | None = None,
    max_strain: float = 0.04,
    max_rattle: float = 0.15,
    progress: bool = True,
) -> int:
    """Write ``n_configs`` configurations of the fast recipe (module docstring) to the open text
    file ``fh`` as extended XYZ; returns how many."""
    from ..progress import progress as progress_bar

    if n_configs < 1:
        raise ValueError(f"n_configs must be >= 1, got {n_configs}")
    if not 0.02 < max_rattle <= 0.3:
        raise ValueError(f"max_rattle must be in (0.02, 0.3] Angstrom, got {max_rattle}")
    plan = fast_plan(n_configs, seed, fractions, max_strain, max_rattle)
    atoms_count = [_n_atoms(row) for row in plan]
    order = np.argsort(atoms_count, kind="stable")
    bar = progress_bar(total=int(n_configs), desc="sw-si --fast", unit="config", enabled=progress)
    try:
        with _SWSession() as session:
            labeller = _Labeller(session)
            for k in order:
                positions, cell = _structure(plan[k], int(k), seed, lattice_constant)
                energy, forces, stress = labeller.label(positions, cell)
                kind = FAST_KINDS[int(plan[k]["kind"])]
                rattle = plan[k]["rattle"]
                fh.write(extxyz_frame(positions, cell, energy, forces, stress, kind, rattle))
                bar.update(1)
    finally:
        bar.close()
    return int(n_configs)


def _n_atoms(row) -> int:
    reps: Sequence[int] = SUPERCELLS[int(row["supercell"])]
    return 8 * int(np.prod(reps)) - int(row["vacancies"])
