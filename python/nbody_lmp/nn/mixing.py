"""Mixing of fragments by per-part matrices ``W^l`` (paper Proposition 1, eq. 8-9).

Proposition 1: a covariant linear map may only combine *whole* fragments of the *same* part,
``F^l -> F^l W^l``. Here a part is ``(l, parity)`` (docs/theory.md, "Departures from the paper,
and why": "O(3), not only SO(3)"). Input fragments of one part are ``[n, F_in, 2l+1]``; the
output is ``[n, C_out, 2l+1]``; nothing mixes the ``2l+1`` components or different parts, which
is what makes the map covariant.
"""

from __future__ import annotations

import math
from typing import List

import torch


class PartMixing(torch.nn.Module):
    """``W^l`` for each output part: ``[n, F_in(part), 2l+1] -> [n, C_out, 2l+1]``."""

    def __init__(self, fragments_in: List[int], channels_out: int):
        super().__init__()
        self.weights = torch.nn.ParameterList(
            [
                torch.nn.Parameter(torch.randn(f, channels_out) / math.sqrt(max(f, 1)))
                for f in fragments_in
            ]
        )

    def forward(self, parts: List[torch.Tensor]) -> List[torch.Tensor]:
        out: List[torch.Tensor] = []
        for k, w in enumerate(self.weights):
            out.append(torch.einsum("nfm,fc->ncm", parts[k], w))
        return out
