"""The model's compiled operators (docs/lammps.md, "Performance notes"):
``torch.ops.nbody.neighbourhood_sum`` (the fused neighbourhood sum of eq. 10 of the paper with
per-channel radial weights; ``lammps_plugin/ops/nbody_ops.cpp``) and ``torch.ops.nbody.cg_linear`` /
``cg_product`` (the CG transform of eq. 6-7 by its non-zero entries;
``lammps_plugin/ops/nbody_cg_ops.cpp``).

``pip install .`` builds ``libnbody_ops.so`` beside the LAMMPS plugin, which links it; :func:`load`
registers the same file with torch once per process, so a model scripted or exported here and
run in LAMMPS calls the same code. Importing :mod:`nbody_lmp.nn` loads it.
"""

from __future__ import annotations

import torch

from .plugin import installed_file

OPS_FILE = "libnbody_ops.so"
_loaded = False


def load() -> None:
    """Register the ``nbody`` operators with torch (once). Raises FileNotFoundError with what to do
    if the package was installed without its compiled part."""
    global _loaded
    if _loaded:
        return
    if not all(
        hasattr(torch.ops.nbody, op) for op in ("neighbourhood_sum", "cg_linear", "cg_product")
    ):
        # (in a LAMMPS run from Python the plugin may have loaded it already)
        path = installed_file(OPS_FILE)
        try:
            torch.ops.load_library(path)
        except OSError as exc:  # e.g. torch upgraded after the build: undefined symbols
            raise OSError(
                f"{path} does not load into torch {torch.__version__} ({exc}); it was built "
                "against another torch: reinstall nbody-lmp (`pip install --no-build-isolation .`) "
                "with the torch you run"
            ) from None
    _loaded = True
