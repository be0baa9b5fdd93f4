"""nbody-lmp: Kondor's N-body networks (arXiv:1803.01588) for interatomic potentials, trained in
PyTorch and run in LAMMPS through ``pair_style nbody`` (README.md; docs/theory.md maps the paper's
equations to the code).

The public runtime API, importable from here:

* :class:`NBodyNetwork` — the network (:mod:`nbody_lmp.nn`);
* :class:`NBodyCalculator` — the ASE calculator on a network or an exported file;
* :func:`export` / :func:`load_exported` — the TorchScript model file LAMMPS loads
  (docs/model-format.md);
* :func:`plugin_path` — where ``nbodyplugin.so`` (``pair_style nbody``) is installed
  (docs/lammps.md, "Installing").

Beside them: :mod:`nbody_lmp.ops` (the compiled operators), :mod:`nbody_lmp.deviation`, the
subpackages ``so3``, ``nn``, ``data``, ``training``, and :mod:`nbody_lmp.workflows` (the demo,
selection, analysis, running LAMMPS, the Stillinger–Weber data generator).

Imports are lazy: ``import lammps`` runs this package's ``lammps.plugins`` entry point in every
LAMMPS process, which must not pay for (or fail on) importing torch.
"""

__version__ = "0.1.0"

__all__ = [
    "NBodyNetwork",
    "NBodyCalculator",
    "export",
    "load_exported",
    "plugin_path",
    "__version__",
]


def __getattr__(name):
    if name == "NBodyNetwork":
        from .nn.network import NBodyNetwork

        return NBodyNetwork
    if name == "NBodyCalculator":
        from .calculator import NBodyCalculator

        return NBodyCalculator
    if name in ("export", "load_exported"):
        import importlib

        module = importlib.import_module(
            ".export", __name__
        )  # callable: nbody_lmp.export(model, path)
        return module if name == "export" else module.load_exported
    if name == "plugin_path":
        from .plugin import plugin_path

        return plugin_path
    raise AttributeError(f"module 'nbody_lmp' has no attribute {name!r}")
