"""Reading and validating training configurations (docs/data.md, "Formats and keys" and
"Validation").

Any file ASE can read (extended XYZ first) becomes a list of :class:`Configuration` objects
whose arrays have been checked, so that everything downstream (statistics, graphs, training) can
trust them.

Units and conventions (ASE / LAMMPS ``metal``; docs/data.md, "Stress convention"):

* positions and cell in Å; cell rows are the lattice vectors; ``pbc`` per direction;
* ``energy``: total potential energy of the configuration in eV (isolated-atom energies *not*
  subtracted);
* ``forces``: eV/Å, ``F = -dE/dr``;
* ``stress``: eV/Å³, full 3x3, **ASE sign convention**: ``sigma = (1/V) dE/d(epsilon)``, so a
  compressed crystal (which pushes outwards) has a *negative* stress, and the pressure is
  ``-trace(sigma)/3``. A LAMMPS or VASP pressure tensor has the opposite sign.

Where the labels are looked for (keys are configurable, defaults in brackets):

* energy [``energy``]: ``atoms.info[key]``, else ASE's calculator results (ASE >= 3.23 moves the
  standard names ``energy``/``forces``/``stress`` of an extxyz file to ``atoms.calc``);
* forces [``forces``]: ``atoms.arrays[key]``, else the calculator results;
* stress [``stress``]: ``atoms.info[key]``, else the calculator results. 3x3, 9 values (row-major)
  or 6 values in ASE's Voigt order ``xx yy zz yz xz xy``. With ``stress_format="vasp_kbar"`` the
  value is instead a VASP stress in kbar, order ``xx yy zz xy yz zx``, compression positive (the
  mlearn data sets store it as ``virial_kbar_raw``); it is converted as
  ``stress = -raw[[0, 1, 2, 4, 5, 3]] * 0.1 * ase.units.GPa`` (Voigt, ASE sign);
* virial [``virial``], used only when no stress is found: eV, 3x3 / 9 / 6 (Voigt) values,
  ``virial = -V * stress``, so ``stress = -virial / V``;

A configuration of a single atom with no forces gets zero forces (exact by symmetry), so files of
isolated-atom energies load as they are.

Errors are :class:`DataError` (a ``ValueError``) naming the file, the frame index in the file and
what to change.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "Configuration",
    "DataError",
    "read_configurations",
    "configurations_from_atoms",
    "validate_configuration",
    "voigt_to_matrix",
    "matrix_to_voigt",
    "vasp_kbar_to_stress",
]

# VASP writes its stress tensor in kbar as xx yy zz xy yz zx with compression positive.
_VASP_TO_VOIGT = [0, 1, 2, 4, 5, 3]
STRESS_FORMATS = ("ase", "vasp_kbar")


class DataError(ValueError):
    """A configuration (or a whole file) that cannot be used, with where and what to change."""

    def __init__(self, message: str, path: str | None = None, frame: int | None = None):
        self.path = path
        self.frame = frame
        where = ""
        if path is not None:
            where = f"{path}"
            if frame is not None:
                where += f", frame {frame}"
            where += ": "
        super().__init__(where + message)


@dataclass
class Configuration:
    """One validated atomic configuration with its reference labels (units: see module docstring).

    ``stress`` is a full 3x3 symmetric matrix in eV/Å³ in ASE's sign convention, or ``None``.
    ``source``/``frame`` say where it was read from (for error messages and bookkeeping).
    """

    positions: np.ndarray  # (N, 3) float64, Å
    numbers: np.ndarray  # (N,) int64, atomic numbers
    cell: np.ndarray  # (3, 3) float64, rows = lattice vectors, Å
    pbc: np.ndarray  # (3,) bool
    energy: float | None = None  # eV
    forces: np.ndarray | None = None  # (N, 3) eV/Å
    stress: np.ndarray | None = None  # (3, 3) eV/Å^3, ASE convention
    info: dict[str, Any] = field(default_factory=dict)
    source: str = "<memory>"
    frame: int = 0

    @property
    def n_atoms(self) -> int:
        return int(self.numbers.shape[0])

    @property
    def symbols(self) -> list[str]:
        from ase.data import chemical_symbols

        return [chemical_symbols[int(z)] for z in self.numbers]

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    @property
    def config_type(self) -> str | None:
        value = self.info.get("config_type")
        return None if value is None else str(value)

    def targets(self) -> dict[str, np.ndarray]:
        """The labels present, as ``atoms_to_graph`` takes them: energy, forces, stress (3x3)."""
        out = {}
        if self.energy is not None:
            out["energy"] = np.array(self.energy, dtype=np.float64)
        if self.forces is not None:
            out["forces"] = self.forces
        if self.stress is not None:
            out["stress"] = self.stress
        return out

    def to_graph(self, species: Sequence[str], cutoff: float):
        """This configuration as an :class:`~nbody_lmp.data.graph.AtomicGraph` with its targets."""
        from .graph import atoms_to_graph

        return atoms_to_graph(
            self.to_atoms(),
            species,
            cutoff,
            targets=self.targets(),
            where=f"{self.source}, frame {self.frame}: ",
        )

    def to_atoms(self):
        """An ``ase.Atoms`` with the labels on a ``SinglePointCalculator`` (stress as Voigt)."""
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        atoms = Atoms(
            numbers=self.numbers.copy(),
            positions=self.positions.copy(),
            cell=self.cell.copy(),
            pbc=self.pbc.copy(),
        )
        atoms.info.update(self.info)
        results = {}
        if self.energy is not None:
            results["energy"] = self.energy
        if self.forces is not None:
            results["forces"] = self.forces.copy()
        if self.stress is not None:
            results["stress"] = matrix_to_voigt(self.stress)
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        return atoms


# --------------------------------------------------------------------------------------------
# tensor conversions


def voigt_to_matrix(v) -> np.ndarray:
    """ASE Voigt order ``xx yy zz yz xz xy`` -> symmetric 3x3."""
    v = np.asarray(v, dtype=np.float64).reshape(6)
    xx, yy, zz, yz, xz, xy = v
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def matrix_to_voigt(m) -> np.ndarray:
    """3x3 -> ASE Voigt order ``xx yy zz yz xz xy`` (the symmetric part)."""
    m = np.asarray(m, dtype=np.float64).reshape(3, 3)
    m = 0.5 * (m + m.T)
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])


def vasp_kbar_to_stress(raw) -> np.ndarray:
    """VASP stress (kbar, ``xx yy zz xy yz zx``, compression positive) -> ASE 3x3 stress in
    eV/Å³."""
    from ase.units import GPa

    raw = np.asarray(raw, dtype=np.float64).reshape(6)
    return voigt_to_matrix(-raw[_VASP_TO_VOIGT] * 0.1 * GPa)


def _tensor3x3(value, what: str, key: str) -> np.ndarray:
    """3x3, 9 values (row-major) or 6 values (ASE Voigt) -> 3x3; ValueError otherwise."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == (3, 3):
        return arr.copy()
    if arr.size == 9:
        return arr.reshape(3, 3).copy()
    if arr.size == 6:
        return voigt_to_matrix(arr)
    raise ValueError(
        f"{what} under key '{key}' has shape {arr.shape}; expected 3x3, 9 values (row-major) "
        f"or 6 values (Voigt xx yy zz yz xz xy)"
    )


