"""``nbody-lmp train --nproc N``: start N training processes on this machine with ``torchrun``
(docs/training.md, "Several processes"). It is a shorthand for

    torchrun --standalone --nproc_per_node N -m nbody_lmp.cli train config.yaml ...

with ``OMP_NUM_THREADS`` set to the machine's cores shared out between the processes (unless it
is set already). On several machines (SLURM), start ``torchrun`` yourself, as the docs show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence

__all__ = ["launch", "train_arguments", "in_worker"]


def in_worker() -> bool:
    """Whether this process is one of the processes ``torchrun`` started."""
    return "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def train_arguments(args) -> List[str]:
    """The ``nbody-lmp train`` command line of parsed ``args``, without ``--nproc``."""
    out = [str(args.config)]
    out += ["--resume"] if args.resume else []
    out += ["--force"] if args.force else []
    for item in args.set or []:
        out += ["--set", item]
    if args.ensemble is not None:
        out += ["--ensemble", str(args.ensemble)]
    out += ["-q"] if args.quiet else []
    return out


def launch(nproc: int, arguments: Sequence[str], run_dir: Optional[Path] = None) -> int:
    """Run ``nbody-lmp train ARGUMENTS`` as ``nproc`` processes; returns torchrun's exit code."""
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    env = dict(os.environ)
    if "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += ["--nnodes", "1", "--nproc_per_node", str(nproc)]
    cmd += ["-m", "nbody_lmp.cli", "train", *arguments]
    try:
        rc = subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        rc = 130
    if rc != 0:
        where = f"{run_dir / 'last.pt'}" if run_dir is not None else "the run folder's last.pt"
        print(
            f"nbody-lmp train --nproc {nproc}: the training processes stopped (exit code {rc}; "
            f"the first error above says why). {where} holds the last finished epoch, if any: "
            "fix the cause, then continue with --resume (with any number of processes)",
            file=sys.stderr,
        )
    return rc
