"""``nbody_lmp.workflows.lammps_run`` (the demo's LAMMPS runner, issue 6): inputs, results, errors, and the
progress bar of a long run ("Long work shows progress")."""
import pytest

from nbody_lmp.workflows.lammps_run import last_thermo_step, run_lammps, si_md_input

LOG = """Setting up Verlet run ...
   Step          Temp          PotEng
         0   1200          -277.2
        10   612.5         -271.9
        20   598.1         -271.4
Loop time of 0.1 on 1 procs for 20 steps with 64 atoms
"""


def test_last_thermo_step_of_a_growing_log():
    assert last_thermo_step("LAMMPS (22 Jul 2025)\nCreated 64 atoms\n") is None
    assert last_thermo_step(LOG[:LOG.index("Step") + 40]) is None        # header only
    assert last_thermo_step(LOG[:LOG.index("        10")]) == 0
    assert last_thermo_step(LOG) == 20
    # a second run: only its own rows count
    assert last_thermo_step(LOG + "   Step   Temp\n       100   300.0\n") == 100


def test_sw_run_with_progress(tmp_path, capsys):
    res = run_lammps(tmp_path / "sw", si_md_input("sw", 2, 30, 600.0), steps=30, label="sw smoke")
    assert res.natoms == 64 and res.thermo["Step"][-1] == 30 and res.atom_steps_per_s > 0
    err = capsys.readouterr().err
    assert "sw smoke" in err and "30/30" in err


def test_failed_run_names_the_error(tmp_path):
    with pytest.raises(RuntimeError, match="ERROR: Unrecognized pair style .nosuch."):
        run_lammps(tmp_path / "bad", si_md_input("sw", 1, 5, 300.0).replace("pair_style sw", "pair_style nosuch"))
