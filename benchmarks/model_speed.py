#!/usr/bin/env python
r"""Model-side speed of the network variants in Python (docs/lammps.md, "Performance notes"):
energy + forces (one forward, one backward) of a diamond-Si box, scripted as exported, float32, one
thread, variants timed in turn (round robin, so machine load hits them alike). Prints CPU ms per
step (process time, which other processes on a shared machine disturb less than wall time; the
same as wall time on one thread of a quiet machine) and each variant's speed relative to the
first (the example's configuration). Not a test: it asserts nothing.

    python benchmarks/model_speed.py                      # 4096 atoms, the examples/si-sw model
    python benchmarks/model_speed.py --reps 10 --rounds 5 \
        --variant channels=16,radial_weights=per_channel

Besides model options, a variant may set ``radial_table=N`` (export's cubic radial tables),
``cg_diagonal=false`` (switch off the exact diagonal-CG fast path, to time what it saves) and
``fused_sum=false`` (the pure-torch neighbourhood sum instead of
``torch.ops.nbody.neighbourhood_sum``) and ``cg_sparse=false`` (dense CG matrix products instead of
``torch.ops.nbody.cg_linear`` / ``cg_product``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
import yaml
from ase.build import bulk

from nbody_lmp import NBodyNetwork
from nbody_lmp.data.graph import atoms_to_graph
from nbody_lmp.nn.channel_fragments import ChannelNeighbourhoodFragments
from nbody_lmp.nn.properties import compute_properties
from nbody_lmp.nn.radial_table import tabulate_radials
from nbody_lmp.nn.tensor_product import CGBlocks, ChannelwiseProduct

ROOT = Path(__file__).resolve().parents[1]


def example_model_kwargs() -> dict:
    m = dict(yaml.safe_load((ROOT / "examples" / "si-sw" / "config.yaml").read_text())["model"])
    m.pop("species", None)
    return m


def parse_variant(text: str, base: dict) -> dict:
    kw = dict(base)
    for item in filter(None, text.split(",")):
        k, v = item.split("=")
        kw[k] = yaml.safe_load(v)
    return kw


def scripted(kw: dict) -> torch.jit.ScriptModule:
    kw = dict(kw)
    table, diagonal = int(kw.pop("radial_table", 0)), bool(kw.pop("cg_diagonal", True))
    fused, sparse = bool(kw.pop("fused_sum", True)), bool(kw.pop("cg_sparse", True))
    torch.manual_seed(0)
    m = NBodyNetwork(["Si"], **kw, dtype=torch.float32).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    if table:
        tabulate_radials(m, table)
    for sub in m.modules():
        if isinstance(sub, ChannelwiseProduct):
            sub.diagonal = sub.diagonal and diagonal
        if isinstance(sub, ChannelNeighbourhoodFragments):
            sub.fused = fused
        if isinstance(sub, CGBlocks):
            sub.sparse = sparse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(m)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--reps", type=int, default=8, help="diamond cells per edge (8 n^3 atoms; default 8: 4096)"
    )
    ap.add_argument("--rounds", type=int, default=4, help="timed steps per variant (default 4)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--variant",
        action="append",
        default=None,
        help="key=value[,key=value]: model options over the example's (repeatable; default: "
        "radial_weights=per_channel)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = example_model_kwargs()
    variants = [""] + (args.variant or ["radial_weights=per_channel"])
    models = [(v or "example config", scripted(parse_variant(v, base))) for v in variants]
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(args.reps)
    atoms.rattle(0.05, seed=1)
    graph = atoms_to_graph(atoms, ["Si"], max(models[0][1].cutoffs)).to(dtype=torch.float32)
    times = {name: [] for name, _ in models}
    for _ in range(args.rounds + 1):  # the first round warms up TorchScript's profiling executor
        for name, m in models:
            t0 = time.process_time()
            compute_properties(m, graph, forces=True)
            times[name].append(time.process_time() - t0)
    ref = min(times[models[0][0]][1:])
    print(f"{len(atoms)} atoms, {args.threads} thread(s), float32, best of {args.rounds} steps")
    for name, _ in models:
        t = min(times[name][1:])
        print(
            f"  {name:60s} {1e3 * t:8.1f} CPU ms/step  {len(atoms) / t:9.0f} atom-steps/s  "
            f"x{ref / t:5.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
