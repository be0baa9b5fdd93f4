"""The training configuration of ``nbody-lmp train config.yaml`` (README.md, "Quick start"): one
YAML file, validated (unknown keys are errors that name the closest valid key).

The file has six sections, every key optional except ``data.train``::

    seed: 0
    data:     {train, validation, val_fraction, split_seed, energy_key, forces_key, stress_key,
               virial_key, stress_format, cache_dir, e0, store, store_dir}
    model:    {species, cutoff, levels, lmax, channels, gate, parity, radial_max_power, n_radial,
               radial_hidden, readout_hidden, radial_min_distance, radial_weights, species_levels,
               radial_basis, n_bessel, zbl, correlation}
    loss:     {energy_weight, forces_weight, stress_weight, late_energy_weight, late_fraction}
    training: {dtype, batch_size, late_batch_size, max_epochs, time_limit_minutes, optimizer, lr,
               weight_decay, weight_decay_on, scheduler, lr_factor, lr_patience, min_lr, grad_clip,
               ema_decay, early_stopping_patience, num_threads, device, ensemble, ensemble_split}
    output:   {run_dir, progress, plots, plot_every_minutes, export_dtype, export_radial_table}

(``examples/si-sw/config.yaml`` is a commented example.) Relative paths are relative to the
folder of the config file. Every problem is a :class:`ConfigError` (a ``ValueError``) that says
which key and what to change; an unknown key names the closest valid one (:mod:`difflib`).
"""

from __future__ import annotations

import copy
import difflib
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

__all__ = [
    "ConfigError",
    "DataSection",
    "ModelSection",
    "LossSection",
    "TrainingSection",
    "OutputSection",
    "TrainConfig",
    "load_config",
    "config_from_dict",
    "valid_keys",
]


class ConfigError(ValueError):
    """A configuration problem the user can fix; the message names the key and the remedy."""


@dataclass
class DataSection:
    train: Optional[str] = None  # extxyz (or anything ASE reads) with energies and forces
    validation: Optional[str] = None  # a separate validation file; else val_fraction of train
    val_fraction: float = 0.1
    split_seed: Optional[int] = None  # seed of the validation split (None: the top-level seed)
    energy_key: Optional[str] = "energy"
    forces_key: Optional[str] = "forces"
    stress_key: Optional[str] = "stress"
    virial_key: Optional[str] = "virial"
    stress_format: str = "ase"  # "ase" (eV/A^3, ASE sign) or "vasp_kbar"
    cache_dir: Optional[str] = None  # on-disk cache of the graphs (neighbour lists)
    e0: Union[str, Dict[str, float], None] = "fit"  # "fit", {symbol: eV}, or an isolated-atoms file
    # "memory": every graph in memory; "sharded": graphs memory-mapped from an on-disk store
    store: str = "memory"
    store_dir: Optional[str] = None  # where sharded stores live (default: beside data.train)


@dataclass
class ModelSection:
    species: Optional[List[str]] = None  # None: the elements of the training file
    cutoff: Union[float, List[float]] = 4.0
    levels: int = 2
    lmax: Union[int, List[int]] = 2  # one, or one per level
    channels: Union[int, List[int]] = 8  # one, or one per level (docs/theory.md, "Width per level")
    gate: str = "first_order"
    parity: str = "natural"
    radial_max_power: int = 2
    n_radial: int = 4
    radial_hidden: int = 16
    readout_hidden: int = 16
    radial_min_distance: float = (
        0.5  # Angstrom: inverse powers held constant below it (finite model)
    )
    radial_weights: str = "per_channel"  # R_cl(r) per channel (no C x S outer product); or shared
    species_levels: str = (
        "leaves"  # the species enters at the leaves only; "all": and at every level
    )
    radial_basis: str = (
        "inverse_power"  # the paper's (r/r_c)^-s; or "bessel" (bounded down to r = 0)
    )
    n_bessel: int = 8  # Bessel functions when radial_basis is "bessel"
    zbl: bool = False  # ZBL screened nuclear repulsion inside the model, trained around
    correlation: int = 2  # first_order gate: highest power of the neighbourhood sums (2 or 3)


