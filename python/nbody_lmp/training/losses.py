"""The training loss: energy per atom, forces and stress with configurable weights (the ``loss``
section of the training configuration, :mod:`.config`).

    L = w_E * mean_c ((E_c^pred - E_c) / N_c)^2              energy per atom, eV^2
      + w_F * mean_{i,a} (F_ia^pred - F_ia)^2                 force components, (eV/A)^2
      + w_S * mean_{c,a,b} (sigma_c,ab^pred - sigma_c,ab)^2    stress components, (eV/A^3)^2

Means run over the batch (or over a whole data set, :meth:`WeightedLoss.from_metrics`). A term
whose weight is 0, or whose reference is missing from the batch (e.g. no stress in the data), is
left out. Units are the data's own (ASE ``metal``), so
the weights say how many eV^2 of energy error per atom one (eV/A)^2 of force error is worth.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch

from .config import LossSection

__all__ = ["WeightedLoss", "needs_stress", "TERMS"]


def needs_stress(weights: LossSection) -> bool:
    return weights.stress_weight > 0


TERMS = ("energy", "forces", "stress")
# the metric (training/metrics.py) whose mean square is each loss term
METRIC_OF_TERM = {"energy": "energy_per_atom", "forces": "forces", "stress": "stress"}


class WeightedLoss:
    """``loss(pred, graph) -> (total, {"energy": .., "forces": .., "stress": ..})`` (terms
    unweighted).

    ``denominators`` (``{term: count}``) replaces each mean's own count by a given one: with the
    counts of a whole batch spread over several processes, each process's share of the loss is
    its sum over the whole batch's count, and the shares add up to the batch's loss
    (:mod:`.distributed`).
    """

    def __init__(self, weights: LossSection):
        self.w = {
            "energy": float(weights.energy_weight),
            "forces": float(weights.forces_weight),
            "stress": float(weights.stress_weight),
        }

    def residuals(self, pred: Dict[str, torch.Tensor], graph) -> Dict[str, torch.Tensor]:
        """The error of each term with a weight > 0 and a reference in the batch."""
        t = graph.targets
        out: Dict[str, torch.Tensor] = {}
        if self.w["energy"] > 0 and "energy" in t:
            n = graph.n_atoms.to(pred["energy"].dtype)
            out["energy"] = (pred["energy"] - t["energy"].to(pred["energy"].dtype)) / n
        if self.w["forces"] > 0 and "forces" in t and "forces" in pred:
            out["forces"] = pred["forces"] - t["forces"].to(pred["forces"].dtype)
        if self.w["stress"] > 0 and "stress" in t and "stress" in pred:
            out["stress"] = pred["stress"] - t["stress"].to(pred["stress"].dtype)
        return out

    def counts(self, graph, stress: bool) -> Dict[str, int]:
        """How many values each term averages over in ``graph`` (before any prediction)."""
        t, out = graph.targets, {}
        if self.w["energy"] > 0 and "energy" in t:
            out["energy"] = int(t["energy"].numel())
        if self.w["forces"] > 0 and "forces" in t:
            out["forces"] = int(t["forces"].numel())
        if self.w["stress"] > 0 and stress and "stress" in t:
            out["stress"] = int(t["stress"].numel())
        return out

    def terms(
        self,
        pred: Dict[str, torch.Tensor],
        graph,
        denominators: Optional[Dict[str, float]] = None,
    ) -> Dict[str, torch.Tensor]:
        out: Dict[str, torch.Tensor] = {}
        for k, r in self.residuals(pred, graph).items():
            if denominators is None:
                out[k] = torch.mean(r**2)
            else:
                out[k] = torch.sum(r**2) / denominators[k]
        return out

    def __call__(self, pred: Dict[str, torch.Tensor], graph, denominators=None):
        terms = self.terms(pred, graph, denominators)
        total: Optional[torch.Tensor] = None
        for k, v in terms.items():
            total = self.w[k] * v if total is None else total + self.w[k] * v
        if total is None:
            raise ValueError(
                "the loss has no terms: the data has none of the labels with a weight > 0 "
                "(energy, forces, stress); check loss.*_weight and data.*_key"
            )
        return total, terms

    def from_metrics(self, summary: Dict[str, Dict[str, float]]) -> Optional[float]:
        """The loss of a whole data set from its metrics (each term the mean square error over
        every value of the set): independent of how the set was cut into batches or shared
        between processes."""
        total, any_term = 0.0, False
        for k in TERMS:
            m = summary.get(METRIC_OF_TERM[k])
            if self.w[k] > 0 and m:
                total += self.w[k] * m["rmse"] ** 2
                any_term = True
        return total if any_term else None
