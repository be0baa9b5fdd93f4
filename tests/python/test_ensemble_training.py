"""Ensembles: `nbody-lmp train --ensemble N` trains N members that differ only in seed,
each in RUN_DIR/member-k, on one validation split; --resume continues each member where it
stopped and ends with the same weights as an uninterrupted ensemble; `nbody-lmp export` of the
ensemble folder writes one file per member."""

import json

import pytest
import torch

from _trainutils import tiny_config, write_lj_data
from test_training_resume import Killed, assert_same_state

from nbody_lmp.cli import main
from nbody_lmp.training import EnsembleTrainer, load_checkpoint, load_config
from nbody_lmp.training.config import ConfigError

QUIET = dict(log=lambda s: None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_lj_data(tmp_path_factory.mktemp("data") / "train.xyz", n=8)


def test_cli_ensemble_members_differ_only_in_seed(tmp_path, data, capsys):
    cfg = tiny_config(
        tmp_path,
        data=data,
        run_dir=tmp_path / "ens",
        training={"max_epochs": 2},
        output={"export_dtype": "float64"},
    )
    assert main(["train", str(cfg), "--ensemble", "3", "-q"]) == 0
    out = capsys.readouterr().out
    run = tmp_path / "ens"
    manifest = json.loads((run / "ensemble.json").read_text())
    assert manifest["ensemble"] == 3 and manifest["seeds"] == [3, 4, 5]
    assert manifest["models"] == [f"member-{k}/model.pt" for k in range(3)]
    assert (
        "pair_coeff * * "
        + " ".join(str(run / f"member-{k}" / "model.pt") for k in range(3))
        + " Si"
        in out
    )
    states = [load_checkpoint(run / f"member-{k}" / "best.pt") for k in range(3)]
    for k, st in enumerate(states):
        assert st["config"]["seed"] == 3 + k
        assert st["config"]["data"]["split_seed"] == 3  # one validation split for all members
        others = {key: v for key, v in st["config"].items() if key not in ("seed", "output")}
        assert others == {
            key: v for key, v in states[0]["config"].items() if key not in ("seed", "output")
        }
        assert st["data_summary"]["n_validation"] == states[0]["data_summary"]["n_validation"] == 2
    w = [
        st["eval_state"]["embedding"]
        if "embedding" in st["eval_state"]
        else next(iter(st["eval_state"].values()))
        for st in states
    ]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])

    # export of the ensemble folder: one file per member, never over existing files without --force
    assert main(["export", str(run), "-o", str(tmp_path / "ens.pt")]) == 0
    out = capsys.readouterr().out
    files = [tmp_path / f"ens-{k}.pt" for k in range(3)]
    assert all(f.is_file() for f in files)
    assert f"pair_coeff * * {' '.join(map(str, files))} Si" in out
    assert main(["export", str(run), "-o", str(tmp_path / "ens.pt")]) == 2
    assert "exist" in capsys.readouterr().err
    assert main(["export", str(run), "-o", str(tmp_path / "ens.pt"), "--force"]) == 0
    # a single-model command on the ensemble folder says what to give instead
    assert main(["info", str(run)]) == 2
    assert "member-0" in capsys.readouterr().err


def test_ensemble_split_member_gives_each_member_its_own_split(tmp_path, data):
    cfg = load_config(
        tiny_config(
            tmp_path,
            data=data,
            run_dir=tmp_path / "ens",
            training={"max_epochs": 1, "ensemble": 2, "ensemble_split": "member"},
        )
    )
    EnsembleTrainer(cfg, **QUIET).run()
    seeds = [
        load_checkpoint(tmp_path / "ens" / f"member-{k}" / "last.pt")["config"]["data"][
            "split_seed"
        ]
        for k in range(2)
    ]
    assert seeds == [None, None]


def test_interrupted_ensemble_resumes_per_member(tmp_path, data):
    training = {"max_epochs": 3, "ensemble": 3}
    full = load_config(
        tiny_config(tmp_path, "a.yaml", data, run_dir=tmp_path / "full", training=training)
    )
    EnsembleTrainer(full, **QUIET).run()

    cfg = load_config(
        tiny_config(tmp_path, "b.yaml", data, run_dir=tmp_path / "killed", training=training)
    )
    seen = []

    def kill_in_member_1(trainer, row):
        seen.append((trainer.cfg.seed, row["epoch"]))
        if trainer.cfg.seed == 4 and row["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        EnsembleTrainer(cfg, callbacks=[kill_in_member_1], **QUIET).run()
    member0 = tmp_path / "killed" / "member-0" / "last.pt"
    stamp = member0.stat().st_mtime_ns
    assert not (tmp_path / "killed" / "member-2").exists()
    with pytest.raises(FileExistsError, match="--resume"):
        EnsembleTrainer(cfg, **QUIET).run()

    seen.clear()
    EnsembleTrainer(
        cfg, resume=True, callbacks=[lambda t, r: seen.append((t.cfg.seed, r["epoch"]))], **QUIET
    ).run()
    assert seen == [
        (4, 3),
        (5, 1),
        (5, 2),
        (5, 3),
    ]  # member 0 kept, member 1 from epoch 3, member 2 all
    assert member0.stat().st_mtime_ns == stamp
    for k in range(3):
        assert_same_state(
            load_checkpoint(tmp_path / "killed" / f"member-{k}" / "last.pt"),
            load_checkpoint(tmp_path / "full" / f"member-{k}" / "last.pt"),
        )

    # more members on --resume: only the new one trains
    seen.clear()
    more = load_config(
        tiny_config(
            tmp_path,
            "b.yaml",
            data,
            run_dir=tmp_path / "killed",
            training={**training, "ensemble": 4},
        )
    )
    EnsembleTrainer(
        more, resume=True, callbacks=[lambda t, r: seen.append(t.cfg.seed)], **QUIET
    ).run()
    assert set(seen) == {6}
    assert json.loads((tmp_path / "killed" / "ensemble.json").read_text())["ensemble"] == 4


def test_ensemble_config_errors(tmp_path, data):
    with pytest.raises(ConfigError, match="training.ensemble must be between 1"):
        load_config(tiny_config(tmp_path, data=data, training={"ensemble": 0}))
    with pytest.raises(ConfigError, match="ensemble_split"):
        load_config(tiny_config(tmp_path, data=data, training={"ensemble_split": "random"}))
    with pytest.raises(FileNotFoundError, match="not an ensemble run folder"):
        EnsembleTrainer(
            load_config(
                tiny_config(
                    tmp_path, data=data, run_dir=tmp_path / "none", training={"ensemble": 2}
                )
            ),
            resume=True,
            **QUIET,
        ).run()


def test_resume_exports_a_finished_member_that_has_no_model_file(tmp_path, data):
    """A member interrupted while exporting: --resume writes its model.pt without training it
    again."""
    cfg = load_config(
        tiny_config(
            tmp_path,
            data=data,
            run_dir=tmp_path / "ens",
            training={"max_epochs": 1, "ensemble": 2},
            output={"export_dtype": "float64"},
        )
    )
    EnsembleTrainer(cfg, **QUIET).run()
    model = tmp_path / "ens" / "member-1" / "model.pt"
    model.unlink()
    seen = []
    result = EnsembleTrainer(
        cfg, resume=True, callbacks=[lambda t, r: seen.append(r)], **QUIET
    ).run()
    assert seen == [] and model.is_file() and result.model_files[1] == model
