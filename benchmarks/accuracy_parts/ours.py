"""Our side of benchmarks.accuracy: train a recipe with ``nbody-lmp train`` for a
wall-clock budget (``training.time_limit_minutes``), or reuse the run that is already there, and
evaluate its exported model once on the recipe's test file with ``nbody-lmp evaluate``.

A finished run (its ``test_metrics.json`` exists) is reused as it is; a run folder that holds
an unfinished run is an error unless ``force`` (then ``nbody-lmp train --force`` moves the old
files to ``previous-<time>/``; nothing is deleted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence

from .recipes import Recipe

CLI = [sys.executable, "-m", "nbody_lmp.cli"]


def run_dir_for(recipe: Recipe, budget_min: float, out: Path, tag: str = "") -> Path:
    """``out/<recipe>-nbody[-<tag>]-<budget>min``: one folder per recipe, variant and budget."""
    return Path(out) / f"{recipe.name}-nbody{'-' + tag if tag else ''}-{budget_min:g}min"


def parameter_count(model_file: Path) -> int:
    from nbody_lmp.export import load_exported

    return int(sum(p.numel() for p in load_exported(model_file)[0].parameters()))


def _call(cmd: List[str], what: str) -> None:
    proc = subprocess.run(cmd, text=True, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}"
        )


def evaluate_args(recipe: Recipe) -> List[str]:
    """``nbody-lmp evaluate``'s options that read the test file as the config reads the training
    file (its energy, forces and, where the recipe has it, stress keys)."""
    opts = recipe.read_options()
    args = []
    for key in ("energy_key", "forces_key", "stress_key", "virial_key", "stress_format"):
        if opts.get(key) is not None:
            args += ["--" + key.replace("_", "-"), str(opts[key])]
    return args


def train_command(
    recipe: Recipe, run_dir: Path, budget_min: float, overrides: Sequence[str] = ()
) -> List[str]:
    """``nbody-lmp train`` of the recipe's config for ``budget_min`` into ``run_dir``, on the
    recipe's training file, isolated-atom energies and species (:meth:`Recipe.overrides`)
    whatever the config says, then ``overrides`` (``KEY=VALUE``)."""
    cmd = CLI + ["train", str(recipe.config_path), "-q"]
    sets = [
        f"output.run_dir={Path(run_dir).resolve()}",
        f"training.time_limit_minutes={budget_min:g}",
        "training.max_epochs=100000",
        "output.progress=false",
        *(f"{key}={json.dumps(value)}" for key, value in recipe.overrides().items()),
        *overrides,
    ]
    for item in sets:
        cmd += ["--set", item]
    return cmd


def train_and_evaluate(
    recipe: Recipe,
    budget_min: float,
    out: Path,
    force: bool = False,
    overrides: Sequence[str] = (),
    log=print,
    tag: str = "",
) -> Dict[str, Any]:
    """``{"metrics", "train_s", "params", "model", "run_dir", "reused", "epochs", "summary"}`` of
    our model on ``recipe``, trained on the recipe's files (:meth:`Recipe.overrides`) whatever its
    config says (``overrides``: ``KEY=VALUE`` config changes, ``tag``: their name in the
    folder)."""
    run_dir = run_dir_for(recipe, budget_min, out, tag)
    test_json = run_dir / "test_metrics.json"
    reused = test_json.is_file() and not force
    if not reused:
        finished = (run_dir / "metrics.json").is_file() and (run_dir / "model.pt").is_file()
        if run_dir.exists() and any(run_dir.iterdir()) and not finished and not force:
            raise SystemExit(
                f"{run_dir} holds an unfinished run: pass --force to start over (nbody-lmp train "
                f"moves its files to previous-<time>/), or remove the folder"
            )
        if not finished or force:
            cmd = train_command(recipe, run_dir, budget_min, overrides)
            if force and run_dir.exists():
                cmd.append("--force")
            log(f"[nbody {recipe.name}] training for {budget_min:g} min -> {run_dir}")
            _call(cmd, f"nbody-lmp train ({recipe.name})")
        log(f"[nbody {recipe.name}] evaluating on {recipe.data('test').name}")
        _call(
            CLI
            + [
                "evaluate",
                str(run_dir / "model.pt"),
                str(recipe.data("test")),
                "-q",
                *evaluate_args(recipe),
                "--plot",
                str(run_dir / "parity_test.png"),
                "--json",
                str(test_json),
            ],
            f"nbody-lmp evaluate ({recipe.name})",
        )
    summary = json.loads((run_dir / "metrics.json").read_text())
    return {
        "metrics": json.loads(test_json.read_text()),
        "train_s": float(summary["training_time_s"]),
        "params": parameter_count(run_dir / "model.pt"),
        "model": run_dir / "model.pt",
        "run_dir": run_dir,
        "reused": reused,
        "epochs": summary.get("epochs"),
        "summary": summary,
    }