# --------------------------------------------------------------------------------------------
# label lookup


def _calc_results(atoms) -> dict:
    calc = getattr(atoms, "calc", None)
    if calc is None:
        return {}
    return dict(getattr(calc, "results", {}) or {})


def _find(atoms, key: str | None, where: str):
    """Value stored under ``key`` in atoms.info / atoms.arrays (``where``) or the calculator."""
    if key is None:
        return None
    store = atoms.info if where == "info" else atoms.arrays
    if key in store:
        return store[key]
    results = _calc_results(atoms)
    if key in results:
        return results[key]
    if where == "arrays" and key in atoms.info:  # misplaced: found, so its shape is reported
        return atoms.info[key]
    return None


def _available_keys(atoms) -> str:
    info = sorted(atoms.info)
    arrays = sorted(k for k in atoms.arrays if k not in ("numbers", "positions"))
    calc = sorted(_calc_results(atoms))
    return f"info keys {info}, per-atom arrays {arrays}, calculator results {calc}"


# --------------------------------------------------------------------------------------------
# validation


def _check_cell(cell: np.ndarray, pbc: np.ndarray) -> str | None:
    """A problem description if the periodic lattice vectors are degenerate, else None."""
    if not pbc.any():
        return None
    vectors = cell[pbc]
    lengths = np.linalg.norm(vectors, axis=1)
    if np.any(lengths < 1e-6):
        return (
            f"the cell is singular: periodic direction(s) {np.flatnonzero(pbc).tolist()} have "
            f"lattice vectors {vectors.tolist()} of (near) zero length. Give the cell "
            f'(extxyz: Lattice="...") or set pbc to False in those directions'
        )
    sv = np.linalg.svd(vectors / lengths[:, None], compute_uv=False)
    if sv.min() < 1e-6:
        return (
            f"the cell is singular: the periodic lattice vectors {vectors.tolist()} are linearly "
            f'dependent. Give a valid cell (extxyz: Lattice="...") or set pbc=False'
        )
    return None


