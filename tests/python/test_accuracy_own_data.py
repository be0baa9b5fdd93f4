"""benchmarks.accuracy on data given on the command line (--train/--test/--config, no code
edited), without training anything: the recipe it builds (species, energies per molecule or per
atom, stress, isolated-atom energies), what ours and the peers are given, and bad input as an
error that says what to change."""

from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from _trainutils import lj_configs, tiny_config
from benchmarks import accuracy
from benchmarks.accuracy_parts import mace_peer, nequip_peer, ours, own_data, peer_data
from benchmarks.accuracy_parts.recipes import RecipeError

ROOT = Path(__file__).resolve().parents[2]
ETHANOL = ROOT / "examples" / "rmd17-ethanol" / "data"


@pytest.fixture
def periodic(tmp_path):
    """Si-Ge cells with energies, forces and stress; a config without species."""
    ase.io.write(tmp_path / "sige_train.xyz", lj_configs(6, 0, ("Ge", "Si")), format="extxyz")
    ase.io.write(tmp_path / "sige_test.xyz", lj_configs(3, 1, ("Ge", "Si")), format="extxyz")
    cfg = tiny_config(tmp_path, data=tmp_path / "sige_train.xyz")
    return tmp_path / "sige_train.xyz", tmp_path / "sige_test.xyz", cfg


@pytest.fixture
def molecules(tmp_path):
    """Five ethanol molecules to train on, three to test on; a config that names no e0."""
    for which, n in (("train", 5), ("test", 3)):
        frames = ase.io.read(ETHANOL / f"ethanol_{which}.xyz.xz", f":{n}")
        ase.io.write(tmp_path / f"eth_{which}.xyz", frames, format="extxyz")
    cfg = tiny_config(tmp_path, data=tmp_path / "eth_train.xyz")
    return tmp_path / "eth_train.xyz", tmp_path / "eth_test.xyz", cfg


def _recipe(argv):
    return accuracy.select_recipes(accuracy.build_parser().parse_args(argv))


def test_periodic_data_builds_a_per_atom_recipe_with_the_datas_species(periodic):
    train, test, cfg = periodic
    (r,) = _recipe(["--train", str(train), "--test", str(test), "--config", str(cfg)])
    assert r.name == "sige" and r.species == ("Si", "Ge")  # by atomic number, from the data
    assert not r.molecule and r.energy_unit == ("energy_per_atom", "meV/atom")
    assert r.stress  # the config weighs stress and every configuration has one
    assert r.e0_file is None and r.config_path == cfg and r.data("test") == test
    cmd = ours.train_command(r, train.parent / "run", 5)
    sets = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--set"]
    assert f'data.train="{train}"' in sets and 'model.species=["Si", "Ge"]' in sets
    assert not any(str(test) in a for a in cmd)  # the test file plays no part in training
    assert r.training_config().data.train == str(train)


def test_molecules_build_a_per_molecule_recipe_with_e0(molecules):
    train, test, cfg = molecules
    e0 = ETHANOL / "isolated_atoms.xyz"  # H C N O: N is not in ethanol
    argv = ["--train", str(train), "--test", str(test), "--config", str(cfg), "--e0", str(e0)]
    (r,) = _recipe(argv + ["--name", "ethanol5"])
    assert r.name == "ethanol5" and r.molecule and r.energy_unit[1] == "meV/mol"
    assert r.species == ("H", "C", "O") and not r.stress
    assert r.e0_path == e0 and r.overrides()["data.e0"] == str(e0)
    assert peer_data.e0_by_number(r, list(r.species)).keys() == {1, 6, 8}
    args = mace_peer.mace_arguments(r, {"train": train}, "tiny", 0.25, list(r.species))
    assert "average" not in args and "--stress_key" not in args
    neq = nequip_peer.config(r, train, 5, "tiny", 0.25, list(r.species))
    assert neq["chemical_symbols"] == ["H", "C", "O"]
    assert set(neq["training_module"]["model"]["per_type_energy_shifts"]) == {"H", "C", "O"}


def test_e0_and_species_may_come_from_the_config(tmp_path, molecules):
    train, test, _ = molecules
    e0 = ETHANOL / "isolated_atoms.xyz"
    cfg = tiny_config(
        tmp_path, name="c2.yaml", data=train, model={"species": ["C", "H", "O"]}, **{}
    )
    text = cfg.read_text().replace(f"train: {train}", f"train: {train}\n  e0: {e0}")
    cfg.write_text(text)
    r = own_data.recipe_from_files(train, test, cfg)
    assert r.species == ("C", "H", "O") and r.e0_path == e0


