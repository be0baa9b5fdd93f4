"""Training loop of ``nbody-lmp train`` (docs/training.md, "What a run does"; the configuration
it reads: :mod:`.config`).

    cfg = load_config("config.yaml")
    result = Trainer(cfg).run()           # or Trainer(cfg, resume=True) / Trainer(cfg, force=True)

The run folder (never reused without ``resume``/``force``), the data and its statistics, the
model and optimiser, then epochs (:mod:`.epoch`) until ``max_epochs``, the time limit or early
stopping, with ``metrics.csv``, ``last.pt`` and ``best.pt`` after each (:mod:`.checkpoint`,
atomic), and at the end the best weights' errors, plots (:mod:`.plots`) and the exported model.
Under ``torchrun`` the same loop runs on every process (:mod:`.distributed`); only the first
one writes files.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from .checkpoint import (
    DTYPES,
    load_checkpoint,
    model_from_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    training_metadata,
)
from .config import RESUMABLE_CHANGES, ConfigError, TrainConfig, diff_configs
from .distributed import Distributed, TrainingProcessLost
from .ema import ExponentialMovingAverage
from .epoch import EpochSettings, evaluate_model, train_epoch
from .losses import WeightedLoss
from .metrics import flat_row

__all__ = ["Trainer", "TrainResult", "evaluate_model", "prepare_run_dir"]

CSV_COLUMNS = [
    "epoch",
    "time_s",
    "lr",
    "train_loss",
    "val_loss",
    "train_energy_per_atom_mae",
    "train_energy_per_atom_rmse",
    "train_forces_mae",
    "train_forces_rmse",
    "train_stress_mae",
    "train_stress_rmse",
    "val_energy_per_atom_mae",
    "val_energy_per_atom_rmse",
    "val_forces_mae",
    "val_forces_rmse",
    "val_stress_mae",
    "val_stress_rmse",
    "best",
]


@dataclass
class TrainResult:
    run_dir: Path
    epochs: int
    best_epoch: int
    stop_reason: str
    elapsed_s: float
    metrics: Dict[str, Dict[str, Dict[str, float]]] = field(default_factory=dict)
    model_file: Optional[Path] = None


# ------------------------------------------------------------------------------------ helpers
def parameter_groups(model: torch.nn.Module, weight_decay: float, on: str) -> List[Dict]:
    """The optimizer's parameter groups: ``weight_decay`` on every trainable parameter
    (``on == "all"``), or on the mixing matrices ``W^l`` (:class:`~nbody_lmp.nn.mixing.PartMixing`)
    alone (``"mixing"``), the rest without it."""
    from ..nn.mixing import PartMixing

    mixing = {id(p) for m in model.modules() if isinstance(m, PartMixing) for p in m.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    if on == "all":
        return [{"params": trainable, "weight_decay": weight_decay}]
    decayed = [p for p in trainable if id(p) in mixing]
    rest = [p for p in trainable if id(p) not in mixing]
    return [
        {"params": decayed, "weight_decay": weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]


def check_run_dir(run_dir: Path, resume: bool, force: bool) -> List[Path]:
    """Refuse to reuse a run folder unless asked (nothing is changed); returns what it holds."""
    if resume and force:
        raise ConfigError(
            "--resume and --force contradict each other: --resume continues the run in "
            f"{run_dir}, --force starts a new one there"
        )
    if resume:
        if not (run_dir / "last.pt").is_file():
            raise FileNotFoundError(
                f"cannot resume: {run_dir / 'last.pt'} does not exist; start a new run "
                "without --resume"
            )
        return []
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(
            f"output.run_dir {run_dir} exists and is not a folder; choose another run_dir"
        )
    items = sorted(run_dir.iterdir()) if run_dir.exists() else []
    if items and not force:
        names = ", ".join(p.name for p in items[:4]) + (", ..." if len(items) > 4 else "")
        raise FileExistsError(
            f"run folder {run_dir} already exists and holds {names}: choose another "
            "output.run_dir, continue it "
            "with --resume, or start over with --force (its contents are moved into "
            f"{run_dir.name}/previous-<time>/, "
            f"nothing is deleted)"
        )
    return items


def prepare_run_dir(run_dir: Path, resume: bool, force: bool) -> None:
    """:func:`check_run_dir`, then ``force`` moves old contents aside (never deletes)."""
    items = check_run_dir(run_dir, resume, force)
    if resume:
        return
    if items:
        dest = run_dir / f"previous-{datetime.datetime.now():%Y%m%d-%H%M%S}"
        k = 1
        while dest.exists():
            dest = run_dir / f"previous-{datetime.datetime.now():%Y%m%d-%H%M%S}-{k}"
            k += 1
        dest.mkdir()
        for p in items:
            shutil.move(str(p), str(dest / p.name))
    run_dir.mkdir(parents=True, exist_ok=True)


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_options(cfg: TrainConfig) -> Dict[str, Any]:
    """How a run reads its data files: the label keys of ``data`` and which labels it needs."""
    d = cfg.data
    return dict(
        energy_key=d.energy_key,
        forces_key=d.forces_key,
        stress_key=d.stress_key,
        virial_key=d.virial_key,
        stress_format=d.stress_format,
        require_energy=d.energy_key is not None,
        require_forces=d.forces_key is not None,
        require_stress=cfg.loss.stress_weight > 0,
    )


def check_device(device: torch.device) -> None:
    """A clear error, before any data is read, when ``training.device`` names a GPU PyTorch cannot
    use."""
    if device.type != "cuda":
        return
    if not torch.cuda.is_available():
        build = f"a CUDA {torch.version.cuda} build" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(
            f"training.device is {device} but PyTorch sees no CUDA GPU (torch {torch.__version__} "
            "is "
            f"{build}); set training.device: cpu, or install a CUDA build of PyTorch on a GPU "
            "machine"
        )
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(
            f"training.device is {device} but only {torch.cuda.device_count()} GPU(s) are visible "
            f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})"
        )


# ------------------------------------------------------------------------------------ trainer
class Trainer:
    """One training run; see the module docstring. ``callbacks`` are called as ``cb(trainer, row)``
    after each epoch's checkpoints are written (``row``: that epoch's metrics.csv row)."""

    def __init__(
        self,
        cfg: TrainConfig,
        resume: bool = False,
        force: bool = False,
        callbacks: Sequence[Callable[["Trainer", Dict[str, Any]], None]] = (),
        log: Callable[[str], None] = print,
    ):
        self.cfg = cfg
        self.resume = resume
        self.force = force
        self.callbacks = list(callbacks)
        self.log = log
        self.run_dir = Path(cfg.output.run_dir)
        self.dtype = DTYPES[cfg.training.dtype]
        self.device = torch.device(cfg.training.device)

    # -------------------------------------------------------------------------- set-up
    def _read_options(self) -> Dict[str, Any]:
        return read_options(self.cfg)

    def _load_data(self) -> None:
        cfg = self.cfg
        t0 = time.perf_counter()
        if cfg.data.store == "sharded":
            return self._load_sharded(t0)
        confs, train_idx, val_idx, val_confs = self._read_split()
        train_confs = [confs[i] for i in train_idx]
        cutoffs = (
            cfg.model.cutoff
            if isinstance(cfg.model.cutoff, list)
            else [cfg.model.cutoff] * cfg.model.levels
        )
        self._statistics(train_confs, cutoffs)
        self._graphs(max(cutoffs), train_confs, val_confs, train_idx, val_idx)
        from ..data.statistics import shortest_distances

        self._summarise(
            t0,
            n_edges=sum(int(g.edge_index.shape[1]) for g in self.train_graphs),
            shortest=shortest_distances(self.train_graphs, self.species),
            train_sha256=_file_sha256(cfg.data.train),
        )

    def _load_sharded(self, t0: float) -> None:
        """``data.store: sharded``: graphs read lazily from on-disk stores
        (:mod:`.sharded_data`), with the same split and statistics as in memory."""
        from .sharded_data import load_sharded

        dist = getattr(self, "dist", None) or Distributed()
        data = load_sharded(self.cfg, self._read_options(), dist, self.log)
        self.species, st = data.species, data.statistics
        self.stats, self.avg_num_children = st.stats, st.avg_num_children
        self.train_graphs, self.val_graphs = data.train_graphs, data.val_graphs
        if not len(self.train_graphs):
            raise ValueError(f"{self.cfg.data.train}: no training configurations")
        self._summarise(
            t0, n_edges=st.n_edges, shortest=st.shortest_distances, train_sha256=data.train_sha256
        )

    def _read_split(self):
        """The training configurations, the species, and the validation split (a file or a
        seeded fraction of the training file)."""
        from ..data import read_configurations, split_indices

        cfg, d = self.cfg, self.cfg.data
        opts = self._read_options()
        species = cfg.model.species
        if species is None:  # the elements of the training (and validation) data, by atomic number
            from ase.data import atomic_numbers

            confs = read_configurations(d.train, **opts)
            found = {s for c in confs for s in c.symbols}
            if d.validation:
                found |= {s for c in read_configurations(d.validation, **opts) for s in c.symbols}
            species = sorted(found, key=lambda s: atomic_numbers[s])
        else:
            confs = read_configurations(d.train, species=species, **opts)
        self.species = list(species)
        if d.validation:
            train_idx, val_idx = np.arange(len(confs)), None
            val_confs = read_configurations(d.validation, species=self.species, **opts)
        else:
            train_idx, val_idx = split_indices(
                len(confs), d.val_fraction, cfg.seed if d.split_seed is None else d.split_seed
            )
            val_confs = [confs[i] for i in val_idx]
        return confs, train_idx, val_idx, val_confs

    def _statistics(self, train_confs, cutoffs) -> None:
        """E0, shift, scale and the average number of children per level, from the training set."""
        from ..data import compute_statistics, e0_from_isolated_atoms, read_configurations
        from ..data.statistics import average_num_neighbors

        d = self.cfg.data
        if isinstance(d.e0, dict):
            e0 = d.e0
        elif d.e0 == "fit":
            e0 = None
        else:
            # the file may list more elements than the model has (rMD17's isolated_atoms.xyz has N)
            e0 = e0_from_isolated_atoms(
                read_configurations(d.e0, require_forces=False), self.species
            )
        self.stats = compute_statistics(train_confs, self.species, cutoff=max(cutoffs), e0=e0)
        per_cut = {c: average_num_neighbors(train_confs, c) for c in set(cutoffs)}
        self.avg_num_children = [per_cut[c] + 1.0 for c in cutoffs]

    def _graphs(self, rmax, train_confs, val_confs, train_idx, val_idx) -> None:
        """Neighbour lists of both sets, from the on-disk cache when ``data.cache_dir`` is set."""
        from ..data import load_graphs

        d = self.cfg.data
        if d.cache_dir:
            all_train = load_graphs(
                d.train, self.species, rmax, cache_dir=d.cache_dir, **self._cache_opts()
            )
            self.train_graphs = [all_train[i] for i in train_idx]
            if d.validation:
                self.val_graphs = load_graphs(
                    d.validation, self.species, rmax, cache_dir=d.cache_dir, **self._cache_opts()
                )
            else:
                self.val_graphs = [all_train[i] for i in val_idx]
        else:
            self.train_graphs = [c.to_graph(self.species, rmax) for c in train_confs]
            self.val_graphs = [c.to_graph(self.species, rmax) for c in val_confs]
        if not self.train_graphs:
            raise ValueError(f"{d.train}: no training configurations")

    def _summarise(self, t0: float, n_edges: int, shortest: dict, train_sha256: str) -> None:
        """``data_summary`` (stored in checkpoints and the model file) and the log line."""
        d, st = self.cfg.data, self.stats
        self.data_summary = {
            "train_file": d.train,
            "train_sha256": train_sha256,
            "validation_file": d.validation,
            "val_fraction": None if d.validation else d.val_fraction,
            "n_train": len(self.train_graphs),
            "n_validation": len(self.val_graphs),
            "n_train_atoms": int(st.n_atoms),
            "species_counts": st.species_counts,
            "e0": st.e0,
            "e0_fitted": bool(st.e0_fitted),
            "shift": float(st.shift),
            "scale": float(st.scale),
            "energy_per_atom_std": float(st.energy_per_atom_std),
            "force_rms": float(st.force_rms),
            "avg_num_children": self.avg_num_children,
            "avg_edges_per_config": n_edges / len(self.train_graphs),
            "shortest_distances": shortest,
            "keys": {
                k: getattr(d, k)
                for k in ("energy_key", "forces_key", "stress_key", "virial_key", "stress_format")
            },
        }
        self.log(
            f"data: {len(self.train_graphs)} training and {len(self.val_graphs)} validation "
            f"configurations, species {self.species}, E0 {'fitted' if st.e0_fitted else 'given'} "
            + ", ".join(f"{s} {v:.4f}" for s, v in st.e0.items())
            + f" eV, shift {st.shift:.4f} eV/atom, scale {st.scale:.4f}, "
            f"children/node {', '.join(f'{a:.1f}' for a in self.avg_num_children)} "
            f"({time.perf_counter() - t0:.1f} s)"
        )

    def _cache_opts(self) -> Dict[str, Any]:
        return self._read_options()

    def _build(self) -> None:
        from ..nn.network import NBodyNetwork

        cfg, t = self.cfg, self.cfg.training
        torch.manual_seed(cfg.seed)
        self.model = NBodyNetwork(self.species, **cfg.model_kwargs(), dtype=self.dtype)
        self.model.set_energy_statistics(
            e0=self.stats.e0, scale=self.stats.scale, shift=self.stats.shift
        )
        self.model.set_avg_num_children(self.avg_num_children)
        self.model.set_shortest_distances(self.data_summary.get("shortest_distances"))
        self.model.to(self.device)
        opt_cls = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        # foreach: one fused update for all parameter tensors (torch's CPU default loops over them)
        self.optimizer = opt_cls(
            parameter_groups(self.model, t.weight_decay, t.weight_decay_on),
            lr=t.lr,
            foreach=True,
        )
        if t.scheduler == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer,
                mode="min",
                factor=t.lr_factor,
                patience=t.lr_patience,
                min_lr=t.min_lr,
            )
        else:
            self.scheduler = None  # "cosine" is set per epoch by _cosine_lr; "none" keeps lr
        self.ema = ExponentialMovingAverage(self.model, t.ema_decay) if t.ema_decay else None
        self.batch_size = t.batch_size  # training.late_batch_size in the late stage
        self.loss = WeightedLoss(cfg.loss)  # validation and model selection: the configured weights
        self.train_loss = WeightedLoss(
            cfg.loss
        )  # training: the same, but late_energy_weight late in the run
        n_par = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.log(
            f"model: {cfg.model.levels} levels, gate {cfg.model.gate}, lmax {cfg.model.lmax}, "
            f"{cfg.model.channels} channels, cutoff {cfg.model.cutoff} Å, {n_par:,} parameters, "
            f"{t.dtype}"
        )

    def _state(self, eval_state) -> Dict[str, Any]:
        return {
            "model_config": dict(self.model.config),
            "dtype": self.cfg.training.dtype,
            "model_state": self.model.state_dict(),
            "eval_state": eval_state,
            "ema": self.ema.state_dict() if self.ema else None,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "elapsed_s": self.elapsed,
            "finished": self.finished,
            "stop_reason": self.stop_reason,
            "history": self.history,
            "rng": rng_state(),
            "config": self.cfg.to_dict(),
            "data_summary": self.data_summary,
            "final_metrics": getattr(self, "final_metrics", None),
        }

    def _restore(self, state: Dict[str, Any]) -> None:
        changed = [
            k
            for k in diff_configs(state["config"], self.cfg.to_dict())
            if k not in RESUMABLE_CHANGES
        ]
        if changed:
            raise ConfigError(
                f"cannot resume {self.run_dir}: the config differs from the run's in "
                f"{', '.join(changed)}. "
                f"Only {', '.join(sorted(RESUMABLE_CHANGES))} may change on --resume; restore the "
                "others, or start "
                f"a new run (another output.run_dir, or --force)"
            )
        self.model.load_state_dict(
            state["model_state"]
        )  # copies the saved (CPU) tensors onto the device
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.best_loss = float(state["best_loss"])
        self.best_epoch = int(state["best_epoch"])
        self.bad_epochs = int(state["bad_epochs"])
        self.elapsed = float(state["elapsed_s"])
        self.history = list(state["history"])
        set_rng_state(state["rng"])
        self.log(
            f"resuming {self.run_dir} after epoch {self.epoch} (best validation loss "
            f"{self.best_loss:.4g} at "
            f"epoch {self.best_epoch})"
        )

    # -------------------------------------------------------------------------- epochs
    def _train_epoch(self, epoch: int):
        cfg, t = self.cfg, self.cfg.training
        settings = EpochSettings(
            batch_size=self.batch_size,
            grad_clip=t.grad_clip,
            stress=cfg.loss.stress_weight > 0,
            device=self.device,
            desc=f"epoch {epoch}/{t.max_epochs}",
            show_progress=cfg.output.progress,
        )
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        return train_epoch(
            self.model,
            self.train_graphs,
            self.optimizer,
            self.train_loss,
            self.ema,
            gen,
            settings,
            self.dist,
        )

    def _validate(self):
        if not self.val_graphs:
            return None, {}
        self.model.eval()
        ctx = self.ema.applied(self.model) if self.ema is not None else _null()
        with ctx:
            acc, loss = evaluate_model(
                self.model,
                self.val_graphs,
                batch_size=max(self.cfg.training.batch_size, 8),
                loss=self.loss,
                device=self.device,
                dist=self.dist,
            )
        return loss, acc.summary()

    def _eval_state(self):
        if self.ema is None:
            return {k: v.clone() for k, v in self.model.state_dict().items()}
        with self.ema.applied(self.model):
            return {k: v.clone() for k, v in self.model.state_dict().items()}

    def _write_csv(self) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in self.history:
            w.writerow(
                {
                    k: (
                        ""
                        if r.get(k) is None
                        else (f"{r[k]:.8g}" if isinstance(r[k], float) else r[k])
                    )
                    for k in CSV_COLUMNS
                }
            )
        from ..export import atomic_write_bytes

        atomic_write_bytes(self.run_dir / "metrics.csv", buf.getvalue().encode())

    def _summary_line(self, row: Dict[str, Any], improved: bool) -> str:
        t = self.cfg.training

        def fmt(key, f=1e3, d=2):
            v = row.get(key)
            return "-" if v is None else f"{v * f:.{d}f}"

        parts = [
            f"epoch {row['epoch']:>{len(str(t.max_epochs))}d}/{t.max_epochs}",
            f"lr {row['lr']:.2e}",
            f"loss train {row['train_loss']:.3e}",
        ]
        if row.get("val_loss") is not None:
            parts[-1] += f" val {row['val_loss']:.3e}"
        prefix = "val" if row.get("val_loss") is not None else "train"
        parts.append(
            f"{prefix} E {fmt(prefix + '_energy_per_atom_rmse')} meV/atom, "
            f"F {fmt(prefix + '_forces_rmse', d=1)} meV/Å"
            + (
                f", S {fmt(prefix + '_stress_rmse', d=3)} meV/Å³"
                if row.get(prefix + "_stress_rmse")
                else ""
            )
            + " (RMSE)"
        )
        parts.append(f"{row['epoch_time_s']:.1f} s" + (" *" if improved else ""))
        return " | ".join(parts)

    # -------------------------------------------------------------------------- run
    def run(self) -> TrainResult:
        check_device(self.device)
        self.dist, self.device = Distributed.from_environment(self.device)
        try:
            return self._run()
        except TrainingProcessLost as exc:
            raise TrainingProcessLost(
                f"{exc}. The run stops; {self.run_dir / 'last.pt'} holds the last finished epoch: "
                "find why the other process stopped, then continue with --resume (with any number "
                "of processes)"
            ) from exc
        finally:
            self.dist.close()

    def _run(self) -> TrainResult:
        cfg, t, dist = self.cfg, self.cfg.training, self.dist
        if not dist.is_main:
            self.log = _quiet
        dist.on_main(lambda: prepare_run_dir(self.run_dir, self.resume, self.force))
        if t.num_threads:
            torch.set_num_threads(t.num_threads)
        state = load_checkpoint(self.run_dir / "last.pt") if self.resume else None
        if state is not None and state.get("finished") and state["epoch"] >= t.max_epochs:
            raise ConfigError(
                f"the run in {self.run_dir} already finished ({state.get('stop_reason')}, epoch "
                f"{state['epoch']}); raise training.max_epochs to train further, or start a new run"
            )
        if dist.active:
            self.log(
                f"data-parallel training: {dist.world_size} processes, "
                f"{'nccl' if self.device.type == 'cuda' else 'gloo'}, "
                f"{torch.get_num_threads()} thread(s) each, global batch {t.batch_size}"
            )
        self._load_data()
        self._build()
        self.epoch, self.best_loss, self.best_epoch, self.bad_epochs = 0, math.inf, 0, 0
        self.elapsed, self.history, self.finished, self.stop_reason = 0.0, [], False, ""
        if state is not None:
            self._restore(state)
        dist.broadcast_module(self.model)
        if dist.is_main:
            import yaml

            (self.run_dir / "config.yaml").write_text(
                "# resolved configuration of this run (every key, defaults filled in), from "
                f"{cfg.source}\n" + yaml.safe_dump(cfg.to_dict(), sort_keys=False)
            )

        limit = t.time_limit_minutes * 60 if t.time_limit_minutes else None
        self._last_plot = time.monotonic()
        try:
            self._epochs(limit)
        except KeyboardInterrupt:
            if dist.is_main:  # the curves so far, beside last.pt, for the run it may resume
                self._plot_learning_curves()
            raise
        self.finished = True
        self.log(
            f"stopped after epoch {self.epoch}: {self.stop_reason}; best epoch {self.best_epoch} "
            f"(total training time {self.elapsed / 60:.1f} min)"
        )
        return self._finish()

    def _epochs(self, limit: Optional[float]) -> None:
        """Train until max_epochs, the time limit (seconds) or early stopping; a checkpoint and a
        metrics row after every epoch, the learning curves every ``output.plot_every_minutes``."""
        t = self.cfg.training
        patience = t.early_stopping_patience
        last_epoch_time = 0.0
        while True:
            if self.epoch >= t.max_epochs:
                self.stop_reason = f"reached max_epochs = {t.max_epochs}"
                break
            if limit is not None and self.elapsed + last_epoch_time > limit:
                self.stop_reason = f"time limit of {t.time_limit_minutes:g} min"
                break
            if patience is not None and self.bad_epochs >= patience:
                self.stop_reason = (
                    f"early stopping: no validation improvement for {patience} epochs"
                )
                break
            epoch = self.epoch + 1
            t0 = time.perf_counter()
            progress = self._progress(limit, last_epoch_time)
            if t.scheduler == "cosine":
                self._cosine_lr(progress)
            self._late_stage(progress)
            lr = self.optimizer.param_groups[0]["lr"]
            train_loss, train_metrics = self._train_epoch(epoch)
            val_loss, val_metrics = self._validate()
            monitor = val_loss if val_loss is not None else train_loss
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(monitor)
            elif self.scheduler is not None:
                self.scheduler.step()
            improved = monitor < self.best_loss
            self.epoch = epoch
            if improved:
                self.best_loss, self.best_epoch, self.bad_epochs = monitor, epoch, 0
            else:
                self.bad_epochs += 1
            # the slowest process's time, so every process takes the same time-limit decision
            last_epoch_time = self.dist.max_float(time.perf_counter() - t0, self.device)
            self.elapsed += last_epoch_time
            row = {
                "epoch": epoch,
                "time_s": round(self.elapsed, 3),
                "lr": lr,
                "train_loss": train_loss,
                "val_loss": val_loss,
                **flat_row("train", train_metrics),
                **flat_row("val", val_metrics),
                "best": int(improved),
                "epoch_time_s": last_epoch_time,
            }
            self.history.append(row)
            if self.dist.is_main:
                self._record(row, improved)

    def _record(self, row: Dict[str, Any], improved: bool) -> None:
        """After an epoch (main process): metrics.csv, the checkpoints, the summary line, the
        learning curves when due, the callbacks."""
        self._write_csv()
        eval_state = self._eval_state()
        if improved:
            save_checkpoint(self.run_dir / "best.pt", self._state(eval_state))
        save_checkpoint(self.run_dir / "last.pt", self._state(eval_state))
        self.log(self._summary_line(row, improved))
        every = self.cfg.output.plot_every_minutes
        if every is not None and time.monotonic() - self._last_plot >= every * 60:
            self._plot_learning_curves()
        for cb in self.callbacks:
            cb(self, row)

    def _plot_learning_curves(self) -> None:
        """Draw ``learning_curves.png`` from the history so far (a long run shows its progress as
        a plot, and an interrupted one keeps it)."""
        if self.cfg.output.plots and self.history:
            from .plots import learning_curves

            learning_curves(self.history, self.run_dir / "learning_curves.png")
        self._last_plot = time.monotonic()

    def _progress(self, limit: Optional[float], epoch_time: float) -> float:
        """How far the run is, in [0, 1]: the larger of the epochs done over ``max_epochs`` and,
        with a time limit, the time at the end of this epoch (estimated from the last one) over the
        limit, so the schedules have ended when either budget ends. With a time limit they
        therefore depend on the machine's speed."""
        t = self.cfg.training
        progress = self.epoch / t.max_epochs
        if limit is not None and self.epoch > 0:
            progress = max(progress, (self.elapsed + epoch_time) / limit)
        return min(progress, 1.0)

    def _cosine_lr(self, progress: float) -> None:
        """Cosine decay from ``lr`` to ``min_lr`` over the run's progress."""
        t = self.cfg.training
        lr = t.min_lr + (t.lr - t.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _late_stage(self, progress: float) -> None:
        """The last ``loss.late_fraction`` of the run (docs/training.md, "Regularisation"):
        ``loss.late_energy_weight`` replaces the training energy weight (a second stage that fits
        energies harder once forces are learnt) and ``training.late_batch_size`` the batch size;
        validation keeps the configured weights, so model selection compares like with like."""
        lo, t = self.cfg.loss, self.cfg.training
        late = progress >= 1.0 - lo.late_fraction
        energy = lo.late_energy_weight if late and lo.late_energy_weight is not None else None
        self.train_loss.w["energy"] = float(lo.energy_weight if energy is None else energy)
        bigger = late and t.late_batch_size is not None
        self.batch_size = int(t.late_batch_size if bigger else t.batch_size)

    def _final_errors(self, model):
        """The best model's errors on the training and validation sets, and (on the main
        process) the (reference, prediction) pairs of every process for the parity plot."""
        sets = {"train": self.train_graphs}
        if self.val_graphs:
            sets["validation"] = self.val_graphs
        results, pairs = {}, {}
        for name, graphs in sets.items():
            acc, _ = evaluate_model(
                model,
                graphs,
                batch_size=max(self.cfg.training.batch_size, 8),
                keep=True,
                progress=self.cfg.output.progress,
                desc=f"final {name}",
                dist=self.dist,
            )
            results[name] = acc.summary()
            mine = {q: acc.pairs(q) for q in ("energy_per_atom", "forces", "stress")}
            every = self.dist.gather(mine)
            if every is not None:
                pairs[name] = {
                    q: tuple(np.concatenate([p[q][k] for p in every]) for k in (0, 1)) for q in mine
                }
        return results, pairs

    def _finish(self) -> TrainResult:
        from .metrics import format_table

        cfg = self.cfg
        best_path = self.run_dir / "best.pt"
        self.dist.barrier()  # best.pt is complete before any process reads it
        best = load_checkpoint(best_path)
        model = model_from_checkpoint(best)
        results, pairs = self._final_errors(model)
        self.final_metrics = results
        if not self.dist.is_main:
            return TrainResult(
                self.run_dir, self.epoch, self.best_epoch, self.stop_reason, self.elapsed, results
            )
        self.log(
            f"best model (epoch {self.best_epoch}) on the training data:\n" + format_table(results)
        )
        # the final state, with its metrics, in both checkpoints
        best["final_metrics"] = results
        best["finished"], best["stop_reason"], best["elapsed_s"] = (
            True,
            self.stop_reason,
            self.elapsed,
        )
        best["history"] = self.history
        save_checkpoint(best_path, best)
        save_checkpoint(self.run_dir / "last.pt", self._state(self._eval_state()))
        summary = {
            "best_epoch": self.best_epoch,
            "epochs": self.epoch,
            "stop_reason": self.stop_reason,
            "training_time_s": self.elapsed,
            "metrics": results,
            "data": self.data_summary,
        }
        (self.run_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
        if cfg.output.plots:
            from .plots import learning_curves, parity_plot

            learning_curves(self.history, self.run_dir / "learning_curves.png")
            parity_plot(
                pairs,
                self.run_dir / "parity.png",
                title=f"best model (epoch {self.best_epoch}) — energy per atom and force "
                "components",
            )
        model_file = None
        if cfg.output.export_dtype:
            from ..export import export

            model_file = self.run_dir / "model.pt"
            export(
                model,
                model_file,
                dtype=cfg.output.export_dtype,
                metadata=training_metadata(best, best_path),
                overwrite=True,
                radial_table=cfg.output.export_radial_table,
            )
            self.log(f"exported {model_file} ({cfg.output.export_dtype})")
        return TrainResult(
            self.run_dir,
            self.epoch,
            self.best_epoch,
            self.stop_reason,
            self.elapsed,
            results,
            model_file,
        )


def _quiet(message: str) -> None:
    """The log of every process but the main one."""


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
