"""Energies, forces, stress and per-atom energies of a batch of systems (docs/model-format.md,
"Forces and virial").

The network sees positions only through edge vectors ``d_e = r_j - r_i + S_e @ cell``, so one
backward pass with respect to the edge vectors gives everything, exactly as the C++ pair style
does (docs/model-format.md): with ``g_e = dE/dd_e``, ``f_i += g_e``, ``f_j -= g_e``, and the
stress (ASE convention, eV/A^3) ``sigma = (1/V) sum_e d_e (x) g_e`` (the strain derivative of
the energy divided by the volume). Forces are therefore ``-dE/dr`` exactly.

Per-level edge lists are chosen from the largest-cutoff list by distance (composition scheme:
the level-``k`` node aggregates the atoms within the level-``k`` cutoff).
"""

from __future__ import annotations

from typing import Dict, List

import torch

from ..data.graph import AtomicGraph


def level_edges(model: torch.nn.Module, edge_index: torch.Tensor, vectors: torch.Tensor):
    """Split the largest-cutoff edges into one (edge_index, vectors) pair per level."""
    lengths = torch.linalg.norm(vectors.detach(), dim=-1)
    cache: Dict[float, torch.Tensor] = {}
    ei: List[torch.Tensor] = []
    ev: List[torch.Tensor] = []
    rmax = max(model.cutoffs)
    for rc in model.cutoffs:
        if rc >= rmax:
            ei.append(edge_index)
            ev.append(vectors)
            continue
        if rc not in cache:
            cache[rc] = torch.nonzero(lengths < rc).squeeze(-1)
        idx = cache[rc]
        ei.append(edge_index[:, idx])
        ev.append(vectors[idx])
    return ei, ev


def compute_properties(
    model: torch.nn.Module,
    graph: AtomicGraph,
    forces: bool = True,
    stress: bool = False,
    training: bool = False,
) -> Dict[str, torch.Tensor]:
    """Returns ``energy [B]``, ``energies [N]`` and, if asked, ``forces [N, 3]``,
    ``stress [B, 3, 3]``.

    ``training=True`` keeps the graph of the derivatives so a force/stress loss can be
    back-propagated.
    """
    dtype = model.embedding.dtype if hasattr(model, "embedding") else graph.positions.dtype
    vectors = graph.edge_vectors().to(dtype)
    need_grad = forces or stress
    if need_grad:
        vectors = vectors.detach().requires_grad_(True)
    ei, ev = level_edges(model, graph.edge_index, vectors)
    n = int(graph.positions.shape[0])
    energies = model(graph.species, ei, ev, [n] * (len(ei) + 1))
    energy = torch.zeros(graph.num_systems, dtype=energies.dtype, device=energies.device).index_add(
        0, graph.batch, energies
    )
    out = {"energy": energy, "energies": energies}
    if need_grad:
        g = None
        if energy.requires_grad:  # False for a frozen model on a structure with no edges
            (g,) = torch.autograd.grad(
                energy.sum(), vectors, create_graph=training, allow_unused=True
            )
        if g is None:  # no edge within any cutoff: no forces
            g = torch.zeros_like(vectors)
        i, j = graph.edge_index
        if forces:
            out["forces"] = (
                torch.zeros(n, 3, dtype=g.dtype, device=g.device)
                .index_add(0, i, g)
                .index_add(0, j, -g)
            )
        if stress:
            vir = torch.einsum("ea,eb->eab", vectors, g)
            s = torch.zeros(graph.num_systems, 3, 3, dtype=g.dtype, device=g.device).index_add(
                0, graph.batch[i], vir
            )
            volume = torch.abs(torch.linalg.det(graph.cell.to(g.dtype)))
            out["stress"] = s / volume.view(-1, 1, 1)
    return out