@dataclass
class LossSection:
    energy_weight: float = 1.0  # on (energy per atom)^2, eV^2
    forces_weight: float = 1.0  # on force components^2, (eV/A)^2
    stress_weight: float = 0.0  # on stress components^2, (eV/A^3)^2
    late_energy_weight: Optional[float] = (
        None  # the training energy weight in the last late_fraction of the run
    )
    late_fraction: float = 0.2  # of the run's progress (epochs or time, as the cosine schedule)


@dataclass
class TrainingSection:
    dtype: str = "float32"
    batch_size: int = 4
    # the batch size in the run's late stage (the last loss.late_fraction); null: batch_size
    late_batch_size: Optional[int] = None
    max_epochs: int = 100
    time_limit_minutes: Optional[float] = None
    optimizer: str = "adam"
    lr: float = 5e-3
    weight_decay: float = 0.0
    # which parameters weight_decay acts on: "all", or "mixing" (the matrices W^l of Proposition
    # 1 alone; docs/training.md, "Regularisation")
    weight_decay_on: str = "all"
    # "plateau", "cosine" (over max_epochs or the time limit, whichever ends first) or "none"
    scheduler: str = "plateau"
    lr_factor: float = 0.5  # plateau: multiply the lr by this ...
    lr_patience: int = 10  # ... after this many epochs without improvement
    min_lr: float = 1e-5
    grad_clip: Optional[float] = 10.0
    ema_decay: Optional[float] = 0.99
    early_stopping_patience: Optional[int] = 30
    num_threads: Optional[int] = None
    device: str = (
        "cpu"  # "cpu", "cuda" or "cuda:N": where the model trains (export is always from CPU)
    )
    ensemble: int = 1  # >= 2: that many models differing only in seed (training/ensemble.py)
    ensemble_split: str = (
        "same"  # "same": one validation split for all members; "member": each its own
    )


@dataclass
class OutputSection:
    run_dir: str = "runs/run"
    progress: bool = True
    plots: bool = True
    plot_every_minutes: Optional[float] = (
        10.0  # redraw learning_curves.png during training; None: at the end only
    )
    export_dtype: Optional[str] = "float32"  # write run_dir/model.pt at the end; None: don't
    export_radial_table: int = 0  # > 0: model.pt gets cubic radial tables of this many points


SECTIONS = {
    "data": DataSection,
    "model": ModelSection,
    "loss": LossSection,
    "training": TrainingSection,
    "output": OutputSection,
}

# keys that may change between a run and its --resume (everything else must match)
RESUMABLE_CHANGES = {
    "data.store",  # the same graphs, the same weights
    "data.store_dir",
    "training.max_epochs",
    "training.time_limit_minutes",
    "training.early_stopping_patience",
    "training.num_threads",
    "training.device",
    "training.ensemble",
    "training.ensemble_split",
    "output.progress",
    "output.plots",
    "output.plot_every_minutes",
    "output.export_dtype",
    "output.export_radial_table",
}


