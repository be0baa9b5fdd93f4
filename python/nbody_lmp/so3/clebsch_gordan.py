"""Clebsch–Gordan coefficients in the real basis (paper §4.1, eq. 13).

``C[l1, l2, l]`` is a ``(2l1+1) x (2l2+1) x (2l+1)`` array with
``sum_{m1 m2} C[m1, m2, m] a_m1 b_m2`` the degree-``l`` fragment of ``a (x) b`` (real basis of
:mod:`.spherical_harmonics`). It is computed from the exact complex (Condon–Shortley) values
``<l1 m1 l2 m2 | l m>`` (Racah's closed formula, in rational arithmetic) by the unitary change of
basis ``U`` from complex to real harmonics, and made real by a global phase:

    C_real[a, b, c] = phase * sum U1*[a, m1] U2*[b, m2] U[c, m] <l1 m1 l2 m2 | l m>

where ``Y_real = U Y_complex`` and the global phase (1 or -i) makes every entry real; its sign
is fixed so that the first nonzero entry is positive. The columns are orthonormal
(``sum_{m1 m2} C[m1,m2,m] C[m1,m2,m'] = delta``), as for the complex values.
Cached per ``(l1, l2, l)``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import factorial, sqrt

import numpy as np
import torch


def complex_clebsch_gordan(l1: int, m1: int, l2: int, m2: int, l: int, m: int) -> float:
    """``<l1 m1 l2 m2 | l m>`` with the Condon–Shortley phase (Racah's formula)."""
    if (
        m1 + m2 != m
        or not (abs(l1 - l2) <= l <= l1 + l2)
        or abs(m1) > l1
        or abs(m2) > l2
        or abs(m) > l
    ):
        return 0.0
    f = factorial
    pre = Fraction(
        (2 * l + 1) * f(l + l1 - l2) * f(l - l1 + l2) * f(l1 + l2 - l), f(l1 + l2 + l + 1)
    )
    pre *= f(l + m) * f(l - m) * f(l1 - m1) * f(l1 + m1) * f(l2 - m2) * f(l2 + m2)
    s = Fraction(0)
    for k in range(0, l1 + l2 - l + 1):
        d = [l1 + l2 - l - k, l1 - m1 - k, l2 + m2 - k, l - l2 + m1 + k, l - l1 - m2 + k]
        if min(d) < 0:
            continue
        den = f(k)
        for x in d:
            den *= f(x)
        s += Fraction((-1) ** k, den)
    return float(s) * sqrt(float(pre)) if s != 0 else 0.0


@lru_cache(maxsize=None)
def complex_to_real(l: int) -> np.ndarray:
    """``U`` with ``Y_real = U Y_complex`` (rows m_real = -l..l, columns m_complex = -l..l)."""
    U = np.zeros((2 * l + 1, 2 * l + 1), dtype=complex)
    U[l, l] = 1.0
    for m in range(1, l + 1):
        s = (-1) ** m
        U[l + m, l + m] = s / sqrt(2)
        U[l + m, l - m] = 1 / sqrt(2)
        U[l - m, l + m] = s / (1j * sqrt(2))
        U[l - m, l - m] = -1 / (1j * sqrt(2))
    return U


@lru_cache(maxsize=None)
def _real_cg(l1: int, l2: int, l: int) -> np.ndarray:
    C = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l + 1))
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            m = m1 + m2
            if abs(m) <= l:
                C[l1 + m1, l2 + m2, l + m] = complex_clebsch_gordan(l1, m1, l2, m2, l, m)
    U1, U2, U = complex_to_real(l1), complex_to_real(l2), complex_to_real(l)
    Q = np.einsum("am,bn,cM,mnM->abc", U1.conj(), U2.conj(), U, C)
    if np.abs(Q.imag).max() > np.abs(Q.real).max():
        Q = Q * -1j
    assert np.abs(Q.imag).max() < 1e-12, "real Clebsch–Gordan transform is not real"
    Q = Q.real
    Q[np.abs(Q) < 1e-15] = 0.0
    first = Q.flat[np.flatnonzero(Q)[0]]
    return Q * np.sign(first)


def clebsch_gordan(l1: int, l2: int, l: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Real CG block ``[2l1+1, 2l2+1, 2l+1]``; zero-size selection rule violations raise."""
    if not (abs(l1 - l2) <= l <= l1 + l2):
        raise ValueError(f"no degree-{l} fragment in {l1} (x) {l2}: need |l1-l2| <= l <= l1+l2")
    return torch.from_numpy(_real_cg(l1, l2, l).copy()).to(dtype)
