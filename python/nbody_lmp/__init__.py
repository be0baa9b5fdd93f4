"""nbody-lmp: Kondor's N-body networks (arXiv:1803.01588) for interatomic potentials,
trained in PyTorch and run in LAMMPS through ``pair_style nbody`` (see README.md, DESIGN.md)."""
__version__ = "0.1.0"

from .calculator import NBodyCalculator
from .export import export, load_exported
from .nn.network import NBodyNetwork

__all__ = ["NBodyNetwork", "NBodyCalculator", "export", "load_exported", "__version__"]