@dataclass
class TrainConfig:
    seed: int = 0
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    loss: LossSection = field(default_factory=LossSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    output: OutputSection = field(default_factory=OutputSection)
    source: Optional[str] = None  # the file it was read from (not a key)

    def to_dict(self) -> Dict[str, Any]:
        """The configuration as plain data (every key, defaults filled in, paths absolute)."""
        d = asdict(self)
        d.pop("source")
        return d

    def model_kwargs(self) -> Dict[str, Any]:
        m = asdict(self.model)
        m.pop("species")
        return m


def valid_keys() -> List[str]:
    """Every valid key, dotted (``training.lr``)."""
    out = ["seed"]
    for name, cls in SECTIONS.items():
        out += [f"{name}.{f.name}" for f in fields(cls)]
    return out


# ------------------------------------------------------------------------------------ parsing
def _closest(key: str, candidates: List[str], where: str) -> str:
    """`` Did you mean 'x'?`` for an unknown ``key`` (also searching the other sections)."""
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    if close:
        return f" Did you mean '{close[0]}'?"
    # the key might belong to another section: training.lr written under model, or at top level
    everywhere = valid_keys()
    leaves = {k.split(".")[-1]: k for k in everywhere}
    close = difflib.get_close_matches(key, list(leaves), n=1, cutoff=0.75)
    if close:
        return (
            f" Did you mean '{leaves[close[0]]}' (in section '{leaves[close[0]].split('.')[0]}')?"
        )
    return f" Valid keys{where}: {', '.join(candidates)}."


def _unknown(key: str, candidates: List[str], section: Optional[str]) -> ConfigError:
    name = f"{section}.{key}" if section else key
    where = f" in '{section}'" if section else " at the top level"
    return ConfigError(f"unknown key '{name}'.{_closest(key, candidates, where)}")


def _number(value: Any, key: str, integer: bool) -> Union[int, float]:
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if isinstance(value, str):  # PyYAML reads 1e-3 (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got the text {value!r}") from None
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be finite, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise ConfigError(f"{key} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def _coerce(value: Any, key: str, default: Any, annotation: str) -> Any:
    """Convert ``value`` to the type of the field (from its annotation string)."""
    optional = annotation.startswith("Optional") or "None" in annotation
    if value is None:
        if optional:
            return None
        raise ConfigError(
            f"{key} cannot be null (default: {default!r}); give a value or remove the line"
        )
    if annotation in ("int", "Optional[int]"):
        return _number(value, key, integer=True)
    if annotation in ("float", "Optional[float]"):
        return _number(value, key, integer=False)
    if annotation == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if annotation in ("str", "Optional[str]"):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{key} must be text, got {type(value).__name__} {value!r}")
        return str(value)
    return copy.deepcopy(value)  # composite types: checked in _validate


def _section(cls, raw: Any, name: str):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"section '{name}' must be a mapping of keys to values, got {type(raw).__name__} "
            f"{raw!r}"
        )
    names = [f.name for f in fields(cls)]
    kwargs = {}
    for key, value in raw.items():
        if key not in names:
            raise _unknown(str(key), names, name)
        f = next(f for f in fields(cls) if f.name == key)
        kwargs[key] = _coerce(value, f"{name}.{key}", f.default, str(f.type))
    return cls(**kwargs)


def config_from_dict(
    raw: Any, base_dir: Union[str, os.PathLike, None] = None, source: Optional[str] = None
) -> TrainConfig:
    """A validated :class:`TrainConfig` from a dict; relative paths are resolved against
    ``base_dir``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"the configuration must be a mapping of sections (data, model, ...), got "
            f"{type(raw).__name__}"
        )
    top = ["seed", *SECTIONS]
    kwargs: Dict[str, Any] = {}
    for key, value in raw.items():
        if key not in top:
            raise _unknown(str(key), top, None)
        if key == "seed":
            kwargs["seed"] = _number(value, "seed", integer=True)
        else:
            kwargs[key] = _section(SECTIONS[key], value, key)
    cfg = TrainConfig(**kwargs, source=source)
    _resolve_paths(cfg, Path(base_dir) if base_dir is not None else Path.cwd())
    _validate(cfg)
    return cfg


def load_config(
    path: Union[str, os.PathLike], overrides: Optional[Dict[str, Any]] = None
) -> TrainConfig:
    """Read and validate a YAML config file. ``overrides``: ``{"training.lr": 1e-3, ...}``."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist; see examples/si-sw/config.yaml for one"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where} is not valid YAML: {problem}") from None
    raw = raw if raw is not None else {}
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    try:
        return config_from_dict(raw, base_dir=path.resolve().parent, source=str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _set_dotted(raw: Dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    d = raw
    for p in parts[:-1]:
        d = d.setdefault(p, {}) if isinstance(d, dict) else d
    d[parts[-1]] = value


def _resolve_paths(cfg: TrainConfig, base: Path) -> None:
    def res(p: Optional[str]) -> Optional[str]:
        if p is None:
            return None
        p = os.path.expanduser(p)
        return str(Path(p) if os.path.isabs(p) else (base / p).resolve())

    cfg.data.train = res(cfg.data.train)
    cfg.data.validation = res(cfg.data.validation)
    cfg.data.cache_dir = res(cfg.data.cache_dir)
    cfg.data.store_dir = res(cfg.data.store_dir)
    if isinstance(cfg.data.e0, str) and cfg.data.e0 != "fit":
        cfg.data.e0 = res(cfg.data.e0)
    cfg.output.run_dir = res(cfg.output.run_dir)


# --------------------------------------------------------------------------------- validation
def _choice(value: Any, key: str, options) -> None:
    if value not in options:
        close = difflib.get_close_matches(str(value), list(options), n=1, cutoff=0.4)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"{key} must be one of {', '.join(map(str, options))}; got {value!r}.{hint}"
        )


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def _validate(cfg: TrainConfig) -> None:
    """Check every section's values (and normalise a few: ``data.e0``, ``model.species``,
    ``model.cutoff``) in place; the first problem raises a :class:`ConfigError`."""
    _validate_data(cfg.data)
    _validate_model(cfg.model)
    _validate_loss(cfg.loss)
    _validate_training(cfg.training)
    _validate_output(cfg.output)


def _validate_data(d: DataSection) -> None:
    from ase.data import atomic_numbers

    from ..data.io import STRESS_FORMATS

    _need(
        d.train is not None,
        "data.train is missing: give the training data file, e.g. `data: {train: train.xyz}`",
    )
    _need(0.0 <= d.val_fraction < 1.0, f"data.val_fraction must be in [0, 1), got {d.val_fraction}")
    _choice(d.stress_format, "data.stress_format", STRESS_FORMATS)
    _validate_store(d)
    if isinstance(d.e0, dict):
        for s, v in d.e0.items():
            _need(s in atomic_numbers, f"data.e0 names {s!r}, which is not a chemical symbol")
            d.e0[s] = _number(v, f"data.e0.{s}", integer=False)
    elif d.e0 is not None and not isinstance(d.e0, str):
        raise ConfigError(
            f"data.e0 must be 'fit', a mapping like {{Si: -158.4}} or an isolated-atoms file, "
            f"got {d.e0!r}"
        )
    if d.e0 is None:
        d.e0 = "fit"


STORES = ("memory", "sharded")


def _validate_store(d: DataSection) -> None:
    if d.store not in STORES:
        close = difflib.get_close_matches(str(d.store), list(STORES), n=1, cutoff=0.4)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"data.store must be memory (every graph in memory, the default) or sharded (graphs "
            f"memory-mapped from an on-disk store, for data larger than memory; docs/training.md, "
            f"'Large data sets'); got {d.store!r}.{hint}"
        )
    _need(
        d.store_dir is None or d.store == "sharded",
        f"data.store_dir is set ({d.store_dir}) but data.store is {d.store}: set data.store: "
        "sharded to use it, or remove data.store_dir",
    )


