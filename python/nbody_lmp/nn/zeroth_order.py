"""Zeroth-order interaction gate (paper §4.0.1, eq. 10).

    Phi(...) = L( sum_i psi_ch_i (x) Y(r_hat_ch_i) R_s(r_ch_i) ,  s = 0..S )

``r_ch_i`` is the child's position relative to the parent, ``R_s`` the paper's inverse powers
times the smooth envelope (:mod:`.radial`), the sums are decomposed into irreducible fragments
by the CG transform and mixed by ``W^l`` (``L``, Proposition 1) together with the node's own
child (:mod:`.gate_output`). The neighbourhood sum of outer products is formed first
(:func:`.aggregation.neighbourhood_sum`), the CG transform once per node after it (the CG
transform is linear; docs/theory.md, "Departures from the paper, and why": "Node work, not edge
work"). Sums are divided by a constant (the average number of children, an invariant), a
covariant normalisation that keeps activations O(1).
"""

from __future__ import annotations

from typing import List, Sequence

import torch

from ..so3 import Irrep, SphericalHarmonics, sh_irrep
from .aggregation import neighbourhood_sum
from .channel_fragments import ChannelNeighbourhoodFragments, ChannelRadial
from .gate_output import GateOutput
from .radial import InversePowerRadial
from .tensor_product import CGBlocks


class NeighbourhoodFragments(torch.nn.Module):
    """``sum_j psi_j (x) Y(d_ij) R_s(|d_ij|)``, CG-decomposed: per output part
    ``[n, C*S*paths, 2l+1]``."""

    def __init__(
        self,
        irreps_in: Sequence[Irrep],
        channels: int,
        lmax_sh: int,
        irreps_out: Sequence[Irrep],
        radial: InversePowerRadial,
    ):
        super().__init__()
        self.sh = SphericalHarmonics(lmax_sh)
        self.radial = radial
        self.cg = CGBlocks(irreps_in, [sh_irrep(l) for l in range(lmax_sh + 1)], irreps_out)
        self.irreps_out: List[Irrep] = self.cg.irreps_out
        self.channels = channels
        self.n_radial = radial.num_out
        self.fragments: List[int] = [channels * self.n_radial * p for p in self.cg.paths]
        self.d_in = self.cg.d1
        self.d_sh = self.cg.d2
        self.register_buffer("inv_num_children", torch.ones(()))

    def forward(
        self,
        x: torch.Tensor,
        center: torch.Tensor,
        child: torch.Tensor,
        vectors: torch.Tensor,
        n_out: int,
        edge_weight: torch.Tensor,
    ) -> List[torch.Tensor]:
        """``edge_weight [E]`` multiplies each child's term (1 for a plain gate)."""
        r = torch.linalg.norm(vectors, dim=-1)
        w = self.radial(r) * (edge_weight * self.inv_num_children).unsqueeze(-1)  # [E, S]
        z = (w.unsqueeze(-1) * self.sh(vectors).unsqueeze(-2)).flatten(1)  # [E, S*D_sh]
        C, S = self.channels, self.n_radial
        a = neighbourhood_sum(x[child].flatten(1), z, center, n_out)  # [n, C*D_in, S*D_sh]
        a = a.view(n_out, C, self.d_in, S, self.d_sh).permute(0, 1, 3, 2, 4)
        a = a.reshape(n_out, C * S, self.d_in * self.d_sh)
        return self.cg(a)


def make_fragments(
    irreps_in: Sequence[Irrep],
    channels: int,
    lmax_sh: int,
    irreps_out: Sequence[Irrep],
    radial: torch.nn.Module,
) -> torch.nn.Module:
    """The neighbourhood fragments that go with ``radial``: shared (``C x S``) or per-channel radial
    weights."""
    if isinstance(radial, ChannelRadial):
        return ChannelNeighbourhoodFragments(irreps_in, channels, lmax_sh, irreps_out, radial)
    return NeighbourhoodFragments(irreps_in, channels, lmax_sh, irreps_out, radial)


class ZerothOrderGate(torch.nn.Module):
    """Eq. (10): neighbourhood fragments + own child, mixed by ``W^l``."""

    def __init__(
        self,
        irreps_in: Sequence[Irrep],
        channels_in: int,
        irreps_out: Sequence[Irrep],
        channels_out: int,
        lmax_sh: int,
        radial: InversePowerRadial,
        hidden: bool,
    ):
        super().__init__()
        self.sums = make_fragments(irreps_in, channels_in, lmax_sh, irreps_out, radial)
        self.out = GateOutput(
            irreps_in,
            channels_in,
            [self.sums.irreps_out],
            [self.sums.fragments],
            irreps_out,
            channels_out,
            hidden,
        )
        self.irreps_out: List[Irrep] = self.out.irreps_out

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_vectors: torch.Tensor, n_out: int
    ) -> torch.Tensor:
        ones = torch.ones(edge_vectors.shape[0], dtype=x.dtype, device=x.device)
        frags = self.sums(x, edge_index[0], edge_index[1], edge_vectors, n_out, ones)
        return self.out(x[:n_out], [frags])
