"""CPU threads and memory of pair_style nbody (docs/lammps.md, "Devices, threads and MPI"):
``package omp N`` sets libtorch's threads per rank, else ``OMP_NUM_THREADS``; the caching CPU
allocator is on unless ``NBODY_LMP_CPU_ALLOCATOR=system``; the results depend on neither."""

import re

import numpy as np
import pytest

from _lmputils import make_model, run_lmp_input


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("thr") / "si.pt", ["Si"], cutoff=3.0, channels=3)


def run(tmp_path, name, model, package="", threads="1", ranks=1, allocator=None, steps=0):
    text = f"""units metal
{package}
atom_style atomic
lattice diamond 5.43
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass 1 28.0855
displace_atoms all random 0.1 0.1 0.1 8123 units box
pair_style nbody
pair_coeff * * {model} Si
compute f all property/atom fx fy fz
compute fsum all reduce sum c_f[1]
thermo_style custom step pe press c_fsum
thermo_modify format float %.15g
velocity all create 300.0 4928459
fix nve all nve
run {steps}
"""
    env = {"OMP_NUM_THREADS": threads}
    env.update({"NBODY_LMP_CPU_ALLOCATOR": allocator} if allocator else {})
    out = run_lmp_input(tmp_path / name, text, nprocs=ranks, env=env)
    assert out.returncode == 0, out.output[-3000:]
    found = re.search(
        r"running on CPU, (\d+) libtorch thread\(s\) per MPI rank, (\w+) allocator", out.output
    )
    assert found, out.output[-3000:]
    rows = re.findall(rf"^\s*{steps}\s+(\S+)\s+(\S+)\s+(\S+)\s*$", out.log, re.M)
    values = np.array([float(v) for v in rows[-1]])
    return (int(found.group(1)), found.group(2)), values


def test_package_omp_sets_the_threads_and_changes_no_result(tmp_path, model):
    (n1, _), one = run(tmp_path, "one", model)
    (n2, _), two = run(tmp_path, "package", model, package="package omp 2")
    (n3, _), env = run(tmp_path, "env", model, threads="2")
    assert (n1, n2, n3) == (1, 2, 2)
    np.testing.assert_allclose(two[:2], one[:2], rtol=1e-12)
    np.testing.assert_allclose(env[:2], one[:2], rtol=1e-12)


def test_package_omp_on_two_ranks(tmp_path, model):
    (n1, _), one = run(tmp_path, "one", model)
    (n2, _), two = run(tmp_path, "two", model, package="package omp 1", threads="2", ranks=2)
    assert (n1, n2) == (1, 1)  # package omp wins over OMP_NUM_THREADS
    np.testing.assert_allclose(two[:2], one[:2], rtol=1e-12)


def test_caching_allocator_changes_no_trajectory(tmp_path, model):
    """20 steps of NVE with the caching CPU allocator (the default) and with the system one: the
    same thermodynamics to the last digit, on 1 and 2 ranks."""
    for ranks in (1, 2):
        (_, kind), cached = run(tmp_path, f"cache{ranks}", model, ranks=ranks, steps=20)
        (_, other), system = run(
            tmp_path, f"system{ranks}", model, ranks=ranks, steps=20, allocator="system"
        )
        assert (kind, other) == ("caching", "system")
        np.testing.assert_array_equal(cached, system)
