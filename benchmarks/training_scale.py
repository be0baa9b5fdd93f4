#!/usr/bin/env python
"""Training on data of real size, with the sharded graph store (docs/training.md, "Large data
sets"): for each data-set size, generate Stillinger-Weber Si data (``generate sw-si --fast``,
cached), build the store (time, peak memory, size on disk), then train on 1 process and on 2
processes (``torchrun``, as ``nbody-lmp train --nproc 2`` does), one thread each, for the same
``--steps`` optimiser steps (or ``--epoch``: one whole epoch). Prints a table: configurations per
second on 1 and 2 processes and their ratio, seconds per epoch (measured with ``--epoch``, else
the training set over the rate), the peak memory of the training processes and the resident
pages of the memory-mapped store in them, the store's size, and how far the 1- and 2-process
weights are apart after the same steps (max relative difference). A measurement, not a test:
it asserts nothing.

    python -m benchmarks.training_scale --sizes 1000 10000 100000 --json scale.json
    python -m benchmarks.training_scale --sizes 200 --steps 4          # a smoke run

The model, loss and batch size come from ``--config`` (default: examples/si-sw/config.yaml);
training runs in float64 unless ``--dtype float32`` (the weight comparison is then float32's).
Everything is kept in ``--workdir``: the data files and stores are reused by the next run (the
table says when a store was reused rather than built).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

if not __package__:  # run as a file: the package's other modules are not importable
    raise SystemExit(
        "run it from the repository root as a module: python -m benchmarks.training_scale ..."
    )

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "examples" / "si-sw" / "config.yaml"


# ------------------------------------------------------------------------------ memory
def memory_mib(store: Optional[Path] = None) -> Dict[str, float]:
    """This process's peak resident memory and, now, its anonymous and file-backed parts and the
    resident pages of the memory-mapped ``store`` folder, MiB."""
    out = {"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                out[key.lower()] = float(value.split()[0]) / 1024
        if store is not None:
            out["store_rss"] = _mapped_kib(str(store)) / 1024
    except OSError:
        pass
    return out


def _mapped_kib(prefix: str) -> float:
    """The resident KiB of this process's mappings of files under ``prefix`` (/proc/self/smaps)."""
    total, inside = 0.0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = len(fields) >= 6 and fields[5].startswith(prefix)
        elif inside and fields[:1] == ["Rss:"]:
            total += float(fields[1])
    return total


# ------------------------------------------------------------------------------ workers
def worker_store(config: Path, out: Path) -> None:
    """Open (build if missing) the training file's store; time and memory to ``out``."""
    from nbody_lmp.training import load_config
    from nbody_lmp.training.sharded_data import open_stores, store_folder

    cfg = load_config(config)
    folder = store_folder(cfg)
    before = set(folder.iterdir()) if folder.is_dir() else set()
    t0 = time.perf_counter()
    (store,) = open_stores(cfg)
    seconds = time.perf_counter() - t0
    reused = store.folder in before
    record = {"seconds": seconds, "reused": reused, "bytes": store.nbytes, "n": len(store)}
    record.update(store=str(store.folder), memory=memory_mib())
    out.write_text(json.dumps(record))


def _limit_batches(limit: Optional[int]):
    """Make the epoch loop take only the first ``limit`` batches of its permutation (of the
    library's own batches, however often this is called)."""
    from nbody_lmp.training import epoch

    real = getattr(epoch.batches, "unlimited", epoch.batches)

    def first(n, batch_size, generator):
        out = real(n, batch_size, generator)
        return out[:limit] if generator is not None and limit is not None else out

    first.unlimited = real
    epoch.batches = first


def worker_train(config: Path, steps: Optional[int], out: Path) -> None:
    """The trainer's set-up (data from the store, model, optimiser), one warm-up step, then
    ``steps`` steps (or the rest of an epoch) timed; rank 0 writes ``out`` (JSON) and the
    weights (``out`` with suffix .pt)."""
    import torch

    from nbody_lmp.training import load_config
    from nbody_lmp.training.distributed import Distributed
    from nbody_lmp.training.trainer import Trainer

    cfg = load_config(config)
    trainer = Trainer(cfg, log=lambda message: None)
    trainer.dist, trainer.device = Distributed.from_environment(torch.device("cpu"))
    dist = trainer.dist
    try:
        t0 = time.perf_counter()
        trainer._load_data()
        trainer._build()
        dist.broadcast_module(trainer.model)
        load_s = time.perf_counter() - t0
        _limit_batches(1)
        trainer._train_epoch(1)  # warm-up: first pages of the store, allocations
        _limit_batches(steps)
        t0 = time.perf_counter()
        trainer._train_epoch(2)
        seconds = dist.max_float(time.perf_counter() - t0, trainer.device)
        store = getattr(trainer.train_graphs, "store", None)  # None: data.store memory
        memory = dist.gather(memory_mib(None if store is None else store.folder))
        if dist.is_main:
            n = len(trainer.train_graphs)
            done = n if steps is None else min(n, steps * cfg.training.batch_size)
            record = {"load_s": load_s, "seconds": seconds, "configs": done, "n_train": n}
            record.update(processes=dist.world_size, memory=memory, full_epoch=steps is None)
            out.write_text(json.dumps(record))
            torch.save(trainer.model.state_dict(), out.with_suffix(".pt"))
    finally:
        dist.close()


