"""The recipes of benchmarks.accuracy as data (benchmarks/recipes/*.yaml): each loads to what the
Python table of accuracy_parts/recipes.py held."""

import math

import pytest

from benchmarks.accuracy_parts import recipes


def _same_figures(a, b):
    assert list(a) == list(b)  # the order they are printed in
    for model in a:
        assert a[model]["metric"] == b[model]["metric"]
        for k in ("E", "F"):
            x, y = a[model][k], b[model][k]
            assert (math.isnan(x) and math.isnan(y)) or x == y, (model, k, x, y)


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_yaml_recipe_is_the_python_one(name):
    old = recipes.RECIPES[name]
    new = recipes.load_recipe(recipes.RECIPE_DIR / f"{name}.yaml")
    assert new.name == old.name
    assert new.path == old.path.resolve()
    assert new.config_path == (old.path / "config.yaml").resolve()
    for which in ("train", "test"):
        assert new.data(which) == old.data(which).resolve()
    assert new.e0_path == (old.e0_path and old.e0_path.resolve())
    assert (new.molecule, new.stress, new.species) == (old.molecule, old.stress, ())
    _same_figures(new.published, old.published)
    assert new.published_note == old.published_note
    assert new.energy_unit == old.energy_unit
