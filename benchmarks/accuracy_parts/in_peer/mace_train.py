"""Runs inside MACE's own virtual environment (benchmarks.accuracy --peers mace), because
``mace_run_train`` has no wall-clock stop of its own.

    python mace_train.py BUDGET_SECONDS STATUS.json -- <mace_run_train arguments>

It runs MACE's own ``mace_run_train`` unchanged, except that its optimiser step refuses to
start once BUDGET_SECONDS have passed since training began (the first validation included, as
in our trainer's time limit). The training loop then ends as if it had finished: MACE loads its
latest checkpoint (the best validation loss so far, as its loop saves them), evaluates it and
writes ``<name>.model``. If no epoch completed within the budget, the current weights (EMA
averaged where EMA is on) are saved as that checkpoint. STATUS.json records the measured
training time, the completed epochs and optimiser steps, why training stopped, and the epoch
and minute of the checkpoint MACE keeps (its best validation loss): a best epoch long before the
budget ran out says the run had stopped improving, not that it was cut short.
Imports only MACE (and what it imports).
"""

import importlib
import json
import os
import re
import sys
import time


class BudgetSpent(Exception):
    """The wall-clock budget ran out before this optimiser step."""


def _kept_checkpoint(folder, wall_start):
    """{"best_epoch" (1-based), "best_at_s"} of the newest ``*_epoch-N.pt`` MACE wrote in
    ``folder``."""
    found = [
        (int(m.group(1)), os.path.join(folder, f))
        for f in os.listdir(folder)
        if (m := re.search(r"_epoch-(\d+)", f)) and f.endswith(".pt")
    ]
    if not found:
        return {}
    epoch, path = max(found)
    return {"best_epoch": epoch + 1, "best_at_s": os.path.getmtime(path) - wall_start}


def main(argv):
    if len(argv) < 3 or argv[2] != "--":
        raise SystemExit(
            "usage: mace_train.py BUDGET_SECONDS STATUS.json -- <mace_run_train arguments>"
        )
    budget, status_path, mace_args = float(argv[0]), argv[1], argv[3:]
    from contextlib import nullcontext

    from mace import tools

    loop = importlib.import_module("mace.tools.train")  # the module (tools.train is the function)
    st = {"budget_s": budget, "epochs": 0, "steps": 0, "stopped_by": None}
    clock = {}

    step, epoch, train = loop.take_step, loop.train_one_epoch, tools.train

    def timed_step(*args, **kwargs):
        if time.monotonic() > clock["deadline"]:
            raise BudgetSpent
        st["steps"] += 1
        return step(*args, **kwargs)

    def counted_epoch(*args, **kwargs):
        out = epoch(*args, **kwargs)
        st["epochs"] += 1
        return out

    def budgeted_train(**kwargs):
        clock["start"] = time.monotonic()
        clock["wall_start"] = time.time()
        clock["deadline"] = clock["start"] + budget
        try:
            train(**kwargs)
            st["stopped_by"] = "mace (max_num_epochs or patience)"
        except BudgetSpent:
            st["stopped_by"] = "budget"
        st["train_s"] = time.monotonic() - clock["start"]
        handler = kwargs["checkpoint_handler"]
        folder = handler.io.directory
        if not (os.path.isdir(folder) and any(f.endswith(".pt") for f in os.listdir(folder))):
            ema = kwargs.get("ema")
            with ema.average_parameters() if ema is not None else nullcontext():
                handler.save(
                    tools.CheckpointState(
                        kwargs["model"], kwargs["optimizer"], kwargs["lr_scheduler"]
                    ),
                    epochs=st["epochs"],
                )
            st["note"] = "no epoch finished within the budget: the current weights were saved"
        st.update(_kept_checkpoint(folder, clock["wall_start"]))
        with open(status_path, "w") as fh:
            json.dump(st, fh, indent=1)

    loop.take_step = timed_step
    loop.train_one_epoch = counted_epoch
    tools.train = budgeted_train
    from mace.cli import run_train

    sys.argv = ["mace_run_train", *mace_args]
    run_train.main()


if __name__ == "__main__":
    main(sys.argv[1:])
