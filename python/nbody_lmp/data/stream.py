"""Configurations one at a time from a file of any size (docs/training.md, "Large data sets").

:func:`iter_configurations` yields the validated :class:`~.io.Configuration` s that
:func:`~.io.read_configurations` returns, in the same order and with the same checks, but holds
one frame at a time: an extended-XYZ file (plain, ``.xz``, ``.gz`` or ``.bz2``) is read line by
line and each frame's lines are parsed by ASE's own extxyz parser, so a frame reads exactly as it
does from the whole file. Other formats go through ``ase.io.iread``.

Frames end, as in ASE, at the first blank line where a frame's atom count should be.
"""

from __future__ import annotations

import importlib
import io
import os
from typing import Iterator, TextIO

from .io import DataError, _normalise_stress_format, configurations_from_atoms

__all__ = ["iter_configurations", "iter_extxyz_frames", "is_extxyz"]

_COMPRESSED = {".xz": "lzma", ".gz": "gzip", ".bz2": "bz2"}
_READ_OPTIONS = (
    "energy_key",
    "forces_key",
    "stress_key",
    "virial_key",
    "stress_format",
    "species",
    "require_energy",
    "require_forces",
    "require_stress",
    "min_distance",
)


def _inner_name(path: str) -> str:
    """The file name without a compression suffix."""
    base, suffix = os.path.splitext(path)
    return base if suffix.lower() in _COMPRESSED else path


def is_extxyz(path: str, format: str | None = None) -> bool:
    """Whether ``path`` is read as extended XYZ (by ``format``, else by its name, as ASE does)."""
    if format is not None:
        return format == "extxyz"
    inner = _inner_name(path)
    if not os.path.splitext(inner)[1]:
        return True  # data/io.py reads a compressed file without an inner suffix as extxyz
    from ase.io.formats import filetype

    try:
        return filetype(inner, read=False) == "extxyz"
    except Exception:  # an unknown suffix: not ours to read line by line
        return False


def open_text(path: str) -> TextIO:
    """``path`` opened for reading text, decompressed on the fly by its suffix."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _COMPRESSED:
        return importlib.import_module(_COMPRESSED[suffix]).open(path, "rt")
    return open(path, "r")


def _frame_lines(fh: TextIO, path: str, frame: int, first: str) -> list[str]:
    """The lines of one frame whose count line is ``first``: comment, atoms, ``VEC`` lines."""
    try:
        natoms = int(first)
    except ValueError:
        raise DataError(
            f"expected a frame's atom count but found {first.strip()[:60]!r}: the file is not "
            "valid extended XYZ there; fix or cut the file at that line",
            path,
            frame,
        ) from None
    lines = [first]
    for _ in range(natoms + 1):
        line = fh.readline()
        if not line:
            raise DataError(
                f"the file ends inside this frame ({natoms} atoms announced): it is truncated; "
                "remove the incomplete last frame",
                path,
                frame,
            )
        lines.append(line)
    return lines


def iter_extxyz_frames(path: str) -> Iterator[tuple[int, "object"]]:
    """``(frame index, ase.Atoms)`` for every frame of an extended-XYZ file, one at a time."""
    from ase.io.extxyz import read_xyz

    with open_text(path) as fh:
        frame, pending = 0, fh.readline()
        while pending.strip():
            lines = _frame_lines(fh, path, frame, pending)
            pending = fh.readline()
            while pending.lstrip().startswith("VEC"):  # lattice vectors of a non-periodic cell
                lines.append(pending)
                pending = fh.readline()
            try:
                atoms = next(read_xyz(io.StringIO("".join(lines)), 0))
            except Exception as exc:  # ASE raises many different types on a malformed frame
                raise DataError(
                    f"ASE could not read this frame ({type(exc).__name__}: {exc}). Fix or remove "
                    "it",
                    path,
                    frame,
                ) from exc
            yield frame, atoms
            frame += 1


def _iter_ase_frames(path: str, format: str | None):
    import ase.io

    try:
        for frame, atoms in enumerate(ase.io.iread(path, index=":", format=format)):
            yield frame, atoms
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"ASE could not read the file ({type(exc).__name__}: {exc}). Check that it is a valid "
            f"{format or 'ASE-readable'} file; pass format=... if ASE cannot guess it",
            path,
        ) from exc


def iter_configurations(
    path: str | os.PathLike, *, format: str | None = None, **read_options
) -> Iterator:
    """Every frame of ``path`` as a validated :class:`~.io.Configuration`, one at a time.

    ``read_options`` are those of :func:`~.io.read_configurations` (``energy_key``, ...,
    ``species``, ``require_*``, ``min_distance``); an unknown one is a TypeError. A bad frame is a
    :class:`~.io.DataError` naming the file and the frame, raised when the stream reaches it.
    """
    unknown = set(read_options) - set(_READ_OPTIONS)
    if unknown:
        raise TypeError(f"unknown reading options {sorted(unknown)}; valid: {list(_READ_OPTIONS)}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    options = dict(read_options)
    if "stress_format" in options:
        options["stress_format"] = _normalise_stress_format(options["stress_format"])
    frames = iter_extxyz_frames(path) if is_extxyz(path, format) else _iter_ase_frames(path, format)
    count = 0
    for frame, atoms in frames:
        yield configurations_from_atoms([atoms], source=path, frames=[frame], **options)[0]
        count += 1
    if count == 0:
        raise DataError("no configurations in the file", path)
