"""Floating-point operations of one MD step of an exported model, counted from the shapes of every
operator it runs, and the peak this core reaches on a dense matmul of the same precision
(docs/lammps.md, "Performance notes": the fraction of the limit per phase).

The forward and the force backward of the exported model run here on the same graph that
``pair_style nbody`` builds on one rank (a periodic box: every level has a node per atom), under a
dispatch mode that sees every operator call:

* matrix products (``mm``, ``addmm``, ``bmm``, ``baddbmm``, ``linear``): ``2 m n k``;
* element-wise and reduction operators: one operation per output (or input) element;
* the ``nbody::`` operators, whose backward runs inside the operator library where no dispatch
  mode sees it, by their own loops (lammps_plugin/ops/): ``cg_linear`` 2 per CG entry and row
  (its backward, the transpose, the same); ``cg_product`` 3 per entry and row (backward: the
  partials for both factors, twice that); ``neighbourhood_sum`` per edge and channel the ``A x B``
  products of the child's state and the edge factors plus the radial-times-harmonic factors, per
  parent and channel its CG entries (backward: the child and edge partials, twice the forward).

Used by benchmarks/lammps_speed.py; ``python -m benchmarks.flops model.pt`` prints the counts alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from typing import Dict

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["count_step", "matmul_peak"]

MATMULS = {"mm", "addmm", "bmm", "baddbmm"}
# view and indexing bookkeeping: no arithmetic
FREE = {
    "view", "reshape", "_unsafe_view", "t", "transpose", "permute", "expand", "unsqueeze",
    "squeeze", "slice", "select", "split", "split_with_sizes", "unbind", "detach", "alias",
    "clone", "copy_", "contiguous", "empty", "empty_like", "zeros", "zeros_like", "ones_like",
    "new_zeros", "new_empty", "new_empty_strided", "empty_strided", "lift_fresh", "_to_copy",
    "index_select", "index", "cat", "stack", "fill_", "zero_", "arange", "full", "scalar_tensor",
    "nonzero", "lt", "ge", "gt", "le", "eq", "ne", "_local_scalar_dense", "as_strided", "flatten",
    "masked_fill", "where", "gather", "repeat", "pad", "constant_pad_nd", "unfold", "index_copy",
    "index_put",
}  # fmt: skip


def _numel(x) -> int:
    return int(x.numel()) if isinstance(x, torch.Tensor) else 0


def _nbody_flops(name: str, args) -> tuple[int, int]:
    """(forward, backward) operations of one ``nbody::`` call."""
    if name == "cg_linear":
        rows, nnz = args[0].shape[0], args[1].numel()
        return 2 * rows * nnz, 2 * rows * nnz
    if name == "cg_product":
        rows, nnz = args[0].shape[0], args[2].numel()
        return 3 * rows * nnz, 6 * rows * nnz
    x, w, y = args[0], args[1], args[2]
    edges, channels, a, b = w.shape[0], x.shape[1], x.shape[2], y.shape[1]
    parents, nnz = int(args[5]), args[6].numel()
    forward = edges * channels * (2 * a * b + b) + parents * channels * 2 * nnz
    return forward, 2 * forward


class _Counter(TorchDispatchMode):
    """Operations per operator name, and the backward cost of the nbody:: calls seen."""

    def __init__(self):
        super().__init__()
        self.ops: Dict[str, int] = defaultdict(int)
        self.nbody_backward = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ns, name = func.namespace, func.__name__.split(".")[0]
        if ns == "nbody":
            fwd, bwd = _nbody_flops(name, args)
            self.ops[f"nbody::{name}"] += fwd
            self.nbody_backward += bwd
        elif name in MATMULS:
            m, k = args[-2].shape[-2], args[-2].shape[-1]
            n = args[-1].shape[-1]
            batch = args[-2].shape[0] if args[-2].dim() == 3 else 1
            self.ops[name] += 2 * batch * m * n * k
        elif name not in FREE:
            first = _numel(out if isinstance(out, torch.Tensor) else out[0])
            self.ops[name] += max(first, _numel(args[0]) if args else 0)
        return out


def _graph(module, natoms_reps: int, seed: int = 0):
    """The exported model's inputs for a displaced periodic diamond-Si box of ``8 reps^3`` atoms."""
    from ase.build import bulk

    from nbody_lmp.data.graph import atoms_to_graph
    from nbody_lmp.nn.properties import level_edges

    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(natoms_reps)
    atoms.positions += np.random.default_rng(seed).uniform(-0.12, 0.12, atoms.positions.shape)
    graph = atoms_to_graph(atoms, list(module.species), max(module.cutoffs))
    dtype = getattr(torch, module.dtype)
    vectors = graph.edge_vectors().to(dtype).requires_grad_(True)
    ei, ev = level_edges(module, graph.edge_index, vectors)
    return graph.species, ei, ev, [len(atoms)] * (len(ei) + 1), vectors


