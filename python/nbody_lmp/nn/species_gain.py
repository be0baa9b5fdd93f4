"""Species at every level (``model.species_levels: all``; docs/theory.md, "Departures from the
paper, and why": "Species at every level").

By default the species enters only at the leaves, as their embedding (the paper's scheme). With
this module each level's node also carries the species of its centre atom: every fragment of part
``l`` is multiplied by a learned gain ``g[species, c, l]`` and the scalar part ``0e`` gets a
learned bias ``b[species, c]``:

    F^l_c  ->  g[s, c, l] F^l_c          F^{0e}_c  ->  F^{0e}_c + b[s, c]

A gain is a channel-diagonal ``W^l`` that depends on the node (paper, Proposition 1: any linear
map that combines whole fragments of one part with weights that are scalars of the node keeps
covariance; the species is one), and the bias is an invariant added to an invariant. The gains
start at 1 and the biases at 0, so training starts from the leaves-only network.
"""

from __future__ import annotations

from typing import List, Sequence

import torch

from ..so3 import Irrep

SPECIES_LEVELS = ("leaves", "all")


class SpeciesGain(torch.nn.Module):
    """``[n, C, D] -> [n, C, D]``: per-species, per-channel, per-part gains and a scalar bias."""

    def __init__(self, irreps: Sequence[Irrep], channels: int, n_species: int):
        super().__init__()
        irreps = list(irreps)
        self.gain = torch.nn.Parameter(torch.ones(n_species, channels, len(irreps)))
        self.bias = torch.nn.Parameter(torch.zeros(n_species, channels))
        # plain attributes, not buffers: libtorch's Module::to(dtype) would cast integer buffers
        self.part_dims: List[int] = [ir.dim for ir in irreps]
        offsets = [sum(self.part_dims[:k]) for k in range(len(irreps))]
        scalars = [o for o, ir in zip(offsets, irreps) if ir == Irrep(0, 1)]
        self.scalar_offset: int = scalars[0] if scalars else -1

    def forward(self, x: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        g = self.gain[species]  # [n, C, parts]
        cols: List[torch.Tensor] = []
        k = 0
        for d in self.part_dims:
            cols.append(g[:, :, k : k + 1].expand(-1, -1, d))
            k += 1
        y = x * torch.cat(cols, dim=-1)
        if self.scalar_offset >= 0:
            o = self.scalar_offset
            b = self.bias[species].unsqueeze(-1)  # [n, C, 1]
            y = torch.cat([y[:, :, :o], y[:, :, o : o + 1] + b, y[:, :, o + 1 :]], dim=-1)
        return y


class NoSpeciesGain(torch.nn.Module):
    """``species_levels: leaves``: the node's state as it is (keeps one module per level)."""

    def forward(self, x: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        return x
