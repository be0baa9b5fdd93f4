"""Data of real size (docs/training.md, "Large data sets"): the streaming reader gives what
data/io.py gives; the sharded graph store gives the in-memory graphs exactly, and its statistics,
E0 and split equal the in-memory ones; a store is reused, keyed by content, cutoffs and reading
options; an interrupted write leaves nothing that is read; bad input gets a message that says
what to change."""

import bz2
import gzip
import lzma
from dataclasses import fields

import numpy as np
import pytest
import torch
import yaml
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from _trainutils import lj_configs, tiny_config

from nbody_lmp.data import DataError, compute_statistics, read_configurations
from nbody_lmp.data import store as store_module
from nbody_lmp.data import store_writer
from nbody_lmp.data.statistics import average_num_neighbors, shortest_distances
from nbody_lmp.data.store import PREFIX, open_store
from nbody_lmp.data.store_statistics import subset_statistics
from nbody_lmp.data.stream import iter_configurations
from nbody_lmp.training import load_config
from nbody_lmp.training.config import ConfigError, config_from_dict
from nbody_lmp.training.trainer import Trainer

SPECIES = ["C", "Si"]
CUTOFFS = [3.0, 2.6]


def _cluster(seed):
    """A non-periodic Si-C cluster without a stress."""
    rng = np.random.default_rng(seed)
    pos = np.array([[0, 0, 0], [2.2, 0, 0], [0, 2.3, 0], [0, 0, 2.1], [2.0, 2.0, 0.3]])
    pos = pos + rng.normal(0, 0.05, pos.shape)
    atoms = Atoms("SiCSiSiC", positions=pos, pbc=False)
    atoms.calc = SinglePointCalculator(
        atoms, energy=-3.0 + rng.normal(), forces=rng.normal(size=(5, 3))
    )
    return atoms


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Periodic Si-C crystals (with stress), a Si-only one, and non-periodic clusters (none)."""
    import ase.io

    frames = lj_configs(9, seed=1, species=("Si", "C"))
    frames[4:4] = [_cluster(0)]
    frames += lj_configs(2, seed=2, species=("Si",)) + [_cluster(1)]
    path = tmp_path_factory.mktemp("mixed") / "mixed.xyz"
    ase.io.write(str(path), frames, format="extxyz")
    return path


def _config(folder, name, data, **data_keys):
    """A tiny training config with these ``data`` keys."""
    path = tiny_config(folder, name=name, data=data, run_dir=folder / name.split(".")[0])
    cfg = yaml.safe_load(path.read_text())
    cfg["data"].update(data_keys)
    cfg["model"].pop("species", None)
    cfg["loss"]["stress_weight"] = 0.0  # the clusters have no stress
    path.write_text(yaml.safe_dump(cfg))
    return path


def _assert_same_graph(a, b):
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "targets":
            assert x.keys() == y.keys()
            pairs = [(x[k], y[k], k) for k in x]
        else:
            pairs = [(x, y, f.name)]
        for u, v, name in pairs:
            assert u.dtype == v.dtype and u.shape == v.shape, name
            assert torch.equal(u, v), name


def _assert_same_configuration(a, b):
    for name in ("positions", "numbers", "cell", "pbc", "forces", "stress"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or np.array_equal(x, y), name
    assert (a.energy, a.frame, a.source) == (b.energy, b.frame, b.source)
    assert a.info.keys() == b.info.keys()


# --------------------------------------------------------------------------- streaming reader


@pytest.mark.parametrize("compression", [None, "xz", "gz", "bz2"])
def test_streaming_reader_equals_the_reader(mixed, tmp_path, compression):
    path = mixed
    if compression:
        opener = {"xz": lzma.open, "gz": gzip.open, "bz2": bz2.open}[compression]
        path = tmp_path / f"mixed.xyz.{compression}"
        with opener(path, "wb") as fh:
            fh.write(mixed.read_bytes())
    options = dict(species=SPECIES, stress_key="stress", require_forces=True)
    expected = read_configurations(path, **options)
    got = list(iter_configurations(path, **options))
    assert len(got) == len(expected) == 13
    for a, b in zip(expected, got):
        _assert_same_configuration(a, b)


def test_streaming_reader_yields_before_it_reads_the_rest(mixed, tmp_path):
    lines = mixed.read_text().splitlines(keepends=True)
    broken = tmp_path / "broken.xyz"
    broken.write_text("".join(lines[: 2 * 10]) + "not-a-count\n" + "".join(lines[20:]))
    stream = iter_configurations(broken)
    assert next(stream).frame == 0 and next(stream).frame == 1  # frames 0, 1: 8 atoms each
    with pytest.raises(DataError, match=r"broken.xyz, frame 2: expected a frame's atom count"):
        next(stream)


def test_streaming_reader_errors_name_file_frame_and_fix(mixed, tmp_path):
    text = mixed.read_text()
    cut = tmp_path / "cut.xyz"
    cut.write_text(text[: len(text) - 200])
    with pytest.raises(DataError, match=r"cut.xyz, frame 12: the file ends inside this frame"):
        list(iter_configurations(cut))
    with pytest.raises(DataError, match=r"frame 0: species \['C'\] are not in the model's"):
        list(iter_configurations(mixed, species=["Si"]))
    with pytest.raises(TypeError, match="unknown reading options"):
        list(iter_configurations(mixed, energy_kee="x"))
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(iter_configurations(tmp_path / "none.xyz"))


# --------------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def store(mixed, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stores")
    return open_store(mixed, CUTOFFS, folder, shard_bytes=4000)  # several shards


def test_store_graphs_equal_the_graphs_in_memory(mixed, store):
    assert len(store.meta["shards"]) > 2
    confs = read_configurations(mixed, species=SPECIES)
    lut = store.species_lookup(SPECIES)
    assert len(store) == len(confs)
    for k, conf in enumerate(confs):
        _assert_same_graph(conf.to_graph(SPECIES, max(CUTOFFS)), store.graph(k, lut))
    assert "stress" not in store.graph(4, lut).targets  # the cluster
    assert store.symbols() == SPECIES
    with pytest.raises(IndexError):
        store.graph(len(confs))


@pytest.mark.parametrize("e0", [None, {"C": -1.5, "Si": -0.25}])
def test_store_statistics_equal_those_in_memory(mixed, store, e0):
    from nbody_lmp.data import split_indices

    confs = read_configurations(mixed, species=SPECIES)
    train, _ = split_indices(len(confs), 0.3, seed=5)
    chosen = [confs[i] for i in train]
    expected = compute_statistics(chosen, SPECIES, cutoff=max(CUTOFFS), e0=e0)
    got = subset_statistics(store, train, SPECIES, CUTOFFS, e0=e0)
    assert got.stats.as_dict() == expected.as_dict()  # exactly: E0, shift, scale, counts
    assert got.avg_num_children == [average_num_neighbors(chosen, c) + 1.0 for c in CUTOFFS]
    graphs = [c.to_graph(SPECIES, max(CUTOFFS)) for c in chosen]
    assert got.shortest_distances == shortest_distances(graphs, SPECIES)
    assert set(got.shortest_distances) == {"C-C", "C-Si", "Si-Si"}
    assert got.n_edges == sum(g.edge_index.shape[1] for g in graphs)


@pytest.mark.parametrize("validation", [False, True])
def test_trainer_data_sharded_equals_memory(mixed, tmp_path, validation):
    """The trainer's graphs, split, statistics and data summary, both ways."""
    data = {"train": str(mixed), "val_fraction": 0.3}
    if validation:
        data["validation"] = str(mixed)
    loaded = []
    for store_kind in ("memory", "sharded"):
        extra = {"store": store_kind}
        if store_kind == "sharded":
            extra["store_dir"] = str(tmp_path / "stores")
        cfg = _config(tmp_path, f"{store_kind}.yaml", mixed, **data, **extra)
        trainer = Trainer(load_config(cfg), log=lambda m: None)
        trainer._load_data()
        loaded.append(trainer)
    memory, sharded = loaded
    assert sharded.species == memory.species == SPECIES  # from the data: model.species unset
    assert sharded.data_summary == memory.data_summary
    assert sharded.stats.as_dict() == memory.stats.as_dict()
    assert sharded.avg_num_children == memory.avg_num_children
    for name in ("train_graphs", "val_graphs"):
        a, b = getattr(memory, name), getattr(sharded, name)
        assert len(a) == len(b) > 0
        for g, h in zip(a, b):
            _assert_same_graph(g, h)


