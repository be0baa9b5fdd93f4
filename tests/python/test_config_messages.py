"""Every value check of the training configuration, with its whole message word for word (what
the user reads and scripts may match on), the order in which the sections are checked, and the
values that validation normalises in place (python/nbody_lmp/training/config.py)."""

import pytest

from nbody_lmp.training.config import ConfigError, config_from_dict


def raw_config(**sections):
    raw = {"data": {"train": "train.xyz"}}
    for k, v in sections.items():
        raw.setdefault(k, {}).update(v)
    return raw


E0_FORMS = "data.e0 must be 'fit', a mapping like {Si: -158.4} or an isolated-atoms file, got "
PLOT_EVERY = (
    "output.plot_every_minutes must be a number of minutes >= 0 (0: after every epoch) "
    "or null (at the end only), got -1.0"
)

MESSAGES = [
    # data
    ({"data": {"val_fraction": 1.0}}, "data.val_fraction must be in [0, 1), got 1.0"),
    (
        {"data": {"stress_format": "vasp"}},
        "data.stress_format must be one of ase, vasp_kbar; got 'vasp'. Did you mean 'vasp_kbar'?",
    ),
    ({"data": {"e0": {"Xx": 1.0}}}, "data.e0 names 'Xx', which is not a chemical symbol"),
    ({"data": {"e0": {"Si": "a"}}}, "data.e0.Si must be a number, got the text 'a'"),
    ({"data": {"e0": 3}}, E0_FORMS + "3"),
    ({"data": {"e0": [1]}}, E0_FORMS + "[1]"),
    # model
    (
        {"model": {"species": []}},
        "model.species must be a list of chemical symbols like [Si, O], got []",
    ),
    (
        {"model": {"species": 3}},
        "model.species must be a list of chemical symbols like [Si, O], got 3",
    ),
    (
        {"model": {"species": ["Xx"]}},
        "model.species: 'Xx' is not a chemical symbol (write e.g. Si, O)",
    ),
    ({"model": {"species": ["Si", "Si"]}}, "model.species lists an element twice: ['Si', 'Si']"),
    ({"model": {"levels": 0}}, "model.levels must be >= 1, got 0"),
    (
        {"model": {"cutoff": [3.0]}},
        "model.cutoff lists 1 values but model.levels = 2: give one per level, or a single number",
    ),
    ({"model": {"cutoff": [3.0, "x"]}}, "model.cutoff must be a number, got the text 'x'"),
    ({"model": {"cutoff": 0.1}}, "model.cutoff must be between 0.5 and 20 Angstrom, got 0.1"),
    (
        {"model": {"cutoff": [3.0, 30.0]}},
        "model.cutoff must be between 0.5 and 20 Angstrom, got [3.0, 30.0]",
    ),
    ({"model": {"lmax": 7}}, "model.lmax must be between 0 and 6, got 7"),
    ({"model": {"channels": 0}}, "model.channels must be >= 1, got 0"),
    (
        {"model": {"gate": "first"}},
        "model.gate must be one of zeroth_order, first_order, first_order_pairs; "
        "got 'first'. Did you mean 'first_order'?",
    ),
    (
        {"model": {"parity": "nat"}},
        "model.parity must be one of natural, full; got 'nat'. Did you mean 'natural'?",
    ),
    (
        {"model": {"radial_weights": "per"}},
        "model.radial_weights must be one of shared, per_channel; got 'per'. "
        "Did you mean 'per_channel'?",
    ),
    (
        {"model": {"species_levels": "al"}},
        "model.species_levels must be one of leaves, all; got 'al'. Did you mean 'all'?",
    ),
    ({"model": {"radial_max_power": 9}}, "model.radial_max_power must be between 0 and 8, got 9"),
    ({"model": {"n_radial": -1}}, "model.n_radial must be >= 0 (0: no radial network), got -1"),
    ({"model": {"radial_hidden": 0}}, "model.radial_hidden must be >= 1, got 0"),
    (
        {"model": {"radial_min_distance": 3.5, "cutoff": [4.0, 3.0]}},
        "model.radial_min_distance must be > 0 and below the cutoff (3.0 A), got 3.5",
    ),
    (
        {"model": {"readout_hidden": -1}},
        "model.readout_hidden must be >= 0 (0: a linear read-out), got -1",
    ),
    # loss
    ({"loss": {"energy_weight": -1}}, "loss.energy_weight must be >= 0, got -1.0"),
    ({"loss": {"stress_weight": -1}}, "loss.stress_weight must be >= 0, got -1.0"),
    (
        {"loss": {"energy_weight": 0, "forces_weight": 0}},
        "loss: all weights are 0; give energy_weight or forces_weight > 0",
    ),
    # training
    (
        {"training": {"dtype": "float16"}},
        "training.dtype must be one of float32, float64; got 'float16'. Did you mean 'float64'?",
    ),
    ({"training": {"batch_size": 0}}, "training.batch_size must be >= 1, got 0"),
    ({"training": {"max_epochs": 0}}, "training.max_epochs must be >= 1, got 0"),
    (
        {"training": {"time_limit_minutes": 0}},
        "training.time_limit_minutes must be > 0 or null, got 0.0",
    ),
    (
        {"training": {"optimizer": "sgd"}},
        "training.optimizer must be one of adam, adamw; got 'sgd'.",
    ),
    (
        {"training": {"lr": 10}},
        "training.lr must be in (0, 10), got 10.0; typical values are 1e-3 to 1e-2",
    ),
    ({"training": {"weight_decay": -1}}, "training.weight_decay must be >= 0, got -1.0"),
    (
        {"training": {"scheduler": "cos"}},
        "training.scheduler must be one of plateau, cosine, none; got 'cos'. "
        "Did you mean 'cosine'?",
    ),
    ({"training": {"lr_factor": 1}}, "training.lr_factor must be in (0, 1), got 1.0"),
    ({"training": {"lr_patience": -1}}, "training.lr_patience must be >= 0, got -1"),
    ({"training": {"min_lr": 1.0}}, "training.min_lr must be in [0, training.lr = 0.005], got 1.0"),
    (
        {"training": {"grad_clip": 0}},
        "training.grad_clip must be > 0 or null (no clipping), got 0.0",
    ),
    (
        {"training": {"ema_decay": 1}},
        "training.ema_decay must be in [0, 1) or null (no EMA), got 1.0; 0.99 is typical",
    ),
    (
        {"training": {"early_stopping_patience": 0}},
        "training.early_stopping_patience must be >= 1 or null (never stop early), got 0",
    ),
    ({"training": {"num_threads": 0}}, "training.num_threads must be >= 1 or null, got 0"),
    (
        {"training": {"device": "cuda:x"}},
        "training.device must be cpu, cuda or cuda:N (a GPU index), got 'cuda:x'",
    ),
    (
        {"training": {"ensemble": 65}},
        "training.ensemble must be between 1 (one model) and 64, got 65; "
        "3 or 4 models are the usual ensemble",
    ),
    (
        {"training": {"ensemble_split": "x"}},
        "training.ensemble_split must be one of same, member; got 'x'.",
    ),
    # output
    ({"output": {"plot_every_minutes": -1}}, PLOT_EVERY),
    (
        {"output": {"export_radial_table": 8}},
        "output.export_radial_table must be 0 (no table) or >= 16 points, got 8",
    ),
    (
        {"output": {"export_dtype": "float16"}},
        "output.export_dtype must be one of float32, float64; got 'float16'. "
        "Did you mean 'float64'?",
    ),
]


