"""Channel-wise CG products and the fragment bookkeeping shared by the gates.

A covariant state with ``C`` channels of every part of its type is stored flat as
``[n, C, D]`` (parts side by side, :class:`nbody_lmp.so3.FlatLayout`). The gates turn such
states (and products of them, paper §4.1, eq. 13) into lists of per-part fragment stacks
``[n, F, 2l+1]`` that :class:`~nbody_lmp.nn.mixing.PartMixing` (Proposition 1) consumes.
"""

from __future__ import annotations

from typing import List, Sequence

import torch

from .. import ops
from ..so3 import CGPlan, FlatLayout, Irrep
from .constants import ExactConstants

# torch.ops.nbody.*: the CG transforms here and the neighbourhood sum (channel_fragments)
ops.load()


def split_parts(x: torch.Tensor, offsets: List[int], dims: List[int]) -> List[torch.Tensor]:
    """Flat state ``[n, C, D]`` -> per-part list ``[n, C, 2l+1]`` (parts are contiguous, in
    order)."""
    return list(x.split(dims, dim=-1))


def split_blocks(
    y: torch.Tensor, offsets: List[int], paths: List[int], dims: List[int]
) -> List[torch.Tensor]:
    """CG output ``[n, F, D_cg]`` -> per-output-part ``[n, F * paths, 2l+1]``.

    One ``split`` (its backward is one concatenation, not a zero-filled tensor per slice)."""
    n, F = y.shape[0], y.shape[1]
    sizes: List[int] = []
    for p, d in zip(paths, dims):
        sizes.append(p * d)
    out: List[torch.Tensor] = []
    for blk, p, d in zip(y.split(sizes, dim=-1), paths, dims):
        out.append(blk.reshape(n, F * p, d))
    return out


