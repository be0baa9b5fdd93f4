"""The one table of benchmarks.accuracy: per recipe, each
measured model (ours, the peers) and the published figures, with energy and force MAE and RMSE
(meV per molecule or meV/atom, meV/Å), stress RMSE where the data has it (meV/Å³), training wall
time, parameter count and LAMMPS MD throughput (atom-steps/s and the ratio to ``pair_style sw``
measured in the same run).

A row is a plain dict; :func:`row_from_metrics` builds the error columns from the JSON that
``nbody-lmp evaluate --json`` (and ``in_peer/evaluate.py``) write, in eV units.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional

from .recipes import Recipe

ERROR_COLUMNS = ("E_mae", "E_rmse", "F_mae", "F_rmse", "S_rmse")


def row_from_metrics(
    recipe: Recipe, model: str, metrics: Dict[str, Any], **extra: Any
) -> Dict[str, Any]:
    """A table row from evaluate's metrics (``{"energy": {"mae": eV, ...}, "forces": ...}``)."""
    ekey, unit = recipe.energy_unit
    missing = [k for k in (ekey, "forces") if k not in metrics]
    if missing:
        raise ValueError(
            f"metrics of {model} on {recipe.name} have no {missing}: was the test file evaluated "
            f"with its energies and forces? (keys present: {sorted(metrics)})"
        )
    row = {
        "recipe": recipe.name,
        "model": model,
        "E_mae": 1e3 * metrics[ekey]["mae"],
        "E_rmse": 1e3 * metrics[ekey]["rmse"],
        "F_mae": 1e3 * metrics["forces"]["mae"],
        "F_rmse": 1e3 * metrics["forces"]["rmse"],
        "E_unit": unit,
    }
    if recipe.stress and "stress" in metrics:
        row["S_rmse"] = 1e3 * metrics["stress"]["rmse"]
    row.update(extra)
    return row


def published_rows(recipe: Recipe) -> List[Dict[str, Any]]:
    """The published figures of the data README: MAE or RMSE, whichever the paper reported."""
    rows = []
    for model, p in recipe.published.items():
        m = p["metric"].lower()
        rows.append(
            {
                "recipe": recipe.name,
                "model": f"{model} (published)",
                f"E_{m}": p["E"],
                f"F_{m}": p["F"],
                "note": recipe.published_note,
            }
        )
    return rows


def _num(v: Optional[float], fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, fmt)


COLUMNS = [  # header, key, format, width
    ("recipe", "recipe", "s", 8),
    ("model", "model", "s", 22),
    ("budget", "budget_min", ".0f", 6),
    ("E MAE", "E_mae", ".2f", 8),
    ("E RMSE", "E_rmse", ".2f", 8),
    ("F MAE", "F_mae", ".1f", 7),
    ("F RMSE", "F_rmse", ".1f", 7),
    ("S RMSE", "S_rmse", ".2f", 7),
    ("train min", "train_s", "", 9),
    ("params", "params", ",d", 9),
    ("MD atom-steps/s", "md_atom_steps_s", ",.0f", 15),
    ("MD/sw", "md_vs_sw", ".4f", 8),
]


def _cell(row: Dict[str, Any], key: str, fmt: str) -> str:
    v = row.get(key)
    if key == "train_s":
        return _num(None if v is None else v / 60.0, ".1f")
    if isinstance(v, str) or fmt == "s":
        return "-" if v is None else str(v)
    return _num(v, fmt)


def _energy_units(rows: List[Dict[str, Any]]) -> str:
    """The energy unit of each recipe, from its rows (older results.json rows have none)."""
    names: Dict[str, List[str]] = {}
    for r in rows:
        if r.get("E_unit") and r["recipe"] not in names.setdefault(r["E_unit"], []):
            names[r["E_unit"]].append(r["recipe"])
    if not names:
        return "meV per molecule (rMD17, 3BPA) or meV/atom (mlearn)"
    said = {"meV/mol": "meV per molecule"}
    return "; ".join(f"{said.get(u, u)} ({', '.join(n)})" for u, n in names.items())


def format_table(rows: Iterable[Dict[str, Any]]) -> str:
    """Fixed-width text: one line per row, a blank line between recipes, units in the legend."""
    rows = list(rows)
    width = max([8, *(len(str(r.get("recipe", ""))) for r in rows)])
    columns = [(h, k, f, width if k == "recipe" else w) for h, k, f, w in COLUMNS]
    head = " ".join(h.rjust(w) if i > 1 else h.ljust(w) for i, (h, _, _, w) in enumerate(columns))
    lines = [head, "-" * len(head)]
    last = None
    for r in rows:
        if last is not None and r["recipe"] != last:
            lines.append("")
        last = r["recipe"]
        cells = [_cell(r, k, f) for _, k, f, _ in columns]
        lines.append(
            " ".join(
                c.rjust(w) if i > 1 else c.ljust(w)
                for i, (c, (_, _, _, w)) in enumerate(zip(cells, columns))
            )
        )
    lines.append("")
    lines.append(
        f"E: {_energy_units(rows)}; F: meV/Å; S: stress, meV/Å³; "
        "budget: wall-clock training minutes asked for; train min: measured;"
    )
    lines.append(
        "MD: LAMMPS atom-steps/s of the same model on a test configuration, and its ratio to "
        "pair_style sw (512-atom diamond Si) run just before it on the same machine."
    )
    notes = sorted({r["note"] for r in rows if r.get("note")})
    lines += [f"published: {n}" for n in notes]
    return "\n".join(lines)


def save_rows(path, rows: List[Dict[str, Any]]) -> None:
    """Write ``{"rows", "written"}`` to ``path`` (after each model, so an interrupted run keeps
    its rows)."""
    import json
    import time
    from pathlib import Path

    Path(path).write_text(
        json.dumps(
            {"rows": rows, "written": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, indent=1, default=str
        )
    )
