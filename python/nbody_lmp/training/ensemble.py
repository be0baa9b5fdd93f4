"""Training and exporting an ensemble of models (``nbody-lmp train --ensemble N`` /
``training.ensemble: N``; ``nbody-lmp export`` writes them all). What an ensemble is for: README.md,
"Ensembles: is the MD still where the model was trained?", and docs/lammps.md, "Several models:
model deviation".

The N members differ only in their seed (``seed + k`` for member k: initial weights and batch
order) and, with ``training.ensemble_split: member``, in their validation split; by default
(``same``) they all use the split of the top-level ``seed``. Each member is an ordinary run
folder of :class:`~nbody_lmp.training.trainer.Trainer` inside ``output.run_dir``::

    run_dir/ensemble.json        members, seeds, model files
    run_dir/member-0/            last.pt, best.pt, metrics.csv, ..., model.pt
    run_dir/member-1/ ...

The members are trained one after the other. ``--resume`` continues each member where it
stopped: a finished member is kept as it is, an interrupted one resumes from its ``last.pt``, one
not yet begun starts; raising ``training.ensemble`` on ``--resume`` adds members. ``--force``
moves the whole folder's contents aside (``previous-<time>/``), as for a single run.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

from .checkpoint import export_checkpoint, load_checkpoint
from .config import ConfigError, TrainConfig
from .trainer import Trainer, TrainResult, prepare_run_dir

__all__ = [
    "EnsembleResult",
    "EnsembleTrainer",
    "member_dir",
    "member_dirs",
    "is_ensemble_dir",
    "export_ensemble",
    "ensemble_output_names",
]

MEMBER_PREFIX = "member-"


def member_dir(run_dir: Union[str, Path], k: int) -> Path:
    return Path(run_dir) / f"{MEMBER_PREFIX}{k}"


def member_dirs(run_dir: Union[str, Path]) -> List[Path]:
    """The member folders of an ensemble run folder, in member order."""
    found = [
        p
        for p in Path(run_dir).glob(f"{MEMBER_PREFIX}*")
        if p.is_dir() and p.name[len(MEMBER_PREFIX) :].isdigit()
    ]
    return sorted(found, key=lambda p: int(p.name[len(MEMBER_PREFIX) :]))


def is_ensemble_dir(path: Union[str, Path]) -> bool:
    p = Path(path)
    return (
        p.is_dir()
        and not (p / "best.pt").exists()
        and ((p / "ensemble.json").is_file() or bool(member_dirs(p)))
    )


def member_config(cfg: TrainConfig, k: int) -> TrainConfig:
    """Member k's configuration: seed + k, its own run folder, the shared split unless asked."""
    m = copy.deepcopy(cfg)
    m.seed = cfg.seed + k
    if cfg.training.ensemble_split == "same" and cfg.data.split_seed is None:
        m.data.split_seed = cfg.seed
    m.output.run_dir = str(member_dir(cfg.output.run_dir, k))
    return m


@dataclass
class EnsembleResult:
    run_dir: Path
    members: List[Optional[TrainResult]] = field(
        default_factory=list
    )  # None: kept from before (--resume)
    model_files: List[Optional[Path]] = field(default_factory=list)


def _member_is_done(folder: Path, max_epochs: int) -> bool:
    last = folder / "last.pt"
    if not last.is_file():
        return False
    state = load_checkpoint(last)
    if not state.get("finished"):
        return False
    # a member that stopped at max_epochs continues when max_epochs was raised
    return not (
        str(state.get("stop_reason", "")).startswith("reached max_epochs")
        and state["epoch"] < max_epochs
    )


