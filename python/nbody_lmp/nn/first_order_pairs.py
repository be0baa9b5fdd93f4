"""First-order interaction gate over pairs of children (paper §4.0.2, eq. 12), an option for
small neighbourhoods.

    Phi(...) = L( sum_{j != k} psi_j (x) psi_k (x) Y(r_hat_jk) R_s(r_jk) ,  s = 0..S )

with ``r_jk = r_k - r_j`` the children's relative position. Grouped by the first child,
``sum_j psi_j (x) Q_j`` with ``Q_j = sum_{k != j} psi_k (x) Y(r_hat_jk) R_s(r_jk)``: ``Q_j`` is a
zeroth-order sum (eq. 10) whose "parent" is the edge ``(i, j)``, computed by the same
neighbourhood sum over the child pairs (O(k^2) per node, hence "small neighbourhoods"). ``Q_j``
is mixed to ``C`` channels (Proposition 1) and multiplied channel by channel with ``psi_j``.

Smoothness: each term is weighted by the envelopes of both children's distances to the parent,
so a child crossing the cutoff enters continuously; ``R_s`` of ``r_jk`` uses twice the cutoff.
The gate's output mixes these fragments, the zeroth-order fragments and the own child.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import torch

from ..so3 import Irrep
from .aggregation import padded_slots
from .gate_output import GateOutput
from .mixing import PartMixing
from .radial import InversePowerRadial
from .tensor_product import ChannelwiseProduct
from .zeroth_order import make_fragments


def child_pairs(center: torch.Tensor, n_parents: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """All ordered pairs ``(e1, e2)``, ``e1 != e2``, of edges with the same parent."""
    E = center.shape[0]
    order, slot, K = padded_slots(center, n_parents)
    table = torch.full((n_parents * K,), -1, dtype=torch.long, device=center.device)
    table = table.index_copy(0, slot, order).view(n_parents, K)
    rows = table[center]  # [E, K]
    e1 = torch.arange(E, device=center.device).unsqueeze(1).expand(E, K)
    mask = (rows >= 0) & (rows != e1)
    return e1[mask], rows[mask]


class FirstOrderPairsGate(torch.nn.Module):
    def __init__(
        self,
        irreps_in: Sequence[Irrep],
        channels: int,
        irreps_hidden: Sequence[Irrep],
        irreps_out: Sequence[Irrep],
        lmax_sh: int,
        radial: InversePowerRadial,
        pair_radial: InversePowerRadial,
        hidden: bool,
    ):
        super().__init__()
        self.sums = make_fragments(irreps_in, channels, lmax_sh, irreps_out, radial)
        self.pair_sums = make_fragments(irreps_in, channels, lmax_sh, irreps_hidden, pair_radial)
        self.envelope = radial.envelope
        self.mix_q = PartMixing(self.pair_sums.fragments, channels)
        self.product = ChannelwiseProduct(irreps_in, self.pair_sums.irreps_out, irreps_out)
        self.out = GateOutput(
            irreps_in,
            channels,
            [self.sums.irreps_out, self.product.irreps_out],
            [self.sums.fragments, [channels * p for p in self.product.paths]],
            irreps_out,
            channels,
            hidden,
        )
        self.irreps_out: List[Irrep] = self.out.irreps_out
        self.register_buffer("inv_num_children", torch.ones(()))

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_vectors: torch.Tensor, n_out: int
    ) -> torch.Tensor:
        center, child = edge_index[0], edge_index[1]
        E = edge_vectors.shape[0]
        env = self.envelope(torch.linalg.norm(edge_vectors, dim=-1))
        frags = self.sums(x, center, child, edge_vectors, n_out, torch.ones_like(env))
        e1, e2 = child_pairs(center, n_out)
        q = self.pair_sums(x, e1, child[e2], edge_vectors[e2] - edge_vectors[e1], E, env[e2])
        q = torch.cat(self.mix_q(q), dim=-1)  # [E, C, D_q]
        pair = self.product(x[child], q)  # per part [E, C*paths, 2l+1]
        summed: List[torch.Tensor] = []
        w = (env * self.inv_num_children).view(-1, 1, 1)
        for p in pair:
            summed.append(
                torch.zeros(
                    n_out, p.shape[1], p.shape[2], dtype=p.dtype, device=p.device
                ).index_add(0, center, p * w)
            )
        return self.out(x[:n_out], [frags, summed])