def _closest_pair(positions, cell, pbc, cutoff):
    """(i, j, distance) of the closest pair (periodic images included) below cutoff, or None."""
    from vesin import NeighborList

    box = np.array(cell, dtype=np.float64)
    if not np.any(pbc):
        box = np.zeros((3, 3))
    # vesin bins space in cells of the cutoff's size: a 0.1 Å cutoff on a molecule in an open box
    # means ~10^5 empty cells. Search at >= 1.5 Å (a handful of pairs) and filter.
    nl = NeighborList(cutoff=max(float(cutoff), 1.5), full_list=False)
    i, j, d = nl.compute(
        points=np.ascontiguousarray(positions, dtype=np.float64),
        box=box,
        periodic=[bool(p) for p in pbc],
        quantities="ijd",
    )
    if len(d) == 0:
        return None
    k = int(np.argmin(d))
    if d[k] >= cutoff:
        return None
    return int(i[k]), int(j[k]), float(d[k])


def validate_configuration(
    conf: Configuration,
    species: Sequence[str] | None = None,
    min_distance: float | None = 0.1,
) -> Configuration:
    """Check ``conf`` and return it; raise :class:`DataError` naming file, frame and the fix.

    Checks: at least one atom; finite positions/cell/labels; array shapes; a non-singular cell
    in the periodic directions; every species in ``species`` (when given); no two atoms
    (periodic images included) closer than ``min_distance`` Å (``None`` or 0 to skip).
    """
    path, frame = conf.source, conf.frame

    def fail(msg):
        raise DataError(msg, path, frame)

    n = conf.n_atoms
    if n == 0:
        fail("the frame has no atoms. Remove it from the file")
    if conf.positions.shape != (n, 3):
        fail(f"positions have shape {conf.positions.shape}, expected ({n}, 3)")
    if not np.all(np.isfinite(conf.positions)):
        bad = np.flatnonzero(~np.isfinite(conf.positions).all(axis=1))
        fail(f"positions of atoms {bad[:10].tolist()} are NaN or inf. Fix or remove this frame")
    if conf.cell.shape != (3, 3) or not np.all(np.isfinite(conf.cell)):
        fail(f"the cell {conf.cell.tolist()} is not a finite 3x3 matrix")
    problem = _check_cell(conf.cell, conf.pbc)
    if problem:
        fail(problem)

    if species is not None:
        known = set(species)
        unknown = sorted(set(conf.symbols) - known)
        if unknown:
            fail(
                f"species {unknown} are not in the model's species {list(species)}. Add them to "
                f"the model's species list (config key `species`) or remove these frames"
            )

    if conf.energy is not None and not math.isfinite(conf.energy):
        fail(f"the energy is {conf.energy}. Fix or remove this frame")
    if conf.forces is not None:
        if conf.forces.shape != (n, 3):
            fail(
                f"forces have shape {conf.forces.shape}, expected ({n}, 3) for {n} atoms. Check "
                f"forces_key points at the per-atom forces"
            )
        if not np.all(np.isfinite(conf.forces)):
            bad = np.flatnonzero(~np.isfinite(conf.forces).all(axis=1))
            fail(f"forces on atoms {bad[:10].tolist()} are NaN or inf. Fix or remove this frame")
    if conf.stress is not None:
        if conf.stress.shape != (3, 3):
            fail(f"stress has shape {conf.stress.shape}, expected (3, 3)")
        if not np.all(np.isfinite(conf.stress)):
            fail("the stress contains NaN or inf. Fix or remove this frame, or set stress_key=None")

    if min_distance:
        pair = _closest_pair(conf.positions, conf.cell, conf.pbc, min_distance)
        if pair is not None:
            i, j, d = pair
            what = f"atoms {i} and {j}" if i != j else f"atom {i} and its own periodic image"
            images = " (periodic images included)" if conf.pbc.any() else ""
            fail(
                f"{what} are {d:.4g} Å apart{images}, closer than "
                f"{min_distance} Å: overlapping atoms or a wrong cell. Fix or remove this frame"
            )
    return conf


