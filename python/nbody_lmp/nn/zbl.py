"""A short-range prior inside the model: the Ziegler–Biersack–Littmark screened nuclear repulsion
(docs/theory.md "Short-range prior").

The network's radial terms know nothing below the shortest distance in its training data, so a
pair pushed closer than that (a hot MD run, a bad start) can meet an energy that falls instead of
rising. With ``zbl: true`` every atom's energy gets half the ZBL pair energy of each of its
level-1 neighbours,

    E_i^ZBL = 1/2 sum_j phi(r_ij) f(r_ij / r_ij^cov),
    phi(r)  = (Z_i Z_j e^2 / (4 pi eps_0 r)) sum_k c_k exp(-d_k r / a),
    a       = 0.46850 A / (Z_i^0.23 + Z_j^0.23),

with the universal screening constants ``c_k``, ``d_k`` of Ziegler, Biersack and Littmark (1985),
and ``f`` the C2 polynomial envelope of :class:`.radial.Envelope` on ``[0, r^cov]``,
``r^cov = r_i^cov + r_j^cov`` the sum of the two species' covalent radii (ASE's table). The
envelope takes the repulsion smoothly to zero where bonding distances begin, so it acts where
atoms overlap and the network fits the energy around it everywhere else: training sees the
model that MD runs, and the exported file carries both (the pair style needs no
``hybrid/overlay``). The term is a sum of invariant pair functions: rotation, reflection and
permutation invariance hold exactly, and forces are its exact gradient.
"""

from __future__ import annotations

from typing import List, Sequence

import torch
from ase.data import atomic_numbers, covalent_radii

from .radial import Envelope

COULOMB = 14.3996454784255  # e^2 / (4 pi eps_0) in eV * Angstrom
SCREENING_C = (0.18175, 0.50986, 0.28022, 0.02817)
SCREENING_D = (3.19980, 0.94229, 0.40290, 0.20162)
SCREENING_LENGTH = 0.46850  # Angstrom


class ZBLRepulsion(torch.nn.Module):
    """Per-atom ZBL energies ``[n_out]`` from the level-1 edges (module docstring)."""

    def __init__(self, species: Sequence[str], first_cutoff: float):
        super().__init__()
        z = torch.tensor([float(atomic_numbers[s]) for s in species], dtype=torch.float64)
        r_cov = torch.tensor(
            [float(covalent_radii[atomic_numbers[s]]) for s in species], dtype=torch.float64
        )
        outer = r_cov[:, None] + r_cov[None, :]
        if float(outer.max()) > first_cutoff:
            raise ValueError(
                f"zbl: the repulsion reaches {float(outer.max()):.2f} A "
                f"(the sum of covalent radii) but the first level's cutoff is {first_cutoff} A; "
                "raise the cutoff or set model.zbl: false"
            )
        self.n_species = len(species)
        # pair tables, flattened over (species of the centre) * S + (species of the neighbour)
        self.register_buffer("charge_product", (COULOMB * z[:, None] * z[None, :]).flatten())
        self.register_buffer(
            "inv_screening",
            ((z[:, None] ** 0.23 + z[None, :] ** 0.23) / SCREENING_LENGTH).flatten(),
        )
        self.register_buffer("outer", outer.flatten())
        self.screening_c: List[float] = list(SCREENING_C)
        self.screening_d: List[float] = list(SCREENING_D)
        self.envelope = Envelope(1.0)

    def pair_energy(self, r: torch.Tensor, pair: torch.Tensor) -> torch.Tensor:
        """``phi(r) f(r / r^cov)`` for pairs of type ``pair`` (flattened species pair index)."""
        x = r * self.inv_screening.to(r.dtype)[pair]
        screen = torch.zeros_like(r)
        for c, d in zip(self.screening_c, self.screening_d):
            screen = screen + c * torch.exp(-d * x)
        f = self.envelope(r / self.outer.to(r.dtype)[pair])
        return self.charge_product.to(r.dtype)[pair] / r * screen * f

    def forward(
        self,
        species: torch.Tensor,
        edge_index: torch.Tensor,
        edge_vectors: torch.Tensor,
        n_out: int,
    ) -> torch.Tensor:
        center, neighbour = edge_index[0], edge_index[1]
        pair = species[center] * self.n_species + species[neighbour]
        r = torch.linalg.norm(edge_vectors, dim=-1)
        near = torch.nonzero((center < n_out) & (r < self.outer.to(r.dtype)[pair])).squeeze(-1)
        e = 0.5 * self.pair_energy(r[near], pair[near])
        return torch.zeros(n_out, dtype=edge_vectors.dtype, device=edge_vectors.device).index_add(
            0, center[near], e
        )
