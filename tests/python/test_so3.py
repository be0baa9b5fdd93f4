"""so3 algebra (sections 3-4.1 of the paper; docs/theory.md, "Paper → code") against closed forms
(sympy) and group properties."""

import cmath  # noqa: F401  (lambdify backend)
import math

import numpy as np
import pytest
import sympy
import torch

from nbody_lmp.so3 import (
    CGPlan,
    Irrep,
    Irreps,
    clebsch_gordan,
    complex_clebsch_gordan,
    o3_D,
    random_rotation,
    spherical_harmonics,
    wigner_D,
)

pytestmark = pytest.mark.usefixtures("float64")

LMAX = 6


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_irreps_string_roundtrip_and_errors():
    t = Irreps("8x0e + 8x1o + 4x2e")
    assert str(t) == "8x0e + 8x1o + 4x2e" and t.dim == 8 + 24 + 20
    assert Irrep(1, -1) * Irrep(1, -1) == [Irrep(0, 1), Irrep(1, 1), Irrep(2, 1)]
    with pytest.raises(ValueError, match="multiplicity"):
        Irreps("8x0q")


@pytest.mark.parametrize("seed", [0, 1])
def test_spherical_harmonics_match_sympy(seed):
    v = torch.randn(4, 3, generator=_gen(seed))
    Y = spherical_harmonics(LMAX, v)
    th, ph = sympy.symbols("theta phi", real=True)
    r = v.norm(dim=1)
    for l in range(LMAX + 1):
        for m in range(-l, l + 1):
            f = sympy.lambdify((th, ph), sympy.Znm(l, m, th, ph).expand(func=True), "cmath")
            sigma = 1 if m == 0 else ((-1) ** m if m > 0 else -1)
            for k in range(4):
                ref = complex(f(math.acos(v[k, 2] / r[k]), math.atan2(v[k, 1], v[k, 0]))).real
                assert (
                    abs(Y[k, l * l + l + m].item() - sigma * math.sqrt(4 * math.pi) * ref) < 1e-10
                )


def test_spherical_harmonics_addition_theorem():
    a, b = torch.randn(20, 3, generator=_gen(2)), torch.randn(20, 3, generator=_gen(3))
    Ya, Yb = spherical_harmonics(LMAX, a), spherical_harmonics(LMAX, b)
    cos = (a / a.norm(dim=1, keepdim=True) * b / b.norm(dim=1, keepdim=True)).sum(1)
    for l in range(LMAX + 1):
        sl = slice(l * l, (l + 1) ** 2)
        P = torch.from_numpy(np.polynomial.legendre.legval(cos.numpy(), [0] * l + [1]))
        torch.testing.assert_close(
            (Ya[:, sl] * Yb[:, sl]).sum(1), (2 * l + 1) * P, rtol=0, atol=1e-10
        )


