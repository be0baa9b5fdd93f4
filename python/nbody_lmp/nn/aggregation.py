"""The neighbourhood sum of a zeroth-order gate (paper eq. 10), done as node work.

For a parent ``i`` with children ``j`` (edge vectors ``d_ij``) it forms, for every radial term
``s`` and every channel ``c``,

    A_i[c, s] = sum_j  psi_j[c]  (x)  Y(d_ij) R_s(|d_ij|)          (an outer product, no CG yet)

The CG transform is linear, so it is applied once per node afterwards, not per edge
(docs/theory.md, "Departures from the paper, and why": "Node work, not edge work"). The sum
itself is a batched matrix product over a padded ``[parents, K, .]`` layout (``K`` = most
children of any parent): no ``[edges, C, D_in, D_sh]`` intermediate is ever built.
"""

from __future__ import annotations

from typing import Tuple

import torch


def padded_slots(center: torch.Tensor, n_parents: int) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """Stable order of the edges by parent, each edge's flat slot ``parent*K + rank``, and ``K``."""
    sorted_center, order = torch.sort(center, stable=True)
    counts = torch.bincount(sorted_center, minlength=n_parents)
    K = int(counts.max()) if sorted_center.numel() > 0 else 0
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(sorted_center.numel(), device=center.device) - first[sorted_center]
    return order, sorted_center * K + rank, K


def neighbourhood_sum(
    child: torch.Tensor, weight: torch.Tensor, center: torch.Tensor, n_parents: int
) -> torch.Tensor:
    """``sum_{e: center[e] = i} child[e] (x) weight[e]``.

    child  [E, A]   (e.g. psi_j flattened over channels and parts)
    weight [E, B]   (e.g. Y(d) R_s(|d|) flattened over radial terms and harmonics)
    returns [n_parents, A, B]
    """
    A, B = child.shape[1], weight.shape[1]
    order, slot, K = padded_slots(center, n_parents)
    if K == 0:
        return torch.zeros(n_parents, A, B, dtype=child.dtype, device=child.device)
    cp = torch.zeros(n_parents * K, A, dtype=child.dtype, device=child.device).index_copy(
        0, slot, child[order]
    )
    wp = torch.zeros(n_parents * K, B, dtype=weight.dtype, device=weight.device).index_copy(
        0, slot, weight[order]
    )
    return torch.bmm(cp.view(n_parents, K, A).transpose(1, 2), wp.view(n_parents, K, B))


def channelwise_neighbourhood_sum(
    x: torch.Tensor, child: torch.Tensor, weight: torch.Tensor, center: torch.Tensor, n_parents: int
) -> torch.Tensor:
    """``sum_{e: center[e] = i} x[child[e], c] (x) weight[e, c]``, channel by channel (no channel
    mixing).

    x      [N, C, A]   (the children's states psi_j, channel c)
    child  [E]         (the child node of each edge)
    weight [E, C, B]   (Y(d) R_c(|d|), channel c)
    returns [C, n_parents, A, B] (channel-major, as the batched products make it).

    ``A == 1`` (scalar children): per-edge products scattered to the parents. Otherwise one batched
    matrix product per (channel, parent) over a padded ``[C, parents, K, .]`` layout that the
    gathers write directly (channel-major: node-sized transposes only, no per-edge permute copies).
    """
    N, C, A = x.shape[0], x.shape[1], x.shape[2]
    B = weight.shape[2]
    if A == 1:
        out = torch.zeros(n_parents, C, B, dtype=weight.dtype, device=weight.device)
        return out.index_add(0, center, x[child] * weight).transpose(0, 1).view(C, n_parents, 1, B)
    order, slot, K = padded_slots(center, n_parents)
    if K == 0:
        return torch.zeros(C, n_parents, A, B, dtype=x.dtype, device=x.device)
    # an empty slot reads the zero child row N (and a zero weight)
    child_of_slot = torch.full((n_parents * K,), N, dtype=torch.long, device=x.device).index_copy(
        0, slot, child[order]
    )
    xc = torch.cat([x, x.new_zeros(1, C, A)]).transpose(0, 1)  # [C, N+1, A]
    p = xc.index_select(1, child_of_slot).view(C * n_parents, K, A)
    # each edge fills one slot: written by index_copy, whose backward is a gather (index_select's
    # would be a scatter-add, which is slower)
    slot_of_edge = torch.empty_like(slot).index_copy(0, order, slot)
    w = weight.new_zeros(C, n_parents * K, B).index_copy(1, slot_of_edge, weight.transpose(0, 1))
    return torch.bmm(p.transpose(1, 2), w.view(C * n_parents, K, B)).view(C, n_parents, A, B)
