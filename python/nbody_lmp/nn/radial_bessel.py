"""A smooth radial basis for the aggregation rules: spherical Bessel functions of order zero times
the cutoff envelope (docs/theory.md "Radial basis").

The paper weights a child by inverse powers of its distance (:mod:`.radial`). Those grow without
bound as ``r`` falls, so the radial network sees inputs far outside the range it was trained on
as soon as two atoms come closer than any training pair. The functions here are bounded and
smooth on the whole of ``[0, r_c]``:

    b_n(r) = sqrt(2 / r_c) sin(n pi r / r_c) / r,   n = 1..N,     b_n(0) = sqrt(2 / r_c) n pi / r_c
    u_n(r) = b_n(r) f(r / r_c)

with ``f`` the C2 polynomial envelope of :class:`.radial.Envelope`, so values and first two
derivatives vanish at the cutoff. They are the radial eigenfunctions of the Laplacian in a ball
of radius ``r_c`` with zero boundary value, which makes them an orthogonal basis of radial
functions on ``[0, r_c]``. A small learnable network may mix them into ``n_radial`` functions,
``R(r) = f(r / r_c) MLP(u(r))``, exactly as for the inverse powers. Below ``min_distance`` the
terms are held at their value there, the same rule as the inverse powers, so radial tables
(:mod:`.radial_table`) start at the same point whatever the basis.
"""

from __future__ import annotations

import math

import torch

from .radial import Envelope, check_min_distance, radial_mixer


class BesselRadial(torch.nn.Module):
    """``u_n(r) = b_n(r) f(r / r_c)`` for ``n = 1..N``, optionally MLP-mixed:
    ``r [E] -> [E, num_out]``."""

    def __init__(
        self,
        cutoff: float,
        n_basis: int = 8,
        n_radial: int = 0,
        hidden: int = 16,
        min_distance: float = 0.5,
    ):
        super().__init__()
        if n_basis < 1:
            raise ValueError(f"the Bessel radial basis needs n_basis >= 1, got {n_basis}")
        self.min_distance = check_min_distance(min_distance, cutoff)
        self.envelope = Envelope(cutoff)
        self.cutoff = float(cutoff)
        self.n_basis = int(n_basis)
        self.prefactor = math.sqrt(2.0 / self.cutoff)
        self.register_buffer(
            "frequencies",
            torch.arange(1, n_basis + 1, dtype=torch.get_default_dtype()) * (math.pi / self.cutoff),
        )
        self.use_mlp = n_radial > 0
        self.num_out = n_radial if self.use_mlp else self.n_basis
        self.mlp = radial_mixer(self.n_basis, n_radial, hidden)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        r = r.clamp(min=self.min_distance)
        f = self.envelope(r).unsqueeze(-1)
        k = self.frequencies.to(r.dtype)
        u = self.prefactor * torch.sin(r.unsqueeze(-1) * k) / r.unsqueeze(-1) * f
        if self.use_mlp:
            return self.mlp(u) * f
        return u
