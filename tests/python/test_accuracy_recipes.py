"""The recipes of benchmarks.accuracy as data (benchmarks/recipes/*.yaml): each loads to what the
Python table of accuracy_parts/recipes.py held before it (copied below: the golden values,
published figures included), and a recipe file with a mistake is an error that names the key
and the fix."""

import math

import pytest
import yaml

from benchmarks.accuracy_parts import ours, peer_data, recipes

EX = recipes.EXAMPLES
NAN = float("nan")
MACE_PAPER = "rMD17, 1000 train, test MAE (MACE paper)"
# name: (folder under examples/, train, test under data/, molecule, e0 file, stress, figures, note)
GOLDEN = {
    "aspirin": (
        "rmd17-aspirin",
        "aspirin_train.xyz.xz",
        "aspirin_test.xyz.xz",
        True,
        "isolated_atoms.xyz",
        False,
        {
            "MACE": ("MAE", 2.2, 6.6),
            "Allegro": ("MAE", 2.3, 7.3),
            "NequIP": ("MAE", 2.3, 8.2),
            "BOTNet": ("MAE", 2.3, 8.5),
            "ACE": ("MAE", 6.1, 17.9),
            "GAP": ("MAE", 17.7, 44.9),
        },
        MACE_PAPER,
    ),
    "ethanol": (
        "rmd17-ethanol",
        "ethanol_train.xyz.xz",
        "ethanol_test.xyz.xz",
        True,
        "isolated_atoms.xyz",
        False,
        {
            "MACE": ("MAE", 0.4, 2.1),
            "Allegro": ("MAE", 0.4, 2.1),
            "NequIP": ("MAE", 0.4, 2.8),
            "BOTNet": ("MAE", 0.4, 3.2),
            "ACE": ("MAE", 1.2, 7.3),
            "GAP": ("MAE", 3.5, 18.1),
        },
        MACE_PAPER,
    ),
    "3bpa": (
        "3bpa",
        "train_300K.xyz.xz",
        "derived_mixedT_not_in_train_300K.xyz.xz",
        True,
        "iso_atoms.xyz",
        False,
        {"NequIP": ("RMSE", 3.3, 10.8), "MACE": ("RMSE", NAN, 8.8)},
        "published 300 K test set, RMSE: NOT the derived mixed-T test used here",
    ),
    "si": (
        "si-dft",
        "si_train.xyz",
        "si_test.xyz",
        False,
        None,
        True,
        {},
        "mlearn: Zuo et al. 2020 Table 2; SNAP/qSNAP measured by examples/si-dft/run.sh",
    ),
    "ge": (
        "mlearn-ge",
        "ge_train.xyz.xz",
        "ge_test.xyz.xz",
        False,
        None,
        True,
        {},
        "mlearn: Zuo et al. 2020 Table 2; SNAP/qSNAP measured by examples/mlearn-ge/run.sh",
    ),
}


def test_every_builtin_recipe_is_a_yaml_file():
    assert sorted(recipes.RECIPES) == sorted(GOLDEN)
    assert sorted(p.stem for p in recipes.RECIPE_DIR.glob("*.yaml")) == sorted(GOLDEN)


@pytest.mark.parametrize("name", list(GOLDEN))
def test_yaml_recipe_is_the_python_one(name):
    folder, train, test, molecule, e0, stress, figures, note = GOLDEN[name]
    r = recipes.get(name)
    assert r.name == name and r.path == (EX / folder).resolve()
    assert r.config_path == (EX / folder / "config.yaml").resolve()
    assert r.data("train") == (EX / folder / "data" / train).resolve()
    assert r.data("test") == (EX / folder / "data" / test).resolve()
    assert r.e0_path == (None if e0 is None else (EX / folder / "data" / e0).resolve())
    assert (r.molecule, r.stress, r.species) == (molecule, stress, ())
    assert list(r.published) == list(figures)  # the order they are printed in
    for model, (metric, e, f) in figures.items():
        got = r.published[model]
        assert got["metric"] == metric and got["F"] == f
        assert (math.isnan(e) and math.isnan(got["E"])) or got["E"] == e
    assert r.published_note == note


def test_stress_recipes_read_as_their_config_reads():
    """mlearn's VASP stress: the evaluation and the peers' files read it as config.yaml does."""
    args = ours.evaluate_args(recipes.get("ge"))
    assert args[args.index("--stress-key") + 1] == "virial_kbar_raw"
    assert args[args.index("--stress-format") + 1] == "vasp_kbar"
    assert "--stress-key" not in ours.evaluate_args(recipes.get("aspirin"))
    assert recipes.get("aspirin").read_options()["stress_key"] is None


def test_ours_trains_on_the_recipes_files():
    r = recipes.get("3bpa")
    assert r.overrides() == {"data.train": r.train, "data.e0": r.e0_file}
    cfg = r.training_config()
    assert cfg.data.train == r.train and cfg.data.e0 == r.e0_file
    assert r.model_species() == ["H", "C", "N", "O"]


def _write(tmp_path, **keys):
    base = {
        "folder": str(EX / "rmd17-ethanol"),
        "train": "data/ethanol_train.xyz.xz",
        "test": "data/ethanol_test.xyz.xz",
        "molecule": True,
    }
    raw = {k: v for k, v in {**base, **keys}.items() if v is not None}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_users_recipe_file(tmp_path):
    r = recipes.load_recipe(_write(tmp_path, e0="data/isolated_atoms.xyz", species=["H", "C", "O"]))
    assert r.name == "mine" and r.molecule and r.published == {}
    assert r.e0_path.name == "isolated_atoms.xyz" and r.species == ("H", "C", "O")
    assert peer_data.e0_by_number(r, r.model_species()).keys() == {1, 6, 8}


@pytest.mark.parametrize(
    "keys, message",
    [
        ({"molecul": True}, "unknown key 'molecul'. Did you mean 'molecule'"),
        ({"molecule": None}, "missing 'molecule'"),
        ({"molecule": "yes"}, "molecule must be true or false"),
        ({"train": "data/nothing.xyz"}, "train: no such file .*nothing.xyz"),
        ({"folder": "/no/such/folder"}, "folder: no such folder"),
        ({"test": "data/ethanol_train.xyz.xz"}, "the same file"),
        ({"name": "my recipe"}, "name must be letters"),
        ({"published": {"X": {"metric": "MAD", "E": 1, "F": 2}}}, "metric must be MAE or RMSE"),
        ({"published": {"X": {"metric": "MAE", "E": 1}}}, r"published.X must be \{metric"),
        ({"published": {"X": {"metric": "MAE", "E": "1", "F": 2}}}, "E must be a number"),
        ({"species": "H"}, "species must be a list"),
    ],
)
def test_recipe_file_mistakes_name_the_key(tmp_path, keys, message):
    with pytest.raises(recipes.RecipeError, match=message):
        recipes.load_recipe(_write(tmp_path, **keys))


def test_recipe_file_that_is_not_there_or_not_yaml(tmp_path):
    with pytest.raises(recipes.RecipeError, match="does not exist.*aspirin.yaml"):
        recipes.load_recipe(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("folder: [unclosed\n")
    with pytest.raises(recipes.RecipeError, match="not valid YAML"):
        recipes.load_recipe(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(recipes.RecipeError, match="a recipe is a mapping"):
        recipes.load_recipe(tmp_path / "list.yaml")
