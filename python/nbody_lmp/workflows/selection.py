"""Selection of new training data by model deviation, ``nbody-lmp select`` (docs/lammps.md,
"Several models: model deviation", for the deviation itself).

    nbody-lmp select traj.dump -o candidates.xyz --lo 0.05 --hi 0.30 --elements Si

reads a trajectory that carries a per-atom force deviation (a LAMMPS ``dump custom`` text file
with a ``c_ID[1]`` column of ``compute ID all nbody/deviation``, or an extxyz file with a
``force_deviation`` per-atom array, as :class:`~nbody_lmp.NBodyCalculator` gives) and writes the
frames whose largest per-atom force deviation lies in ``[lo, hi)`` to an extxyz file: the
"candidates" of the usual active-learning window. Frames below ``lo`` are ones the ensemble
already agrees on ("accurate"); frames at or above ``hi`` are usually unphysical ("failed").
The written frames hold the structure (symbols, positions, cell, pbc), the per-atom
``force_deviation`` and info keys ``max_force_deviation``, ``timestep`` (from a dump) and
``source``; no energies or forces: label them (e.g. with :func:`label_with_sw` or your DFT
code) before training on them. An existing output is never overwritten without ``force``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from ase import Atoms

__all__ = [
    "read_lammps_dump",
    "read_trajectory",
    "deviation_of",
    "select_frames",
    "SelectionResult",
    "write_frames",
    "label_with_sw",
]

DEVIATION_NAMES = ("force_deviation", "max_devi_f", "devi_f")


# ------------------------------------------------------------------------------------ reading
def _dump_cell(bounds: List[List[float]], tilted: bool) -> Tuple[np.ndarray, np.ndarray]:
    """LAMMPS dump box lines -> (origin, cell rows (lx,0,0), (xy,ly,0), (xz,yz,lz))."""
    b = np.array(bounds, dtype=float)
    xy = xz = yz = 0.0
    if tilted:
        xy, xz, yz = b[0, 2], b[1, 2], b[2, 2]
    xlo = b[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = b[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo = b[1, 0] - min(0.0, yz)
    yhi = b[1, 1] - max(0.0, yz)
    zlo, zhi = b[2, 0], b[2, 1]
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
    return np.array([xlo, ylo, zlo]), cell


def read_lammps_dump(
    path: Union[str, Path], elements: Optional[Sequence[str]] = None
) -> Iterator[Atoms]:
    """Frames of a ``dump custom`` text file as Atoms (sorted by ``id`` if present). Every column
    other than id/type/element/positions goes into ``atoms.arrays`` under its dump name.
    Atom types become symbols through an ``element`` column or ``elements`` (one per type)."""
    path = Path(path)
    with open(path) as fh:
        lines = iter(fh)
        for line in lines:
            if not line.startswith("ITEM: TIMESTEP"):
                continue
            step = int(next(lines).split()[0])
            next(lines)  # ITEM: NUMBER OF ATOMS
            natoms = int(next(lines))
            head = next(lines)
            if not head.startswith("ITEM: BOX BOUNDS"):
                raise ValueError(
                    f"{path}: not a LAMMPS dump custom file (no BOX BOUNDS after step {step})"
                )
            words = head.split()[3:]
            tilted = len(words) >= 3 and words[0] == "xy"
            flags = words[3:] if tilted else words
            pbc = [f == "pp" for f in flags[:3]] if len(flags) >= 3 else [True] * 3
            bounds = [[float(v) for v in next(lines).split()] for _ in range(3)]
            cols = next(lines).split()[2:]
            rows = [next(lines).split() for _ in range(natoms)]
            origin, cell = _dump_cell(bounds, tilted)
            data = np.array(rows, dtype=object).reshape(natoms, len(cols))
            if "id" in cols:
                data = data[np.argsort(data[:, cols.index("id")].astype(np.int64), kind="stable")]
            symbols = _symbols(path, cols, data, elements)
            if {"x", "y", "z"} <= set(cols):
                pos = np.stack([data[:, cols.index(c)].astype(float) for c in "xyz"], 1)
            elif {"xu", "yu", "zu"} <= set(cols):
                pos = np.stack(
                    [data[:, cols.index(c)].astype(float) for c in ("xu", "yu", "zu")], 1
                )
            elif {"xs", "ys", "zs"} <= set(cols):
                pos = (
                    np.stack([data[:, cols.index(c)].astype(float) for c in ("xs", "ys", "zs")], 1)
                    @ cell
                    + origin
                )
            else:
                raise ValueError(
                    f"{path}: the dump has no positions (x y z, xu yu zu or xs ys zs): add them to "
                    f"the dump custom line"
                )
            atoms = Atoms(symbols=symbols, positions=pos - origin, cell=cell, pbc=pbc)
            skip = {"id", "type", "element", "x", "y", "z", "xu", "yu", "zu", "xs", "ys", "zs"}
            for k, c in enumerate(cols):
                if c not in skip:
                    atoms.arrays[c] = data[:, k].astype(float)
            atoms.info["timestep"] = step
            yield atoms


def _symbols(path, cols, data, elements):
    if "element" in cols:
        return list(data[:, cols.index("element")])
    if "type" not in cols:
        raise ValueError(
            f"{path}: the dump has neither an element nor a type column: add 'element' (with "
            f"dump_modify element) or 'type' to the dump custom line"
        )
    types = data[:, cols.index("type")].astype(int)
    if not elements:
        raise ValueError(
            f"{path}: the dump has atom types but no element column: give the element of each "
            f"atom type (--elements Si O), or dump 'element' with dump_modify ID element Si O"
        )
    if types.max() > len(elements):
        raise ValueError(
            f"{path}: the dump has atom type {types.max()}, but --elements lists {len(elements)} "
            f"element(s) ({' '.join(elements)}): give one per atom type"
        )
    return [elements[t - 1] for t in types]


def read_trajectory(
    path: Union[str, Path], elements: Optional[Sequence[str]] = None
) -> Iterator[Atoms]:
    """A LAMMPS dump (recognised by its first line ``ITEM: TIMESTEP``) or any file ASE reads."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trajectory {path} does not exist")
    with open(path, "rb") as fh:
        first = fh.readline()
    if first.startswith(b"ITEM: TIMESTEP"):
        return read_lammps_dump(path, elements)
    import ase.io

    return iter(ase.io.iread(str(path), index=":"))


