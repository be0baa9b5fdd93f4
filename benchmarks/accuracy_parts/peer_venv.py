"""Virtual environments of the peers' own (MACE, mace-torch, and NequIP, nequip; never the
project's .venv), under
``benchmarks/.peers/<name>`` (git-ignored), from PyPI with pinned versions that work with the
CPU torch wheel the project itself uses. Installed once; a stamp file records what was asked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List

PEERS_DIR = Path(__file__).resolve().parents[1] / ".peers"

# torch as in the project's Makefile (CPU wheel); each peer pinned to a version that works with it
PINS: Dict[str, List[str]] = {
    "mace": ["torch==2.13.0", "mace-torch==0.3.16"],  # brings e3nn 0.4.4 (mace-torch pins it)
    "nequip": [
        "torch==2.13.0",
        "nequip==0.19.1",
    ],  # >= 0.19: no TorchScript compile on torch >= 2.10
}


def python_of(name: str) -> Path:
    return PEERS_DIR / name / "bin" / "python"


def ensure(name: str, log=print) -> Path:
    """The peer's Python, installing the environment first if it is not there (minutes)."""
    if name not in PINS:
        raise SystemExit(f"unknown peer {name!r}: choose from {', '.join(PINS)}")
    venv = PEERS_DIR / name
    stamp = venv / ".installed"
    want = " ".join(PINS[name])
    if stamp.is_file() and stamp.read_text().strip() == want:
        return python_of(name)
    log(f"[{name}] installing {want} into {venv} (once; minutes)")
    if not python_of(name).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run(
        [str(python_of(name)), "-m", "pip", "install", *PINS[name]], text=True, capture_output=True
    )
    (venv / "install.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(
            f"[{name}] pip install {want} failed (exit {proc.returncode}); "
            f"full log {venv / 'install.log'}:\n{tail}"
        )
    stamp.write_text(want + "\n")
    return python_of(name)