def _validate_model(m: ModelSection) -> None:
    from ase.data import atomic_numbers

    from ..nn.network import GATES, RADIAL_BASES, RADIAL_WEIGHTS
    from ..nn.species_gain import SPECIES_LEVELS

    if m.species is not None:
        if isinstance(m.species, str):
            m.species = [m.species]
        _need(
            isinstance(m.species, list) and len(m.species) > 0,
            f"model.species must be a list of chemical symbols like [Si, O], got {m.species!r}",
        )
        for s in m.species:
            _need(
                s in atomic_numbers,
                f"model.species: {s!r} is not a chemical symbol (write e.g. Si, O)",
            )
        _need(
            len(set(m.species)) == len(m.species),
            f"model.species lists an element twice: {m.species}",
        )
    _need(isinstance(m.levels, int) and m.levels >= 1, f"model.levels must be >= 1, got {m.levels}")
    cut = _validate_cutoff(m)
    m.lmax = _per_level_ints(m.lmax, "model.lmax", m.levels)
    m.channels = _per_level_ints(m.channels, "model.channels", m.levels)
    lmaxes = m.lmax if isinstance(m.lmax, list) else [m.lmax]
    _need(all(0 <= v <= 6 for v in lmaxes), f"model.lmax must be between 0 and 6, got {m.lmax}")
    widths = m.channels if isinstance(m.channels, list) else [m.channels]
    _need(all(v >= 1 for v in widths), f"model.channels must be >= 1, got {m.channels}")
    _choice(m.gate, "model.gate", GATES)
    _choice(m.parity, "model.parity", ("natural", "full"))
    _choice(m.radial_weights, "model.radial_weights", RADIAL_WEIGHTS)
    _choice(m.species_levels, "model.species_levels", SPECIES_LEVELS)
    _choice(m.radial_basis, "model.radial_basis", RADIAL_BASES)
    _need(
        isinstance(m.n_bessel, int) and 1 <= m.n_bessel <= 32,
        f"model.n_bessel must be an integer between 1 and 32, got {m.n_bessel}",
    )
    _need(isinstance(m.zbl, bool), f"model.zbl must be true or false, got {m.zbl!r}")
    _need(
        m.correlation in (2, 3) and isinstance(m.correlation, int),
        f"model.correlation must be 2 or 3, got {m.correlation!r}",
    )
    _need(
        m.correlation == 2 or m.gate == "first_order",
        f"model.correlation: 3 needs model.gate: first_order (the gate is {m.gate})",
    )
    _need(
        0 <= m.radial_max_power <= 8,
        f"model.radial_max_power must be between 0 and 8, got {m.radial_max_power}",
    )
    _need(m.n_radial >= 0, f"model.n_radial must be >= 0 (0: no radial network), got {m.n_radial}")
    _need(m.radial_hidden >= 1, f"model.radial_hidden must be >= 1, got {m.radial_hidden}")
    m.radial_min_distance = _number(
        m.radial_min_distance, "model.radial_min_distance", integer=False
    )
    _need(
        0 < m.radial_min_distance < min(cut),
        f"model.radial_min_distance must be > 0 and below the cutoff ({min(cut)} A), got "
        f"{m.radial_min_distance}",
    )
    _need(
        m.readout_hidden >= 0,
        f"model.readout_hidden must be >= 0 (0: a linear read-out), got {m.readout_hidden}",
    )


