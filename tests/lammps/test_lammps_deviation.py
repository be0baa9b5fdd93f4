"""pair_style nbody with several models and compute nbody/deviation (docs/lammps.md,
"Several models: model deviation"): the per-atom force
and energy deviations, their max/min/mean and the out_file lines equal the Python ones
(NBodyCalculator on the same models) to 1e-10 in float64 on 1, 2 and 4 MPI ranks; the dynamics is
the first model's (the same trajectory as with that model alone); models with other species or
cutoffs are refused with a message that names the file."""

import numpy as np
import pytest
from ase.build import bulk

from _lmputils import (
    lammps_frame,
    make_model,
    new_lammps,
    read_dump,
    read_thermo,
    run_lmp_input,
    write_data,
)
from nbody_lmp import NBodyCalculator
from nbody_lmp.workflows.selection import read_lammps_dump, select_frames

RANKS = (1, 2, 4)

INPUT = """
units metal
atom_style atomic
atom_modify map array
read_data {data}
pair_style nbody out_freq 5 out_file devi.out
pair_coeff * * {models} Si
compute dev all nbody/deviation
velocity all create 900.0 4928459 loop geom
fix nve all nve
thermo 10
thermo_style custom step pe c_dev[1] c_dev[2] c_dev[3] c_dev[4] c_dev[5] c_dev[6] c_dev[7]
thermo_modify format float %.16g
dump d all custom 10 dump.txt id type x y z fx fy fz c_dev[1] c_dev[2]
dump_modify d sort id format float %.17g
dump d7 all custom 7 dump7.txt id x y z c_dev[1] c_dev[2]
dump_modify d7 sort id format float %.17g
run 20
"""

SINGLE = """
units metal
atom_style atomic
atom_modify map array
read_data {data}
pair_style nbody
pair_coeff * * {model} Si
velocity all create 900.0 4928459 loop geom
fix nve all nve
dump d all custom 10 dump.txt id x y z fx fy fz
dump_modify d sort id format float %.17g
run 20
"""


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    base = tmp_path_factory.mktemp("dev")
    models = [
        make_model(base / f"m{k}.pt", ["Si"], cutoff=3.0, levels=2, lmax=1, channels=4, seed=40 + k)
        for k in range(3)
    ]
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    atoms.rattle(0.1, seed=41)
    atoms = lammps_frame(atoms)
    data = write_data(base / "si.data", atoms, ["Si"])
    runs = {}
    for n in RANKS:
        d = base / f"np{n}"
        d.mkdir()
        proc = run_lmp_input(
            d, INPUT.format(data=data, models=" ".join(map(str, models))), nprocs=n
        )
        assert proc.returncode == 0, proc.output[-3000:]
        runs[n] = dict(
            dir=d,
            frames=read_dump(d / "dump.txt"),
            frames7=read_dump(d / "dump7.txt"),
            thermo=read_thermo(d / "log.lammps"),
            devi=np.loadtxt(d / "devi.out", ndmin=2),
        )
    d = base / "single"
    d.mkdir()
    proc = run_lmp_input(d, SINGLE.format(data=data, model=models[0]), nprocs=1)
    assert proc.returncode == 0, proc.output[-3000:]
    runs["single"] = dict(frames=read_dump(d / "dump.txt"))
    return models, atoms, runs


def python_deviation(models, atoms):
    a = atoms.copy()
    a.calc = NBodyCalculator([str(m) for m in models])
    a.get_forces()
    return a.calc.results


@pytest.mark.parametrize("n", RANKS)
def test_deviation_matches_python_on_n_ranks(ensemble, n):
    models, atoms, runs = ensemble
    frames, th, devi = runs[n]["frames"], runs[n]["thermo"], runs[n]["devi"]
    assert [s for s, _ in frames] == [0, 10, 20]
    for k, (step, f) in enumerate(frames):
        a = atoms.copy()
        a.positions = np.stack([f["x"], f["y"], f["z"]], 1)
        ref = python_deviation(models, a)
        fd, ed = ref["force_deviation"], ref["energies_deviation"]
        assert fd.max() > 1e-3 and ed.max() > 1e-3  # the models do differ
        np.testing.assert_allclose(
            f["c_dev[1]"], fd, rtol=1e-10, atol=1e-13, err_msg=f"step {step}"
        )
        np.testing.assert_allclose(
            f["c_dev[2]"], ed, rtol=1e-10, atol=1e-13, err_msg=f"step {step}"
        )
        # the dynamics is the first model's
        np.testing.assert_allclose(
            np.stack([f["fx"], f["fy"], f["fz"]], 1), ref["forces"], rtol=0, atol=1e-10
        )
        # the global vector (thermo) and the out_file line of this step
        want = [
            fd.max(),
            fd.min(),
            fd.mean(),
            ed.max(),
            ed.min(),
            ed.mean(),
            ref["energy_deviation"],
        ]
        row = list(th["Step"]).index(step)
        got = [th[f"c_dev[{c}]"][row] for c in range(1, 8)]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
        line = devi[list(devi[:, 0]).index(step)]
        np.testing.assert_allclose(line[1:], want, rtol=1e-9, atol=1e-13)  # written with 11 digits
    assert list(devi[:, 0]) == [0, 5, 10, 15, 20]