def _folders(d):
    return sorted(p.name for p in d.iterdir())


def test_store_is_reused_and_keyed_by_content_cutoffs_and_options(mixed, tmp_path, monkeypatch):
    stores = tmp_path / "stores"
    first = open_store(mixed, CUTOFFS, stores)
    assert _folders(stores) == [first.folder.name] and first.folder.name.startswith(PREFIX)

    def no_write(*args, **kw):
        raise AssertionError("the store was written again")

    monkeypatch.setattr(store_module, "write_store", no_write)
    copy = tmp_path / "elsewhere.xyz"
    copy.write_bytes(mixed.read_bytes())
    assert open_store(copy, list(reversed(CUTOFFS)), stores).folder == first.folder
    monkeypatch.undo()
    open_store(mixed, [3.0, 2.5], stores)  # another level cutoff
    open_store(mixed, CUTOFFS, stores, stress_key=None)  # other reading options
    copy.write_text(copy.read_text().replace("energy=-", "energy=-1", 1))
    open_store(copy, CUTOFFS, stores)  # other content
    assert len(_folders(stores)) == 4


def test_an_interrupted_write_leaves_nothing_that_is_read(mixed, tmp_path, monkeypatch):
    calls = []
    real_flush = store_writer._Shards.flush

    def interrupted(self):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the second shard is written
        real_flush(self)

    monkeypatch.setattr(store_writer._Shards, "flush", interrupted)
    with pytest.raises(KeyboardInterrupt):
        open_store(mixed, CUTOFFS, tmp_path, shard_bytes=4000)
    assert _folders(tmp_path) == []  # the temporary folder went with it
    monkeypatch.undo()
    # a writer killed outright leaves its temporary folder: never read, and no obstacle
    key = store_module.store_key(mixed, CUTOFFS, {})[0]
    stale = tmp_path / f".{PREFIX}{key}.killed.tmp"
    (stale / "shard-00000").mkdir(parents=True)
    (stale / "meta.json").write_text("{}")
    store = open_store(mixed, CUTOFFS, tmp_path, shard_bytes=4000)
    assert store.folder.name == f"{PREFIX}{key}" and len(store) == 13
    assert _folders(tmp_path) == sorted([stale.name, store.folder.name])


