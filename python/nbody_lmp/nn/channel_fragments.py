"""Zeroth-order neighbourhood fragments with per-channel radial weights (paper eq. 10 with the
channel-diagonal restriction of ``W^l``; docs/theory.md, "Per-channel radial weights and
Proposition 1").

The shared-radial sum (:class:`.zeroth_order.NeighbourhoodFragments`) forms, for every channel
``c`` and every radial function ``s``, ``A_i[c, s] = sum_j psi_j[c] (x) Y(d_ij) R_s(r_ij)`` and
lets ``W^l`` mix all ``C x S x paths`` fragments. Here each channel has its own radial functions,
one per harmonic degree ``l'`` of ``Y``,

    R_{c l'}(r) = sum_s w_{c l' s} R_s(r),

    A_i[c] = sum_j psi_j[c] (x) ( Y_{l'}(d_ij) R_{c l'}(r_ij) )_{l'=0..L}

so a node holds ``C x D_in x D_sh`` numbers instead of ``C x S x D_in x D_sh``: the ``C x S``
outer product (and its permute copy) is gone and the CG transform and ``W^l`` act on ``S``
times fewer fragments. Because ``w`` only rescales invariant radial factors, the fragments are
covariant exactly as in eq. 10 (the sum is still formed before the CG transform, once per node).
On CPU the sum and its CG transform run as one compiled operator that forms neither ``Y R_c``
per edge nor the ``[n, C, D_in * D_sh]`` sums (``torch.ops.nbody.neighbourhood_sum`` of the
operator library, :mod:`nbody_lmp.ops`).
"""

from __future__ import annotations

import math
from typing import List, Sequence

import torch

from ..so3 import Irrep, SphericalHarmonics, sh_irrep
from .aggregation import channelwise_neighbourhood_sum
from .radial import InversePowerRadial
from .tensor_product import CGBlocks


class ChannelRadial(torch.nn.Module):
    """``R_{c l'}(r) = sum_s w_{c l' s} R_s(r)``: ``r [E] -> [E, C, L+1]`` (``R_s``:
    :class:`InversePowerRadial`)."""

    def __init__(self, base: InversePowerRadial, channels: int, lmax_sh: int):
        super().__init__()
        self.base = base
        self.envelope = base.envelope
        self.cutoff = base.cutoff
        self.channels = channels
        self.n_l = lmax_sh + 1
        S = base.num_out
        self.weight = torch.nn.Parameter(torch.randn(S, channels * self.n_l) / math.sqrt(S))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return (self.base(r) @ self.weight).view(-1, self.channels, self.n_l)


class ChannelNeighbourhoodFragments(torch.nn.Module):
    """``sum_j psi_j[c] (x) Y(d_ij) R_{c l'}(|d_ij|)``, CG-decomposed: per output part
    ``[n, C*paths, 2l+1]``.

    Same interface as :class:`.zeroth_order.NeighbourhoodFragments` (``fragments``, ``irreps_out``,
    forward)."""

    def __init__(
        self,
        irreps_in: Sequence[Irrep],
        channels: int,
        lmax_sh: int,
        irreps_out: Sequence[Irrep],
        radial: ChannelRadial,
    ):
        super().__init__()
        if radial.channels != channels or radial.n_l != lmax_sh + 1:
            raise ValueError(
                "internal error: the per-channel radial does not match the gate's channels / lmax"
            )
        self.sh = SphericalHarmonics(lmax_sh)
        self.radial = radial
        self.cg = CGBlocks(irreps_in, [sh_irrep(l) for l in range(lmax_sh + 1)], irreps_out)
        self.irreps_out: List[Irrep] = self.cg.irreps_out
        self.channels = channels
        self.fragments: List[int] = [channels * p for p in self.cg.paths]
        self.d_in = self.cg.d1
        self.d_sh = self.cg.d2
        self.n_l = lmax_sh + 1  # Y is flat over l' = 0..L: block l' is columns l'^2 .. (l'+1)^2 - 1
        self.register_buffer("inv_num_children", torch.ones(()))
        # on CPU, the sum and its CG transform are one compiled operator (nbody_lmp.ops): no
        # [E, C, D_sh] edge factors, no padded copies; False (or CUDA) takes the pure-torch path
        # (the same numbers)
        self.fused = True

    def forward(
        self,
        x: torch.Tensor,
        center: torch.Tensor,
        child: torch.Tensor,
        vectors: torch.Tensor,
        n_out: int,
        edge_weight: torch.Tensor,
    ) -> List[torch.Tensor]:
        """``x [N, C, D_in]``; ``edge_weight [E]`` multiplies each child's term (1 for a plain
        gate)."""
        r = torch.linalg.norm(vectors, dim=-1)
        w = self.radial(r) * (edge_weight * self.inv_num_children).view(-1, 1, 1)  # [E, C, L+1]
        sh = self.sh(vectors)  # [E, D_sh]
        C = self.channels
        if self.fused and x.device.type == "cpu":
            y = torch.ops.nbody.neighbourhood_sum(
                x,
                w,
                sh,
                child,
                center,
                n_out,
                self.cg.entry_ab,
                self.cg.entry_k,
                self.cg.entry_value,
                self.cg.d_out,
            )  # [n, C, D_cg]
            return self.cg.split(y)
        a = channelwise_neighbourhood_sum(
            x, child, self.edge_factors(w, sh), center, n_out
        )  # [C, n, D_in, D_sh]
        y = self.cg.matrix_product(a.reshape(C * n_out, self.d_in * self.d_sh)).view(C, n_out, -1)
        return self.cg.split(y.transpose(0, 1))

    def edge_factors(self, w: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
        """``z[e, c] = ( Y_l(d_e) R_{c l}(|d_e|) )_{l=0..L}``: ``[E, C, D_sh]`` (the unfused
        path)."""
        sh = sh.unsqueeze(1)
        blocks: List[torch.Tensor] = []
        w_l = w.unbind(2)  # (unbind's backward is one stack, not a zero-filled tensor per slice)
        for l in range(
            self.n_l
        ):  # Y_l R_{c l}: backward keeps w and Y, not an [E, C, D_sh] copy of w
            blocks.append(w_l[l].unsqueeze(-1) * sh[:, :, l * l : (l + 1) * (l + 1)])
        return torch.cat(blocks, dim=-1)