def test_builtin_and_own_recipes_together(periodic):
    train, test, cfg = periodic
    rs = _recipe(
        ["--recipes", "si", "--train", str(train), "--test", str(test), "--config", str(cfg)]
    )
    assert [r.name for r in rs] == ["si", "sige"]
    assert [r.name for r in _recipe([])] == ["aspirin"]  # the default, without --train


def test_flags_override_what_the_data_says(periodic):
    train, test, cfg = periodic
    argv = ["--train", str(train), "--test", str(test), "--config", str(cfg)]
    (r,) = _recipe(argv + ["--molecule", "--no-stress"])
    assert r.molecule and not r.stress


def _frames(tmp_path, name, energy=True, forces=True, pbc=True, n=3):
    out = []
    for a in lj_configs(n, 2):
        b = Atoms(a.get_chemical_symbols(), positions=a.positions, cell=a.cell, pbc=pbc)
        kw = {}
        if energy:
            kw["energy"] = a.get_potential_energy()
        if forces:
            kw["forces"] = a.get_forces()
        if kw:
            b.calc = SinglePointCalculator(b, **kw)
        out.append(b)
    ase.io.write(tmp_path / name, out, format="extxyz")
    return tmp_path / name


@pytest.mark.parametrize(
    "which, kw, message",
    [
        ("train", dict(energy=False), "energy.*data.energy_key 'energy'.*set those keys"),
        ("train", dict(forces=False), "forces.*data.forces_key 'forces'"),
        ("test", dict(energy=False), "--test .*energy"),
        ("test", dict(forces=False), "--test .*forces"),
    ],
)
def test_a_file_without_energies_or_forces_says_which_key(periodic, which, kw, message):
    train, test, cfg = periodic
    bad = _frames(train.parent, "bad.xyz", **kw)
    files = {"train": train, "test": test, which: bad}
    with pytest.raises(RecipeError, match=message):
        own_data.recipe_from_files(files["train"], files["test"], cfg)


def test_missing_files_and_options_are_named(periodic):
    train, test, cfg = periodic
    with pytest.raises(RecipeError, match="--test .*nothing.xyz: no such file"):
        own_data.recipe_from_files(train, train.parent / "nothing.xyz", cfg)
    with pytest.raises(RecipeError, match="--config .*: no such file"):
        own_data.recipe_from_files(train, test, train.parent / "none.yaml")
    with pytest.raises(RecipeError, match="the same file"):
        own_data.recipe_from_files(train, train, cfg)
    with pytest.raises(RecipeError, match="--train needs --config"):
        _recipe(["--train", str(train), "--test", str(test)])
    with pytest.raises(RecipeError, match="--test, --e0: options of your own data.*--train"):
        _recipe(["--test", str(test), "--e0", str(test)])


def test_mixed_periodicity_asks_for_molecule_or_periodic(periodic):
    train, test, cfg = periodic
    frames = ase.io.read(train, ":") + ase.io.read(_frames(train.parent, "m.xyz", pbc=False), ":")
    ase.io.write(train.parent / "mixed.xyz", frames, format="extxyz")
    with pytest.raises(RecipeError, match="--molecule .*--periodic"):
        own_data.recipe_from_files(train.parent / "mixed.xyz", test, cfg)
    r = own_data.recipe_from_files(train.parent / "mixed.xyz", test, cfg, molecule=False)
    assert not r.molecule


def test_e0_without_an_element_is_an_error(molecules, tmp_path):
    train, test, cfg = molecules
    iso = [a for a in ase.io.read(ETHANOL / "isolated_atoms.xyz", ":") if a.symbols[0] != "O"]
    ase.io.write(tmp_path / "iso.xyz", iso, format="extxyz")
    with pytest.raises(RecipeError, match="no isolated-atom energy for O"):
        own_data.recipe_from_files(train, test, cfg, e0=tmp_path / "iso.xyz")


def test_stress_asked_of_data_without_it(molecules):
    train, test, cfg = molecules
    with pytest.raises(RecipeError, match="--stress: 5 of 5 .*no stress"):
        own_data.recipe_from_files(train, test, cfg, stress=True)


