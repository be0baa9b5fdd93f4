"""Buffers that hold exact constants, kept exact whatever the module's dtype (docs/theory.md,
"Departures from the paper, and why": "Exact constants in float64").

The covariance of a gate (paper §4, Proposition 1) rests on constants that are exact numbers:
the Clebsch–Gordan matrices above all. Rounded to float32 they are covariant only to ~1e-7, and
a float32 buffer cast up to float64 keeps that error: a float64 model would then be covariant
only to ~1e-9, not to rounding. So every such buffer remembers its float64 value, computed once
at construction, and each cast or move (``.to``, ``.double()``, ``.cuda()``, ``load_state_dict``)
writes that value again, rounded once to the buffer's new dtype. A float32-trained model
exported as float64 therefore has the same CG matrices as one built in float64.

The float64 copies are plain Python attributes, ignored by TorchScript. An exported file stores
the constants in float64 whatever its dtype (:meth:`ExactConstants.constants_to_float64`), so
``pair_style nbody dtype float64`` on a float32 file is exactly covariant too; readers cast the
whole module to one dtype when they load it, and the forward casts a constant to its input's
dtype (a no-op once they agree).
"""

from __future__ import annotations

from typing import Dict, List

import torch


class ExactConstants(torch.nn.Module):
    """Base for modules with exact-constant buffers.

    - :meth:`register_constant`: a buffer that is a function of the architecture only (a CG
      matrix). It always equals its float64 value rounded once to the buffer's dtype; loading a
      state dict does not change it.
    - :meth:`register_float64_buffer`: a buffer of data-fitted numbers that must not lose
      precision (energy offsets ``E0`` of ~1e2 eV): it stays float64 when the module is cast down,
      moves with it between devices, and is saved and loaded as usual.
    """

    __jit_ignored_attributes__ = ["_float64_constants", "_float64_buffers"]

    def __init__(self):
        super().__init__()
        self._float64_constants: Dict[str, torch.Tensor] = {}
        self._float64_buffers: List[str] = []

    def register_constant(self, name: str, value: torch.Tensor, persistent: bool = True) -> None:
        """``persistent=False``: not in the state dict (a form of another constant that checkpoints
        need not carry); exported files keep it all the same (TorchScript saves every buffer)."""
        exact = value.detach().to(device="cpu", dtype=torch.float64).clone()
        self._float64_constants[name] = exact
        self.register_buffer(name, exact.to(torch.get_default_dtype()), persistent=persistent)

    def register_float64_buffer(self, name: str, value: torch.Tensor) -> None:
        self._float64_buffers.append(name)
        self.register_buffer(name, value.detach().to(dtype=torch.float64).clone())

    def constants_to_float64(self) -> None:
        """Put the exact float64 values in the constant buffers, whatever the module's dtype (for
        export: the file then carries exact constants, and a reader that casts it to float64,
        such as ``pair_style nbody dtype float64`` on a float32 file, gets exact ones). The
        forward casts them to its inputs' dtype."""
        for name, exact in self._float64_constants.items():
            self._buffers[name] = exact.to(device=self._buffers[name].device, copy=True)

    def _restore_constants(self) -> None:
        for name, exact in self._float64_constants.items():
            current = self._buffers[name]
            self._buffers[name] = exact.to(
                device=current.device, dtype=current.dtype, copy=True
            )  # never alias the float64 value

    def _apply(self, fn, recurse: bool = True):
        kept = {name: self._buffers[name] for name in self._float64_buffers}
        out = super()._apply(fn, recurse)
        for name, value in kept.items():
            self._buffers[name] = value.to(device=self._buffers[name].device)
        self._restore_constants()
        return out

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        self._restore_constants()
