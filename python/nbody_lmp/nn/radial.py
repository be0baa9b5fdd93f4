"""Radial terms of the aggregation rules (paper eq. 10-12; docs/theory.md, "Departures from the
paper, and why": "Smooth envelope").

The paper weights the children by inverse powers of their distance, ``r^-s`` for ``s = 0..S``.
Here ``x = r / r_c`` and every term carries a smooth cutoff envelope ``f(x)`` whose value, first
and second derivatives vanish at ``x = 1``, so energies and forces are continuous when an atom
crosses the cutoff (needed for energy conservation in MD):

    f(x) = 1 - 10 x^3 + 15 x^4 - 6 x^5   (x < 1),   0   (x >= 1)
    u_s(r) = x^-s f(x),   s = 0..S

Atoms much closer than any training pair (MD at high temperature, a bad start) would feed the
radial network inputs ``x^-S`` of 10^6 and more, and ``r = 0`` infinities. Below
``min_distance`` (0.5 A by default, shorter than any chemical bond) the radial terms are held
at their value there (``r`` -> ``max(r, r_min)``): the model is unchanged above ``r_min``, finite
and bounded below it. It knows nothing of the physics of such close pairs: overlay a
repulsion for that (``pair_style hybrid/overlay nbody zbl``, docs/lammps.md).

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


def check_min_distance(min_distance: float, cutoff: float) -> float:
    """``min_distance`` (Angstrom) as a float, or a ValueError unless
    ``0 < min_distance < cutoff``."""
    if not 0 < min_distance < cutoff:
        raise ValueError(
            f"radial min_distance must be > 0 and below the cutoff {cutoff}, got {min_distance}"
        )
    return float(min_distance)


def radial_mixer(n_in: int, n_radial: int, hidden: int) -> torch.nn.Module:
    """The small network that mixes ``n_in`` basis functions into ``n_radial`` radial functions
    (one hidden SiLU layer of width ``hidden``), or the identity when ``n_radial == 0``."""
    if n_radial > 0:
        return torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, n_radial)
        )
    return torch.nn.Identity()


class InversePowerRadial(torch.nn.Module):
    """The paper's ``(r/r_c)^-s`` for ``s = 0..S`` times the envelope, optionally MLP-mixed."""

    def __init__(
        self,
        cutoff: float,
        max_power: int = 2,
        n_radial: int = 0,
        hidden: int = 16,
        min_distance: float = 0.5,
    ):
        super().__init__()
        if max_power < 0:
            raise ValueError(f"radial max_power must be >= 0, got {max_power}")
        self.min_distance = check_min_distance(min_distance, cutoff)
        self.envelope = Envelope(cutoff)
        self.cutoff = float(cutoff)
        self.max_power = max_power
        self.use_mlp = n_radial > 0
        self.num_out = n_radial if self.use_mlp else max_power + 1
        self.mlp = radial_mixer(max_power + 1, n_radial, hidden)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """``r [E] -> [E, num_out]``; below ``min_distance`` the value at ``min_distance``."""
        r = r.clamp(min=self.min_distance)
        f = self.envelope(r)
        inv = self.cutoff / r
        powers = [torch.ones_like(r)]
        for _ in range(self.max_power):
            powers.append(powers[-1] * inv)
        u = torch.stack(powers, dim=-1) * f.unsqueeze(-1)
        if self.use_mlp:
            return self.mlp(u) * f.unsqueeze(-1)
        return u
