"""Exponential moving average of the weights (``training.ema_decay`` of :mod:`.config`).

After every optimizer step ``shadow = d * shadow + (1 - d) * weights`` with
``d = min(decay, (1 + n) / (10 + n))`` (``n`` = updates so far), so early averages do not
remember the random initial weights for long. Validation, the best checkpoint and the exported
model use the averaged weights; the optimizer keeps working on the raw ones.
"""

from __future__ import annotations

import contextlib
from typing import Dict

import torch

__all__ = ["ExponentialMovingAverage"]


class ExponentialMovingAverage:
    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.num_updates = 0
        self.shadow: Dict[str, torch.Tensor] = {
            n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
        }

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.num_updates += 1
        d = min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))
        pairs = [
            (self.shadow[n], p.detach()) for n, p in model.named_parameters() if n in self.shadow
        ]
        if pairs:  # one fused call for all tensors, not one call per tensor
            shadow, params = zip(*pairs)
            torch._foreach_lerp_(list(shadow), list(params), 1.0 - d)

    @contextlib.contextmanager
    def applied(self, model: torch.nn.Module):
        """Temporarily put the averaged weights into ``model``."""
        backup = {}
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in self.shadow:
                    backup[n] = p.detach().clone()
                    p.copy_(self.shadow[n])
        try:
            yield model
        finally:
            with torch.no_grad():
                for n, p in model.named_parameters():
                    if n in backup:
                        p.copy_(backup[n])

    def state_dict(self) -> dict:
        return {
            "decay": self.decay,
            "num_updates": self.num_updates,
            "shadow": {n: t.clone() for n, t in self.shadow.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        missing = set(self.shadow) ^ set(state["shadow"])
        if missing:
            raise ValueError(
                f"EMA state does not match the model (differs in {sorted(missing)[:3]} ...)"
            )
        self.decay = float(state["decay"])
        self.num_updates = int(state["num_updates"])
        with torch.no_grad():
            for n, t in state["shadow"].items():
                self.shadow[n].copy_(t)
