"""Data-parallel training on ``torch.distributed`` (docs/training.md, "Several processes").

Every process holds the whole model and reads the whole data set. Each global batch, the one a
single process would draw from the epoch's seeded permutation, is split across the processes
(process ``r`` of ``W`` takes items ``r, r + W, ...``). Each process computes the loss of its
share normalised by the *global* batch's counts (configurations, force components, stress
components), so the shares' losses add up to the single-process loss of the whole batch; one
all-reduce then sums the gradients (and the loss), and every process takes the same optimiser
step that one process would have taken. Metrics are sums (:class:`~.metrics.ErrorStats`), so
they are reduced exactly too.

Gradients are reduced by hand, after ``loss.backward()``, rather than by
``DistributedDataParallel``: the forces are a first derivative taken inside the forward pass
(``create_graph=True``) and the loss differentiates them again, which DDP's reducer hooks do not
support.

The process group comes from the environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``): gloo on CPU, NCCL on CUDA (one GPU per process,
``cuda:LOCAL_RANK``). Without ``WORLD_SIZE`` (or with ``WORLD_SIZE=1``) every method is a no-op
and training is exactly the single-process loop.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from .metrics import QUANTITIES, MetricsAccumulator

__all__ = ["Distributed", "TrainingProcessLost"]

_SUMS = ("n", "abs", "sq", "ref", "ref_sq")


class TrainingProcessLost(RuntimeError):
    """A collective failed: another training process stopped or was killed."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RuntimeError(f"environment variable {name}={raw!r} is not an integer") from None


class Distributed:
    """This process's place among the training processes, and the collectives training uses."""

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0):
        self.rank, self.world_size, self.local_rank = int(rank), int(world_size), int(local_rank)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ set-up
    @classmethod
    def from_environment(cls, device: torch.device, timeout_minutes: float = 30.0):
        """Join the process group ``torchrun`` describes (nothing to join when ``WORLD_SIZE`` is
        unset or 1). Returns the context and the device this process trains on."""
        world = _env_int("WORLD_SIZE", 1)
        if world <= 1:
            return cls(), device
        rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
        if device.type == "cuda":
            device = torch.device("cuda", local if device.index is None else device.index)
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(
                backend=backend,
                rank=rank,
                world_size=world,
                timeout=datetime.timedelta(minutes=timeout_minutes),
            )
        return cls(rank, world, local), device

    def close(self) -> None:
        if self.active:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    # ------------------------------------------------------------------ data
    def shard(self, items: Sequence) -> List:
        """This process's share of ``items``: every ``world_size``-th one from ``rank``."""
        return list(items[self.rank :: self.world_size]) if self.active else list(items)

    def shard_balanced(self, items: Sequence[int], costs: Sequence[float]) -> List[int]:
        """This process's share of the batch ``items`` with about equal work on every process:
        the largest first, each to the process with the least work so far (ties: the lowest
        rank), by ``costs[item]``. The same on every process, and in the batch's order. The
        gradients do not depend on the partition (the loss terms are normalised by the whole
        batch's counts), only the time a step waits for its slowest process does."""
        if not self.active:
            return list(items)
        load = [0.0] * self.world_size
        owner = {}
        for item in sorted(items, key=lambda i: (-float(costs[i]), i)):
            rank = min(range(self.world_size), key=lambda r: (load[r], r))
            owner[item] = rank
            load[rank] += float(costs[item])
        return [i for i in items if owner[i] == self.rank]

    # ------------------------------------------------------------------ collectives
    def _all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        import torch.distributed as dist

        reduce_op = dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX
        try:
            dist.all_reduce(tensor, op=reduce_op)
        except RuntimeError as exc:  # gloo/NCCL errors when a peer disappears
            raise TrainingProcessLost(
                f"training process {self.rank} of {self.world_size} lost contact with the others "
                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            ) from exc
        return tensor

    def sum_counts(self, counts: Sequence[float], device: torch.device) -> List[float]:
        """Element-wise sum of small counts over the processes (float64, exact for integers)."""
        if not self.active:
            return [float(c) for c in counts]
        t = torch.tensor([float(c) for c in counts], dtype=torch.float64, device=device)
        return self._all_reduce(t).tolist()

    def max_float(self, value: float, device: torch.device) -> float:
        if not self.active:
            return float(value)
        t = torch.tensor([float(value)], dtype=torch.float64, device=device)
        return float(self._all_reduce(t, op="max")[0])

    def sum_gradients(self, params: Sequence[torch.nn.Parameter], extra: torch.Tensor):
        """Sum every parameter's gradient (a missing one counts as zero) and ``extra`` (e.g. the
        batch's loss) over the processes, in one all-reduce of a flat buffer; gradients are
        written back in place. Returns the reduced ``extra``."""
        if not self.active:
            return extra
        ref = params[0]
        parts = [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params
        ]
        flat = torch.cat(parts + [extra.detach().reshape(-1).to(ref.dtype)])
        self._all_reduce(flat)
        offset = 0
        for p in params:
            n = p.numel()
            g = flat[offset : offset + n].view_as(p)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)
            offset += n
        return flat[offset:].reshape(extra.shape).to(extra.dtype)

    def sum_metrics(self, acc: MetricsAccumulator, device: torch.device) -> MetricsAccumulator:
        """The running sums of ``acc`` summed over the processes (in place; kept pairs stay
        local, see :meth:`gather`)."""
        if not self.active:
            return acc
        values = [getattr(acc.stats[q], k) for q in QUANTITIES for k in _SUMS]
        reduced = self.sum_counts(values, device)
        it = iter(reduced)
        for q in QUANTITIES:
            for k in _SUMS:
                v = next(it)
                setattr(acc.stats[q], k, int(round(v)) if k == "n" else v)
        return acc

    def gather(self, obj: Any) -> Optional[List[Any]]:
        """Every process's ``obj`` on the main process (``None`` elsewhere)."""
        if not self.active:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world_size if self.is_main else None
        try:
            dist.gather_object(obj, out, dst=0)
        except RuntimeError as exc:
            raise TrainingProcessLost(
                f"training process {self.rank} of {self.world_size} lost contact with the others"
            ) from exc
        return out

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """The main process's parameters and buffers on every process."""
        if not self.active:
            return
        import torch.distributed as dist

        with torch.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t.data, src=0)

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            try:
                dist.barrier()
            except RuntimeError as exc:
                raise TrainingProcessLost(
                    f"training process {self.rank} of {self.world_size} lost contact with the "
                    "others at a barrier"
                ) from exc

    def on_main(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the main process only; an exception there is raised on every process
        (with the main process's message), so none of them waits for a process that stopped."""
        if not self.active:
            return fn()
        import torch.distributed as dist

        result: Dict[str, Any] = {"error": None, "type": None, "value": None}
        if self.is_main:
            try:
                result["value"] = fn()
            except Exception as exc:  # re-raised below, on every process
                result["error"], result["type"] = str(exc), type(exc)
                error = exc
        box = [result if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        got = box[0]
        if got["error"] is not None:
            if self.is_main:
                raise error
            kind = got["type"] if isinstance(got["type"], type) else RuntimeError
            try:
                exc = kind(got["error"])
            except Exception:  # an exception type that needs other arguments
                exc = RuntimeError(got["error"])
            raise exc
        return got["value"]
