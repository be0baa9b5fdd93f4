"""Export a trained network to one TorchScript file with its metadata (the Python ↔ C++ contract
of docs/model-format.md), and load such a file back.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch

from .nn.constants import ExactConstants
from .nn.network import FORMAT_VERSION, OLDEST_FORMAT_VERSION, NBodyNetwork

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def model_hash(model: torch.nn.Module) -> str:
    """sha256 over the names, shapes, dtypes and values of all parameters and buffers."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _dtype_name(dtype: Union[str, torch.dtype, None], model: torch.nn.Module) -> str:
    if dtype is None:
        return str(model.embedding.dtype).replace("torch.", "")
    name = dtype if isinstance(dtype, str) else str(dtype).replace("torch.", "")
    if name not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return name


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export(
    model: NBodyNetwork,
    path: Union[str, os.PathLike],
    dtype: Union[str, torch.dtype, None] = None,
    metadata: Optional[Dict[str, Any]] = None,
    overwrite: bool = False,
    radial_table: int = 0,
) -> Path:
    """Script ``model`` in ``dtype`` (default: its own) and save it with metadata to ``path``.

    ``radial_table > 0``: the radial functions are replaced by cubic Hermite tables of that many
    points (:mod:`nbody_lmp.nn.radial_table`: cheaper to evaluate, with an ``O(h^4)`` interpolation
    error)."""
    from . import __version__

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} exists: choose another output path or pass overwrite=True (--force)"
        )
    if not isinstance(model, NBodyNetwork):
        raise TypeError(f"export needs an NBodyNetwork, got {type(model).__name__}")
    name = _dtype_name(dtype, model)
    m = copy.deepcopy(model).to(device="cpu", dtype=DTYPES[name]).eval()
    m.dtype = name
    for mod in m.modules():  # exact constants (CG matrices) go into the file in float64
        if isinstance(mod, ExactConstants):
            mod.constants_to_float64()
    for p in m.parameters():
        p.requires_grad_(False)
    if radial_table:
        from .nn.radial_table import tabulate_radials

        tabulate_radials(m, int(radial_table))
    with (
        warnings.catch_warnings()
    ):  # torch >= 2.10 marks TorchScript deprecated; libtorch still runs it
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(m)
    meta = {
        "format_version": FORMAT_VERSION,
        "species": list(m.species),
        "cutoffs": list(m.cutoffs),
        "receptive_field": m.receptive_field,
        "levels": m.levels,
        "lmax": m.config["lmax"],
        "channels": m.config["channels"],
        "gate": m.config["gate"],
        "radial_weights": m.config.get("radial_weights", "shared"),
        "radial_table": (
            {"points": int(radial_table), "r_min": float(m.config.get("radial_min_distance", 0.5))}
            if radial_table
            else None
        ),
        "dtype": name,
        "model_hash": model_hash(m),
        "nbody_lmp_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hyperparameters": dict(m.config),
    }
    meta.update(metadata or {})
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(scripted, buf, _extra_files={"metadata.json": json.dumps(meta, indent=2)})
    atomic_write_bytes(path, buf.getvalue())
    return path


def _declared_version(path: Path) -> Optional[int]:
    """The format_version in the archive's metadata.json, read without deserialising the model's
    code (whose operators may be newer than this nbody-lmp); None when there is none."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/extra/metadata.json")]
            if not names:
                return None
            return int(json.loads(archive.read(names[0]))["format_version"])
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError):
        return None  # not an nbody-lmp archive: torch.jit.load says so


def _check_version(path: Path, version: Optional[int]) -> None:
    """docs/model-format.md, "Versions": this nbody-lmp reads versions OLDEST_FORMAT_VERSION to
    FORMAT_VERSION."""
    if version is None or OLDEST_FORMAT_VERSION <= version <= FORMAT_VERSION:
        return
    if version > FORMAT_VERSION:
        advice = (
            "it was written by a newer nbody-lmp: upgrade (pip install -U nbody-lmp), or "
            "re-export the model with this version (nbody-lmp export)"
        )
    else:
        advice = "re-export the model with this version of nbody-lmp (nbody-lmp export)"
    raise ValueError(
        f"{path} has model format version {version}, this nbody-lmp reads versions "
        f"{OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}: {advice}"
    )


def load_exported(
    path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu"
) -> Tuple[torch.jit.ScriptModule, Dict[str, Any]]:
    """Load an exported file; check its format version. Returns (module, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"model file {path} does not exist: export one with `nbody-lmp export`"
        )
    _check_version(path, _declared_version(path))
    extra = {"metadata.json": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as exc:  # torch raises RuntimeError with long C++ traces
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "nbody::" in str(exc):
            raise ValueError(
                f"{path} needs the nbody:: operators, which torch did not find (torch.jit.load: "
                f"{first}): load nbody_lmp.ops first (import nbody_lmp does), or reinstall "
                "nbody-lmp if its libnbody_ops.so is missing"
            ) from None
        raise ValueError(
            f"{path} is not a TorchScript model exported by nbody-lmp "
            f"(torch.jit.load failed: {first}); re-export it with `nbody-lmp export`"
        ) from None
    try:
        meta = json.loads(extra["metadata.json"] or "{}")
        version = int(module.format_version)
    except Exception:
        raise ValueError(
            f"{path} has no nbody-lmp metadata: it was not written by `nbody-lmp export`"
        ) from None
    _check_version(path, version)
    # one dtype for the whole module, as pair_style nbody does: the float64 constants of a float32
    # file are rounded once here, not at every call
    if module.dtype in DTYPES:
        module.to(DTYPES[module.dtype])
    module.eval()
    return module, meta


class _CallableModule(type(os)):
    """``nbody_lmp.export`` is both this module and the function :func:`export` (the package imports
    lazily, and importing a submodule binds its name on the package)."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