def test_spherical_harmonics_gradient_finite_at_poles():
    v = torch.tensor([[0.0, 0.0, 1.3], [0.0, 0.0, -0.7], [1e-9, 0.0, 1.0]], requires_grad=True)
    (g,) = torch.autograd.grad(
        spherical_harmonics(LMAX, v).pow(2).sum() + spherical_harmonics(LMAX, v)[:, 7].sum(), v
    )
    assert torch.isfinite(g).all()
    # gradient at the pole equals the limit approaching it
    w = v.detach().clone()
    w[0, 0] = 1e-7
    w.requires_grad_(True)
    (g2,) = torch.autograd.grad(spherical_harmonics(LMAX, w)[:, 7].sum(), w)
    v2 = v.detach().clone().requires_grad_(True)
    (g1,) = torch.autograd.grad(spherical_harmonics(LMAX, v2)[:, 7].sum(), v2)
    torch.testing.assert_close(g1[0], g2[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wigner_D_is_a_representation_and_rotates_harmonics(seed):
    g = _gen(seed)
    R1, R2 = random_rotation(g), random_rotation(g)
    v = torch.randn(10, 3, generator=g)
    Y, YR = spherical_harmonics(LMAX, v), spherical_harmonics(LMAX, v @ R1.T)
    for l in range(LMAX + 1):
        sl = slice(l * l, (l + 1) ** 2)
        D1, D2 = wigner_D(l, R1), wigner_D(l, R2)
        torch.testing.assert_close(wigner_D(l, R1 @ R2), D1 @ D2, rtol=0, atol=1e-10)
        torch.testing.assert_close(YR[:, sl], Y[:, sl] @ D1.T, rtol=0, atol=1e-10)
        torch.testing.assert_close(D1 @ D1.T, torch.eye(2 * l + 1), rtol=0, atol=1e-10)
    # parity: Y^l(-r) = (-1)^l Y^l(r), and o3_D of the inversion is the parity
    Yi = spherical_harmonics(LMAX, -v)
    for l in range(LMAX + 1):
        sl = slice(l * l, (l + 1) ** 2)
        torch.testing.assert_close(Yi[:, sl], (-1) ** l * Y[:, sl], rtol=0, atol=1e-12)
        torch.testing.assert_close(
            o3_D(Irrep(l, -1), -torch.eye(3)), -torch.eye(2 * l + 1), rtol=0, atol=1e-12
        )


def test_complex_cg_matches_sympy():
    from sympy.physics.quantum.cg import CG

    rng = np.random.default_rng(0)
    for _ in range(40):
        l1, l2 = rng.integers(0, 4, 2)
        l = rng.integers(abs(l1 - l2), l1 + l2 + 1)
        m1, m2 = rng.integers(-l1, l1 + 1), rng.integers(-l2, l2 + 1)
        ref = (
            float(CG(int(l1), int(m1), int(l2), int(m2), int(l), int(m1 + m2)).doit())
            if abs(m1 + m2) <= l
            else 0.0
        )
        assert (
            abs(
                complex_clebsch_gordan(int(l1), int(m1), int(l2), int(m2), int(l), int(m1 + m2))
                - ref
            )
            < 1e-12
        )


@pytest.mark.parametrize("l1,l2", [(0, 0), (1, 1), (1, 2), (2, 2), (3, 2), (2, 4), (3, 3)])
def test_real_cg_orthonormal_and_covariant(l1, l2):
    g = _gen(l1 * 10 + l2)
    R = random_rotation(g)
    a, b = torch.randn(2 * l1 + 1, generator=g), torch.randn(2 * l2 + 1, generator=g)
    blocks = []
    for l in range(abs(l1 - l2), l1 + l2 + 1):
        C = clebsch_gordan(l1, l2, l)
        M = C.reshape(-1, 2 * l + 1)
        torch.testing.assert_close(M.T @ M, torch.eye(2 * l + 1), rtol=0, atol=1e-12)
        z = torch.einsum("abc,a,b->c", C, a, b)
        zr = torch.einsum("abc,a,b->c", C, wigner_D(l1, R) @ a, wigner_D(l2, R) @ b)
        torch.testing.assert_close(zr, wigner_D(l, R) @ z, rtol=0, atol=1e-10)
        blocks.append(M)
    full = torch.cat(blocks, dim=1)  # the whole CG transform is orthogonal
    torch.testing.assert_close(full.T @ full, torch.eye(full.shape[1]), rtol=0, atol=1e-12)
    assert full.shape[0] == full.shape[1]


def test_cg_selection_rules_and_plan_parity():
    with pytest.raises(ValueError, match="no degree-3"):
        clebsch_gordan(1, 1, 3)
    plan = CGPlan(
        [Irrep(1, -1)], [Irrep(1, -1)], [Irrep(0, 1), Irrep(1, 1), Irrep(1, -1), Irrep(2, 1)]
    )
    assert plan.irreps_out == [Irrep(0, 1), Irrep(1, 1), Irrep(2, 1)]  # 1o x 1o has no 1o
