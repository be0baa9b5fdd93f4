"""Clebsch–Gordan products of covariant states, decomposed into irreducible fragments.

Paper §4.1, eq. 13: ``psi_1 (x) psi_2 = (+)_l C_{l1,l2,l} (psi_1 (x) psi_2)``, with the
selection rules ``|l1 - l2| <= l <= l1 + l2`` and parity ``p1 p2`` (O(3): docs/theory.md,
"Departures from the paper, and why": "O(3), not only SO(3)").

A *flat state* stores all parts of one type side by side in its last dimension,
``[..., D]`` with ``D = sum_parts (2l+1)`` (:class:`FlatLayout`). :class:`CGPlan` turns the outer
product of two flat vectors, ``[..., D1 * D2]``, into all the fragments that the selection rules
allow and that the wanted output parts contain, with one dense matrix ``[D1 * D2, D_out]``
built once at construction (it depends only on the model's types). The output columns
are grouped by output part, each group ``[paths, 2l+1]`` with one row per path ``(a, b)``.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch

from .clebsch_gordan import clebsch_gordan
from .irreps import Irrep


class FlatLayout:
    """Offsets of the parts of a type in a flat state ``[..., D]`` (construction-time helper)."""

    def __init__(self, irreps: Sequence[Irrep]):
        self.irreps: List[Irrep] = list(irreps)
        if len(set(self.irreps)) != len(self.irreps):
            raise ValueError(f"parts must be distinct, got {[str(i) for i in self.irreps]}")
        self.offsets: List[int] = []
        d = 0
        for ir in self.irreps:
            self.offsets.append(d)
            d += ir.dim
        self.dim = d

    def index(self, ir: Irrep) -> int:
        return self.irreps.index(ir)

    def slice(self, ir: Irrep) -> Tuple[int, int]:
        k = self.index(ir)
        return self.offsets[k], self.offsets[k] + ir.dim


class CGPlan:
    """All CG paths ``(a in irreps1) (x) (b in irreps2) -> o in irreps_out`` as one matrix."""

    def __init__(
        self,
        irreps1: Sequence[Irrep],
        irreps2: Sequence[Irrep],
        irreps_out: Sequence[Irrep],
        dtype: torch.dtype = torch.float64,
    ):
        self.in1, self.in2 = FlatLayout(irreps1), FlatLayout(irreps2)
        self.paths: List[List[Tuple[Irrep, Irrep]]] = []
        blocks = []
        for o in irreps_out:
            paths = [(a, b) for a in self.in1.irreps for b in self.in2.irreps if o in a * b]
            self.paths.append(paths)
            for a, b in paths:
                M = torch.zeros(self.in1.dim, self.in2.dim, o.dim, dtype=torch.float64)
                s1, e1 = self.in1.slice(a)
                s2, e2 = self.in2.slice(b)
                M[s1:e1, s2:e2, :] = clebsch_gordan(a.l, b.l, o.l)
                blocks.append(M.reshape(self.in1.dim * self.in2.dim, o.dim))
        self.irreps_out: List[Irrep] = [o for o, p in zip(irreps_out, self.paths) if p]
        self.num_paths: List[int] = [len(p) for p in self.paths if p]
        if blocks:
            self.matrix = torch.cat(blocks, dim=1).to(dtype)
        else:
            self.matrix = torch.zeros(self.in1.dim * self.in2.dim, 0, dtype=dtype)
        # column offsets of each output part's block
        self.block_offsets: List[int] = []
        c = 0
        for o, n in zip(self.irreps_out, self.num_paths):
            self.block_offsets.append(c)
            c += n * o.dim
        self.dim_out = c

    def apply(self, outer: torch.Tensor) -> torch.Tensor:
        """``[..., D1*D2] -> [..., D_out]`` (eager helper; modules keep ``matrix`` as a buffer)."""
        return outer @ self.matrix.to(outer.dtype)


def cg_product(
    x1: torch.Tensor,
    irreps1: Sequence[Irrep],
    x2: torch.Tensor,
    irreps2: Sequence[Irrep],
    irreps_out: Sequence[Irrep],
) -> Tuple[torch.Tensor, CGPlan]:
    """CG product of two flat states ``[..., D1]``, ``[..., D2]`` -> fragments ``[..., D_out]``."""
    plan = CGPlan(irreps1, irreps2, irreps_out, dtype=x1.dtype)
    outer = (x1.unsqueeze(-1) * x2.unsqueeze(-2)).flatten(-2)
    return plan.apply(outer), plan
