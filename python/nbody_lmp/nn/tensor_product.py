"""Channel-wise CG products and the fragment bookkeeping shared by the gates.

A covariant state with ``C`` channels of every part of its type is stored flat as
``[n, C, D]`` (parts side by side, :class:`nbody_lmp.so3.FlatLayout`). The gates turn such
states (and products of them, paper §4.1) into lists of per-part fragment stacks
``[n, F, 2l+1]`` that :class:`~nbody_lmp.nn.mixing.PartMixing` (Proposition 1) consumes.
"""
from __future__ import annotations

from typing import List, Sequence

import torch

from ..so3 import CGPlan, FlatLayout, Irrep
from .constants import ExactConstants


def split_parts(x: torch.Tensor, offsets: List[int], dims: List[int]) -> List[torch.Tensor]:
    """Flat state ``[n, C, D]`` -> per-part list ``[n, C, 2l+1]`` (parts are contiguous, in order)."""
    return list(x.split(dims, dim=-1))


def split_blocks(y: torch.Tensor, offsets: List[int], paths: List[int], dims: List[int]) -> List[torch.Tensor]:
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
    """Buffers of a :class:`CGPlan`, applied to an outer product ``[..., D1*D2]``.

    The CG matrix is an exact constant (:mod:`.constants`): built in float64, rounded once to the
    module's dtype."""

    def __init__(self, irreps1: Sequence[Irrep], irreps2: Sequence[Irrep], irreps_out: Sequence[Irrep]):
        super().__init__()
        plan = CGPlan(irreps1, irreps2, irreps_out)
        self.irreps_out: List[Irrep] = plan.irreps_out
        self.register_constant("matrix", plan.matrix)
        self.offsets: List[int] = plan.block_offsets
        self.paths: List[int] = plan.num_paths
        self.dims: List[int] = [ir.dim for ir in plan.irreps_out]
        self.d1, self.d2 = plan.in1.dim, plan.in2.dim

    def forward(self, outer: torch.Tensor) -> List[torch.Tensor]:
        """``outer [n, F, D1*D2]`` -> list of ``[n, F*paths, 2l+1]`` per output part."""
        n, F = outer.shape[0], outer.shape[1]
        y = (outer.reshape(n * F, self.d1 * self.d2) @ self.matrix.to(outer.dtype)).reshape(n, F, -1)
        return split_blocks(y, self.offsets, self.paths, self.dims)


class ChannelwiseProduct(torch.nn.Module):
    """``(u (x) v)[c] = CG(u[c] (x) v[c])`` for two flat states with the same channels."""

    def __init__(self, irreps1: Sequence[Irrep], irreps2: Sequence[Irrep], irreps_out: Sequence[Irrep]):
        super().__init__()
        self.cg = CGBlocks(irreps1, irreps2, irreps_out)
        self.irreps_out = self.cg.irreps_out
        self.paths = self.cg.paths

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> List[torch.Tensor]:
        outer = (u.unsqueeze(-1) * v.unsqueeze(-2)).flatten(-2)  # [n, C, D1*D2]
        return self.cg(outer)


def layout_lists(irreps: Sequence[Irrep]):
    lay = FlatLayout(irreps)
    return lay.offsets, [ir.dim for ir in lay.irreps]
