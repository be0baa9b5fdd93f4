"""Plots of a training run (learning curves; at the end, energy/force parity plots for train and
validation) and of ``nbody-lmp evaluate`` (a parity plot; README.md, "Quick start"). PNG files
through matplotlib's Agg back end (no display needed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["learning_curves", "parity_plot"]

PathLike = Union[str, os.PathLike]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def learning_curves(history: List[Dict[str, Optional[float]]], path: PathLike) -> Path:
    """Loss, energy and force RMSE (train and validation) and the learning rate per epoch."""
    plt = _plt()
    ep = np.array([r["epoch"] for r in history])

    def col(key):
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in history])

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    panels = [
        ("loss", "train_loss", "val_loss", 1.0, "weighted loss"),
        (
            "energy",
            "train_energy_per_atom_rmse",
            "val_energy_per_atom_rmse",
            1e3,
            "energy RMSE (meV/atom)",
        ),
        ("forces", "train_forces_rmse", "val_forces_rmse", 1e3, "force RMSE (meV/Å)"),
    ]
    for ax, (_, tr, va, f, label) in zip(axes, panels):
        if np.isfinite(col(tr)).any():
            ax.plot(ep, col(tr) * f, label="train (running, raw weights)")
        if np.isfinite(col(va)).any():
            ax.plot(ep, col(va) * f, label="validation")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    axes[3].plot(ep, col("lr"))
    axes[3].set_yscale("log")
    axes[3].set_xlabel("epoch")
    axes[3].set_ylabel("learning rate")
    axes[3].grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parity_plot(
    sets: Dict[str, Dict[str, Tuple[np.ndarray, np.ndarray]]],
    path: PathLike,
    quantities: Sequence[str] = ("energy_per_atom", "forces"),
    title: Optional[str] = None,
) -> Path:
    """One row per data set (``{"train": {"forces": (ref, pred), ...}, "validation": ...}``), one
    column per quantity: predicted vs reference with the MAE/RMSE in the corner."""
    plt = _plt()
    from .metrics import UNITS

    names = [n for n in sets if any(len(sets[n].get(q, ((), ()))[0]) for q in quantities)]
    quantities = [q for q in quantities if any(len(sets[n].get(q, ((), ()))[0]) for n in names)]
    if not names or not quantities:
        raise ValueError("nothing to plot: no reference values")
    fig, axes = plt.subplots(
        len(names),
        len(quantities),
        figsize=(4.6 * len(quantities), 4.3 * len(names)),
        squeeze=False,
    )
    for r, name in enumerate(names):
        for c, q in enumerate(quantities):
            ax = axes[r][c]
            ref, pred = sets[name].get(q, (np.zeros(0), np.zeros(0)))
            unit, f = UNITS[q]
            unit_label = unit.replace("meV", "eV")
            if len(ref) == 0:
                ax.set_axis_off()
                continue
            ref, pred = np.asarray(ref), np.asarray(pred)
            err = pred - ref
            lo, hi = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
            pad = 0.03 * (hi - lo if hi > lo else 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8)
            ax.scatter(
                ref,
                pred,
                s=4 if len(ref) > 2000 else 10,
                alpha=0.4 if len(ref) > 2000 else 0.7,
                edgecolors="none",
            )
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_aspect("equal")
            label = q.replace("_", " ")
            ax.set_xlabel(f"reference {label} ({unit_label})")
            ax.set_ylabel(f"predicted {label} ({unit_label})")
            ax.set_title(name)
            ax.text(
                0.04,
                0.96,
                f"MAE  {np.abs(err).mean() * f:.2f} {unit}\n"
                f"RMSE {np.sqrt((err**2).mean()) * f:.2f} {unit}\nn = {len(ref)}",
                transform=ax.transAxes,
                va="top",
                fontsize=9,
                family="monospace",
                bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"),
            )
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