# ------------------------------------------------------------------------------ driver
def _run(cmd: List[str], env: Dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise SystemExit(f"training_scale: {' '.join(cmd[:6])} ... failed:\n" + "\n".join(tail))


def _env() -> Dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def data_file(workdir: Path, n: int, seed: int) -> Dict[str, Any]:
    """The ``--fast`` SW data set of ``n`` configurations, generated once."""
    path = workdir / "data" / f"sw-si-fast-{n}-seed{seed}.xyz"
    if path.is_file():
        return {"path": path, "seconds": None}
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "nbody_lmp.cli", "generate", "sw-si", "-o", str(path)]
    _run(cmd + ["--configs", str(n), "--seed", str(seed), "--fast", "-q"], _env())
    return {"path": path, "seconds": time.perf_counter() - t0}


def write_config(base: Path, data: Path, folder: Path, args) -> Path:
    """The benchmark's config: ``base``'s model and loss, the data sharded, one thread."""
    import yaml

    raw = yaml.safe_load(base.read_text()) or {}
    store_dir = args.workdir / "stores"
    raw["data"] = {"train": str(data), "val_fraction": 0.1, "store": "sharded"}
    raw["data"]["store_dir"] = str(store_dir.resolve())
    training = dict(raw.get("training") or {})
    training.update(dtype=args.dtype, num_threads=1, max_epochs=2, time_limit_minutes=None)
    training.update(device="cpu", ensemble=1)
    if args.batch_size:
        training["batch_size"] = args.batch_size
    raw["training"] = training
    raw["output"] = {"run_dir": str(folder / "run"), "progress": False, "plots": False}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def train(config: Path, nproc: int, steps: Optional[int], out: Path) -> Dict[str, Any]:
    worker = ["-m", "benchmarks.training_scale", "worker-train", str(config), str(out)]
    worker += [] if steps is None else ["--steps", str(steps)]
    if nproc == 1:
        cmd = [sys.executable, *worker]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1"]
        cmd += ["--nproc_per_node", str(nproc), *worker]
    t0 = time.perf_counter()
    _run(cmd, _env())
    record = json.loads(out.read_text())
    record["wall_s"] = time.perf_counter() - t0
    return record


def max_relative_difference(a: Dict[str, Any], b: Dict[str, Any]) -> float:
    worst = 0.0
    for key, x in a.items():
        y = b[key]
        if x.dtype.is_floating_point and x.numel():
            worst = max(worst, float((x - y).abs().max() / x.abs().max().clamp_min(1e-300)))
    return worst


def measure(n: int, args) -> Dict[str, Any]:
    import torch

    folder = args.workdir / f"n{n}"
    data = data_file(args.workdir, n, args.seed)
    config = write_config(args.config, data["path"], folder, args)
    worker = ["-m", "benchmarks.training_scale", "worker-store", str(config)]
    _run([sys.executable, *worker, str(folder / "store.json")], _env())
    store = json.loads((folder / "store.json").read_text())
    steps = None if args.epoch else args.steps
    one = train(config, 1, steps, folder / "one.json")
    two = train(config, 2, steps, folder / "two.json")
    weights = [torch.load(folder / f"{k}.pt", weights_only=True) for k in ("one", "two")]
    return {
        "n": n,
        "generate_s": data["seconds"],
        "store": store,
        "one": one,
        "two": two,
        "weights_max_rel_diff": max_relative_difference(*weights),
        "dtype": args.dtype,
    }


def _rate(r: Dict[str, Any]) -> float:
    return r["configs"] / r["seconds"]


def table(rows: List[Dict[str, Any]]) -> str:
    head = (
        "| configs | store build s | build peak MiB | store MiB | configs/s 1p | configs/s 2p | "
        "2p/1p | s/epoch 1p | s/epoch 2p | peak RSS 1p MiB (store pages) | peak RSS 2p "
        "MiB/proc (store pages) | weights 1p vs 2p |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        s, one, two = r["store"], r["one"], r["two"]
        build = f"{s['seconds']:.1f}" + (" (reused)" if s["reused"] else "")
        est = "" if one["full_epoch"] else " (est.)"
        epoch1, epoch2 = (one["n_train"] / _rate(x) for x in (one, two))
        peak2 = max(m["peak_rss"] for m in two["memory"])
        mapped1 = one["memory"][0].get("store_rss", float("nan"))
        mapped2 = max(m.get("store_rss", float("nan")) for m in two["memory"])
        lines.append(
            f"| {r['n']} | {build} | {s['memory']['peak_rss']:.0f} | {s['bytes'] / 2**20:.1f} | "
            f"{_rate(one):.2f} | {_rate(two):.2f} | {_rate(two) / _rate(one):.2f} | "
            f"{epoch1:.0f}{est} | {epoch2:.0f}{est} | {one['memory'][0]['peak_rss']:.0f} "
            f"({mapped1:.1f}) | {peak2:.0f} ({mapped2:.1f}) | "
            f"{r['weights_max_rel_diff']:.1e} ({r['dtype']}) |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker-store"]:
        return worker_store(Path(argv[1]), Path(argv[2])) or 0
    if argv[:1] == ["worker-train"]:
        steps = int(argv[argv.index("--steps") + 1]) if "--steps" in argv else None
        return worker_train(Path(argv[1]), steps, Path(argv[2])) or 0
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--steps", type=int, default=20, help="timed optimiser steps (default 20)")
    p.add_argument("--epoch", action="store_true", help="time one whole epoch instead of --steps")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="model, loss, batch size")
    p.add_argument("--batch-size", type=int, default=None, help="override the config's")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    p.add_argument("--workdir", type=Path, default=Path("runs/training_scale"))
    p.add_argument("--json", type=Path, default=None, help="every number as JSON")
    args = p.parse_args(argv)
    args.workdir = args.workdir.resolve()
    rows = []
    for n in args.sizes:
        rows.append(measure(n, args))
        print(f"{n} configurations done", file=sys.stderr, flush=True)
    print(f"training on a sharded store: 1 and 2 processes, 1 thread each, {args.dtype}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