def _per_level_ints(value: Any, key: str, levels: int) -> Union[int, List[int]]:
    """A whole number, or a list of one whole number per level (as ``model.cutoff`` may be)."""
    if not isinstance(value, list):
        return _number(value, key, integer=True)
    _need(
        len(value) == levels,
        f"{key} lists {len(value)} values but model.levels = {levels}: give one per level, "
        "or a single number",
    )
    return [_number(v, key, integer=True) for v in value]


def _validate_cutoff(m: ModelSection) -> List[float]:
    """``model.cutoff`` as a number or one number per level, within 0.5-20 Angstrom; returns the
    list."""
    if isinstance(m.cutoff, list):
        _need(
            len(m.cutoff) == m.levels,
            f"model.cutoff lists {len(m.cutoff)} values but model.levels = {m.levels}: give one "
            "per level, "
            f"or a single number",
        )
        m.cutoff = [_number(c, "model.cutoff", integer=False) for c in m.cutoff]
        cut = m.cutoff
    else:
        m.cutoff = _number(m.cutoff, "model.cutoff", integer=False)
        cut = [m.cutoff]
    _need(
        all(0.5 <= c <= 20.0 for c in cut),
        f"model.cutoff must be between 0.5 and 20 Angstrom, got {m.cutoff}",
    )
    return cut


def _validate_loss(lo: LossSection) -> None:
    for k in ("energy_weight", "forces_weight", "stress_weight"):
        _need(getattr(lo, k) >= 0, f"loss.{k} must be >= 0, got {getattr(lo, k)}")
    _need(
        lo.energy_weight + lo.forces_weight + lo.stress_weight > 0,
        "loss: all weights are 0; give energy_weight or forces_weight > 0",
    )
    _need(
        lo.late_energy_weight is None or lo.late_energy_weight >= 0,
        f"loss.late_energy_weight must be >= 0 or null, got {lo.late_energy_weight}",
    )
    _need(
        0 < lo.late_fraction < 1,
        f"loss.late_fraction must be between 0 and 1, got {lo.late_fraction}",
    )


