"""Real spherical harmonics ``Y^l(r_hat)`` of relative positions (the paper's ``r_hat`` factors in
eq. 10-12, written in a real basis: docs/theory.md, "Departures from the paper, and why":
"Real basis").

Convention (``component`` normalisation): ``sum_m Y^l_m(r)^2 = 2l + 1``, so ``Y^0 = 1`` and
``Y^1 = sqrt(3) (y, z, x)``; index ``l*l + l + m`` for ``m = -l..l``. In terms of the
orthonormal real harmonics ``Z_lm`` of ``sympy.Znm`` (Condon–Shortley phase included there):

    Y^l_m = sqrt(4 pi) * sigma_m * Z_lm,
    sigma_0 = 1, sigma_m = (-1)^m (m > 0), sigma_m = -1 (m < 0)

(tests/python/test_so3.py checks this against sympy's closed forms).

The harmonics are evaluated as polynomials of the unit vector (no angles): with
``c_m + i s_m = (x + i y)^m`` and ``Q_l^m(z) = d^m P_l(z) / dz^m`` (a polynomial),

    Y^l_0 = N_l0 Q_l^0,   Y^l_m = sqrt(2) N_lm Q_l^m c_m,   Y^l_-m = sqrt(2) N_lm Q_l^m s_m,
    N_lm = sqrt((2l+1) (l-m)! / (l+m)!),

so values and gradients are smooth everywhere on the sphere, poles included. TorchScript-able.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import List

import torch


class SphericalHarmonics(torch.nn.Module):
    """``Y^0 .. Y^lmax`` of a batch of vectors ``[..., 3]`` -> ``[..., (lmax+1)^2]``."""

    def __init__(self, lmax: int):
        super().__init__()
        if lmax < 0:
            raise ValueError(f"lmax must be >= 0, got {lmax}")
        self.lmax = lmax
        # N_lm (with sqrt(2) for m > 0), flattened as l*(lmax+1)+m
        norms: List[float] = []
        for l in range(lmax + 1):
            for m in range(lmax + 1):
                if m > l:
                    norms.append(0.0)
                    continue
                n = math.sqrt((2 * l + 1) * math.factorial(l - m) / math.factorial(l + m))
                norms.append(n * (math.sqrt(2.0) if m > 0 else 1.0))
        self.norms = norms
        # (2m-1)!! for Q_m^m
        self.double_factorials = [
            float(math.prod(range(2 * m - 1, 0, -2))) for m in range(lmax + 1)
        ]

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        L = self.lmax
        u = vectors / torch.linalg.norm(vectors, dim=-1, keepdim=True)
        x, y, z = u[..., 0], u[..., 1], u[..., 2]
        one = torch.ones_like(z)
        cos_m: List[torch.Tensor] = [one]
        sin_m: List[torch.Tensor] = [torch.zeros_like(z)]
        for m in range(1, L + 1):
            cos_m.append(cos_m[m - 1] * x - sin_m[m - 1] * y)
            sin_m.append(sin_m[m - 1] * x + cos_m[m - 1] * y)
        # Q[l][m] stored at l*(L+1)+m
        Q: List[torch.Tensor] = [one] * ((L + 1) * (L + 1))
        for m in range(L + 1):
            qmm = one * self.double_factorials[m]
            Q[m * (L + 1) + m] = qmm
            if m + 1 <= L:
                Q[(m + 1) * (L + 1) + m] = (2 * m + 1) * z * qmm
            for l in range(m + 2, L + 1):
                Q[l * (L + 1) + m] = (
                    (2 * l - 1) * z * Q[(l - 1) * (L + 1) + m]
                    - (l + m - 1) * Q[(l - 2) * (L + 1) + m]
                ) / (l - m)
        out: List[torch.Tensor] = []
        for l in range(L + 1):
            for m in range(-l, l + 1):
                a = abs(m)
                q = Q[l * (L + 1) + a] * self.norms[l * (L + 1) + a]
                if m < 0:
                    out.append(q * sin_m[a])
                elif m == 0:
                    out.append(q)
                else:
                    out.append(q * cos_m[a])
        return torch.stack(out, dim=-1)


@lru_cache(maxsize=None)
def _module(lmax: int) -> SphericalHarmonics:
    return SphericalHarmonics(lmax)


def spherical_harmonics(lmax: int, vectors: torch.Tensor) -> torch.Tensor:
    """Functional form of :class:`SphericalHarmonics` (not for TorchScript)."""
    return _module(lmax)(vectors)