def test_a_foreign_folder_under_the_store_name_is_an_error(mixed, tmp_path):
    key = store_module.store_key(mixed, CUTOFFS, {})[0]
    (tmp_path / f"{PREFIX}{key}").mkdir()
    with pytest.raises(DataError, match="not a complete graph store.*delete it"):
        open_store(mixed, CUTOFFS, tmp_path)


def test_model_species_are_checked_against_the_store(store):
    with pytest.raises(DataError, match=r"mixed.xyz, frame 0: species \['C'\] are not in the"):
        store.species_lookup(["Si"])
    assert store.species_lookup(["Si", "C", "O"])[6] == 1


def test_store_config_keys_are_checked(tmp_path):
    base = {"data": {"train": "t.xyz"}}
    with pytest.raises(ConfigError, match=r"data.store must be memory .* or sharded .*'shard'"):
        config_from_dict({"data": {"train": "t.xyz", "store": "shard"}}, tmp_path)
    with pytest.raises(ConfigError, match="Did you mean 'sharded'"):
        config_from_dict({"data": {"train": "t.xyz", "store": "shard"}}, tmp_path)
    with pytest.raises(ConfigError, match="data.store_dir is set .* set data.store: sharded"):
        config_from_dict({"data": {"train": "t.xyz", "store_dir": "s"}}, tmp_path)
    cfg = config_from_dict(
        {"data": {**base["data"], "store": "sharded", "store_dir": "s"}}, tmp_path
    )
    assert cfg.data.store_dir == str(tmp_path / "s")
    assert config_from_dict(base, tmp_path).data.store == "memory"


def test_a_cell_far_below_the_cutoff_is_refused_with_what_to_do(tmp_path):
    import ase.io

    atom = Atoms("Si", positions=[[0, 0, 0]], cell=np.diag([1.0, 10, 10]), pbc=[True, False, False])
    atom.calc = SinglePointCalculator(atom, energy=-1.0, forces=np.zeros((1, 3)))
    ase.io.write(tmp_path / "chain.xyz", [atom], format="extxyz")
    with pytest.raises(DataError, match="more than 127 periodic images.*data.store: memory"):
        open_store(tmp_path / "chain.xyz", [130.0], tmp_path / "stores")
    assert _folders(tmp_path / "stores") == []