class CGBlocks(ExactConstants):
    """Buffers of a :class:`CGPlan`, applied to an outer product ``[..., D1*D2]`` or to two factors.

    The CG matrix is an exact constant (:mod:`.constants`): built in float64, rounded once to the
    module's dtype. It is mostly zeros (83 of 2835 entries for parts 0e + 1o + 2e), so on CPU it
    is applied as its list of non-zero entries by the compiled ``nbody::cg_linear`` and
    ``nbody::cg_product`` of the operator library (:mod:`nbody_lmp.ops`); ``sparse = False`` (or
    CUDA) takes the dense matrix product, the same sums."""

    def __init__(
        self, irreps1: Sequence[Irrep], irreps2: Sequence[Irrep], irreps_out: Sequence[Irrep]
    ):
        super().__init__()
        plan = CGPlan(irreps1, irreps2, irreps_out)
        self.irreps_out: List[Irrep] = plan.irreps_out
        self.register_constant("matrix", plan.matrix)
        self.offsets: List[int] = plan.block_offsets
        self.paths: List[int] = plan.num_paths
        self.dims: List[int] = [ir.dim for ir in plan.irreps_out]
        self.d1, self.d2 = plan.in1.dim, plan.in2.dim
        self.d_out: int = int(plan.matrix.shape[1])
        # the non-zero entries (a * D2 + b, k, M[a * D2 + b, k]), derived from the matrix: not in
        # checkpoints. The indices are plain attributes, not buffers: libtorch's Module::to(dtype)
        # (pair_nbody's dtype) casts every buffer, integer ones too; they are only read on CPU.
        exact = plan.matrix.to(torch.float64)
        ab, k = torch.nonzero(exact != 0, as_tuple=True)
        self.entry_ab = ab.contiguous()
        self.entry_a = torch.div(ab, self.d2, rounding_mode="floor")
        self.entry_b = ab % self.d2
        self.entry_k = k.contiguous()
        self.register_constant("entry_value", exact[ab, k], persistent=False)
        self.sparse = True

    def forward(self, outer: torch.Tensor) -> List[torch.Tensor]:
        """``outer [n, F, D1*D2]`` -> list of ``[n, F*paths, 2l+1]`` per output part."""
        n, F = outer.shape[0], outer.shape[1]
        y = self.matrix_product(outer.reshape(n * F, self.d1 * self.d2)).reshape(n, F, -1)
        return split_blocks(y, self.offsets, self.paths, self.dims)

    def matrix_product(self, outer: torch.Tensor) -> torch.Tensor:
        """``[m, D1*D2] -> [m, D_cg]``: the CG transform alone."""
        if self.sparse and outer.device.type == "cpu":
            return torch.ops.nbody.cg_linear(
                outer, self.entry_ab, self.entry_k, self.entry_value, self.d_out
            )
        return outer @ self.matrix.to(outer.dtype)

    def product(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``CG(u (x) v)`` row by row: ``u [m, D1], v [m, D2] -> [m, D_cg]``."""
        if self.sparse and u.device.type == "cpu":
            return torch.ops.nbody.cg_product(
                u, v, self.entry_a, self.entry_b, self.entry_k, self.entry_value, self.d_out
            )
        return self.matrix_product((u.unsqueeze(-1) * v.unsqueeze(-2)).flatten(-2))

    def split(self, y: torch.Tensor) -> List[torch.Tensor]:
        """CG output ``[n, F, D_cg]`` -> list of ``[n, F*paths, 2l+1]`` per output part."""
        return split_blocks(y, self.offsets, self.paths, self.dims)


def diagonal_cg(
    irreps1: Sequence[Irrep], irreps2: Sequence[Irrep], irreps_out: Sequence[Irrep]
) -> torch.Tensor:
    """``M [D, D_out]`` with ``CG(u (x) v) = (u * v) @ M`` when the CG matrix only pairs component
    ``i`` of ``u`` with component ``i`` of ``v`` (e.g. every output is a scalar: ``l1 = l2``,
    ``m1 = m2`` in the real basis); an empty ``[0, 0]`` tensor otherwise. Built in float64 from the
    plan."""
    plan = CGPlan(irreps1, irreps2, irreps_out)
    D1, D2 = plan.in1.dim, plan.in2.dim
    full = plan.matrix.to(torch.float64).reshape(D1, D2, -1)
    if D1 != D2 or full.shape[-1] == 0:
        return torch.zeros(0, 0, dtype=torch.float64)
    diag = torch.diagonal(full, dim1=0, dim2=1).T.contiguous()  # [D, D_out]
    off = full.clone()
    idx = torch.arange(D1)
    off[idx, idx] = 0
    return diag if bool((off == 0).all()) else torch.zeros(0, 0, dtype=torch.float64)


class ChannelwiseProduct(ExactConstants):
    """``(u (x) v)[c] = CG(u[c] (x) v[c])`` for two flat states with the same channels.

    When the CG matrix is diagonal in the two inputs (:func:`diagonal_cg`; the top level's
    scalar-only output), the ``D1 x D2`` outer product is skipped: ``(u * v) @ M``, the same sum
    without its zero terms."""

    def __init__(
        self, irreps1: Sequence[Irrep], irreps2: Sequence[Irrep], irreps_out: Sequence[Irrep]
    ):
        super().__init__()
        self.cg = CGBlocks(irreps1, irreps2, irreps_out)
        self.irreps_out = self.cg.irreps_out
        self.paths = self.cg.paths
        diag = diagonal_cg(irreps1, irreps2, irreps_out)
        self.diagonal: bool = diag.numel() > 0
        self.register_constant("diag_matrix", diag)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> List[torch.Tensor]:
        if self.diagonal:
            n, C = u.shape[0], u.shape[1]
            y = ((u * v).reshape(n * C, -1) @ self.diag_matrix.to(u.dtype)).reshape(n, C, -1)
            return split_blocks(y, self.cg.offsets, self.cg.paths, self.cg.dims)
        n, C = u.shape[0], u.shape[1]
        y = self.cg.product(u.reshape(n * C, self.cg.d1), v.reshape(n * C, self.cg.d2)).view(
            n, C, -1
        )
        return split_blocks(y, self.cg.offsets, self.cg.paths, self.cg.dims)


def layout_lists(irreps: Sequence[Irrep]):
    lay = FlatLayout(irreps)
    return lay.offsets, [ir.dim for ir in lay.irreps]
