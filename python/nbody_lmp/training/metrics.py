"""Error metrics of training and ``nbody-lmp evaluate`` (README.md, "Quick start"): MAE and RMSE
of energy per atom, forces and stress.

* ``energy_per_atom``: ``(E^pred - E) / N`` per configuration, eV/atom;
* ``energy``: total energy per configuration, eV;
* ``forces``: every Cartesian force component, eV/A;
* ``stress``: every component of the 3x3 stress (ASE sign), eV/A^3, for configurations that have
  one.

For each: ``mae``, ``rmse``, ``n`` (number of values), and the spread of the reference values
``std`` (so ``rmse / std`` is a scale-free error; for forces it is the standard deviation of all
force components). Optionally the (reference, predicted) pairs are kept for parity plots.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional

import numpy as np
import torch

__all__ = ["ErrorStats", "MetricsAccumulator", "QUANTITIES", "UNITS", "format_table"]

QUANTITIES = ("energy_per_atom", "energy", "forces", "stress")
UNITS = {
    "energy_per_atom": ("meV/atom", 1e3),
    "energy": ("meV", 1e3),
    "forces": ("meV/Å", 1e3),
    "stress": ("meV/Å³", 1e3),
}


class ErrorStats:
    """Running sums for MAE, RMSE and the reference's mean and standard deviation (float64)."""

    def __init__(self, keep: bool = False):
        self.n = 0
        self.abs = 0.0
        self.sq = 0.0
        self.ref = 0.0
        self.ref_sq = 0.0
        self.keep = keep
        self.refs: List[np.ndarray] = []
        self.preds: List[np.ndarray] = []

    def add(self, pred: np.ndarray, ref: np.ndarray) -> None:
        pred = np.asarray(pred, dtype=np.float64).ravel()
        ref = np.asarray(ref, dtype=np.float64).ravel()
        err = pred - ref
        self.n += err.size
        self.abs += float(np.abs(err).sum())
        self.sq += float((err * err).sum())
        self.ref += float(ref.sum())
        self.ref_sq += float((ref * ref).sum())
        if self.keep:
            self.refs.append(ref)
            self.preds.append(pred)

    def summary(self) -> Dict[str, float]:
        if self.n == 0:
            return {}
        mean = self.ref / self.n
        var = max(self.ref_sq / self.n - mean * mean, 0.0)
        return {
            "mae": self.abs / self.n,
            "rmse": math.sqrt(self.sq / self.n),
            "std": math.sqrt(var),
            "n": self.n,
        }

    def pairs(self):
        if not self.refs:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self.refs), np.concatenate(self.preds)


class MetricsAccumulator:
    """Feed it batches (predictions of :func:`~nbody_lmp.nn.properties.compute_properties` and the
    batch's graph); ``summary()`` gives ``{quantity: {mae, rmse, std, n}}`` in eV units."""

    def __init__(self, keep: bool = False):
        self.stats = {q: ErrorStats(keep) for q in QUANTITIES}

    def add(self, pred: Dict[str, torch.Tensor], graph) -> None:
        t = graph.targets
        if "energy" in t:
            e = pred["energy"].detach().double().cpu().numpy()
            ref = t["energy"].double().cpu().numpy()
            n = graph.n_atoms.double().cpu().numpy()
            self.stats["energy"].add(e, ref)
            self.stats["energy_per_atom"].add(e / n, ref / n)
        if "forces" in t and "forces" in pred:
            self.stats["forces"].add(
                pred["forces"].detach().cpu().numpy(), t["forces"].cpu().numpy()
            )
        if "stress" in t and "stress" in pred:
            self.stats["stress"].add(
                pred["stress"].detach().cpu().numpy(), t["stress"].cpu().numpy()
            )

    def summary(self) -> Dict[str, Dict[str, float]]:
        return {q: s.summary() for q, s in self.stats.items() if s.n > 0}

    def pairs(self, quantity: str):
        return self.stats[quantity].pairs()


def format_table(results: Dict[str, Dict[str, Dict[str, float]]]) -> str:
    """A plain-text table: one row per (set, quantity) with MAE, RMSE, reference std, RMSE/std."""
    rows = [("set", "quantity", "unit", "MAE", "RMSE", "ref. std", "RMSE/std", "n")]
    for name, summary in results.items():
        for q in QUANTITIES:
            m = summary.get(q)
            if not m:
                continue
            unit, f = UNITS[q]
            ratio = m["rmse"] / m["std"] if m.get("std") else float("nan")
            rows.append(
                (
                    name,
                    q,
                    unit,
                    f"{m['mae'] * f:.3f}",
                    f"{m['rmse'] * f:.3f}",
                    f"{m['std'] * f:.3f}",
                    f"{ratio:.4f}",
                    str(m["n"]),
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
            )
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def flat_row(
    prefix: str,
    summary: Dict[str, Dict[str, float]],
    quantities=("energy_per_atom", "forces", "stress"),
) -> Dict[str, Optional[float]]:
    """``{prefix_energy_per_atom_rmse: .., ...}`` for metrics.csv."""
    out: Dict[str, Optional[float]] = {}
    for q in quantities:
        m = summary.get(q, {})
        for k in ("mae", "rmse"):
            out[f"{prefix}_{q}_{k}"] = m.get(k)
    return out
