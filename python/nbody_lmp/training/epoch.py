"""One pass over a data set (docs/training.md, "What a run does"): a training epoch (batches of a
seeded permutation, the weighted loss of :mod:`.losses`, gradient clipping, an optimiser step and
the EMA update per batch) and an evaluation (errors and the whole-set loss). Both run on one
process or spread over several (:mod:`.distributed`) with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

from ..data.graph import collate
from ..nn.properties import compute_properties
from ..progress import progress as progress_bar
from .distributed import Distributed
from .losses import TERMS, WeightedLoss
from .metrics import MetricsAccumulator

__all__ = ["batches", "evaluate_model", "train_epoch", "EpochSettings"]


def batches(n: int, batch_size: int, generator: Optional[torch.Generator]) -> List[List[int]]:
    """Batches of ``range(n)``: in the generator's random order, or in order without one."""
    order = (
        torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    )
    return [order[k : k + batch_size] for k in range(0, n, batch_size)]


def evaluate_model(
    model: torch.nn.Module,
    graphs: Sequence,
    batch_size: int = 8,
    keep: bool = False,
    loss: Optional[WeightedLoss] = None,
    device="cpu",
    progress: bool = False,
    desc: str = "evaluate",
    dist: Optional[Distributed] = None,
):
    """Errors of ``model`` (an NBodyNetwork or an exported module) on ``graphs``.

    Returns ``(MetricsAccumulator, weighted loss over the whole set or None)``; stress is computed
    for batches whose configurations all have a reference stress. With ``dist``, each process
    evaluates its share and the sums are reduced (kept pairs stay each process's own).
    """
    dist = dist or Distributed()
    acc = MetricsAccumulator(keep=keep)
    mine = dist.shard(range(len(graphs)))
    bar = progress_bar(
        batches(len(mine), batch_size, None), desc=desc, enabled=progress and dist.is_main
    )
    for idx in bar:
        g = collate([graphs[mine[i]] for i in idx]).to(device)
        pred = compute_properties(
            model, g, forces=True, stress="stress" in g.targets, training=False
        )
        acc.add(pred, g)
    dist.sum_metrics(acc, torch.device(device))
    return acc, (loss.from_metrics(acc.summary()) if loss is not None else None)


@dataclass
class EpochSettings:
    """What a training epoch needs besides the model, data and optimiser."""

    batch_size: int
    grad_clip: Optional[float]
    stress: bool
    device: torch.device
    desc: str = "epoch"
    show_progress: bool = True


def graph_costs(graphs: Sequence) -> Sequence[float]:
    """The work of each graph, atoms plus edges, for sharing batches between processes: from
    the graphs' ``costs`` when they have them (a store's index), else from each graph."""
    if hasattr(graphs, "costs"):
        return graphs.costs
    return [int(g.positions.shape[0]) + int(g.edge_index.shape[1]) for g in graphs]


def train_epoch(
    model: torch.nn.Module,
    graphs: Sequence,
    optimizer: torch.optim.Optimizer,
    loss: WeightedLoss,
    ema,
    generator: torch.Generator,
    settings: EpochSettings,
    dist: Optional[Distributed] = None,
) -> Tuple[float, dict]:
    """One epoch; returns the mean training loss (per configuration, as the batches' losses
    weighted by their sizes) and the training metrics."""
    dist = dist or Distributed()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    acc = MetricsAccumulator()
    total, count = 0.0, 0
    bar = progress_bar(
        batches(len(graphs), settings.batch_size, generator),
        desc=settings.desc,
        enabled=settings.show_progress and dist.is_main,
    )
    costs = graph_costs(graphs) if dist.active else None
    for idx in bar:
        local = dist.shard_balanced(idx, costs) if dist.active else list(idx)
        value = _step(model, params, graphs, local, optimizer, loss, settings, dist, acc)
        if not torch.isfinite(value):
            raise FloatingPointError(
                f"the loss became {float(value)} ({settings.desc}): lower training.lr, set "
                "training.grad_clip, or use training.dtype float64"
            )
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, settings.grad_clip)
        optimizer.step()
        if ema is not None:
            ema.update(model)
        total += float(value) * len(idx)
        count += len(idx)
        bar.set_postfix(loss=f"{total / count:.3e}", refresh=False)
    bar.close()
    dist.sum_metrics(acc, settings.device)
    return total / count, acc.summary()


def _step(model, params, graphs, local, optimizer, loss, settings, dist, acc) -> torch.Tensor:
    """Gradients of one batch's loss, of which this process holds ``local``; returns the whole
    batch's loss. On several processes the loss terms are normalised by the batch's total counts
    and the gradients summed (:mod:`.distributed`)."""
    g = collate([graphs[i] for i in local]).to(settings.device) if local else None
    denominators = None
    if dist.active:
        mine = loss.counts(g, settings.stress) if g is not None else {}
        totals = dist.sum_counts([mine.get(k, 0) for k in TERMS], settings.device)
        denominators = {k: v for k, v in zip(TERMS, totals) if v > 0}
    optimizer.zero_grad(set_to_none=True)
    if g is None:
        value = torch.zeros((), dtype=params[0].dtype, device=settings.device)
    else:
        stress = settings.stress and "stress" in g.targets
        pred = compute_properties(model, g, forces=True, stress=stress, training=True)
        value, _ = loss(pred, g, denominators)
        if torch.isfinite(value):
            value.backward()
        acc.add(pred, g)
    return dist.sum_gradients(params, value.detach())
