"""The training configuration (nbody_lmp.training.config): the config is validated, unknown keys
name the closest valid key, bad values say what to change."""

import pytest

from nbody_lmp.training.config import ConfigError, config_from_dict, load_config, valid_keys


def cfg(**sections):
    raw = {"data": {"train": "train.xyz"}}
    for k, v in sections.items():
        if isinstance(v, dict):
            raw.setdefault(k, {}).update(v)
        else:
            raw[k] = v
    return raw


def test_defaults_and_paths_relative_to_config(tmp_path):
    c = config_from_dict(cfg(output={"run_dir": "runs/a"}), base_dir=tmp_path)
    assert c.data.train == str(tmp_path / "train.xyz")
    assert c.output.run_dir == str(tmp_path / "runs" / "a")
    assert c.training.dtype == "float32" and c.training.optimizer == "adam"
    assert c.data.e0 == "fit" and c.model.species is None
    d = c.to_dict()
    assert set(d) == {"seed", "data", "model", "loss", "training", "output"}
    assert len(valid_keys()) == 1 + sum(len(v) for k, v in d.items() if k != "seed")


@pytest.mark.parametrize(
    "raw, expect",
    [
        ({"trainig": {}}, "Did you mean 'training'?"),
        ({"training": {"batchsize": 2}}, "Did you mean 'batch_size'?"),
        ({"training": {"max_epoch": 2}}, "Did you mean 'max_epochs'?"),
        ({"model": {"chanels": 4}}, "Did you mean 'channels'?"),
        ({"model": {"lr": 0.1}}, "Did you mean 'training.lr' (in section 'training')?"),
        ({"loss": {"force_weight": 1}}, "Did you mean 'forces_weight'?"),
        ({"data": {"energy": "E"}}, "Did you mean 'energy_key'?"),
    ],
)
def test_unknown_key_names_closest(raw, expect):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(cfg(**raw))
    assert "unknown key" in str(exc.value)
    assert expect in str(exc.value)


def test_unknown_key_without_close_match_lists_valid_keys():
    with pytest.raises(
        ConfigError, match="Valid keys in 'loss': energy_weight, forces_weight, stress_weight"
    ):
        config_from_dict(cfg(loss={"zzz": 1}))


@pytest.mark.parametrize(
    "raw, expect",
    [
        ({"training": {"lr": -1.0}}, "training.lr must be in (0, 10)"),
        ({"training": {"dtype": "float16"}}, "training.dtype must be one of float32, float64"),
        ({"training": {"optimizer": "adamm"}}, "Did you mean 'adam'?"),
        (
            {"training": {"scheduler": "step"}},
            "training.scheduler must be one of plateau, cosine, none",
        ),
        ({"training": {"batch_size": 0}}, "training.batch_size must be >= 1"),
        ({"training": {"batch_size": 2.5}}, "training.batch_size must be a whole number"),
        ({"training": {"batch_size": "four"}}, "training.batch_size must be a number"),
        ({"training": {"ema_decay": 1.5}}, "training.ema_decay must be in [0, 1)"),
        ({"training": {"min_lr": 1.0}}, "training.min_lr must be in [0, training.lr"),
        ({"training": {"max_epochs": None}}, "training.max_epochs cannot be null"),
        ({"model": {"cutoff": [4.0]}}, "model.cutoff lists 1 values but model.levels = 2"),
        ({"model": {"cutoff": -1}}, "model.cutoff must be between 0.5 and 20"),
        ({"model": {"species": ["Si", "Xx"]}}, "'Xx' is not a chemical symbol"),
        ({"model": {"gate": "second_order"}}, "model.gate must be one of"),
        (
            {"model": {"radial_basis": "gaussian"}},
            "model.radial_basis must be one of inverse_power, bessel",
        ),
        ({"model": {"n_bessel": 0}}, "model.n_bessel must be an integer between 1 and 32"),
        ({"model": {"zbl": "yes"}}, "model.zbl must be true or false"),
        ({"loss": {"late_energy_weight": -1}}, "loss.late_energy_weight must be >= 0 or null"),
        ({"loss": {"late_fraction": 1.0}}, "loss.late_fraction must be between 0 and 1"),
        ({"loss": {"energy_weight": 0, "forces_weight": 0}}, "all weights are 0"),
        ({"loss": {"forces_weight": -1}}, "loss.forces_weight must be >= 0"),
        ({"data": {"val_fraction": 1.0}}, "data.val_fraction must be in [0, 1)"),
        ({"data": {"stress_format": "vasp"}}, "data.stress_format must be one of"),
        ({"output": {"plots": "yes"}}, "output.plots must be true or false"),
        ({"seed": "x"}, "seed must be a number"),
        ({"training": {"device": "gpu"}}, "training.device must be cpu, cuda or cuda:N"),
        ({"training": {"device": "cuda:x"}}, "training.device must be cpu, cuda or cuda:N"),
    ],
)
def test_bad_values_say_what_to_change(raw, expect):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(cfg(**raw))
    assert expect in str(exc.value)


def test_missing_train_file_key():
    with pytest.raises(ConfigError, match="data.train is missing"):
        config_from_dict({"model": {"lmax": 1}})


def test_yaml_number_without_dot_and_cutoff_list():
    c = config_from_dict(cfg(training={"lr": "1e-3"}, model={"cutoff": [4, 3.5], "species": "Si"}))
    assert c.training.lr == pytest.approx(1e-3)
    assert c.model.cutoff == [4.0, 3.5] and c.model.species == ["Si"]


def test_load_config_file_errors_and_overrides(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  train: [a.xyz\n")
    with pytest.raises(ConfigError, match=r"bad.yaml \(line \d+, column \d+\) is not valid YAML"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("data: {train: t.xyz}\ntraining: {lr: 0.01}\n")
    c = load_config(good, overrides={"training.lr": 0.002, "model.lmax": 1})
    assert c.training.lr == 0.002 and c.model.lmax == 1 and c.data.train == str(tmp_path / "t.xyz")
    with pytest.raises(ConfigError, match="good.yaml: unknown key 'training.learning_rat'"):
        load_config(good, overrides={"training.learning_rat": 1})


def test_device_values():
    for device in ("cpu", "cuda", "cuda:1"):
        assert config_from_dict(cfg(training={"device": device})).training.device == device
    assert config_from_dict(cfg()).training.device == "cpu"


def test_gpu_asked_where_torch_sees_none_is_a_clear_error_before_any_data_is_read(
    tmp_path, monkeypatch
):
    """training.device: cuda on a machine (or a torch build) without a GPU says so and what to
    change, and leaves the run folder as it was."""
    import torch

    from nbody_lmp.training.trainer import Trainer, check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    c = config_from_dict(
        cfg(training={"device": "cuda"}, output={"run_dir": str(tmp_path / "run")}),
        base_dir=tmp_path,
    )
    with pytest.raises(ConfigError) as exc:
        Trainer(
            c, log=lambda s: None
        ).run()  # train.xyz does not exist: the device is checked first
    assert "training.device is cuda" in str(exc.value) and "training.device: cpu" in str(exc.value)
    assert not (tmp_path / "run").exists()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match="only 1 GPU"):
        check_device(torch.device("cuda:3"))
    check_device(torch.device("cuda:0"))
    check_device(torch.device("cpu"))