class EnsembleTrainer:
    """Train ``cfg.training.ensemble`` members (see the module docstring)."""

    def __init__(
        self,
        cfg: TrainConfig,
        resume: bool = False,
        force: bool = False,
        log: Callable[[str], None] = print,
        callbacks: Sequence[Callable] = (),
    ):
        if cfg.training.ensemble < 2:
            raise ConfigError(
                "an ensemble needs training.ensemble >= 2 (--ensemble N), "
                f"got {cfg.training.ensemble}"
            )
        self.cfg, self.resume, self.force, self.log = cfg, resume, force, log
        self.callbacks = list(callbacks)  # passed to every member's Trainer: cb(trainer, row)
        self.run_dir = Path(cfg.output.run_dir)

    def _write_manifest(self, model_files) -> None:
        n = self.cfg.training.ensemble
        manifest = {
            "ensemble": n,
            "members": [f"{MEMBER_PREFIX}{k}" for k in range(n)],
            "seeds": [self.cfg.seed + k for k in range(n)],
            "ensemble_split": self.cfg.training.ensemble_split,
            "models": [
                None if f is None else str(Path(f).relative_to(self.run_dir)) for f in model_files
            ],
            "config": self.cfg.source,
        }
        (self.run_dir / "ensemble.json").write_text(json.dumps(manifest, indent=2))

    def run(self) -> EnsembleResult:
        n = self.cfg.training.ensemble
        if self.resume:
            if self.force:
                raise ConfigError("--resume and --force contradict each other")
            if not self.run_dir.is_dir() or not is_ensemble_dir(self.run_dir):
                raise FileNotFoundError(
                    f"cannot resume: {self.run_dir} is not an ensemble run folder "
                    "(no ensemble.json or member-*/); start a new run without --resume"
                )
        else:
            prepare_run_dir(self.run_dir, resume=False, force=self.force)
        result = EnsembleResult(self.run_dir)
        self._write_manifest([None] * n)
        for k in range(n):
            mcfg = member_config(self.cfg, k)
            folder = Path(mcfg.output.run_dir)
            self.log(f"ensemble member {k + 1}/{n}: seed {mcfg.seed}, {folder}")
            if self.resume and _member_is_done(folder, mcfg.training.max_epochs):
                self.log(f"member {k}: already finished, kept as it is")
                result.members.append(None)
                model = folder / "model.pt"
                if mcfg.output.export_dtype and not model.is_file():  # interrupted while exporting
                    export_checkpoint(folder, model, dtype=mcfg.output.export_dtype)
                result.model_files.append(model if model.is_file() else None)
                continue
            resume = self.resume and (folder / "last.pt").is_file()
            # resuming a member interrupted before its first epoch: start it over (files moved
            # aside)
            restart = self.resume and not resume and folder.is_dir() and any(folder.iterdir())
            r = Trainer(
                mcfg, resume=resume, force=restart, log=self.log, callbacks=self.callbacks
            ).run()
            result.members.append(r)
            result.model_files.append(r.model_file)
            self._write_manifest(result.model_files + [None] * (n - k - 1))
        return result


def ensemble_output_names(output: Union[str, Path], n: int) -> List[Path]:
    """``model.pt`` -> ``model-0.pt``, ``model-1.pt``, ... (one file per member)."""
    output = Path(output)
    return [output.with_name(f"{output.stem}-{k}{output.suffix or '.pt'}") for k in range(n)]


def export_ensemble(
    run_dir: Union[str, Path],
    output: Union[str, Path],
    dtype: Optional[str] = None,
    overwrite: bool = False,
    radial_table: int = 0,
) -> List[Tuple[Path, dict]]:
    """Export every member of an ensemble run folder (its best.pt) to ``<stem>-<k><suffix>``."""
    members = member_dirs(run_dir)
    if not members:
        raise FileNotFoundError(
            f"{run_dir} holds no member-*/ folders: is it a run folder of "
            f"`nbody-lmp train --ensemble N`?"
        )
    outputs = ensemble_output_names(output, len(members))
    if not overwrite:
        existing = [str(p) for p in outputs if p.exists()]
        if existing:
            raise FileExistsError(
                f"{', '.join(existing)} exist(s): choose another -o, or replace them with --force"
            )
    return [
        export_checkpoint(m, out, dtype=dtype, overwrite=overwrite, radial_table=radial_table)
        for m, out in zip(members, outputs)
    ]