class _SeeNBodyOps:
    """The ``nbody::`` operators' autograd kernels call their CPU kernels directly, below any
    dispatch mode: in an eager model, route each call through the counter instead."""

    NAMES = ("cg_linear", "cg_product", "neighbourhood_sum")

    def __init__(self, counter: _Counter):
        self.counter = counter

    def __enter__(self):
        self.saved = {n: getattr(torch.ops.nbody, n) for n in self.NAMES}
        for name, op in self.saved.items():
            setattr(torch.ops.nbody, name, self._wrap(name, op))

    def _wrap(self, name, op):
        def call(*args):
            fwd, bwd = _nbody_flops(name, args)
            self.counter.ops[f"nbody::{name}"] += fwd
            self.counter.nbody_backward += bwd
            return op(*args)

        return call

    def __exit__(self, *exc):
        for name, op in self.saved.items():
            setattr(torch.ops.nbody, name, op)


def eager_model(path: str):
    """An eager NBodyNetwork with the architecture of an exported file (operations do not depend
    on the weights) in its dtype, its radial functions tabulated as the file's are, and the
    file's metadata."""
    from nbody_lmp import NBodyNetwork, load_exported

    module, meta = load_exported(path)
    hp = dict(meta["hyperparameters"])
    model = NBodyNetwork(**hp, dtype=getattr(torch, module.dtype))
    if meta.get("radial_table"):  # the file's radial functions are tables: so are these
        from nbody_lmp.nn.radial_table import tabulate_radials

        tabulate_radials(model, int(meta["radial_table"]["points"]))
    return model, meta


def count_step(model, reps: int = 8) -> Dict[str, object]:
    """Operations of one step of an eager ``model`` (forward, and the backward to the edge vectors
    that gives forces) on ``8 reps^3`` atoms, per atom: ``{"forward", "backward", "by_op",
    "atoms"}``."""
    species, ei, ev, n_nodes, vectors = _graph(model, reps)
    fwd, bwd = _Counter(), _Counter()
    with fwd, _SeeNBodyOps(fwd):
        energy = model(species, ei, ev, n_nodes).sum()
    with bwd:
        torch.autograd.grad(energy, vectors)
    n = n_nodes[-1]
    by_op = {k: v / n for k, v in sorted(fwd.ops.items(), key=lambda kv: -kv[1])}
    return dict(
        atoms=n,
        forward=sum(fwd.ops.values()) / n,
        backward=(sum(bwd.ops.values()) + fwd.nbody_backward) / n,
        by_op=by_op,
    )


def matmul_peak(dtype: torch.dtype, size: int = 1024, seconds: float = 1.0) -> float:
    """FLOP/s of a dense ``size x size`` matmul on this thread (the best of several tries)."""
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    a @ b
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - t))
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="an exported model file")
    ap.add_argument("--reps", type=int, default=8, help="diamond cells per edge (8: 4096 atoms)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model, meta = eager_model(args.model)
    c = count_step(model, args.reps)
    peak = matmul_peak(model.embedding.dtype)
    print(f"{c['atoms']} atoms: {c['forward'] / 1e3:.1f} kFLOP per atom forward, ")
    print(f"{c['backward'] / 1e3:.1f} kFLOP per atom backward (forces)")
    for name, v in list(c["by_op"].items())[:12]:
        print(f"  {name:28s} {v / 1e3:10.2f} kFLOP/atom forward")
    print(f"dense {model.dtype} matmul peak on one thread: {peak / 1e9:.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
