"""A recipe from the command line, for data of one's own with no code edited::

    python -m benchmarks.accuracy --train A.xyz --test B.xyz --config C.yaml [--e0 atoms.xyz] \\
        [--molecule | --periodic] [--stress | --no-stress] [--name NAME] --peers mace nequip

Ours trains with C.yaml, its ``data.train`` replaced by A.xyz (and ``data.e0`` by the --e0 file,
``model.species`` by the species below) through the config's override mechanism; the peers train
on the same file with the same validation fraction and isolated-atom energies.

What the data decides unless given: the species (the config's ``model.species``, else the
elements of the training file, by atomic number), whether energies are per molecule (every
training configuration non-periodic) or per atom (every one periodic; a mix must be given with
--molecule or --periodic), and stress (the config's ``loss.stress_weight`` is above 0 and every
training configuration has one, read with the config's ``data.stress_key``/``stress_format``).
The isolated-atom energies are the --e0 file's, else the config's ``data.e0`` file's, else each
model fits its own.

The test file is only checked here, before any training, for what the final evaluation needs
(energies and forces under the config's keys, no element outside the species); nothing of it is
kept, and its values are read only by that evaluation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .recipes import NAME, Recipe, RecipeError

COMPRESSED = (".xz", ".gz", ".bz2")


def default_name(train: Path) -> str:
    """``mo_train.xyz`` -> ``mo``: the training file's name without its suffixes and 'train'."""
    name = train.name
    for suffix in COMPRESSED:
        name = name[: -len(suffix)] if name.endswith(suffix) else name
    name = Path(name).stem
    name = re.sub(r"[_.-]?train(ing)?$", "", name, flags=re.I) or name
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", name).lstrip("_.+-")
    return name if NAME.match(name or "-") else "data"


def _file(flag: str, path) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise RecipeError(f"{flag} {path}: no such file; correct the path")
    return p.resolve()


def _config(config: Path, train: Path, e0: Optional[Path], sets: Sequence[str]):
    import yaml

    from nbody_lmp.training.config import ConfigError, load_config

    over: Dict[str, Any] = {}
    for item in sets:  # --set KEY=VALUE, as nbody-lmp train reads it
        key, sep, value = item.partition("=")
        if not sep:
            raise RecipeError(f"--set expects KEY=VALUE (e.g. model.channels=16), got {item!r}")
        over[key.strip()] = yaml.safe_load(value)
    over["data.train"] = str(train)
    if e0 is not None:
        over["data.e0"] = str(e0)
    try:
        return load_config(config, overrides=over)
    except ConfigError as exc:
        raise RecipeError(f"--config: {exc}") from None


def _read(flag: str, path: Path, cfg, species, with_stress: bool) -> List[Any]:
    """The configurations of ``path`` as ours reads them (the config's keys), each with an energy
    and forces: an error says which key to set where."""
    from nbody_lmp.data import DataError, read_configurations

    d = cfg.data
    try:
        return read_configurations(
            str(path),
            energy_key=d.energy_key,
            forces_key=d.forces_key,
            stress_key=d.stress_key if with_stress else None,
            virial_key=d.virial_key if with_stress else None,
            stress_format=d.stress_format,
            species=species,
        )
    except DataError as exc:
        raise RecipeError(
            f"{flag} {path}: {exc}. Every configuration needs an energy and forces, read as the "
            f"config says: data.energy_key {d.energy_key!r}, data.forces_key {d.forces_key!r}"
            f"{'' if species is None else f', elements {list(species)}'}; set those keys in the "
            f"config to the names the file uses, or give a file that has them"
        ) from None


def _elements(confs) -> List[str]:
    from ase.data import chemical_symbols

    return [chemical_symbols[z] for z in sorted({int(z) for c in confs for z in c.numbers})]


def molecule_from_pbc(confs, flag: Optional[bool]) -> bool:
    """True (energies per molecule) when no configuration is periodic, False when all are; a mix
    needs ``flag`` (--molecule or --periodic)."""
    if flag is not None:
        return flag
    periodic = [bool(any(c.pbc)) for c in confs]
    if not any(periodic):
        return True
    if all(periodic):
        return False
    raise RecipeError(
        f"--train: {sum(periodic)} of {len(periodic)} training configurations are periodic and "
        f"the others are not: say how to count energies with --molecule (per molecule) or "
        f"--periodic (per atom)"
    )


def _stress(confs, cfg, flag: Optional[bool]) -> bool:
    have = sum(c.stress is not None for c in confs)
    if flag is None:
        return cfg.loss.stress_weight > 0 and have == len(confs)
    if flag and have < len(confs):
        raise RecipeError(
            f"--stress: {len(confs) - have} of {len(confs)} training configurations have no "
            f"stress under the config's data.stress_key {cfg.data.stress_key!r} (format "
            f"{cfg.data.stress_format!r}): set data.stress_key/stress_format in the config, or "
            f"leave out --stress"
        )
    return flag


def _e0(e0: Optional[Path], cfg, species: List[str]) -> Optional[Path]:
    """The isolated-atom file every model uses: --e0, else the config's; None: each fits its own."""
    if e0 is None:
        if isinstance(cfg.data.e0, dict):
            raise RecipeError(
                "the config's data.e0 is a mapping; the peers read isolated-atom energies from a "
                "file: pass --e0 FILE (extended XYZ, one single-atom configuration per element)"
            )
        if cfg.data.e0 in (None, "fit"):
            return None
        e0 = _file("the config's data.e0", cfg.data.e0)
    import ase.io

    have = set()
    for a in ase.io.read(str(e0), ":"):
        if len(a) == 1 and a.calc is not None:
            have.add(a.get_chemical_symbols()[0])
    missing = [s for s in species if s not in have]
    if missing:
        raise RecipeError(
            f"{e0} has no isolated-atom energy for {', '.join(missing)} (it has "
            f"{', '.join(sorted(have)) or 'none'}): add them, or leave out --e0 to fit them"
        )
    return e0


def recipe_from_files(
    train,
    test,
    config,
    e0=None,
    molecule: Optional[bool] = None,
    stress: Optional[bool] = None,
    name: Optional[str] = None,
    sets: Sequence[str] = (),
) -> Recipe:
    """The :class:`Recipe` of ``--train/--test/--config`` (module docstring); every problem is a
    :class:`RecipeError` that names the option and what to change. ``sets``: ``KEY=VALUE``
    changes of the config (--set), as ours trains with them."""
    train, test = _file("--train", train), _file("--test", test)
    config = _file("--config", config)
    e0 = None if e0 is None else _file("--e0", e0)
    if train == test:
        raise RecipeError(f"--train and --test are the same file ({train}): never train on test")
    name = name or default_name(train)
    if not NAME.match(name):
        raise RecipeError(
            f"--name must be letters, digits and _ . + - (it names run folders): {name!r}"
        )
    cfg = _config(config, train, e0, sets)
    confs = _read("--train", train, cfg, cfg.model.species, with_stress=True)
    species = list(cfg.model.species or _elements(confs))
    stress = _stress(confs, cfg, stress)
    molecule = molecule_from_pbc(confs, molecule)
    _read("--test", test, cfg, species, with_stress=False)  # labels and elements only
    e0 = _e0(e0, cfg, species)
    return Recipe(
        name=name,
        folder=str(config.parent),
        train=str(train),
        test=str(test),
        molecule=molecule,
        e0_file=None if e0 is None else str(e0),
        stress=stress,
        published_note="",
        config=str(config),
        species=tuple(species),
    )
