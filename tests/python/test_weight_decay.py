"""``training.weight_decay_on`` (docs/training.md, "Regularisation"): weight decay on every
parameter, or on the mixing matrices W^l alone."""

import pytest
import torch

from nbody_lmp import NBodyNetwork
from nbody_lmp.nn.mixing import PartMixing
from nbody_lmp.training import load_config
from nbody_lmp.training.config import ConfigError
from nbody_lmp.training.trainer import parameter_groups

from _trainutils import tiny_config


def test_groups_split_the_mixing_matrices_from_the_rest():
    model = NBodyNetwork(["Si", "O"], levels=2, lmax=1, channels=3)
    mixing = {id(p) for m in model.modules() if isinstance(m, PartMixing) for p in m.parameters()}
    decayed, rest = parameter_groups(model, 0.1, "mixing")
    assert {id(p) for p in decayed["params"]} == mixing and decayed["weight_decay"] == 0.1
    assert rest["weight_decay"] == 0.0 and model.embedding in rest["params"]
    every = [p for p in model.parameters()]
    assert len(decayed["params"]) + len(rest["params"]) == len(every)
    (one,) = parameter_groups(model, 0.1, "all")
    assert len(one["params"]) == len(every) and one["weight_decay"] == 0.1


def test_decay_acts_only_where_asked():
    """With zero gradients, AdamW's decoupled decay shrinks the decayed group only."""
    model = NBodyNetwork(["Si"], levels=1, lmax=1, channels=2)
    mixing = {n for n, m in model.named_modules() if isinstance(m, PartMixing)}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(parameter_groups(model, 0.5, "mixing"), lr=0.1)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for name, p in model.named_parameters():
        changed = not torch.equal(p.detach(), before[name])
        assert changed == (name.rsplit(".weights.", 1)[0] in mixing), name


def test_bad_value_says_what_to_give(tmp_path):
    with pytest.raises(ConfigError, match="training.weight_decay_on"):
        load_config(tiny_config(tmp_path, training={"weight_decay_on": "embedding"}))
