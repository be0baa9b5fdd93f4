"""Wigner D matrices in the real basis of :mod:`.spherical_harmonics`, and the parity action.

Paper §3, eq. (2): a covariant fragment of degree ``l`` transforms as ``psi -> D^l(R) psi``;
under an improper rotation a part ``(l, p)`` also picks up ``p`` (O(3): docs/theory.md,
"Departures from the paper, and why": "O(3), not only SO(3)").

``D^l(R)`` is built independently of the harmonics' values: the three real generators
``J_a`` (antisymmetric, ``(2l+1) x (2l+1)``) are derived once from the harmonics' derivatives,
``J_a Y(r) = grad Y(r) . (K_a r)``, and then ``D^l(exp(theta n.K)) = exp(theta n.J)`` by a matrix
exponential of the rotation's axis-angle form. So ``Y(R r) = D(R) Y(r)`` and
``D(R1 R2) = D(R1) D(R2)`` are genuine tests of the harmonics (tests/python/test_so3.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .irreps import Irrep
from .spherical_harmonics import spherical_harmonics

# generators of rotations about x, y, z: (K_a)_{bc} = -eps_{abc}
_K = np.zeros((3, 3, 3))
for a, b, c, s in [
    (0, 1, 2, 1),
    (1, 2, 0, 1),
    (2, 0, 1, 1),
    (0, 2, 1, -1),
    (1, 0, 2, -1),
    (2, 1, 0, -1),
]:
    _K[a, b, c] = -s


@lru_cache(maxsize=None)
def so3_generators(l: int) -> torch.Tensor:
    """Real generators ``J_a^l`` (a = x, y, z), float64, shape ``[3, 2l+1, 2l+1]``."""
    if l == 0:
        return torch.zeros(3, 1, 1, dtype=torch.float64)
    gen = torch.Generator().manual_seed(1234 + l)
    pts = torch.randn(8 * (2 * l + 1), 3, dtype=torch.float64, generator=gen)
    pts = pts / pts.norm(dim=1, keepdim=True)
    pts.requires_grad_(True)
    sl = slice(l * l, (l + 1) * (l + 1))
    Y = spherical_harmonics(l, pts)[:, sl]  # [P, 2l+1]
    grads = torch.stack(
        [torch.autograd.grad(Y[:, m].sum(), pts, retain_graph=True)[0] for m in range(2 * l + 1)],
        dim=1,
    )  # [P, 2l+1, 3]
    out = []
    K = torch.from_numpy(_K)
    for a in range(3):
        Kr = pts.detach() @ K[a].T  # K_a r
        G = (grads * Kr[:, None, :]).sum(-1)  # [P, 2l+1] = (J Y)(r)
        # solve G = Y J^T  for J
        J = torch.linalg.lstsq(Y.detach(), G).solution.T
        out.append(J)
    J = torch.stack(out)
    return 0.5 * (J - J.transpose(1, 2))  # exact antisymmetry (removes rounding)


def rotation_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Rotation vector ``theta * n`` of a proper rotation matrix (robust near theta = pi)."""
    Rn = R.detach().cpu().double().numpy()
    # quaternion by Shepperd's method
    t = np.trace(Rn)
    cands = [t, Rn[0, 0], Rn[1, 1], Rn[2, 2]]
    k = int(np.argmax(cands))
    if k == 0:
        w = np.sqrt(1 + t) / 2
        q = np.array(
            [
                w,
                (Rn[2, 1] - Rn[1, 2]) / (4 * w),
                (Rn[0, 2] - Rn[2, 0]) / (4 * w),
                (Rn[1, 0] - Rn[0, 1]) / (4 * w),
            ]
        )
    else:
        i = k - 1
        j, kk = (i + 1) % 3, (i + 2) % 3
        s = np.sqrt(max(1 + Rn[i, i] - Rn[j, j] - Rn[kk, kk], 0.0)) * 2
        q = np.zeros(4)
        q[0] = (Rn[kk, j] - Rn[j, kk]) / s
        q[1 + i] = s / 4
        q[1 + j] = (Rn[j, i] + Rn[i, j]) / s
        q[1 + kk] = (Rn[kk, i] + Rn[i, kk]) / s
    if q[0] < 0:
        q = -q
    v = q[1:]
    nv = np.linalg.norm(v)
    if nv < 1e-300:
        return torch.zeros(3, dtype=torch.float64)
    angle = 2 * np.arctan2(nv, q[0])
    return torch.from_numpy(v / nv * angle)


def wigner_D(l: int, R: torch.Tensor) -> torch.Tensor:
    """``D^l(R)`` (float64) for a proper rotation ``R`` (3x3): ``Y^l(R r) = D^l(R) Y^l(r)``."""
    rv = rotation_to_axis_angle(R)
    J = so3_generators(l)
    return torch.linalg.matrix_exp(torch.einsum("a,aij->ij", rv, J))


def o3_D(irrep: Irrep, R: torch.Tensor) -> torch.Tensor:
    """Representation matrix of a part ``(l, p)`` for an orthogonal ``R`` (proper or improper)."""
    det = float(torch.linalg.det(R.double()))
    if det > 0:
        return wigner_D(irrep.l, R.double())
    return irrep.p * wigner_D(irrep.l, -R.double())


def random_rotation(generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
    """A Haar-random proper rotation (QR of a Gaussian matrix, signs fixed)."""
    A = torch.randn(3, 3, dtype=torch.float64, generator=generator)
    Q, Rr = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(Rr))
    if torch.linalg.det(Q) < 0:
        Q[:, 0] = -Q[:, 0]
    return Q.to(dtype)