def _validate_training(t: TrainingSection) -> None:
    _choice(t.dtype, "training.dtype", ("float32", "float64"))
    _need(t.batch_size >= 1, f"training.batch_size must be >= 1, got {t.batch_size}")
    _need(
        t.late_batch_size is None or t.late_batch_size >= 1,
        f"training.late_batch_size must be >= 1 or null, got {t.late_batch_size}",
    )
    _need(t.max_epochs >= 1, f"training.max_epochs must be >= 1, got {t.max_epochs}")
    _need(
        t.time_limit_minutes is None or t.time_limit_minutes > 0,
        f"training.time_limit_minutes must be > 0 or null, got {t.time_limit_minutes}",
    )
    _choice(t.optimizer, "training.optimizer", ("adam", "adamw"))
    _need(
        0 < t.lr < 10,
        f"training.lr must be in (0, 10), got {t.lr}; typical values are 1e-3 to 1e-2",
    )
    _need(t.weight_decay >= 0, f"training.weight_decay must be >= 0, got {t.weight_decay}")
    _choice(t.weight_decay_on, "training.weight_decay_on", ("all", "mixing"))
    _choice(t.scheduler, "training.scheduler", ("plateau", "cosine", "none"))
    _need(0 < t.lr_factor < 1, f"training.lr_factor must be in (0, 1), got {t.lr_factor}")
    _need(t.lr_patience >= 0, f"training.lr_patience must be >= 0, got {t.lr_patience}")
    _need(
        0 <= t.min_lr <= t.lr,
        f"training.min_lr must be in [0, training.lr = {t.lr}], got {t.min_lr}",
    )
    _need(
        t.grad_clip is None or t.grad_clip > 0,
        f"training.grad_clip must be > 0 or null (no clipping), got {t.grad_clip}",
    )
    _need(
        t.ema_decay is None or 0 <= t.ema_decay < 1,
        f"training.ema_decay must be in [0, 1) or null (no EMA), got {t.ema_decay}; 0.99 is "
        "typical",
    )
    _need(
        t.early_stopping_patience is None or t.early_stopping_patience >= 1,
        "training.early_stopping_patience must be >= 1 or null (never stop early), got "
        f"{t.early_stopping_patience}",
    )
    _need(
        t.num_threads is None or t.num_threads >= 1,
        f"training.num_threads must be >= 1 or null, got {t.num_threads}",
    )
    _need(
        isinstance(t.device, str)
        and (
            t.device == "cpu"
            or t.device == "cuda"
            or (t.device.startswith("cuda:") and t.device[5:].isdigit())
        ),
        f"training.device must be cpu, cuda or cuda:N (a GPU index), got {t.device!r}",
    )
    _need(
        1 <= t.ensemble <= 64,
        f"training.ensemble must be between 1 (one model) and 64, got {t.ensemble}; "
        f"3 or 4 models are the usual ensemble",
    )
    _choice(t.ensemble_split, "training.ensemble_split", ("same", "member"))


def _validate_output(o: OutputSection) -> None:
    _need(
        o.plot_every_minutes is None
        or (
            isinstance(o.plot_every_minutes, (int, float))
            and not isinstance(o.plot_every_minutes, bool)
            and o.plot_every_minutes >= 0
        ),
        "output.plot_every_minutes must be a number of minutes >= 0 (0: after every epoch) or "
        "null (at the end "
        f"only), got {o.plot_every_minutes!r}",
    )
    _need(
        isinstance(o.export_radial_table, int)
        and (o.export_radial_table == 0 or o.export_radial_table >= 16),
        "output.export_radial_table must be 0 (no table) or >= 16 points, got "
        f"{o.export_radial_table!r}",
    )
    if o.export_dtype is not None:
        _choice(o.export_dtype, "output.export_dtype", ("float32", "float64"))


def diff_configs(old: Dict[str, Any], new: Dict[str, Any], prefix: str = "") -> List[str]:
    """Dotted keys whose values differ between two ``to_dict()`` outputs."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        key = f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict) and k != "e0":
            out += diff_configs(a, b, key + ".")
        elif a != b:
            out.append(key)
    return out
