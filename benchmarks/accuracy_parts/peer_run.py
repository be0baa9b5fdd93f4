"""What the peers share in benchmarks.accuracy: one run folder per (recipe, peer,
budget), reused once finished and never overwritten without ``force`` (the old folder is then
moved to ``previous-<time>/`` inside the new one's parent), and a subprocess call whose log goes
to a file and whose failure says where to look.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional


def run_folder(
    out: Path, recipe: str, peer: str, budget_min: float, force: bool
) -> tuple[Path, bool]:
    """(folder, reuse): reuse is True when the folder holds finished test metrics and not
    ``force``."""
    folder = Path(out) / f"{recipe}-{peer}-{budget_min:g}min"
    done = (folder / "test_metrics.json").is_file()
    if done and not force:
        return folder, True
    if folder.exists() and any(folder.iterdir()):
        if not force:
            raise SystemExit(
                f"{folder} holds an unfinished {peer} run: pass --force to start over "
                f"(it is moved aside, not deleted), or remove the folder"
            )
        aside = folder.parent / f"previous-{time.strftime('%Y%m%d-%H%M%S')}-{folder.name}"
        shutil.move(str(folder), str(aside))
    folder.mkdir(parents=True, exist_ok=True)
    return folder, False


def call(
    cmd: List[str],
    folder: Path,
    logname: str,
    what: str,
    threads: int = 2,
    env: Optional[Dict[str, str]] = None,
) -> None:
    e = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        **(env or {}),
    }
    with open(folder / logname, "w") as log:
        proc = subprocess.run(
            cmd, cwd=folder, env=e, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    if proc.returncode != 0:
        tail = "\n".join((folder / logname).read_text(errors="replace").strip().splitlines()[-20:])
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}); log {folder / logname}:\n{tail}"
        )
