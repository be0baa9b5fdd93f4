"""The picture of benchmarks.accuracy: test force error against LAMMPS throughput, one point per
model (ours and the peers). Where a model has no LAMMPS
number (the peers run in no LAMMPS here) its point goes on a second panel, against training wall
time, beside ours; published figures are horizontal lines (they have neither number).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List


def _ok(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def force_error_plot(rows: List[Dict[str, Any]], path: Path, metric: str = "F_mae") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in rows if _ok(r.get(metric)) and "published" not in r["model"]]
    recipes = sorted({r["recipe"] for r in measured})
    fig, axes = plt.subplots(
        len(recipes) or 1, 2, figsize=(11, 4 * max(1, len(recipes))), squeeze=False
    )
    for i, name in enumerate(recipes):
        ax_md, ax_t = axes[i]
        mine = [r for r in measured if r["recipe"] == name]
        for r in mine:
            label = (
                f"{r['model']} ({r['budget_min']:g} min)"
                if _ok(r.get("budget_min"))
                else r["model"]
            )
            if _ok(r.get("md_atom_steps_s")):
                ax_md.scatter(r["md_atom_steps_s"], r[metric], s=50)
                ax_md.annotate(
                    label,
                    (r["md_atom_steps_s"], r[metric]),
                    textcoords="offset points",
                    xytext=(5, 5),
                )
            if _ok(r.get("train_s")):
                ax_t.scatter(r["train_s"] / 60, r[metric], s=50)
                ax_t.annotate(
                    label, (r["train_s"] / 60, r[metric]), textcoords="offset points", xytext=(5, 5)
                )
        for r in rows:
            if r["recipe"] == name and "published" in r["model"] and _ok(r.get(metric)):
                for ax in (ax_md, ax_t):
                    ax.axhline(r[metric], ls=":", lw=0.8, color="grey")
                ax_t.annotate(
                    r["model"],
                    (0, r[metric]),
                    xycoords=("axes fraction", "data"),
                    fontsize=7,
                    color="grey",
                )
        ax_md.set_xscale("log")
        ax_md.set_xlabel("LAMMPS MD throughput (atom-steps/s, this machine)")
        ax_t.set_xlabel("training wall time (min, same machine)")
        for ax in (ax_md, ax_t):
            ax.set_ylabel(f"test force {'MAE' if metric == 'F_mae' else 'RMSE'} (meV/Å)")
            ax.set_yscale("log")
            ax.set_title(name)
            ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