# --------------------------------------------------------------------------------------------
# extraction from ase.Atoms


def _extract(
    atoms,
    *,
    source: str,
    frame: int,
    energy_key: str | None,
    forces_key: str | None,
    stress_key: str | None,
    virial_key: str | None,
    stress_format: str,
    require_energy: bool,
    require_forces: bool,
    require_stress: bool,
) -> Configuration:
    """One ``ase.Atoms`` -> :class:`Configuration`: its arrays copied, its labels found under the
    keys of the module docstring; a missing required label or a malformed one is a DataError."""

    def fail(msg):
        raise DataError(msg, source, frame)

    numbers = np.asarray(atoms.numbers, dtype=np.int64).copy()
    positions = np.asarray(atoms.positions, dtype=np.float64).copy()
    cell = np.asarray(atoms.cell.array, dtype=np.float64).copy()
    pbc = np.asarray(atoms.pbc, dtype=bool).reshape(3).copy()
    n = len(numbers)
    if n == 0:
        fail("the frame has no atoms. Remove it from the file")
    energy = _energy_label(atoms, energy_key, require_energy, fail)
    forces = _forces_label(atoms, forces_key, n, require_forces, fail)
    stress = _stress_label(atoms, stress_key, virial_key, stress_format, cell, require_stress, fail)
    info = {}
    for key, value in atoms.info.items():
        if key in (energy_key, stress_key, virial_key):
            continue
        info[key] = value

    return Configuration(
        positions=positions,
        numbers=numbers,
        cell=cell,
        pbc=pbc,
        energy=energy,
        forces=forces,
        stress=stress,
        info=info,
        source=source,
        frame=frame,
    )


def _energy_label(atoms, energy_key: str | None, require_energy: bool, fail) -> float | None:
    """The total energy (eV) under ``energy_key``, or None; ``fail(message)`` raises."""
    raw = _find(atoms, energy_key, "info")
    if raw is None:
        if require_energy:
            fail(
                f"no energy found under key '{energy_key}' (looked in atoms.info and the "
                f"calculator results; found {_available_keys(atoms)}). Set energy_key to the key "
                "holding the "
                f"total energy in eV, or remove this frame"
            )
        return None
    arr = np.asarray(raw)
    if arr.size != 1:
        fail(
            f"energy under key '{energy_key}' has shape {arr.shape}, expected one number "
            f"(the total energy in eV). Set energy_key to the total-energy key"
        )
    try:
        return float(arr.reshape(()))
    except (TypeError, ValueError):
        fail(f"energy under key '{energy_key}' is {raw!r}, not a number")


def _forces_label(
    atoms, forces_key: str | None, n: int, require_forces: bool, fail
) -> np.ndarray | None:
    """The ``(n, 3)`` forces (eV/Å) under ``forces_key``; zero for a lone atom without any; or
    None."""
    raw = _find(atoms, forces_key, "arrays")
    if raw is not None:
        try:
            forces = np.array(raw, dtype=np.float64)
        except (TypeError, ValueError):
            fail(f"forces under key '{forces_key}' are not numeric")
        if forces.shape != (n, 3):
            fail(
                f"forces under key '{forces_key}' have shape {forces.shape}, expected ({n}, 3) for "
                f"{n} atoms. Set forces_key to the per-atom force array (eV/Å)"
            )
        return forces
    if n == 1:
        return np.zeros((1, 3))  # a lone atom feels no force (exact by symmetry)
    if require_forces:
        fail(
            f"no forces found under key '{forces_key}' (looked in atoms.arrays and the calculator "
            f"results; found {_available_keys(atoms)}). Set forces_key to the per-atom force "
            f"array in eV/Å, or remove this frame"
        )
    return None


