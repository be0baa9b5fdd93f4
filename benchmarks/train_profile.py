#!/usr/bin/env python
"""Where a training epoch's time goes: with a wall-clock training budget, speed is accuracy. Builds
the recipe's trainer as ``nbody-lmp train`` does (same data, model, loss and optimiser), then times
``--batches`` training steps, split into the stages of one step: collating the batch, the forward
pass (energy), the force derivative (``autograd.grad`` with ``create_graph``), the loss, the
backward pass (through the force graph) and the optimiser with its EMA. With ``--ops`` it also
prints the operators that dominate, from ``torch.profiler``. Prints milliseconds per step and each
stage's share. Not a test.

    python benchmarks/train_profile.py examples/rmd17-aspirin/config.yaml --batches 40 --threads 1
    python benchmarks/train_profile.py examples/si-dft/config.yaml --set model.channels=8 --ops
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
import yaml

from nbody_lmp.data.graph import collate
from nbody_lmp.nn.properties import compute_properties
from nbody_lmp.training.config import load_config
from nbody_lmp.training.epoch import batches as epoch_batches
from nbody_lmp.training.trainer import Trainer

STAGES = ("collate", "forward", "force grad", "loss", "backward", "optimiser")


def _forward_then_forces(model, g, stress: bool, clock):
    """compute_properties, with the forward pass and the force derivative timed apart."""
    grad = torch.autograd.grad

    def timed_grad(*args, **kwargs):
        clock("forward")
        out = grad(*args, **kwargs)
        clock("force grad")
        return out

    torch.autograd.grad = timed_grad
    try:
        return compute_properties(model, g, forces=True, stress=stress, training=True)
    finally:
        torch.autograd.grad = grad


def profile(trainer: Trainer, n_batches: int, warmup: int = 3):
    t = trainer.cfg.training
    stress = trainer.cfg.loss.stress_weight > 0
    batches = epoch_batches(
        len(trainer.train_graphs), t.batch_size, torch.Generator().manual_seed(0)
    )
    batches = (batches * (1 + (n_batches + warmup) // max(1, len(batches))))[: n_batches + warmup]
    totals = defaultdict(float)
    trainer.model.train()
    for k, idx in enumerate(batches):
        last = [time.perf_counter()]

        def clock(stage):
            now = time.perf_counter()
            if k >= warmup:
                totals[stage] += now - last[0]
            last[0] = now

        g = collate([trainer.train_graphs[i] for i in idx])
        clock("collate")
        pred = _forward_then_forces(trainer.model, g, stress and "stress" in g.targets, clock)
        loss, _ = trainer.loss(pred, g)
        clock("loss")
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clock("backward")
        if t.grad_clip:
            torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), t.grad_clip)
        trainer.optimizer.step()
        if trainer.ema is not None:
            trainer.ema.update(trainer.model)
        clock("optimiser")
    return {s: totals[s] / n_batches for s in STAGES}, batches[warmup:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    ap.add_argument(
        "config", type=Path, help="a training config (e.g. examples/rmd17-aspirin/config.yaml)"
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override; repeatable",
    )
    ap.add_argument(
        "--batches", type=int, default=40, help="timed training steps (after 3 untimed ones)"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument(
        "--ops", action="store_true", help="also print the top operators (torch.profiler)"
    )
    args = ap.parse_args(argv)
    if args.batches < 1:
        raise SystemExit("--batches must be at least 1")
    over = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
        over[key.strip()] = yaml.safe_load(value)
    with tempfile.TemporaryDirectory() as tmp:
        over["output.run_dir"] = tmp
        cfg = load_config(args.config, overrides=over)
        torch.set_num_threads(args.threads)
        trainer = Trainer(cfg, log=lambda s: print(s, flush=True))
        trainer._load_data()
        trainer._build()
        per_step, batches = profile(trainer, args.batches)
        total = sum(per_step.values())
        atoms = sum(
            int(trainer.train_graphs[i].positions.shape[0]) for b in batches for i in b
        ) / len(batches)
        steps_per_epoch = -(-len(trainer.train_graphs) // cfg.training.batch_size)
        print(
            f"\n{args.config}: {args.batches} steps of {cfg.training.batch_size} configurations "
            f"({atoms:.0f} atoms), {args.threads} thread(s), {cfg.training.dtype}"
        )
        for s in STAGES:
            print(f"  {s:<11} {1e3 * per_step[s]:8.2f} ms  {100 * per_step[s] / total:5.1f} %")
        print(
            f"  {'step':<11} {1e3 * total:8.2f} ms; an epoch of {steps_per_epoch} steps: "
            f"{steps_per_epoch * total:.1f} s (validation not included)"
        )
        if args.ops:
            from torch.profiler import ProfilerActivity
            from torch.profiler import profile as torch_profile

            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                profile(trainer, min(args.batches, 10), warmup=0)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    return 0


if __name__ == "__main__":
    sys.exit(main())
