"""Radial terms of the aggregation rules (paper eq. 10-12, DESIGN.md §2 "radial terms").

The paper weights the children by inverse powers of their distance, ``r^-s`` for ``s = 0..S``.
Here ``x = r / r_c`` and every term carries a smooth cutoff envelope ``f(x)`` whose value, first
and second derivatives vanish at ``x = 1``, so energies and forces are continuous when an atom
crosses the cutoff (needed for energy conservation in MD):

    f(x) = 1 - 10 x^3 + 15 x^4 - 6 x^5   (x < 1),   0   (x >= 1)
    u_s(r) = x^-s f(x),   s = 0..S

Optionally a small learnable network of these invariants mixes them into ``n_radial`` functions,
``R(r) = f(x) MLP(u(r))`` (the envelope again outside, so a bias cannot leak past the cutoff).
Radial weights are invariant, so covariance is untouched.
"""
from __future__ import annotations

import torch


class Envelope(torch.nn.Module):
    """``f(r / r_c)``: C2-smooth polynomial cutoff, exactly 0 beyond ``r_c``."""

    def __init__(self, cutoff: float):
        super().__init__()
        if not cutoff > 0:
            raise ValueError(f"cutoff must be > 0 Angstrom, got {cutoff}")
        self.cutoff = float(cutoff)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        x = (r / self.cutoff).clamp(max=1.0)
        return 1.0 - x * x * x * (10.0 - x * (15.0 - 6.0 * x))


class InversePowerRadial(torch.nn.Module):
    """The paper's ``(r/r_c)^-s`` for ``s = 0..S`` times the envelope, optionally MLP-mixed."""

    def __init__(self, cutoff: float, max_power: int = 2, n_radial: int = 0, hidden: int = 16):
        super().__init__()
        if max_power < 0:
            raise ValueError(f"radial max_power must be >= 0, got {max_power}")
        self.envelope = Envelope(cutoff)
        self.cutoff = float(cutoff)
        self.max_power = max_power
        self.use_mlp = n_radial > 0
        n_in = max_power + 1
        self.num_out = n_radial if self.use_mlp else n_in
        if self.use_mlp:
            self.mlp = torch.nn.Sequential(
                torch.nn.Linear(n_in, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, n_radial))
        else:
            self.mlp = torch.nn.Identity()

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """``r [E] -> [E, num_out]``."""
        f = self.envelope(r)
        inv = self.cutoff / r
        powers = [torch.ones_like(r)]
        for _ in range(self.max_power):
            powers.append(powers[-1] * inv)
        u = torch.stack(powers, dim=-1) * f.unsqueeze(-1)
        if self.use_mlp:
            return self.mlp(u) * f.unsqueeze(-1)
        return u