def deviation_of(atoms: Atoms, column: Optional[str] = None) -> Tuple[float, str]:
    """(max per-atom force deviation, the name it came from) of one frame. ``column``: a per-atom
    array (e.g. ``c_dev[1]``) or an info key; default: ``force_deviation``, else the only
    ``c_*[1]`` column of a dump, else info ``max_force_deviation``."""
    if column is None:
        for name in DEVIATION_NAMES:
            if name in atoms.arrays:
                column = name
                break
        else:
            compute_cols = [k for k in atoms.arrays if re.fullmatch(r"c_\w+\[1\]", k)]
            if len(compute_cols) == 1:
                column = compute_cols[0]
            elif "max_force_deviation" in atoms.info:
                column = "max_force_deviation"
            else:
                have = (
                    ", ".join(k for k in atoms.arrays if k not in ("numbers", "positions"))
                    or "none"
                )
                raise ValueError(
                    f"no force-deviation column found (per-atom columns: {have}): name it with "
                    f"--column, e.g. --column c_dev[1] for `compute dev all nbody/deviation`"
                )
    if column in atoms.arrays:
        values = np.asarray(atoms.arrays[column], dtype=float)
        return (float(values.max()) if values.size else 0.0), column
    if column in atoms.info:
        return float(atoms.info[column]), column
    have = ", ".join(k for k in atoms.arrays if k not in ("numbers", "positions")) or "none"
    raise ValueError(
        f"column {column!r} is neither a per-atom column nor an info key of the frame "
        f"(per-atom columns: {have})"
    )