@pytest.mark.parametrize("sections, message", MESSAGES)
def test_each_check_says_this(sections, message):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw_config(**sections))
    assert str(exc.value) == message


def test_missing_train_is_the_first_check():
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"data": {"val_fraction": 2.0}, "training": {"lr": -1}})
    assert (
        str(exc.value)
        == "data.train is missing: give the training data file, e.g. `data: {train: train.xyz}`"
    )


@pytest.mark.parametrize(
    "sections, first",
    [
        (
            {"output": {"export_radial_table": 8}, "training": {"batch_size": 0}},
            "training.batch_size",
        ),
        ({"training": {"batch_size": 0}, "loss": {"forces_weight": -1}}, "loss.forces_weight"),
        ({"loss": {"forces_weight": -1}, "model": {"channels": 0}}, "model.channels"),
        ({"model": {"channels": 0}, "data": {"val_fraction": 1.0}}, "data.val_fraction"),
        ({"model": {"readout_hidden": -1, "levels": 0}}, "model.levels"),
        ({"training": {"ensemble_split": "x", "dtype": "float16"}}, "training.dtype"),
    ],
)
def test_sections_are_checked_data_model_loss_training_output(sections, first):
    with pytest.raises(ConfigError) as exc:
        config_from_dict(raw_config(**sections))
    assert str(exc.value).startswith(first + " ")


def test_validation_normalises_values():
    c = config_from_dict(raw_config(data={"e0": None}, model={"species": "Si", "cutoff": [4, 3]}))
    assert c.data.e0 == "fit"
    assert c.model.species == ["Si"]
    assert c.model.cutoff == [4.0, 3.0] and all(isinstance(x, float) for x in c.model.cutoff)
    c = config_from_dict(raw_config(data={"e0": {"Si": "-1e2", "O": 3}}, model={"cutoff": 5}))
    assert c.data.e0 == {"Si": -100.0, "O": 3.0} and isinstance(c.data.e0["O"], float)
    assert c.model.cutoff == 5.0 and isinstance(c.model.cutoff, float)
    assert isinstance(c.model.radial_min_distance, float)
