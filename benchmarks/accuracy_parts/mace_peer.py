"""MACE beside ours, on the same data for the same budget on the same machine: ``mace_run_train`` in
its own environment (peer_venv), on the recipe's training file as peer_data writes it, stopped
after the same wall-clock budget by in_peer/mace_train.py, then evaluated on the same test file
by in_peer/evaluate.py.

Sizes (``SIZES``; the table says which): ``small`` is MACE's smallest documented model size,
128 scalar channels with invariant messages (``--num_channels 128 --max_L 0``, the size of
MACE-MP-0 "small"), correlation order 3, 2 interactions, r_max 5 Å; ``tiny`` is the same with
32 channels, for very short CPU budgets. Both train in float32 (as ours does) with MACE's
defaults otherwise (weighted energy/forces loss, EMA 0.99, AMSGrad, lr 0.01), batch size 5,
and the recipe's validation fraction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

from . import peer_data, peer_run, peer_venv
from .recipes import Recipe

IN_PEER = Path(__file__).resolve().parent / "in_peer"
SIZES = {"small": {"num_channels": 128, "max_L": 0}, "tiny": {"num_channels": 32, "max_L": 0}}


def mace_arguments(
    recipe: Recipe, data: Dict[str, Path], size: str, val_fraction: float, species
) -> list:
    s = SIZES[size]
    e0 = peer_data.e0_by_number(recipe, species)
    args = [
        "--name",
        "mace",
        "--train_file",
        str(data["train"]),
        "--valid_fraction",
        f"{val_fraction:g}",
        "--energy_key",
        "REF_energy",
        "--forces_key",
        "REF_forces",
        "--E0s",
        json.dumps(e0).replace('"', "") if e0 else "average",
        "--model",
        "MACE",
        "--num_channels",
        str(s["num_channels"]),
        "--max_L",
        str(s["max_L"]),
        "--correlation",
        "3",
        "--num_interactions",
        "2",
        "--r_max",
        "5.0",
        "--batch_size",
        "5",
        "--valid_batch_size",
        "10",
        "--max_num_epochs",
        "100000",
        "--ema",
        "--ema_decay",
        "0.99",
        "--amsgrad",
        "--lr",
        "0.01",
        "--default_dtype",
        "float32",
        "--device",
        "cpu",
        "--seed",
        "0",
        "--error_table",
        "TotalMAE" if recipe.molecule else "PerAtomMAE",
        "--save_cpu",
        "--log_dir",
        "logs",
        "--model_dir",
        ".",
        "--checkpoints_dir",
        "checkpoints",
        "--results_dir",
        "results",
        "--skip_evaluate_heads",
        "Default",
    ]  # its own end-of-run tables of train/valid errors: in_peer/evaluate.py does the test
    if recipe.stress:
        args += [
            "--stress_key",
            "REF_stress",
            "--compute_stress",
            "True",
            "--loss",
            "stress",
            "--error_table",
            "PerAtomRMSEstressvirials",
        ]
    return args


def train_and_evaluate(
    recipe: Recipe,
    budget_min: float,
    out: Path,
    force: bool = False,
    size: str = "small",
    val_fraction: float = 0.05,
    species=(),
    threads: int = 2,
    log=print,
) -> Dict[str, Any]:
    if size not in SIZES:
        raise SystemExit(f"unknown MACE size {size!r}: choose from {', '.join(SIZES)}")
    folder, reuse = peer_run.run_folder(out, recipe.name, f"mace-{size}", budget_min, force)
    if not reuse:
        python = peer_venv.ensure("mace", log=log)
        data = peer_data.prepare(recipe, Path(out) / f"{recipe.name}-peer-data")
        cmd = [
            str(python),
            str(IN_PEER / "mace_train.py"),
            str(60.0 * budget_min),
            "budget.json",
            "--",
            *mace_arguments(recipe, data, size, val_fraction, species),
        ]
        log(f"[mace-{size} {recipe.name}] training for {budget_min:g} min -> {folder}")
        peer_run.call(cmd, folder, "train.log", f"MACE training ({recipe.name})", threads=threads)
        log(f"[mace-{size} {recipe.name}] evaluating on {recipe.data('test').name}")
        peer_run.call(
            [
                str(python),
                str(IN_PEER / "evaluate.py"),
                "mace",
                "mace.model",
                str(data["test"]),
                "test_metrics.json",
                *(["--stress"] if recipe.stress else []),
            ],
            folder,
            "evaluate.log",
            f"MACE evaluation ({recipe.name})",
            threads=threads,
        )
    metrics = json.loads((folder / "test_metrics.json").read_text())
    status = json.loads((folder / "budget.json").read_text())
    return {
        "metrics": metrics,
        "train_s": status.get("train_s"),
        "params": metrics.get("params"),
        "epochs": status.get("epochs"),
        "stopped_by": status.get("stopped_by"),
        "run_dir": folder,
        "best_epoch": status.get("best_epoch"),
        "best_at_s": status.get("best_at_s"),
        "reused": reuse,
        "size": f"{size}: {SIZES[size]['num_channels']}x0e, max_L {SIZES[size]['max_L']}, "
        f"correlation 3, 2 layers, r_max 5",
    }
