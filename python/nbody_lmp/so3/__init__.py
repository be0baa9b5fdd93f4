"""SO(3)/O(3) algebra for N-body networks (paper §3-4.1, eq. 1-3 and 13, in the real basis and with
the parity of docs/theory.md, "Departures from the paper, and why": "Real basis", "O(3), not only
SO(3)"): types with parity, real spherical harmonics, real Clebsch–Gordan coefficients and
products, Wigner D matrices."""

from .clebsch_gordan import clebsch_gordan, complex_clebsch_gordan, complex_to_real
from .irreps import Irrep, Irreps, natural_irreps, sh_irrep
from .products import CGPlan, FlatLayout, cg_product
from .spherical_harmonics import SphericalHarmonics, spherical_harmonics
from .wigner import o3_D, random_rotation, so3_generators, wigner_D

__all__ = [
    "Irrep",
    "Irreps",
    "natural_irreps",
    "sh_irrep",
    "SphericalHarmonics",
    "spherical_harmonics",
    "clebsch_gordan",
    "complex_clebsch_gordan",
    "complex_to_real",
    "CGPlan",
    "FlatLayout",
    "cg_product",
    "wigner_D",
    "o3_D",
    "so3_generators",
    "random_rotation",
]
