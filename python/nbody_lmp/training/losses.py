"""The training loss: energy per atom, forces and stress with configurable weights (the ``loss``
section of the training configuration, :mod:`.config`).

    L = w_E * mean_c ((E_c^pred - E_c) / N_c)^2              energy per atom, eV^2
      + w_F * mean_{i,a} (F_ia^pred - F_ia)^2                 force components, (eV/A)^2
      + w_S * mean_{c,a,b} (sigma_c,ab^pred - sigma_c,ab)^2    stress components, (eV/A^3)^2

Means run over the batch. A term whose weight is 0, or whose reference is missing from the
batch (e.g. no stress in the data), is left out. Units are the data's own (ASE ``metal``), so
the weights say how many eV^2 of energy error per atom one (eV/A)^2 of force error is worth.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch

from .config import LossSection

__all__ = ["WeightedLoss", "needs_stress"]


def needs_stress(weights: LossSection) -> bool:
    return weights.stress_weight > 0


class WeightedLoss:
    """``loss(pred, graph) -> (total, {"energy": .., "forces": .., "stress": ..})`` (terms unweighted)."""

    def __init__(self, weights: LossSection):
        self.w = {
            "energy": float(weights.energy_weight),
            "forces": float(weights.forces_weight),
            "stress": float(weights.stress_weight),
        }

    def terms(self, pred: Dict[str, torch.Tensor], graph) -> Dict[str, torch.Tensor]:
        t = graph.targets
        out: Dict[str, torch.Tensor] = {}
        if self.w["energy"] > 0 and "energy" in t:
            n = graph.n_atoms.to(pred["energy"].dtype)
            out["energy"] = torch.mean(
                ((pred["energy"] - t["energy"].to(pred["energy"].dtype)) / n) ** 2
            )
        if self.w["forces"] > 0 and "forces" in t and "forces" in pred:
            out["forces"] = torch.mean((pred["forces"] - t["forces"].to(pred["forces"].dtype)) ** 2)
        if self.w["stress"] > 0 and "stress" in t and "stress" in pred:
            out["stress"] = torch.mean((pred["stress"] - t["stress"].to(pred["stress"].dtype)) ** 2)
        return out

    def __call__(self, pred: Dict[str, torch.Tensor], graph):
        terms = self.terms(pred, graph)
        total: Optional[torch.Tensor] = None
        for k, v in terms.items():
            total = self.w[k] * v if total is None else total + self.w[k] * v
        if total is None:
            raise ValueError(
                "the loss has no terms: the data has none of the labels with a weight > 0 "
                "(energy, forces, stress); check loss.*_weight and data.*_key"
            )
        return total, terms