# ------------------------------------------------------------------------------------ selecting
@dataclass
class SelectionResult:
    n_frames: int = 0
    accurate: int = 0  # max deviation < lo
    candidates: int = 0  # lo <= max deviation < hi
    failed: int = 0  # max deviation >= hi
    column: Optional[str] = None
    frames: List[Atoms] = field(default_factory=list)
    max_deviations: List[float] = field(default_factory=list)  # of every frame, in order
    timesteps: List[Optional[int]] = field(default_factory=list)

    def summary(self) -> str:
        pct = (lambda k: 100.0 * k / self.n_frames) if self.n_frames else (lambda k: 0.0)
        return (
            f"{self.n_frames} frames: {self.accurate} accurate ({pct(self.accurate):.1f} %), "
            f"{self.candidates} candidates ({pct(self.candidates):.1f} %), "
            f"{self.failed} failed ({pct(self.failed):.1f} %)"
        )


def select_frames(
    frames,
    lo: float,
    hi: float,
    column: Optional[str] = None,
    max_frames: Optional[int] = None,
    source: Optional[str] = None,
) -> SelectionResult:
    """The frames whose max force deviation lies in ``[lo, hi)``; with ``max_frames``, at most
    that many of them, evenly spread over the candidates in trajectory order."""
    if not (0 <= lo < hi):
        raise ValueError(f"the thresholds must satisfy 0 <= lo < hi, got lo={lo}, hi={hi}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"--max must be >= 1, got {max_frames}")
    res = SelectionResult()
    for atoms in frames:
        dev, res.column = deviation_of(atoms, column)
        column = res.column
        res.n_frames += 1
        res.max_deviations.append(dev)
        res.timesteps.append(atoms.info.get("timestep"))
        if dev < lo:
            res.accurate += 1
        elif dev < hi:
            res.candidates += 1
            keep = Atoms(
                atoms.get_chemical_symbols(),
                positions=atoms.positions,
                cell=atoms.cell,
                pbc=atoms.pbc,
            )
            if column in atoms.arrays:
                keep.arrays["force_deviation"] = np.asarray(atoms.arrays[column], dtype=float)
            keep.info["max_force_deviation"] = dev
            if "timestep" in atoms.info:
                keep.info["timestep"] = int(atoms.info["timestep"])
            if source:
                keep.info["source"] = source
            res.frames.append(keep)
        else:
            res.failed += 1
    if max_frames is not None and len(res.frames) > max_frames:
        pick = np.unique(np.linspace(0, len(res.frames) - 1, max_frames).round().astype(int))
        res.frames = [res.frames[k] for k in pick]
    return res


def write_frames(frames: Sequence[Atoms], output: Union[str, Path], force: bool = False) -> Path:
    """Write ``frames`` to an extxyz file atomically; an existing file only with ``force``."""
    import io

    import ase.io

    from ..export import atomic_write_bytes

    output = Path(output)
    if output.exists() and not force:
        raise FileExistsError(
            f"{output} exists: choose another output file, or replace it with --force"
        )
    buf = io.StringIO()
    if frames:
        ase.io.write(buf, list(frames), format="extxyz")
    atomic_write_bytes(output, buf.getvalue().encode())
    return output


def label_with_sw(frames: Sequence[Atoms]) -> List[Atoms]:
    """Stillinger-Weber Si energies, forces and stress of ``frames`` (LAMMPS's pair_style sw,
    :class:`nbody_lmp.data.generate_sw.SWSiCalculator`): the reference labels of the examples."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from .generate_sw import SWSiCalculator

    out = []
    calc = SWSiCalculator()
    for a in frames:
        b = a.copy()
        b.calc = calc
        e, f, s = b.get_potential_energy(), b.get_forces(), b.get_stress()
        b.calc = SinglePointCalculator(b, energy=e, forces=f, stress=s)
        b.info["config_type"] = "selected"
        out.append(b)
    return out
