"""Covariant normalisation and the scalar-only nonlinearity (docs/theory.md, "Departures from the
paper, and why": "Normalisation and nonlinearity").

Products of products grow fast with depth. Dividing a fragment by an *invariant* keeps it
covariant: each fragment ``v`` (one channel of one part, ``2l+1`` numbers) becomes

    v / sqrt(1 + |v|^2 / (2l+1))

which is smooth, bounded, and leaves small fragments unchanged. A pointwise nonlinearity is
applied to scalar (``0e``) fragments only: on any other part it would break covariance
(paper §4, after Proposition 1).
"""

from __future__ import annotations

from typing import List

import torch


def covariant_normalize(parts: List[torch.Tensor]) -> List[torch.Tensor]:
    out: List[torch.Tensor] = []
    for v in parts:
        out.append(v * torch.rsqrt(1.0 + v.pow(2).mean(dim=-1, keepdim=True)))
    return out


def scalar_activation(parts: List[torch.Tensor], scalar_index: int) -> List[torch.Tensor]:
    """SiLU on the ``0e`` part (index ``scalar_index``; -1 when absent), identity elsewhere."""
    out: List[torch.Tensor] = []
    for k, v in enumerate(parts):
        out.append(torch.nn.functional.silu(v) if k == scalar_index else v)
    return out
