"""Training checkpoints (last and best, written atomically; ``nbody-lmp train --resume``
continues bit-for-bit in optimizer state and epoch) and exporting from them
(``nbody-lmp export RUN_DIR_OR_CHECKPOINT``, the file of docs/model-format.md).

A checkpoint is one ``torch.save`` file holding only tensors, numbers, strings, lists and dicts
(it loads with ``torch.load(weights_only=True)``: no pickled code):

=================  =================================================================
``format``         ``"nbody-lmp-checkpoint"``, ``version`` 1, ``nbody_lmp_version``
``model_config``   ``NBodyNetwork(**model_config)`` rebuilds the network; ``dtype``
``model_state``    the raw (optimised) weights and buffers (E0, scale, shift, ...)
``eval_state``     the weights validation used (the EMA average if EMA is on): exported
``ema``            the EMA's shadow weights and update count (or None)
``optimizer``,     their ``state_dict()``
``scheduler``
``epoch``          completed epochs; ``best_loss``, ``best_epoch``, ``bad_epochs``,
                   ``elapsed_s``, ``finished``, ``stop_reason``, ``history`` (metrics.csv rows)
``rng``            torch, NumPy and Python random states
``config``         the full training configuration; ``data_summary``
=================  =================================================================

A run folder holds ``last.pt`` (every epoch) and ``best.pt`` (lowest validation loss). Each is
written to a temporary file in the same folder and renamed over the old one (``os.replace``),
so a kill at any moment leaves either the old or the new file, never a corrupt one.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch

from ..export import atomic_write_bytes

__all__ = [
    "CHECKPOINT_FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "find_checkpoint",
    "model_from_checkpoint",
    "rng_state",
    "set_rng_state",
    "export_checkpoint",
    "load_any_model",
]

CHECKPOINT_FORMAT = "nbody-lmp-checkpoint"
CHECKPOINT_VERSION = 1
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def save_checkpoint(path: Union[str, os.PathLike], state: Dict[str, Any]) -> Path:
    """Write ``state`` atomically (temporary file + fsync + ``os.replace``)."""
    from .. import __version__

    state = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "nbody_lmp_version": __version__,
        **state,
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_checkpoint(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"{path} is not a readable nbody-lmp checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is not an nbody-lmp training checkpoint (for an exported model use "
            f"`nbody-lmp info`/`evaluate`)"
        )
    if int(state.get("version", 0)) != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path} has checkpoint version {state.get('version')}, this nbody-lmp reads "
            f"version {CHECKPOINT_VERSION}"
        )
    return state


def find_checkpoint(path: Union[str, os.PathLike]) -> Path:
    """A checkpoint file itself, or the ``best.pt`` (else ``last.pt``) of a run folder."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        if any(p.is_dir() and p.name.startswith("member-") for p in path.iterdir()):
            raise FileNotFoundError(
                f"{path} is the run folder of an ensemble (nbody-lmp train --ensemble): give one "
                f"member, e.g. {path / 'member-0'}, or export them all with "
                f"`nbody-lmp export {path} -o model.pt`"
            )
        raise FileNotFoundError(
            f"{path} holds no best.pt or last.pt: is it a run folder of `nbody-lmp train`?"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: give a run folder or a checkpoint file (best.pt, last.pt)"
        )
    return path


def model_from_checkpoint(state: Dict[str, Any], weights: str = "eval"):
    """The network of a checkpoint, with its evaluation (EMA) weights or its raw ``"model"``
    weights."""
    from ..nn.network import NBodyNetwork

    config = dict(state["model_config"])
    # a model_config without radial_weights holds shared radial weights (its network has no other
    # kind)
    config.setdefault("radial_weights", "shared")
    model = NBodyNetwork(**config, dtype=DTYPES[state["dtype"]])
    key = (
        "eval_state" if weights == "eval" and state.get("eval_state") is not None else "model_state"
    )
    model.load_state_dict(state[key])
    model.set_shortest_distances((state.get("data_summary") or {}).get("shortest_distances"))
    return model.eval()


# ------------------------------------------------------------------------------------ RNG
def rng_state() -> Dict[str, Any]:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


# ------------------------------------------------------------------------------------ export
def training_metadata(state: Dict[str, Any], source: Optional[Path] = None) -> Dict[str, Any]:
    """What an exported file records about its training (merged into its metadata.json)."""
    hist = state.get("history") or []
    best = next((r for r in hist if r.get("epoch") == state.get("best_epoch")), None)
    cfg = state.get("config", {})
    meta = {
        "training_data": state.get("data_summary", {}),
        "training": {
            "checkpoint": str(source) if source else None,
            "epochs": state.get("epoch"),
            "best_epoch": state.get("best_epoch"),
            "stop_reason": state.get("stop_reason"),
            "training_time_s": round(float(state.get("elapsed_s", 0.0)), 1),
            "dtype": state.get("dtype"),
            "loss_weights": cfg.get("loss"),
            "seed": cfg.get("seed"),
        },
    }
    if state.get("final_metrics"):
        meta["metrics"] = state["final_metrics"]
    elif best:
        meta["metrics"] = {
            "validation_at_best_epoch": {k: v for k, v in best.items() if k.startswith("val_")}
        }
    return meta


def export_checkpoint(
    source: Union[str, os.PathLike],
    output: Union[str, os.PathLike],
    dtype: Optional[str] = None,
    overwrite: bool = False,
    radial_table: int = 0,
) -> Tuple[Path, Dict[str, Any]]:
    """Export the evaluation weights of a run folder (its best.pt) or a checkpoint file."""
    from ..export import export

    ckpt = find_checkpoint(source)
    state = load_checkpoint(ckpt)
    model = model_from_checkpoint(state)
    output = Path(output)
    if output.resolve() == ckpt.resolve():
        raise ValueError(f"the output {output} is the checkpoint itself: choose another file name")
    path = export(
        model,
        output,
        dtype=dtype,
        metadata=training_metadata(state, ckpt),
        overwrite=overwrite,
        radial_table=radial_table,
    )
    return path, state


def load_any_model(path: Union[str, os.PathLike], device: str = "cpu"):
    """An exported model file, a checkpoint, or a run folder -> (module, metadata)."""
    path = Path(path)
    if path.is_dir():
        state = load_checkpoint(find_checkpoint(path))
        return model_from_checkpoint(state).to(device), training_metadata(state, path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: give an exported model (nbody-lmp export), a checkpoint "
            f"or a run folder"
        )
    import zipfile

    # a TorchScript file has a "<name>/code/" folder; a torch.save checkpoint does not
    try:
        with zipfile.ZipFile(path) as zf:
            scripted = any("/code/" in n for n in zf.namelist())
    except zipfile.BadZipFile:
        raise ValueError(
            f"{path} is neither an exported nbody-lmp model nor a checkpoint"
        ) from None
    if scripted:
        from ..export import load_exported

        return load_exported(path, device=device)
    state = load_checkpoint(path)
    return model_from_checkpoint(state).to(device), training_metadata(state, path)
