"""The README's commands do what it says: every command in the README is exercised here. Its code
blocks are read from README.md itself, so an edit that breaks them fails here: the quick start
(train at a tiny size, evaluate, export, info), the Python/ASE snippet, and the LAMMPS lines on the
model that snippet exports."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent
# one epoch of a 2-channel model, with shared radial weights (see TINY in
# tests/end_to_end/test_examples.py)
TINY = (
    "--set training.max_epochs=1 --set model.channels=2 --set model.lmax=1 "
    "--set model.radial_weights=shared -q"
)


def block(after: str, lang: str) -> str:
    """The first ```lang block after the heading/text ``after``."""
    m = re.search(re.escape(after) + r".*?```" + lang + r"\n(.*?)```", README, re.S)
    assert m, f"README.md has no ```{lang} block after {after!r}"
    return m.group(1)


def commands(text: str):
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("source "):
            yield line


def sh(cmd: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        cmd, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"$ {cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def test_quick_start(tmp_path):
    (tmp_path / "examples" / "si-sw").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "si-sw" / "config.yaml", tmp_path / "examples" / "si-sw")
    # the copied config reads train.xyz beside it; the quick start evaluates on test.xyz
    sh("nbody-lmp generate sw-si -o train.xyz --configs 6 --seed 1", tmp_path)
    sh("nbody-lmp generate sw-si -o test.xyz --configs 2 --seed 2", tmp_path)
    cmds = list(commands(block("## Quick start", "bash")))
    assert any(c.startswith("nbody-lmp train") for c in cmds)
    out = {}
    for c in cmds:
        tiny = " " + TINY if c.startswith("nbody-lmp train") else ""
        out[c.split()[1] if c.startswith("nbody-lmp") else c] = sh(c + tiny, tmp_path)
    assert "forces" in out["evaluate"]
    assert (tmp_path / "model.pt").is_file()
    assert "[Si]" in out["info"] and "receptive_field" in out["info"]


def test_python_snippet_then_lammps_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(block("From Python, through ASE", "python"), "README.md", "exec"), ns)
    import nbody_lmp

    atoms = ns["atoms"].copy()
    atoms.calc = nbody_lmp.NBodyCalculator(
        "model.pt"
    )  # the README's "or NBodyCalculator("model.pt")"
    assert atoms.get_potential_energy() == pytest.approx(
        ns["atoms"].get_potential_energy(), abs=1e-10
    )

    lines = [ln for ln in block("the plugin loads by itself", "").splitlines() if ln.strip()]
    assert lines[0].split()[:2] == ["units", "metal"] and lines[1].split()[0] == "pair_style"
    # a box with the README's two types (Si, O) around its pair_style/pair_coeff lines
    inp = [
        lines[0],
        "atom_style atomic",
        "region box block 0 8 0 8 0 8 units box",
        "create_box 2 box",
        "create_atoms 1 random 20 4821 NULL overlap 1.8 units box",
        "create_atoms 2 random 10 4822 NULL overlap 1.8 units box",
        "mass 1 28.0855",
        "mass 2 15.999",
        *lines[1:],
        "run 0",
    ]
    (tmp_path / "in.lammps").write_text("\n".join(inp) + "\n")
    log = sh("lmp -in in.lammps -nocite", tmp_path)
    assert "ERROR" not in log and re.search(r"^\s+0\s+0\s+-?\d", log, re.M), log[-1500:]


def test_ensemble_section(tmp_path):
    """The README's ensemble commands: train --ensemble 3 (tiny), export, the LAMMPS lines on a
    small diamond box, then select from their dump."""
    section = README.split("## Ensembles", 1)[1]
    shutil.copy(ROOT / "examples" / "si-sw" / "config.yaml", tmp_path / "my.yaml")
    sh("nbody-lmp generate sw-si -o train.xyz --configs 6 --seed 1", tmp_path)
    for c in commands(block("## Ensembles", "bash")):
        sh(c + (" " + TINY if c.startswith("nbody-lmp train") else ""), tmp_path)
    assert all((tmp_path / f"si-{k}.pt").is_file() for k in range(3))
    assert (tmp_path / "runs" / "si-sw" / "member-2" / "best.pt").is_file()
    lines = [
        ln
        for ln in re.search(r"```\n(pair_style.*?)```", section, re.S).group(1).splitlines()
        if ln.strip()
    ]
    assert lines[1].split()[:4] == ["pair_coeff", "*", "*", "si-0.pt"]
    inp = [
        "units metal",
        "atom_style atomic",
        "lattice diamond 5.431",
        "region box block 0 2 0 2 0 2",
        "create_box 1 box",
        "create_atoms 1 box",
        "mass 1 28.0855",
        *lines,
        "velocity all create 900 4821",
        "fix nve all nve",
        "run 200",
    ]
    (tmp_path / "in.lammps").write_text("\n".join(inp) + "\n")
    log = sh("lmp -in in.lammps -nocite", tmp_path)
    assert "ERROR" not in log
    assert (
        len((tmp_path / "model_devi.out").read_text().splitlines()) == 4
    )  # header + steps 0, 100, 200
    select = list(commands(section.split("```bash", 2)[2].split("```")[0]))
    assert select and select[0].startswith("nbody-lmp select")
    out = sh(select[0], tmp_path)
    assert "3 frames:" in out and (tmp_path / "candidates.xyz").is_file()
