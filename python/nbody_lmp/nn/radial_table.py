"""Tabulated radial functions for an exported model (docs/theory.md, "Departures from the paper,
and why": "Tabulated radial functions"; the file's ``radial_table`` entry: docs/model-format.md,
"Extra file metadata.json").

The radial terms of eq. 10-12 (:mod:`.radial`: inverse powers, envelope, radial network, and for
``radial_weights: per_channel`` the per-channel weights) are functions of one invariant, the
distance ``r``, that depend only on the frozen model, so they can be computed once at export.
On an exported model they are replaced by a piecewise cubic Hermite interpolant on a uniform
grid ``r_min .. r_c``, ``r_min`` being the model's ``radial_min_distance`` (:mod:`.radial`):
values and first derivatives at the grid points are the exact ones (float64, autograd), so the
energy is C1 and forces stay ``-grad E`` of the interpolated model (the table supplies its own
first derivative; no second derivatives, so a tabulated model is for inference, not training).
The interpolation error is ``O(h^4)`` (tests/python/test_radial_table.py bounds it). Below
``r_min`` the value at ``r_min`` is held with zero slope, as the untabulated radial terms do (no
cubic extrapolated to ``r = 0``); beyond ``r_c`` the value is exactly zero, like the envelope's
(within a rounding of ``r_c`` the last interval's cubic gives zero to the coefficients'
rounding). Covariance is untouched: only invariant factors change.
"""

from __future__ import annotations

from typing import Optional

import torch

R_MIN = 0.5  # Angstrom: the table's first node when the radial module names no min_distance


def radial_min_distance(radial: torch.nn.Module) -> float:
    """The distance below which ``radial`` is constant (InversePowerRadial, or the one a
    per-channel radial wraps)."""
    for m in (radial, getattr(radial, "base", None)):
        if m is not None and hasattr(m, "min_distance"):
            return float(m.min_distance)
    return R_MIN


class TabulatedRadial(torch.nn.Module):
    """Cubic Hermite table of ``radial`` (``r [E] -> [E, ...]``) on ``points`` nodes in
    ``[r_min, cutoff]``.

    A per-channel radial (:class:`.channel_fragments.ChannelRadial`,
    ``R_{c l}(r) = sum_s w_{c l s} R_s(r)``) is tabulated through its ``S`` shared functions ``R_s``
    and keeps its (frozen) weights ``w``: the table then holds ``S`` columns instead of
    ``C x (L+1)``, and one small matmul per call mixes them (gathering ``7 x C x (L+1)``
    coefficients per edge would cost more than the arithmetic)."""

    def __init__(
        self, radial: torch.nn.Module, cutoff: float, points: int = 2048, r_min: float = R_MIN
    ):
        super().__init__()
        if points < 2 or not 0 < r_min < cutoff:
            raise ValueError(
                "radial table needs >= 2 points and 0 < r_min < cutoff, "
                f"got {points}, {r_min}, {cutoff}"
            )
        self.cutoff = float(cutoff)
        self.r_min = float(r_min)
        self.points = int(points)
        self.h = (self.cutoff - self.r_min) / (self.points - 1)
        base = [p for p in radial.parameters()] + [b for b in radial.buffers()]
        dtype = base[0].dtype if base else torch.get_default_dtype()
        f64 = _float64_copy(radial)
        mixing = getattr(f64, "weight", None) if hasattr(f64, "base") else None
        self.mixed = mixing is not None
        tabulated = f64.base if self.mixed else f64
        r = torch.linspace(
            self.r_min, self.cutoff, self.points, dtype=torch.float64
        ).requires_grad_(True)
        y = tabulated(r)
        self.out_shape = list(f64(r[:1]).shape[1:])
        y = y.reshape(self.points, -1)
        dy = torch.stack(
            [
                torch.autograd.grad(y[:, k].sum(), r, retain_graph=True)[0]
                for k in range(y.shape[1])
            ],
            1,
        )
        y, dy = y.detach(), dy.detach() * self.h  # derivative in grid units
        y[-1] = 0.0  # the envelope is exactly zero at r_c, with zero slope
        dy[-1] = 0.0
        y0, y1, d0, d1 = y[:-1], y[1:], dy[:-1], dy[1:]
        # p(t) = c0 + c1 t + c2 t^2 + c3 t^3 on [0, 1] with p, p' matching at both ends, and
        # p'(t) / h = e1 + e2 t + e3 t^2 (derivative in distance units, stored, not recomputed)
        c2, c3 = 3 * (y1 - y0) - 2 * d0 - d1, 2 * (y0 - y1) + d0 + d1
        rows = torch.stack([y0, d0, c2, c3, d0 / self.h, 2 * c2 / self.h, 3 * c3 / self.h], dim=1)
        # row 0: below r_min, the value at r_min held with zero slope; rows 1..G-1: the intervals;
        # row G: from r_c on, exactly zero (value and slope). No masks at run time.
        below = torch.zeros_like(rows[:1])
        below[0, 0] = y[0]
        rows = torch.cat([below, rows, torch.zeros_like(rows[:1])], 0)
        self.register_buffer("coeff", rows.reshape(self.points + 1, -1).to(dtype))  # [G+1, 7*S]
        self.n_out = y.shape[1]
        self.register_buffer(
            "mixing",
            (mixing.detach() if self.mixed else torch.zeros(0, 0, dtype=torch.float64)).to(dtype),
        )

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        # value p(t) and derivative p'(t) / h without autograd; the derivative enters through
        # (r - r.detach()) * dp/dr, which is exactly 0 in value and has gradient dp/dr: backward
        # then keeps one [E, S] tensor instead of the gathered coefficients (first derivatives only:
        # tables are for frozen, exported models, whose forces need no second derivative).
        # Fused multiply-adds (Horner's rule) on one gathered row per edge.
        with torch.no_grad():
            rd = r.detach()
            x = (rd - self.r_min) * (1.0 / self.h)
            f = x.floor()
            t = (x - f).unsqueeze(-1)
            i = (f.clamp(-1.0, self.points - 1.0) + 1.0).long()
            c = self.coeff.index_select(0, i).view(-1, 7, self.n_out)
            y = torch.addcmul(c[:, 2], t, c[:, 3])
            y = torch.addcmul(c[:, 1], t, y)
            y = torch.addcmul(c[:, 0], t, y)
            dy = torch.addcmul(c[:, 5], t, c[:, 6])
            dy = torch.addcmul(c[:, 4], t, dy)
        y = torch.addcmul(y, (r - rd).unsqueeze(-1), dy)
        if self.mixed:
            y = y @ self.mixing
        return y.view([-1] + self.out_shape)


def _float64_copy(module: torch.nn.Module) -> torch.nn.Module:
    import copy

    m = copy.deepcopy(module).to(torch.float64)
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def tabulate_radials(
    model: torch.nn.Module, points: int = 2048, r_min: Optional[float] = None
) -> int:
    """Replace the ``radial`` of every neighbourhood-fragments module of ``model`` by its table, in
    place (the model must be frozen: the table does not train). Returns how many were replaced."""
    n = 0
    for m in list(model.modules()):
        radial = getattr(m, "radial", None)
        if (
            radial is not None
            and hasattr(m, "inv_num_children")
            and not isinstance(radial, TabulatedRadial)
        ):
            m.radial = TabulatedRadial(
                radial,
                radial.cutoff,
                points,
                radial_min_distance(radial) if r_min is None else r_min,
            )
            n += 1
    return n
