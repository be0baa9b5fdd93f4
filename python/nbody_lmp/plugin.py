"""Where the LAMMPS plugin ``nbodyplugin.so`` (``pair_style nbody``) is installed (docs/lammps.md,
"Installing").

``pip install .`` compiles ``lammps_plugin/`` and installs the plugin as
``site-packages/nbody_lmp/lib/nbodyplugin.so``. LAMMPS finds it with no ``plugin load`` line:

* the ``lmp`` command of the ``lammps`` wheel and ``import lammps`` in Python both read the
  ``lammps.plugins`` entry point of this package (:func:`plugin_dir`) and put that folder on
  ``LAMMPS_PLUGIN_PATH``, from which LAMMPS loads every ``*plugin.so`` when it starts;
* any other LAMMPS: ``export LAMMPS_PLUGIN_PATH=$(dirname $(nbody-lmp plugin-path))`` or, in the
  input, ``plugin load /absolute/path/nbodyplugin.so`` (:func:`plugin_path`).

This module imports nothing heavy: ``import lammps`` runs :func:`plugin_dir` through the entry
point.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List

PLUGIN_FILE = "nbodyplugin.so"
PLUGIN_SUBDIR = "lib"


def _package_dirs() -> List[Path]:
    """Every folder the ``nbody_lmp`` package is served from (several for editable installs)."""
    dirs = [Path(__file__).resolve().parent]
    try:
        import importlib.util

        spec = importlib.util.find_spec("nbody_lmp")
        for loc in (spec.submodule_search_locations or []) if spec else []:
            p = Path(loc).resolve()
            if p not in dirs:
                dirs.append(p)
    except (ImportError, ValueError):
        pass
    return dirs


def _site_dirs() -> Iterator[Path]:
    """site-packages folders: scikit-build-core's editable installs put compiled files there."""
    import site
    import sysconfig

    seen = set()
    for d in [
        sysconfig.get_paths().get("platlib"),
        sysconfig.get_paths().get("purelib"),
        *getattr(site, "getsitepackages", lambda: [])(),
        site.getusersitepackages(),
    ]:
        if d and d not in seen:
            seen.add(d)
            yield Path(d) / "nbody_lmp"


def _candidates(name: str = PLUGIN_FILE) -> Iterator[Path]:
    """Where the compiled file ``name`` may be: beside ``NBODY_LMP_PLUGIN``, then the package's
    ``lib/``."""
    env = os.environ.get("NBODY_LMP_PLUGIN")
    if env:
        yield Path(env) if name == PLUGIN_FILE else Path(env).parent / name
    for d in _package_dirs():
        yield d / PLUGIN_SUBDIR / name
    for d in _site_dirs():
        yield d / PLUGIN_SUBDIR / name


def installed_file(name: str) -> str:
    """Absolute path of the compiled file ``name`` that ``pip install .`` put beside the plugin.

    Raises :class:`FileNotFoundError` with what to do if it was not built."""
    tried = []
    for c in _candidates(name):
        if c.is_file():
            return str(c.resolve())
        tried.append(str(c))
    what = "the LAMMPS plugin nbodyplugin.so (pair_style nbody)" if name == PLUGIN_FILE else name
    raise FileNotFoundError(
        f"{what} is not installed; looked in: "
        + ", ".join(dict.fromkeys(tried))
        + ". Build and install it with `pip install --no-build-isolation .` in the nbody-lmp "
        "source tree (needs a C++17 compiler, cmake, and the torch and lammps wheels), or "
        "point NBODY_LMP_PLUGIN at a nbodyplugin.so you built with CMake (with its "
        "libnbody_ops.so beside it)."
    )


def plugin_path() -> str:
    """Absolute path of the installed ``nbodyplugin.so``.

    ``NBODY_LMP_PLUGIN`` (a path to the file) takes precedence. Raises :class:`FileNotFoundError`
    with what to do if the plugin was not built.
    """
    return installed_file(PLUGIN_FILE)


def plugin_dir() -> str:
    """Folder of the plugin, for ``LAMMPS_PLUGIN_PATH``; the ``lammps.plugins`` entry point.

    Never raises (it runs inside ``import lammps``): if the plugin is missing it returns the
    folder where it would be. It also makes the MPI library of the ``mpich`` wheel loadable for
    the ``lammps`` Python module, which otherwise needs ``LD_LIBRARY_PATH``.
    """
    try:
        _preload_wheel_mpi()
    except Exception:
        pass
    try:
        return str(Path(plugin_path()).parent)
    except Exception:
        return str(Path(__file__).resolve().parent / PLUGIN_SUBDIR)


def _preload_wheel_mpi() -> None:
    """``lammps.lammps()`` dlopens ``liblammps.so``, which needs ``libmpi.so.12``; the ``mpich``
    wheel installs it in ``<prefix>/lib``, which is not on the loader's path. Load it globally once,
    only if the loader cannot find a ``libmpi.so.12`` by itself."""
    import ctypes

    try:
        ctypes.CDLL("libmpi.so.12", mode=ctypes.RTLD_GLOBAL)
        return
    except OSError:
        pass
    from importlib import metadata

    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        return
    for f in files:
        if f.name == "libmpi.so.12":
            ctypes.CDLL(str(f.locate()), mode=ctypes.RTLD_GLOBAL)
            return
