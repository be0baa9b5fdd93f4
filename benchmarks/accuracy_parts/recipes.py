"""The recipes that benchmarks.accuracy measures, as data: one YAML file per recipe in
benchmarks/recipes/ (rMD17 aspirin and ethanol, 3BPA, mlearn Si and Ge: the examples/ folders;
benchmarks/README.md, "Recipes", gives the keys), loaded into a :class:`Recipe` and validated by
:func:`load_recipe`; ``--recipe-file`` loads a user's the same way, and
accuracy_parts/own_data.py builds one from ``--train/--test/--config``.

The published test errors printed beside the built-in recipes (the data sets are described in
docs/data.md, "Shared data sets"): rMD17 MAE from the MACE paper (Batatia et al., NeurIPS 2022),
3BPA RMSE at 300 K from the Allegro and MACE papers (published test sets, which our derived test
set is *not*: printed for orientation only), mlearn from Zuo et al. 2020 (SNAP is measured in the
same run by ``examples/*/run.sh`` through benchmarks/mlearn_accuracy.py).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Recipe:
    """One data set of benchmarks.accuracy: what ours trains with and where the test file is.
    Paths are absolute (a recipe file's relative ones are resolved when it is loaded)."""

    name: str
    folder: str  # the folder of the training config (and the example's README)
    train: str  # the training file: ours, MACE and NequIP train on it
    test: str  # read once, by the final evaluation
    molecule: bool  # True: energies per molecule, boundary f f f; False: per atom, periodic
    e0_file: Optional[str] = None  # isolated-atom energies (None: each model fits its own)
    stress: bool = False  # the data has stress, read as the config reads it (mlearn: VASP kbar)
    # published: model -> {"metric": "MAE"|"RMSE", "E": value, "F": value} (meV or meV/atom, meV/A)
    published: Dict[str, Dict[str, float]] = field(default_factory=dict)
    published_note: str = ""
    config: str = "config.yaml"  # our training config (relative: under folder)
    species: Tuple[str, ...] = ()  # the model's elements; (): the config's model.species

    @property
    def path(self) -> Path:
        return Path(self.folder)

    @property
    def config_path(self) -> Path:
        return self.path / self.config

    def data(self, which: str) -> Path:
        return Path({"train": self.train, "test": self.test}[which])

    @property
    def e0_path(self) -> Optional[Path]:
        return None if self.e0_file is None else Path(self.e0_file)

    def overrides(self) -> Dict[str, Any]:
        """The config keys ours trains with whatever the config says: the recipe's training file,
        its isolated-atom energies and species (where it has them)."""
        over: Dict[str, Any] = {"data.train": self.train}
        if self.e0_file is not None:
            over["data.e0"] = self.e0_file
        if self.species:
            over["model.species"] = list(self.species)
        return over

    def training_config(self):
        """Our training config, validated, with :meth:`overrides` applied."""
        from nbody_lmp.training.config import load_config

        return load_config(self.config_path, overrides=self.overrides())

    def model_species(self) -> List[str]:
        """The model's elements: the recipe's, else the config's, else the training file's."""
        if self.species:
            return list(self.species)
        species = self.training_config().model.species
        if species:
            return list(species)
        from ase.data import chemical_symbols

        from nbody_lmp.data import read_configurations

        confs = read_configurations(self.train, **self.read_options())
        numbers = sorted({int(z) for c in confs for z in c.numbers})
        return [chemical_symbols[z] for z in numbers]

    def read_options(self) -> Dict[str, Any]:
        """How the data files are read (``read_configurations`` keywords): the config's keys,
        stress only when the recipe has it."""
        d = self.training_config().data
        opts: Dict[str, Any] = {"energy_key": d.energy_key, "forces_key": d.forces_key}
        if self.stress:
            opts.update(
                stress_key=d.stress_key, virial_key=d.virial_key, stress_format=d.stress_format
            )
        else:
            opts.update(stress_key=None, virial_key=None)
        return opts

    @property
    def energy_unit(self) -> Tuple[str, str]:
        """(the metrics key, its unit) of the energy error printed for this recipe."""
        return ("energy", "meV/mol") if self.molecule else ("energy_per_atom", "meV/atom")


RECIPE_DIR = ROOT / "benchmarks" / "recipes"

KEYS = {  # the keys of a recipe file, each with what it holds
    "name": "the recipe's name in the table and the run folders (default: the file's name)",
    "folder": "the folder of our training config, relative to the recipe file",
    "config": "our training config, relative to folder (default config.yaml)",
    "train": "the training file, relative to folder",
    "test": "the test file, relative to folder (read once, by the final evaluation)",
    "molecule": "true: energies per molecule, no periodic boundary; false: per atom, periodic",
    "e0": "isolated-atom energies (extxyz), relative to folder; leave it out to fit them",
    "stress": "true: the data has stress, read as the config reads it (default false)",
    "species": "the model's elements (default: the config's model.species)",
    "published": "published test errors, MODEL: {metric: MAE or RMSE, E: meV, F: meV/A}",
    "published_note": "where the published figures come from",
}
REQUIRED = ("folder", "train", "test", "molecule")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class RecipeError(ValueError):
    """A recipe file (or command line) the user can fix: the message names the key and the fix."""


def load_recipe(path) -> Recipe:
    """The recipe of a YAML file (benchmarks/recipes/*.yaml are the built-in ones), validated:
    unknown or missing keys, wrong types and files that are not there are :class:`RecipeError` s
    that name the file and the key."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise RecipeError(
            f"recipe file {path} does not exist (benchmarks/recipes/aspirin.yaml is one to copy)"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    try:
        return recipe_from_dict(raw, base=path.resolve().parent, default_name=path.stem)
    except RecipeError as exc:
        raise RecipeError(f"recipe file {path}: {exc}") from None


def recipe_from_dict(raw: Any, base: Path, default_name: str) -> Recipe:
    """A :class:`Recipe` from a recipe file's mapping; relative paths as :data:`KEYS` says."""
    if not isinstance(raw, dict):
        raise RecipeError(
            f"a recipe is a mapping of keys ({', '.join(KEYS)}); got {type(raw).__name__}"
        )
    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), list(KEYS), n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise RecipeError(f"unknown key {key!r}.{hint} The keys: {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise RecipeError("missing " + "; ".join(f"{k!r} ({KEYS[k]})" for k in missing))
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not NAME.match(name):
        raise RecipeError(
            f"name must be letters, digits and _ . + - (it names run folders); got {name!r}"
        )
    folder = _existing(base, _text(raw, "folder"), "folder", folder=True)
    files = {k: _existing(folder, _text(raw, k), k) for k in ("train", "test")}
    if files["train"] == files["test"]:
        raise RecipeError(
            f"train and test are the same file ({files['train']}): never train on test"
        )
    e0 = raw.get("e0")
    return Recipe(
        name=name,
        folder=str(folder),
        train=str(files["train"]),
        test=str(files["test"]),
        molecule=_flag(raw, "molecule", None),
        e0_file=None if e0 is None else str(_existing(folder, _text(raw, "e0"), "e0")),
        stress=_flag(raw, "stress", False),
        published=_published(raw.get("published")),
        published_note=_text(raw, "published_note", ""),
        config=str(_existing(folder, _text(raw, "config", "config.yaml"), "config")),
        species=_species(raw.get("species")),
    )


def _text(raw: Dict[str, Any], key: str, default: Optional[str] = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not (value or default == ""):
        raise RecipeError(f"{key} must be a string ({KEYS[key]}); got {value!r}")
    return value


def _flag(raw: Dict[str, Any], key: str, default: Optional[bool]) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise RecipeError(f"{key} must be true or false ({KEYS[key]}); got {value!r}")
    return value


def _existing(base: Path, value: str, key: str, folder: bool = False) -> Path:
    path = (base / Path(value).expanduser()).resolve()
    if not (path.is_dir() if folder else path.is_file()):
        what = "folder" if folder else "file"
        raise RecipeError(
            f"{key}: no such {what} {path} ({KEYS[key]}); correct the path or create the {what}"
        )
    return path


def _species(value: Any) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value) or not value:
        raise RecipeError(
            f"species must be a list of chemical symbols, e.g. [H, C, O]; got {value!r}"
        )
    return tuple(value)


def _published(value: Any) -> Dict[str, Dict[str, float]]:
    """``{model: {"metric", "E", "F"}}``; a figure given as null (not published) becomes NaN."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecipeError(f"published must be a mapping ({KEYS['published']}); got {value!r}")
    out = {}
    for model, fig in value.items():
        where = f"published.{model}"
        if not isinstance(fig, dict) or set(fig) != {"metric", "E", "F"}:
            raise RecipeError(
                f"{where} must be {{metric: MAE or RMSE, E: meV, F: meV/A}}; got {fig!r}"
            )
        if fig["metric"] not in ("MAE", "RMSE"):
            raise RecipeError(f"{where}.metric must be MAE or RMSE; got {fig['metric']!r}")
        entry: Dict[str, Any] = {"metric": fig["metric"]}
        for k in ("E", "F"):
            v = fig[k]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
                raise RecipeError(f"{where}.{k} must be a number >= 0, or null; got {v!r}")
            entry[k] = float("nan") if v is None else float(v)
        out[str(model)] = entry
    return out


def builtin_recipes() -> Dict[str, Recipe]:
    """The recipes of benchmarks/recipes/*.yaml, by name."""
    out: Dict[str, Recipe] = {}
    for path in sorted(RECIPE_DIR.glob("*.yaml")):
        r = load_recipe(path)
        if r.name in out:
            raise RecipeError(f"{path}: a second recipe named {r.name!r} in {RECIPE_DIR}")
        out[r.name] = r
    return out


RECIPES: Dict[str, Recipe] = builtin_recipes()


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise SystemExit(
            f"unknown recipe {name!r}: choose from {', '.join(RECIPES)} (benchmarks/recipes/), "
            f"or give a file of your own with --recipe-file"
        )
    return RECIPES[name]