def test_deviation_on_steps_only_a_dump_asks_for(ensemble):
    """Steps 7 and 14 are neither out_freq nor thermo steps: the dump's request alone makes the
    pair style evaluate every model there."""
    models, atoms, runs = ensemble
    frames = runs[2]["frames7"]
    assert [s for s, _ in frames] == [0, 7, 14]
    for step, f in frames[1:]:
        a = atoms.copy()
        a.positions = np.stack([f["x"], f["y"], f["z"]], 1)
        ref = python_deviation(models, a)
        np.testing.assert_allclose(f["c_dev[1]"], ref["force_deviation"], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(f["c_dev[2]"], ref["energies_deviation"], rtol=1e-10, atol=1e-13)


def test_same_numbers_on_1_2_4_ranks(ensemble):
    _, _, runs = ensemble
    for n in RANKS[1:]:
        for (_, a), (_, b) in zip(runs[1]["frames"], runs[n]["frames"]):
            for col in ("x", "c_dev[1]", "c_dev[2]"):
                np.testing.assert_allclose(
                    b[col], a[col], rtol=1e-10, atol=1e-13, err_msg=f"{col}, {n} ranks"
                )
        np.testing.assert_allclose(runs[n]["devi"], runs[1]["devi"], rtol=1e-9, atol=1e-13)


def test_trajectory_is_the_first_models(ensemble):
    _, _, runs = ensemble
    for (_, a), (_, b) in zip(runs[1]["frames"], runs["single"]["frames"]):
        for col in ("x", "y", "z", "fx", "fy", "fz"):
            np.testing.assert_allclose(a[col], b[col], rtol=0, atol=1e-12)


def test_select_reads_the_lammps_dump(ensemble):
    _, _, runs = ensemble
    frames = list(read_lammps_dump(runs[2]["dir"] / "dump.txt", elements=["Si"]))
    devs = [f.arrays["c_dev[1]"].max() for f in frames]
    lo, hi = sorted(devs)[1], sorted(devs)[2]
    res = select_frames(frames, lo, hi)  # only the middle frame: lo inclusive, hi exclusive
    assert (res.accurate, res.candidates, res.failed) == (1, 1, 1)
    assert res.frames[0].info["max_force_deviation"] == lo


# ---------------------------------------------------------------------------------------- errors
BOX = [
    "units metal",
    "atom_style atomic",
    "lattice diamond 5.43",
    "region box block 0 1 0 1 0 1",
    "create_box 1 box",
    "create_atoms 1 box",
    "mass * 28.0855",
]


def lammps_error(commands):
    lmp = new_lammps()
    try:
        for c in commands:
            lmp.command(c)
    except Exception as exc:
        return str(exc)
    finally:
        lmp.close()
    pytest.fail(f"no error from: {commands}")


@pytest.fixture(scope="module")
def odd_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("odd")
    return dict(
        a=make_model(base / "a.pt", ["Si"], cutoff=2.8, lmax=1, channels=2, seed=1),
        b=make_model(base / "b.pt", ["Si"], cutoff=2.8, lmax=1, channels=2, seed=2),
        species=make_model(base / "sio.pt", ["O", "Si"], cutoff=2.8, lmax=1, channels=2, seed=3),
        cutoff=make_model(base / "cut.pt", ["Si"], cutoff=[2.8, 3.1], lmax=1, channels=2, seed=4),
    )


@pytest.mark.parametrize(
    "which,pattern",
    [
        (
            "species",
            r"sio\.pt \(model 2 of the ensemble\) has species \[O Si\], "
            r"but the first model .*a\.pt has \[Si\]",
        ),
        (
            "cutoff",
            r"cut\.pt \(model 2 of the ensemble\) has 2 level cutoffs \[2\.8.* 3\.1.*\] A, "
            r"but the first model",
        ),
    ],
)
def test_mismatched_models_are_refused(odd_models, which, pattern):
    import re

    msg = lammps_error(
        [*BOX, "pair_style nbody", f"pair_coeff * * {odd_models['a']} {odd_models[which]} Si"]
    )
    assert re.search(pattern, msg), msg


def test_ensemble_usage_errors(odd_models, tmp_path):
    a = odd_models["a"]
    msg = lammps_error([*BOX, "pair_style nbody", f"pair_coeff * * {a} Si Si"])
    assert "'Si' stands where a model file is expected" in msg, msg
    msg = lammps_error(
        [
            *BOX,
            f"pair_style nbody out_freq 10 out_file {tmp_path}/d.out",
            f"pair_coeff * * {a} Si",
            "run 0",
        ]
    )
    assert "gives one model" in msg, msg
    msg = lammps_error(
        [*BOX, f"pair_style nbody out_file {tmp_path}/d.out", f"pair_coeff * * {a} Si"]
    )
    assert "needs out_freq" in msg, msg
    msg = lammps_error(
        [
            *BOX,
            "pair_style nbody",
            f"pair_coeff * * {a} Si",
            "compute dev all nbody/deviation",
            "run 0",
        ]
    )
    assert "needs two or more models" in msg, msg


def test_default_out_file_and_reduce(odd_models, tmp_path):
    """out_freq alone writes model_devi.out (DeePMD's name); compute reduce and group work."""
    a, b = odd_models["a"], odd_models["b"]
    lmp = new_lammps()
    try:
        for c in [
            *BOX,
            f"shell cd {tmp_path}",
            "pair_style nbody out_freq 2",
            f"pair_coeff * * {a} {b} Si",
            "compute dev all nbody/deviation",
            "compute mx all reduce max c_dev[1]",
            "group one id 1",
            "compute dev1 one nbody/deviation",
            "thermo_style custom step c_mx c_dev[1] c_dev1[1] c_dev1[3]",
            "thermo 2",
            "displace_atoms all random 0.1 0.1 0.1 5",
            "run 0",
        ]:
            lmp.command(c)
        th = lmp.last_thermo()
        assert th["c_dev[1]"] > 1e-4
        assert th["c_mx"] == pytest.approx(th["c_dev[1]"], rel=1e-14)
        assert th["c_dev1[1]"] == pytest.approx(th["c_dev1[3]"], rel=1e-14)  # one atom: max = mean
        assert 0 < th["c_dev1[1]"] < th["c_dev[1]"]
        from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

        assert lmp.extract_compute("dev", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[0] == th["c_dev[1]"]
    finally:
        lmp.close()
    text = (tmp_path / "model_devi.out").read_text().splitlines()
    assert text[0].startswith("#") and "max_devi_f" in text[0] and len(text) == 2


HYBRID = """
units metal
atom_style atomic
atom_modify map array
read_data {data}
pair_style hybrid/overlay nbody lj/cut 3.0
pair_coeff * * nbody {models} Si NULL
pair_coeff * 2 lj/cut 0.0 2.5
compute dev all nbody/deviation
dump d all custom 1 dump.txt id type x y z c_dev[1] c_dev[2]
dump_modify d sort id format float %.17g
run 0
"""


def test_hybrid_overlay_with_null_type_on_2_ranks(odd_models, tmp_path):
    """As a hybrid/overlay sub-style, with atoms of a NULL type (deviation 0, invisible to the
    models): the reverse communication of the per-model forces works there too."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 1, 1))
    atoms.rattle(0.1, seed=5)
    atoms = lammps_frame(atoms)
    symbols = ["Si"] * len(atoms)
    for i in (3, 9):
        symbols[i] = "Ar"
    atoms.set_chemical_symbols(symbols)
    data = write_data(tmp_path / "h.data", atoms, ["Si", "Ar"])
    models = [odd_models["a"], odd_models["b"]]
    proc = run_lmp_input(
        tmp_path, HYBRID.format(data=data, models=" ".join(map(str, models))), nprocs=2
    )
    assert proc.returncode == 0, proc.output[-3000:]
    ((_, f),) = read_dump(tmp_path / "dump.txt")
    si = np.array([s == "Si" for s in symbols])
    ref = python_deviation(models, atoms[si])
    np.testing.assert_allclose(f["c_dev[1]"][si], ref["force_deviation"], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(f["c_dev[2]"][si], ref["energies_deviation"], rtol=1e-10, atol=1e-13)
    assert np.all(f["c_dev[1]"][~si] == 0) and ref["force_deviation"].max() > 1e-4