def _stress_label(
    atoms,
    stress_key: str | None,
    virial_key: str | None,
    stress_format: str,
    cell: np.ndarray,
    require_stress: bool,
    fail,
) -> np.ndarray | None:
    """The 3x3 stress (eV/Å³, ASE sign) under ``stress_key``, else from the virial under
    ``virial_key``, else None."""
    raw = _find(atoms, stress_key, "info")
    if raw is not None:
        stress = _stress_value(raw, stress_key, stress_format, fail)
    else:
        stress = _stress_from_virial(atoms, virial_key, cell, fail)
    if stress is None and require_stress:
        fail(
            f"no stress found under key '{stress_key}' nor virial under key '{virial_key}' "
            f"(found {_available_keys(atoms)}). Set stress_key/virial_key, or do not require "
            f"stresses (stress weight 0)"
        )
    return stress


def _stress_value(raw, stress_key: str | None, stress_format: str, fail) -> np.ndarray:
    """A stored stress in ``stress_format`` -> 3x3, eV/Å³, ASE sign."""
    try:
        if stress_format == "vasp_kbar":
            arr = np.asarray(raw, dtype=np.float64)
            if arr.size != 6:
                fail(
                    f"stress under key '{stress_key}' (stress_format='vasp_kbar') has "
                    f"{arr.size} values, expected 6 (xx yy zz xy yz zx, kbar)"
                )
            return vasp_kbar_to_stress(arr)
        return _tensor3x3(raw, "stress", stress_key)
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        fail(str(exc) + ". Set stress_key (and stress_format) to match the file")


def _stress_from_virial(atoms, virial_key: str | None, cell: np.ndarray, fail) -> np.ndarray | None:
    """``-virial / volume`` from the virial (eV) under ``virial_key``, or None if there is none."""
    raw = _find(atoms, virial_key, "info")
    if raw is None:
        return None
    try:
        virial = _tensor3x3(raw, "virial", virial_key)
    except ValueError as exc:
        fail(str(exc) + ". Set virial_key to match the file")
    volume = abs(float(np.linalg.det(cell)))
    if volume < 1e-9:
        fail(
            f"a virial is given under key '{virial_key}' but the cell has zero volume, so "
            f"it cannot be converted to a stress (stress = -virial/volume). Give the cell, "
            f"or set virial_key=None"
        )
    return -virial / volume


def _normalise_stress_format(stress_format: str) -> str:
    fmt = str(stress_format).lower().replace("-", "_")
    if fmt not in STRESS_FORMATS:
        raise ValueError(
            f"stress_format={stress_format!r} is not one of {list(STRESS_FORMATS)}: 'ase' (eV/Å³, "
            f"ASE sign) or 'vasp_kbar' (kbar, xx yy zz xy yz zx, compression positive)"
        )
    return fmt


def configurations_from_atoms(
    atoms_list: Iterable,
    *,
    source: str = "<memory>",
    frames: Iterable[int] | None = None,
    energy_key: str | None = "energy",
    forces_key: str | None = "forces",
    stress_key: str | None = "stress",
    virial_key: str | None = "virial",
    stress_format: str = "ase",
    species: Sequence[str] | None = None,
    require_energy: bool = True,
    require_forces: bool = True,
    require_stress: bool = False,
    min_distance: float | None = 0.1,
) -> list[Configuration]:
    """Validated configurations from ``ase.Atoms`` objects (same options as
    :func:`read_configurations`).

    ``frames`` gives the frame index reported in error messages (default 0, 1, 2, ...).
    """
    fmt = _normalise_stress_format(stress_format)
    frame_iter = iter(frames) if frames is not None else None
    out = []
    for k, atoms in enumerate(atoms_list):
        frame = next(frame_iter) if frame_iter is not None else k
        conf = _extract(
            atoms,
            source=source,
            frame=frame,
            energy_key=energy_key,
            forces_key=forces_key,
            stress_key=stress_key,
            virial_key=virial_key,
            stress_format=fmt,
            require_energy=require_energy,
            require_forces=require_forces,
            require_stress=require_stress,
        )
        out.append(validate_configuration(conf, species=species, min_distance=min_distance))
    return out


