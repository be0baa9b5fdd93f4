"""The linear part of a gate: ``W^l`` mixing of all fragments plus the node's own child.

Paper eq. (8)-(9) (Proposition 1) applied to the fragments that a gate's aggregation rule
produced, plus the node's own child (the child at ``r = 0``; docs/theory.md, "Departures from the
paper, and why": "Own child"): the node's previous-level state enters through its own learnable
per-part linear map (no harmonic, no ``r^-s``). After mixing, hidden levels apply the covariant
normalisation and the scalar-only nonlinearity (:mod:`.normalization`). The result is a flat
state ``[n, C_out, D_out]``.
"""

from __future__ import annotations

from typing import List, Sequence

import torch

from ..so3 import Irrep
from .mixing import PartMixing
from .normalization import covariant_normalize, scalar_activation
from .tensor_product import layout_lists, split_parts


class GateOutput(torch.nn.Module):
    def __init__(
        self,
        irreps_in: Sequence[Irrep],
        channels_in: int,
        sources: Sequence[Sequence[Irrep]],
        source_fragments: Sequence[Sequence[int]],
        irreps_out: Sequence[Irrep],
        channels_out: int,
        hidden: bool,
    ):
        """``sources[s]``: parts produced by aggregation source ``s``, with
        ``source_fragments[s][k]`` fragments for its part ``k``. Output parts that no source and no
        own-child part reach are dropped."""
        super().__init__()
        wanted = [o for o in irreps_out if o in irreps_in or any(o in src for src in sources)]
        self.irreps_out: List[Irrep] = wanted
        self.channels_out = channels_out
        # for each output part: (source, index) pairs feeding it
        self.num_sources = len(sources)
        self.route: List[List[int]] = []  # flattened [source, part index] pairs per output part
        frag_in: List[int] = []
        for o in wanted:
            r: List[int] = []
            f = 0
            for s, src in enumerate(sources):
                if o in src:
                    k = list(src).index(o)
                    r += [s, k]
                    f += source_fragments[s][k]
            self.route.append(r)
            frag_in.append(max(f, 1))  # an own-child-only part mixes one zero fragment
        self.mix = PartMixing(frag_in, channels_out)
        # own child: part o of the input state, channels_in fragments
        self.self_index: List[int] = [
            list(irreps_in).index(o) if o in irreps_in else -1 for o in wanted
        ]
        self.self_mix = PartMixing(
            [channels_in if k >= 0 else 1 for k in self.self_index], channels_out
        )
        self.in_offsets, self.in_dims = layout_lists(irreps_in)
        self.hidden = hidden
        self.out_dims: List[int] = [o.dim for o in wanted]
        self.scalar_index = wanted.index(Irrep(0, 1)) if Irrep(0, 1) in wanted else -1

    def forward(self, x_self: torch.Tensor, sources: List[List[torch.Tensor]]) -> torch.Tensor:
        own = split_parts(x_self, self.in_offsets, self.in_dims)
        gathered: List[torch.Tensor] = []
        for k, r in enumerate(self.route):
            pieces: List[torch.Tensor] = []
            for q in range(len(r) // 2):
                pieces.append(sources[r[2 * q]][r[2 * q + 1]])
            if len(pieces) == 0:
                pieces.append(x_self.new_zeros(x_self.shape[0], 1, self.out_dims[k]))
            gathered.append(torch.cat(pieces, dim=1))
        mixed = self.mix(gathered)
        selfs: List[torch.Tensor] = []
        for k, idx in enumerate(self.self_index):
            if idx >= 0:
                selfs.append(own[idx])
            else:
                selfs.append(torch.zeros_like(mixed[k][:, :1]))
        own_mixed = self.self_mix(selfs)
        parts = [a + b for a, b in zip(mixed, own_mixed)]
        if self.hidden:
            parts = scalar_activation(parts, self.scalar_index)
            parts = covariant_normalize(parts)
        return torch.cat(parts, dim=-1)