def test_unknown_peer_and_bad_budget_say_what_to_change(capsys):
    with pytest.raises(SystemExit) as exc:
        accuracy.main(["--peers", "schnet"])
    assert exc.value.code == 2
    assert "invalid choice: 'schnet' (choose from 'mace', 'nequip')" in capsys.readouterr().err
    for budget in ("0", "-5"):
        with pytest.raises(SystemExit, match="--budget must be positive.*e.g. --budget 5"):
            accuracy.main(["--budget", budget])


def test_bad_recipe_is_an_error_before_anything_runs(tmp_path):
    with pytest.raises(SystemExit, match="error: --train .*: no such file"):
        accuracy.main(
            [
                "--train",
                str(tmp_path / "a.xyz"),
                "--test",
                "b",
                "--config",
                "c",
                "--out",
                str(tmp_path / "o"),
            ]
        )
    assert not (tmp_path / "o").exists()


def test_default_name_drops_suffixes_and_train():
    assert own_data.default_name(Path("mo_train.xyz")) == "mo"
    assert own_data.default_name(Path("Ge-training.extxyz.xz")) == "Ge"
    assert own_data.default_name(Path("train.xyz")) == "train"
    assert own_data.default_name(Path("my data (v2).xyz")) == "my_data__v2_"


def test_table_legend_gives_each_recipes_energy_unit(periodic, molecules):
    from benchmarks.accuracy_parts import table

    m = {
        "energy": {"mae": 0.01, "rmse": 0.02},
        "energy_per_atom": {"mae": 0.001, "rmse": 0.002},
        "forces": {"mae": 0.05, "rmse": 0.07},
    }
    rs = [own_data.recipe_from_files(*periodic), own_data.recipe_from_files(*molecules)]
    rows = [table.row_from_metrics(r, "nbody", m, budget_min=5) for r in rs]
    text = table.format_table(rows)
    assert "E: meV/atom (sige); meV per molecule (eth)" in text
    assert np.isclose(rows[0]["E_mae"], 1.0) and np.isclose(rows[1]["E_mae"], 10.0)


def test_data_under_other_keys_reaches_every_model(tmp_path):
    """A file whose labels are named otherwise: the config's keys read it for ours, for the
    evaluation and for the peers' files."""
    frames = []
    for a in lj_configs(4, 5):
        b = Atoms(a.get_chemical_symbols(), positions=a.positions, cell=a.cell, pbc=True)
        b.info["dft_energy"] = a.get_potential_energy()
        b.arrays["dft_forces"] = a.get_forces()
        frames.append(b)
    ase.io.write(tmp_path / "k_train.xyz", frames[:3], format="extxyz")
    ase.io.write(tmp_path / "k_test.xyz", frames[3:], format="extxyz")
    import yaml

    cfg = tiny_config(tmp_path, data=tmp_path / "k_train.xyz")
    with pytest.raises(RecipeError, match="data.energy_key 'energy'"):
        own_data.recipe_from_files(tmp_path / "k_train.xyz", tmp_path / "k_test.xyz", cfg)
    raw = yaml.safe_load(cfg.read_text())
    raw["data"].update(energy_key="dft_energy", forces_key="dft_forces")
    cfg.write_text(yaml.safe_dump(raw))
    r = own_data.recipe_from_files(tmp_path / "k_train.xyz", tmp_path / "k_test.xyz", cfg)
    assert not r.stress  # no stress under the config's key
    args = ours.evaluate_args(r)
    assert args[args.index("--energy-key") + 1] == "dft_energy"
    out = peer_data.write_ref_file(r.data("test"), tmp_path / "peer_test.xyz", r)
    (got,) = ase.io.read(out, ":")
    assert got.info["REF_energy"] == pytest.approx(frames[3].info["dft_energy"])
    np.testing.assert_allclose(got.arrays["REF_forces"], frames[3].arrays["dft_forces"])


def test_recipe_file_on_the_command_line(tmp_path, molecules):
    import yaml

    train, test, cfg = molecules
    raw = {"folder": ".", "config": cfg.name, "train": train.name, "test": test.name}
    (tmp_path / "eth5.yaml").write_text(yaml.safe_dump({**raw, "molecule": True}))
    (r,) = _recipe(["--recipe-file", str(tmp_path / "eth5.yaml")])
    assert r.name == "eth5" and r.config_path == cfg and r.data("train") == train
    argv = ["--recipe-file", str(tmp_path / "eth5.yaml"), "--train", str(train)]
    argv += ["--test", str(test), "--config", str(cfg), "--name", "eth5"]
    with pytest.raises(RecipeError, match="two recipes named eth5"):
        _recipe(argv)