def _frame_numbers(index):
    """Frame indices in the file for an ASE ``index`` (int or slice string), when computable."""
    if isinstance(index, int):
        return None if index < 0 else iter([index])
    if isinstance(index, slice):
        start, stop, step = index.start, index.stop, index.step
    elif isinstance(index, str):
        text = index.strip()
        if ":" not in text:
            try:
                value = int(text)
            except ValueError:
                return None
            return None if value < 0 else iter([value])
        parts = (text.split(":") + ["", ""])[:3]
        try:
            start, stop, step = (int(p) if p.strip() else None for p in parts)
        except ValueError:
            return None
    else:
        return None
    start = 0 if start is None else start
    step = 1 if step is None else step
    if start < 0 or step <= 0:
        return None
    return iter(range(start, 1 << 62, step))


_COMPRESSED = {".xz": "lzma", ".gz": "gzip", ".bz2": "bz2"}


def _ase_read(path: str, index, format: str | None):
    """``ase.io.read``, but a compressed file (.xz, .gz, .bz2) is decompressed once into memory.

    ASE's extxyz reader seeks back to the start of every frame; in a compressed stream each seek
    decompresses the file again from its beginning, which makes reading quadratic in its length.
    """
    import ase.io

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _COMPRESSED:
        return ase.io.read(path, index=index, format=format)
    import importlib
    import io as _io

    if format is None:
        from ase.io.formats import filetype

        inner = path[: -len(suffix)]
        format = filetype(inner, read=False) if os.path.splitext(inner)[1] else "extxyz"
    with importlib.import_module(_COMPRESSED[suffix]).open(path, "rt") as fh:
        text = fh.read()
    return ase.io.read(_io.StringIO(text), index=index, format=format)


def read_configurations(
    path: str | os.PathLike,
    index: str | int | slice = ":",
    *,
    format: str | None = None,
    energy_key: str | None = "energy",
    forces_key: str | None = "forces",
    stress_key: str | None = "stress",
    virial_key: str | None = "virial",
    stress_format: str = "ase",
    species: Sequence[str] | None = None,
    require_energy: bool = True,
    require_forces: bool = True,
    require_stress: bool = False,
    min_distance: float | None = 0.1,
) -> list[Configuration]:
    """Read every frame of ``path`` (any format ASE reads) into validated :class:`Configuration` s.

    Args:
        path: the file (extxyz, or anything ``ase.io.read`` understands).
        index: which frames, as for ``ase.io.read`` (``":"`` all, ``":10"``, ``0``, ...).
        format: ASE format name, when ASE cannot guess it from the file name.
        energy_key / forces_key / stress_key / virial_key: where the labels are (module
            docstring); ``None`` to ignore that label.
        stress_format: ``"ase"`` (eV/Å³, ASE sign) or ``"vasp_kbar"`` (mlearn's
            ``virial_kbar_raw``: use ``stress_key="virial_kbar_raw", stress_format="vasp_kbar"``).
        species: the model's chemical symbols; frames with any other element are errors.
        require_energy / require_forces / require_stress: a frame without that label is an error
            (otherwise the label is ``None``; single atoms always get zero forces).
        min_distance: two atoms (periodic images included) closer than this (Å) are an error.

    Returns:
        a list of configurations, in file order. Stress is 3x3 eV/Å³, ASE convention, or None.

    Raises:
        DataError (a ValueError) naming the file, the frame and what to change.
    """
    import ase.io  # noqa: F401  (an ImportError here, before any file is opened)

    path_str = os.fspath(path)
    if not os.path.exists(path_str):
        raise FileNotFoundError(f"{path_str}: no such file")
    try:
        frames = _ase_read(path_str, index, format)
    except Exception as exc:  # ASE raises many different types on a malformed file
        raise DataError(
            f"ASE could not read the file ({type(exc).__name__}: {exc}). Check that it is a valid "
            f"{format or 'extxyz (or other ASE-readable)'} file; pass format=... if ASE cannot "
            f"guess it from the name",
            path_str,
        ) from exc
    if not isinstance(frames, list):
        frames = [frames]
    if len(frames) == 0:
        raise DataError(f"no configurations selected (index={index!r})", path_str)
    numbers = _frame_numbers(index)
    return configurations_from_atoms(
        frames,
        source=path_str,
        frames=numbers,
        energy_key=energy_key,
        forces_key=forces_key,
        stress_key=stress_key,
        virial_key=virial_key,
        stress_format=stress_format,
        species=species,
        require_energy=require_energy,
        require_forces=require_forces,
        require_stress=require_stress,
        min_distance=min_distance,
    )
