#!/usr/bin/env python
"""Strong scaling of pair_style nbody past this machine, on paper (docs/lammps.md, "Strong
scaling"). A rank computes every level of the hierarchy for the ghost atoms its owned atoms'
energies need (receptive field = the sum of the cutoffs); the fewer atoms a rank owns, the larger
that excess. This benchmark

1. checks the local-hierarchy counter of ``benchmarks.local_hierarchy`` against the counts that
   ``pair_style nbody`` itself prints (``NBODY_LMP_TIMING=1``, rank 0) on 1, 2 and 4 ranks, and
   measures the time per edge on one rank;
2. tabulates the work per owned atom (edges of all levels, relative to a rank with no ghosts)
   and the halo traffic against atoms per rank, 10^2 to 10^6, for cubic subdomains;
3. predicts the parallel efficiency of 1 M and 10 M atoms on 8 to 1,024 ranks, for the ghost
   recomputation that pair_style nbody does and for a per-level halo exchange (each rank computes
   its owned nodes only and receives the level-k states of its neighbours' boundary atoms, as
   SevenNet's and MACE's parallel LAMMPS paths do), with a stated network model.

    python -m benchmarks.strong_scaling                      # ~2 min, the si-sw example model
    python -m benchmarks.strong_scaling --no-measure --t-edge-ns 900
    python -m benchmarks.strong_scaling --latency-us 1 --bandwidth-gbs 25 --json out.json

The prediction is a model, not a measurement: its inputs (time per edge, latency, bandwidth,
the state size) are printed with it. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from nbody_lmp.workflows.lammps_run import (
    diamond_si_box,
    loop_runs,
    nbody_timing,
    pair_lines,
    run_lammps,
)

from .local_hierarchy import count, diamond_si, steiner_volume, subdomain_of

ROOT = Path(__file__).resolve().parents[1]
RHO_SI = 8 / 5.431**3  # atoms per cubic Angstrom
RANK_SIZES = [100, 300, 1_000, 3_000, 10_000, 100_000, 1_000_000]
RANKS = [8, 64, 128, 256, 512, 1024]


def example_model(work: Path) -> tuple[Path, list, int]:
    """A random-weight network with the si-sw example's settings (the speed does not depend on
    the weights), its cutoffs and the floats of one hidden node state."""
    import torch
    import yaml

    from nbody_lmp import NBodyNetwork, export

    m = dict(yaml.safe_load((ROOT / "examples" / "si-sw" / "config.yaml").read_text())["model"])
    m.pop("species", None)
    torch.manual_seed(0)
    model = NBodyNetwork(["Si"], **m, dtype=torch.float64)
    model.set_energy_statistics(scale=1e-3)
    path = export(model, work / "model.pt", dtype="float32", overwrite=True)
    return path, list(model.cutoffs), state_floats(m)


def state_floats(model_section: dict) -> int:
    """Floats of one hidden level's node state: channels x sum over parts of (2l+1)."""
    c, lmax = model_section.get("channels", 8), model_section.get("lmax", 2)
    c = c[0] if isinstance(c, list) else c
    lmax = lmax[0] if isinstance(lmax, list) else lmax
    return int(c) * (int(lmax) + 1) ** 2


def measure(model: Path, cutoffs: list, ranks: list, reps: int, steps: int, work: Path) -> list:
    """pair_style nbody on a displaced diamond box (atoms held in place) on each rank count:
    rank 0's nodes and edges per level as the pair style prints them and as
    benchmarks.local_hierarchy counts them on the same positions, and the time per step."""
    rows = []
    for n in ranks:
        d = work / f"ranks{n}"
        text = f"""{diamond_si_box(reps)}displace_atoms all random 0.12 0.12 0.12 4928459 units box
{pair_lines("nbody", model, "")}
velocity all set 0.0 0.0 0.0
fix hold all setforce 0.0 0.0 0.0
fix nve all nve
write_data positions.data
run {steps}
"""
        res = run_lammps(d, text, ranks=n, env={"NBODY_LMP_TIMING": "1", "OMP_NUM_THREADS": "1"})
        grid = [int(v) for v in re.search(r"(\d+) by (\d+) by (\d+) MPI", res.log).groups()]
        pos, cell = read_positions(d / "positions.data")
        nodes, edges = count(pos, cell, subdomain_of(pos, cell, grid), cutoffs)
        got = nbody_timing(res.log)
        loop = loop_runs(res.log)[-1]
        rows.append(
            dict(
                ranks=n,
                grid=grid,
                natoms=len(pos),
                nodes_lammps=got["nodes"],
                edges_lammps=got["edges"],
                nodes_counted=nodes,
                edges_counted=edges,
                s_per_step=loop["seconds"] / loop["steps"],
            )
        )
    return rows


