"""NequIP beside ours, on the same data for the same budget on the same machine: ``nequip-train``
in its own environment (peer_venv), on the recipe's training file as peer_data writes it, with a
config written here, stopped by Lightning's own wall-clock limit (``trainer.max_time``) at the
budget, and evaluated from its eager ``best.ckpt`` (NequIP >= 0.19 has no TorchScript compile on
torch >= 2.10) by in_peer/evaluate.py.

Size ``small`` is the NequIP tutorial's (configs/tutorial.yaml of the NequIP repository, which
calls 32 features "a good default"): 4 interaction layers, l_max 1, 32 features, parity on,
8 Bessel functions, radial MLP 2 x 64, r_max 5 Å, float32, EMA 0.999, Adam lr 0.01 with
ReduceLROnPlateau, batch size 5; ``tiny`` is 2 layers of 16 features. No torch.compile, no ZBL.
Per-type energy shifts are the recipe's isolated-atom energies where it has them.
The measured training time is the whole ``nequip-train`` process (its data set-up included).
:func:`epoch_record` reads Lightning's CSV log for the completed epochs and the epoch and minute
of ``best.ckpt`` (a best epoch long before the budget says the run had stopped improving).
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path
from typing import Any, Dict

from . import peer_data, peer_run, peer_venv
from .recipes import Recipe

IN_PEER = Path(__file__).resolve().parent / "in_peer"
SIZES = {
    "small": {"num_layers": 4, "l_max": 1, "num_features": 32},
    "tiny": {"num_layers": 2, "l_max": 1, "num_features": 16},
}


def _max_time(budget_min: float) -> str:
    s = int(round(60 * budget_min))
    return f"00:{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"  # Lightning's DD:HH:MM:SS


def config(
    recipe: Recipe, train_file: Path, budget_min: float, size: str, val_fraction: float, species
) -> Dict:
    s = SIZES[size]
    stress = recipe.stress
    e0 = peer_data.e0_by_number(recipe, species)
    if e0:
        from ase.data import chemical_symbols

        shifts: Any = {chemical_symbols[z]: v for z, v in e0.items()}
    else:
        shifts = "${training_data_stats:per_atom_energy_mean}"
    keys = {
        "REF_energy": "total_energy",
        "REF_forces": "forces",
        **({"REF_stress": "stress"} if stress else {}),
    }
    loader = {"_target_": "torch.utils.data.DataLoader", "num_workers": 0}
    metrics = {
        "_target_": "nequip.train.EnergyForceStressMetrics"
        if stress
        else "nequip.train.EnergyForceMetrics",
        "coeffs": {
            "total_energy_mae": 1.0,
            "forces_mae": 1.0,
            **({"stress_mae": 1.0} if stress else {}),
        },
    }
    return {
        "run": ["train"],
        "cutoff_radius": 5.0,
        "chemical_symbols": list(species),
        "model_type_names": "${chemical_symbols}",
        "monitored_metric": "val0_epoch/weighted_sum",
        "data": {
            "_target_": "nequip.data.datamodule.ASEDataModule",
            "seed": 0,
            "split_dataset": {
                "file_path": str(train_file),
                "train": 1.0 - val_fraction,
                "val": val_fraction,
            },
            "key_mapping": keys,
            "transforms": [
                {
                    "_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper",
                    "model_type_names": "${model_type_names}",
                    "chemical_species_to_atom_type_map": {s: s for s in species},
                },
                {
                    "_target_": "nequip.data.transforms.NeighborListTransform",
                    "r_max": "${cutoff_radius}",
                },
            ],
            "train_dataloader": {**loader, "batch_size": 5, "shuffle": True},
            "val_dataloader": {**loader, "batch_size": 10},
            "stats_manager": {
                "_target_": "nequip.data.CommonDataStatisticsManager",
                "dataloader_kwargs": {"batch_size": 10},
                "type_names": "${model_type_names}",
            },
        },
        "trainer": {
            "_target_": "lightning.Trainer",
            "accelerator": "cpu",
            "enable_checkpointing": True,
            "max_epochs": 100000,
            "max_time": _max_time(budget_min),
            "check_val_every_n_epoch": 1,
            "log_every_n_steps": 20,
            "enable_progress_bar": False,
            "logger": {
                "_target_": "lightning.pytorch.loggers.CSVLogger",
                "save_dir": "${hydra:runtime.output_dir}",
            },
            "callbacks": [
                {
                    "_target_": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "monitor": "${monitored_metric}",
                    "dirpath": "${hydra:runtime.output_dir}",
                    "filename": "best",
                    "save_last": True,
                }
            ],
        },
        "training_module": {
            "_target_": "nequip.train.EMALightningModule",
            "ema_decay": 0.999,
            "loss": {
                "_target_": "nequip.train.EnergyForceStressLoss"
                if stress
                else "nequip.train.EnergyForceLoss",
                "per_atom_energy": True,
                "coeffs": {
                    "total_energy": 1.0,
                    "forces": 1.0,
                    **({"stress": 1.0} if stress else {}),
                },
            },
            "val_metrics": metrics,
            "train_metrics": "${training_module.val_metrics}",
            "test_metrics": "${training_module.val_metrics}",
            "optimizer": {"_target_": "torch.optim.Adam", "lr": 0.01},
            "lr_scheduler": {
                "scheduler": {
                    "_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau",
                    "factor": 0.6,
                    "patience": 5,
                    "threshold": 0.2,
                    "min_lr": 1e-6,
                },
                "monitor": "${monitored_metric}",
                "interval": "epoch",
                "frequency": 1,
            },
            "model": {
                "_target_": "nequip.model.NequIPGNNModel",
                "seed": 0,
                "model_dtype": "float32",
                "type_names": "${model_type_names}",
                "r_max": "${cutoff_radius}",
                "num_bessels": 8,
                "bessel_trainable": False,
                "polynomial_cutoff_p": 6,
                "num_layers": s["num_layers"],
                "l_max": s["l_max"],
                "parity": True,
                "num_features": s["num_features"],
                "radial_mlp_depth": 2,
                "radial_mlp_width": 64,
                "avg_num_neighbors": "${training_data_stats:num_neighbors_mean}",
                "per_type_energy_scales": "${training_data_stats:per_type_forces_rms}",
                "per_type_energy_shifts": shifts,
                "per_type_energy_scales_trainable": False,
                "per_type_energy_shifts_trainable": False,
            },
        },
        "global_options": {"allow_tf32": False},
    }


def epoch_record(outputs: Path, start_wall: float) -> Dict[str, Any]:
    """{"epochs", "best_epoch" (1-based), "best_at_s"} from ``outputs/**/metrics.csv`` (the
    validation rows of the monitored metric) and the time ``best.ckpt`` was last written."""
    metric = "val0_epoch/weighted_sum"
    out: Dict[str, Any] = {}
    for log in sorted(Path(outputs).rglob("metrics.csv")):
        with open(log, newline="") as fh:
            vals = [
                (int(float(r["epoch"])), float(r[metric]))
                for r in csv.DictReader(fh)
                if r.get(metric) not in (None, "") and not math.isnan(float(r[metric]))
            ]
        if vals:
            out["epochs"] = max(e for e, _ in vals) + 1
            out["best_epoch"] = min(vals, key=lambda ev: ev[1])[0] + 1
    best = Path(outputs) / "best.ckpt"
    if best.is_file():
        out["best_at_s"] = best.stat().st_mtime - start_wall
    return out


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
    import yaml

    if size not in SIZES:
        raise SystemExit(f"unknown NequIP size {size!r}: choose from {', '.join(SIZES)}")
    folder, reuse = peer_run.run_folder(out, recipe.name, f"nequip-{size}", budget_min, force)
    if not reuse:
        python = peer_venv.ensure("nequip", log=log)
        data = peer_data.prepare(recipe, Path(out) / f"{recipe.name}-peer-data")
        (folder / "config.yaml").write_text(
            yaml.safe_dump(
                config(recipe, data["train"], budget_min, size, val_fraction, species),
                sort_keys=False,
            )
        )
        log(f"[nequip-{size} {recipe.name}] training for {budget_min:g} min -> {folder}")
        t0, wall0 = time.monotonic(), time.time()
        peer_run.call(
            [
                str(python.parent / "nequip-train"),
                "-cp",
                str(folder),
                "-cn",
                "config",
                f"hydra.run.dir={folder / 'outputs'}",
            ],
            folder,
            "train.log",
            f"NequIP training ({recipe.name})",
            threads=threads,
        )
        status = {
            "train_s": time.monotonic() - t0,
            "budget_s": 60 * budget_min,
            "stopped_by": "Lightning max_time or max_epochs",
            **epoch_record(folder / "outputs", wall0),
        }
        (folder / "budget.json").write_text(json.dumps(status, indent=1))
        ckpt = folder / "outputs" / "best.ckpt"
        if not ckpt.is_file():
            raise RuntimeError(
                f"NequIP wrote no {ckpt} (no validation epoch within the budget?); see "
                f"{folder / 'train.log'}"
            )
        log(f"[nequip-{size} {recipe.name}] evaluating {ckpt.name} on {recipe.data('test').name}")
        peer_run.call(
            [
                str(python),
                str(IN_PEER / "evaluate.py"),
                "nequip",
                str(ckpt),
                str(data["test"]),
                "test_metrics.json",
                *(["--stress"] if recipe.stress else []),
            ],
            folder,
            "evaluate.log",
            f"NequIP evaluation ({recipe.name})",
            threads=threads,
        )
    metrics = json.loads((folder / "test_metrics.json").read_text())
    status = json.loads((folder / "budget.json").read_text())
    s = SIZES[size]
    return {
        "metrics": metrics,
        "train_s": status["train_s"],
        "params": metrics.get("params"),
        "stopped_by": status.get("stopped_by"),
        "run_dir": folder,
        "reused": reuse,
        "epochs": status.get("epochs"),
        "best_epoch": status.get("best_epoch"),
        "best_at_s": status.get("best_at_s"),
        "size": (
            f"{size}: {s['num_layers']} layers, l_max {s['l_max']}, "
            f"{s['num_features']} features, r_max 5"
        ),
    }
