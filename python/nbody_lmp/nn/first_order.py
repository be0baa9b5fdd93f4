"""First-order interaction gate (paper §4.0.2, eq. 11), by exact factorisation.

Eq. (11) sums over *pairs* of children ``i, j`` the products
``psi_i (x) psi_j (x) Y(r_hat_i) (x) Y(r_hat_j) r_i^-s r_j^-s``. The double sum factorises:

    sum_{i,j} (a_i (x) b_j) = (sum_i a_i) (x) (sum_j b_j),    a_i = psi_i (x) Y(r_hat_i) r_i^-s

so it is the CG product of two zeroth-order sums (eq. 10) of the same node: one extra CG
product per node, not O(k^2) pair work (docs/theory.md, "Departures from the paper, and why":
"Eq. 11 factorised"). Because the CG transform is a change of basis and ``W^l`` mixing commutes
with it (Proposition 1), the two factors are taken after the zeroth-order fragments are mixed to
``C`` channels (``U = W_a phi``, ``V = W_b phi``, two learnable choices of the tied weights) and
multiplied channel by channel. The gate's output mixes the zeroth-order fragments, these
first-order fragments and the node's own child.

``correlation = 3`` adds the next symmetric power of the node's neighbourhood: the product
``U (x) V``, mixed back to ``C`` channels per part (Proposition 1), times a third mixing of the
same sums, ``W_c phi`` — the sum over *triples* of children of eq. (11)'s pattern, factorised the
same way (docs/theory.md, "Body order per level").
"""

from __future__ import annotations

from typing import List, Sequence

import torch

from ..so3 import Irrep
from .gate_output import GateOutput
from .mixing import PartMixing
from .radial import InversePowerRadial
from .tensor_product import ChannelwiseProduct
from .zeroth_order import make_fragments


class FirstOrderGate(torch.nn.Module):
    def __init__(
        self,
        irreps_in: Sequence[Irrep],
        channels_in: int,
        irreps_hidden: Sequence[Irrep],
        irreps_out: Sequence[Irrep],
        channels_out: int,
        lmax_sh: int,
        radial: InversePowerRadial,
        hidden: bool,
        correlation: int = 2,
    ):
        super().__init__()
        if correlation not in (2, 3):
            raise ValueError(f"correlation must be 2 or 3, got {correlation}")
        self.sums = make_fragments(irreps_in, channels_in, lmax_sh, irreps_hidden, radial)
        mid = self.sums.irreps_out
        self.mix_u = PartMixing(self.sums.fragments, channels_out)
        self.mix_v = PartMixing(self.sums.fragments, channels_out)
        self.product = ChannelwiseProduct(mid, mid, irreps_out)
        # zeroth-order fragments of the output parts only
        self.zeroth_index: List[int] = [mid.index(o) for o in irreps_out if o in mid]
        zeroth_parts = [o for o in irreps_out if o in mid]
        sources = [zeroth_parts, self.product.irreps_out]
        fragments = [
            [self.sums.fragments[k] for k in self.zeroth_index],
            [channels_out * p for p in self.product.paths],
        ]
        self.higher = torch.nn.ModuleList()
        if correlation == 3:
            cube = TripleProduct(self.sums.fragments, mid, irreps_hidden, irreps_out, channels_out)
            self.higher.append(cube)
            sources.append(cube.irreps_out)
            fragments.append(cube.fragments)
        self.out = GateOutput(
            irreps_in, channels_in, sources, fragments, irreps_out, channels_out, hidden
        )
        self.irreps_out: List[Irrep] = self.out.irreps_out

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_vectors: torch.Tensor, n_out: int
    ) -> torch.Tensor:
        ones = torch.ones(edge_vectors.shape[0], dtype=x.dtype, device=x.device)
        phi = self.sums(x, edge_index[0], edge_index[1], edge_vectors, n_out, ones)
        u = torch.cat(self.mix_u(phi), dim=-1)
        v = torch.cat(self.mix_v(phi), dim=-1)
        pair = self.product(u, v)
        zeroth: List[torch.Tensor] = []
        for k in self.zeroth_index:
            zeroth.append(phi[k])
        sources = [zeroth, pair]
        for h in self.higher:
            sources.append(h(u, v, phi))
        return self.out(x[:n_out], sources)


class TripleProduct(torch.nn.Module):
    """``((U (x) V) W_s) (x) (W_c phi)``, channel by channel: the third symmetric power of a
    node's neighbourhood sums, for :class:`FirstOrderGate` with ``correlation = 3``."""

    def __init__(
        self,
        fragments_in: List[int],
        mid: Sequence[Irrep],
        irreps_hidden: Sequence[Irrep],
        irreps_out: Sequence[Irrep],
        channels: int,
    ):
        super().__init__()
        self.square = ChannelwiseProduct(mid, mid, irreps_hidden)
        self.mix_square = PartMixing([channels * p for p in self.square.paths], channels)
        self.mix_c = PartMixing(fragments_in, channels)
        self.cube = ChannelwiseProduct(self.square.irreps_out, mid, irreps_out)
        self.irreps_out: List[Irrep] = self.cube.irreps_out
        self.fragments: List[int] = [channels * p for p in self.cube.paths]

    def forward(self, u: torch.Tensor, v: torch.Tensor, phi: List[torch.Tensor]):
        square = torch.cat(self.mix_square(self.square(u, v)), dim=-1)
        c = torch.cat(self.mix_c(phi), dim=-1)
        return self.cube(square, c)