def read_positions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Positions (wrapped into the box) and the orthorhombic box lengths of a LAMMPS data file."""
    text = path.read_text()
    lo_hi = [
        [float(v) for v in re.search(rf"(\S+) (\S+) {a}lo {a}hi", text).groups()] for a in "xyz"
    ]
    lo = np.array([a for a, _ in lo_hi])
    cell = np.array([b - a for a, b in lo_hi])
    body = text.split("Atoms", 1)[1].split("Velocities", 1)[0].strip().splitlines()[1:]
    rows = np.array([[float(v) for v in line.split()[2:5]] for line in body if line.strip()])
    return np.mod(rows - lo, cell), cell


def coordination(cutoffs: list, reps: int = 6) -> list:
    """Edges per node of each level in a displaced diamond crystal (as the measured boxes)."""
    pos, cell = diamond_si((reps, reps, reps))
    pos = pos + np.random.default_rng(0).uniform(-0.12, 0.12, pos.shape)
    _, edges = count(pos, cell, np.ones(len(pos), bool), cutoffs)
    return [e / len(pos) for e in edges]


def per_rank(n: float, cutoffs: list, z: list, skin: float, floats: int) -> dict:
    """Work and traffic of a cubic subdomain of ``n`` atoms (Steiner estimates).

    Recompute: level ``k`` (1..K) computes every node within ``R_k`` = the sum of the cutoffs above
    it; positions of the ghosts within the receptive field + skin go out and their forces come
    back. Exchange: owned nodes only; positions within ``c_1`` + skin, and each hidden level's
    states (and, in the force pass, their gradients) within the next cutoff + skin."""
    side = (n / RHO_SI) ** (1 / 3)
    cube = side**3
    K = len(cutoffs)
    above = [sum(cutoffs[k + 1 :]) for k in range(K)]  # R_k for level k+1
    edges = sum(RHO_SI * steiner_volume([side] * 3, above[k]) * z[k] for k in range(K))
    halo = RHO_SI * (steiner_volume([side] * 3, sum(cutoffs) + skin) - cube)
    recompute_bytes = halo * 3 * 8 * 2
    ex_pos = RHO_SI * (steiner_volume([side] * 3, cutoffs[0] + skin) - cube)
    ex_states = sum(
        RHO_SI * (steiner_volume([side] * 3, cutoffs[k] + skin) - cube) for k in range(1, K)
    )
    exchange_bytes = ex_pos * 3 * 8 * 2 + ex_states * floats * 4 * 2
    swaps = 2 * 3 * int(np.ceil((sum(cutoffs) + skin) / side))  # LAMMPS's staged swaps
    swaps_exchange = 2 * 3 * (1 + 2 * (K - 1))  # positions/forces, then per hidden level 2 ways
    return dict(
        atoms=n,
        work=edges / (n * sum(z)),
        ghosts_per_atom=halo / n,
        recompute_bytes=recompute_bytes,
        exchange_bytes=exchange_bytes,
        recompute_msgs=swaps,
        exchange_msgs=swaps_exchange,
    )


def efficiency(N: float, P: int, args, cutoffs, z, floats, t_edge: float) -> tuple[float, float]:
    """Parallel efficiency (ideal time / predicted time) of ``N`` atoms on ``P`` ranks."""
    r = per_rank(N / P, cutoffs, z, args.skin, floats)
    ideal = t_edge * sum(z) * N / P
    lat, bw = args.latency_us * 1e-6, args.bandwidth_gbs * 1e9
    recompute = ideal * r["work"] + r["recompute_msgs"] * lat + r["recompute_bytes"] / bw
    exchange = ideal + r["exchange_msgs"] * lat + r["exchange_bytes"] / bw
    return ideal / recompute, ideal / exchange


def print_measured(rows: list) -> float:
    print("\nrank 0's local hierarchy: pair_style nbody's own counts beside the counter's")
    print(f"{'ranks':>5} {'grid':>7} {'nodes per level (LAMMPS | counted)':>44} {'edges':>26}")
    for r in rows:
        grid = "x".join(map(str, r["grid"]))
        nodes = f"{' '.join(f'{v:.0f}' for v in r['nodes_lammps'])} | "
        nodes += " ".join(map(str, r["nodes_counted"]))
        edges = f"{' '.join(f'{v:.0f}' for v in r['edges_lammps'])} | "
        edges += " ".join(map(str, r["edges_counted"]))
        print(f"{r['ranks']:5d} {grid:>7} {nodes:>44} {edges:>26}")
    one = rows[0]
    per_atom = sum(one["edges_lammps"]) / one["nodes_lammps"][-1]
    work = ", ".join(
        f"{r['ranks']} rank(s) {sum(r['edges_lammps']) / r['nodes_lammps'][-1] / per_atom:.2f}"
        for r in rows
    )
    print(f"work per owned atom on rank 0, relative to 1 rank (LAMMPS's counts): {work}")
    t_edge = one["s_per_step"] / sum(one["edges_lammps"])
    print(f"time per edge on 1 rank (forward + forces, all levels): {t_edge * 1e9:.0f} ns")
    return t_edge


def print_tables(args, cutoffs, z, floats, t_edge) -> dict:
    print(
        f"\nwork per owned atom against atoms per rank (cubic subdomains of diamond Si; "
        f"cutoffs {cutoffs} A, skin {args.skin} A; {sum(z):.2f} edges per atom, ideal = 1.00)"
    )
    print(
        f"{'atoms/rank':>10} {'work':>7} {'ghosts/atom':>12} {'recompute kB':>13} "
        f"{'exchange kB':>12} {'messages r|e':>13}"
    )
    table = [per_rank(n, cutoffs, z, args.skin, floats) for n in RANK_SIZES]
    for r in table:
        print(
            f"{r['atoms']:10.0f} {r['work']:7.2f} {r['ghosts_per_atom']:12.2f} "
            f"{r['recompute_bytes'] / 1e3:13.1f} {r['exchange_bytes'] / 1e3:12.1f} "
            f"{r['recompute_msgs']:6d} | {r['exchange_msgs']:<5d}"
        )
    print(
        f"\npredicted parallel efficiency, recompute | exchange ({t_edge * 1e9:.0f} ns per edge, "
        f"{args.latency_us} us latency, {args.bandwidth_gbs} GB/s, {floats} float32 per state)"
    )
    print(f"{'atoms':>10} " + " ".join(f"{p:>13d}" for p in RANKS))
    pred = {}
    for N in (1e6, 1e7):
        cells = [efficiency(N, P, args, cutoffs, z, floats, t_edge) for P in RANKS]
        pred[int(N)] = {P: c for P, c in zip(RANKS, cells)}
        print(f"{N:10.0e} " + " ".join(f"{a:6.2f}|{b:<6.2f}" for a, b in cells))
    return dict(per_rank=table, efficiency=pred)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4], help="measured ranks")
    ap.add_argument("--reps", type=int, default=8, help="diamond cells per edge measured (8)")
    ap.add_argument("--steps", type=int, default=20, help="timed MD steps per measured run")
    ap.add_argument("--no-measure", action="store_true", help="skip LAMMPS; give --t-edge-ns")
    ap.add_argument("--t-edge-ns", type=float, default=None, help="time per edge (ns)")
    ap.add_argument("--skin", type=float, default=1.0, help="neighbour skin (A), as LAMMPS's")
    ap.add_argument("--latency-us", type=float, default=2.0, help="per message (default 2 us)")
    ap.add_argument("--bandwidth-gbs", type=float, default=10.0, help="per rank (10 GB/s)")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = ap.parse_args(argv)
    if args.no_measure and args.t_edge_ns is None:
        ap.error("--no-measure needs --t-edge-ns (the time per edge of one rank)")
    work = Path(tempfile.mkdtemp(prefix="nbody_strong_scaling_"))
    model, cutoffs, floats = example_model(work)
    z = coordination(cutoffs)
    rows = (
        [] if args.no_measure else measure(model, cutoffs, args.ranks, args.reps, args.steps, work)
    )
    t_edge = print_measured(rows) if rows else args.t_edge_ns * 1e-9
    if args.t_edge_ns is not None:
        t_edge = args.t_edge_ns * 1e-9
    out = print_tables(args, cutoffs, z, floats, t_edge)
    if args.json:
        args.json.write_text(json.dumps(dict(measured=rows, t_edge_s=t_edge, **out), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
