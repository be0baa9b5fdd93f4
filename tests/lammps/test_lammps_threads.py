"""CPU threads of pair_style nbody (docs/lammps.md, "Devices, threads and MPI"): ``package omp N``
sets libtorch's threads per rank, else ``OMP_NUM_THREADS``; the results do not depend on them."""

import re

import numpy as np
import pytest

from _lmputils import make_model, run_lmp_input


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("thr") / "si.pt", ["Si"], cutoff=3.0, channels=3)


def run(tmp_path, name, model, package="", threads="1", ranks=1):
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
run 0
"""
    out = run_lmp_input(tmp_path / name, text, nprocs=ranks, env={"OMP_NUM_THREADS": threads})
    assert out.returncode == 0, out.output[-3000:]
    found = re.search(r"running on CPU, (\d+) libtorch thread\(s\) per MPI rank", out.output)
    assert found, out.output[-3000:]
    row = re.search(r"^\s*0\s+(\S+)\s+(\S+)\s+(\S+)\s*$", out.log, re.M)
    return int(found.group(1)), np.array([float(v) for v in row.groups()])


def test_package_omp_sets_the_threads_and_changes_no_result(tmp_path, model):
    n1, one = run(tmp_path, "one", model)
    n2, two = run(tmp_path, "package", model, package="package omp 2")
    n3, env = run(tmp_path, "env", model, threads="2")
    assert (n1, n2, n3) == (1, 2, 2)
    np.testing.assert_allclose(two[:2], one[:2], rtol=1e-12)
    np.testing.assert_allclose(env[:2], one[:2], rtol=1e-12)


def test_package_omp_on_two_ranks(tmp_path, model):
    n1, one = run(tmp_path, "one", model)
    n2, two = run(tmp_path, "two", model, package="package omp 1", threads="2", ranks=2)
    assert (n1, n2) == (1, 1)  # package omp wins over OMP_NUM_THREADS
    np.testing.assert_allclose(two[:2], one[:2], rtol=1e-12)
