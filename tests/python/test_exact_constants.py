"""Exact float64 covariance whatever dtype a model was built or trained in.

A model built under torch's float32 default and then cast to float64, or trained in float32 and
exported with ``--dtype float64``, must be as covariant as one built in float64: energies to
<= 1e-13 and forces to <= 1e-12 relative under rotations and reflections. This holds only if
the exact constants (CG matrices) are computed in float64 and rounded once to the model's dtype
(``nbody_lmp.nn.constants``); with float32-rounded CG matrices the error is ~1e-9.
"""

import numpy as np
import pytest
import torch

from nbody_lmp import NBodyCalculator, NBodyNetwork
from nbody_lmp.cli import main
from nbody_lmp.export import export
from nbody_lmp.nn.tensor_product import CGBlocks
from nbody_lmp.so3 import random_rotation

from _netutils import random_cluster
from _trainutils import tiny_config

GATES = ["zeroth_order", "first_order", "first_order_pairs"]


def _max_symmetry_errors(calc_factory, atoms, seed=11):
    """Largest relative energy and force errors over a rotation, an inversion, an improper rotation
    and a mirror plane."""

    def run(a):
        a = a.copy()
        a.calc = calc_factory()
        return a.get_potential_energy(), a.get_forces()

    e0, f0 = run(atoms)
    assert abs(e0) > 1e-3 and np.abs(f0).max() > 1e-4  # non-trivial
    R = random_rotation(torch.Generator().manual_seed(seed)).numpy()
    de = df = 0.0
    for T in (R, -np.eye(3), -R, np.diag([1.0, -1.0, 1.0])):
        b = atoms.copy()
        b.positions = atoms.positions @ T.T
        e, f = run(b)
        de = max(de, abs(e - e0) / abs(e0))
        df = max(df, np.abs(f - f0 @ T.T).max() / np.abs(f0).max())
    return de, df


@pytest.mark.parametrize("gate", GATES)
def test_float32_built_model_cast_to_float64_is_exactly_covariant(gate, float32_default):
    torch.manual_seed(0)
    model = NBodyNetwork(["Si", "O"], cutoff=[3.2, 3.0], levels=2, lmax=2, channels=6, gate=gate)
    assert model.embedding.dtype == torch.float32
    model = model.to(torch.float64)
    atoms = random_cluster(20, ("Si", "O"), seed=5, box=6.0)
    de, df = _max_symmetry_errors(lambda: NBodyCalculator(model), atoms)
    assert de <= 1e-13, f"{gate}: energy relative error {de:.2e}"
    assert df <= 1e-12, f"{gate}: force relative error {df:.2e}"


def test_cg_buffers_are_rounded_once(float32_default):
    """float32 -> float64 gives the float64-built matrix bit for bit; float64 -> float32 the
    float32-built one; load_state_dict of float32 values into a float64 model does not round it."""
    from nbody_lmp.so3 import Irrep, natural_irreps

    irreps = natural_irreps(2, "natural")
    torch.set_default_dtype(torch.float64)
    ref64 = CGBlocks(irreps, irreps, irreps).matrix.clone()
    torch.set_default_dtype(torch.float32)
    built32 = CGBlocks(irreps, irreps, irreps)
    assert built32.matrix.dtype == torch.float32
    ref32 = built32.matrix.clone()
    assert torch.equal(ref32, ref64.float())
    up = built32.to(torch.float64)
    assert up.matrix.dtype == torch.float64 and torch.equal(up.matrix, ref64)
    assert torch.equal(up.float().matrix, ref32)
    # a float32 state dict loaded into a float64 module keeps the exact matrix
    m64 = CGBlocks(irreps, irreps, irreps).double()
    m64.load_state_dict({"matrix": ref32})
    assert torch.equal(m64.matrix, ref64)
    assert Irrep(0, 1) in irreps


def test_energy_statistics_stay_float64(float32_default):
    e0 = -158.123456789012
    model = NBodyNetwork(
        ["Si"], cutoff=3.0, levels=1, lmax=1, channels=2, e0={"Si": e0}, shift=0.1234567890123
    )
    assert model.embedding.dtype == torch.float32
    assert model.e0.dtype == torch.float64 and float(model.e0[0]) == e0
    assert float(model.to(torch.float64).shift) == 0.1234567890123


@pytest.mark.parametrize("gate", ["first_order", "first_order_pairs"])
def test_float32_trained_model_exported_as_float64(gate, tmp_path, float32_default):
    cfg = tiny_config(
        tmp_path,
        model={"gate": gate, "lmax": 2, "channels": 3},
        training={"dtype": "float32", "max_epochs": 2},
    )
    assert main(["train", str(cfg), "-q"]) == 0
    out = tmp_path / "model64.pt"
    assert main(["export", str(tmp_path / "run"), "-o", str(out), "--dtype", "float64"]) == 0
    atoms = random_cluster(20, ("Si",), seed=2, box=6.0)
    de, df = _max_symmetry_errors(lambda: NBodyCalculator(str(out)), atoms)
    assert de <= 1e-13, f"{gate}: energy relative error {de:.2e}"
    assert df <= 1e-12, f"{gate}: force relative error {df:.2e}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exported_file_holds_exact_float64_cg(tmp_path, float32_default, dtype):
    """Whatever the file's dtype, its CG matrices are the exact float64 ones: a reader that casts a
    float32 file to float64 (pair_style nbody dtype float64) gets an exactly covariant model."""
    torch.manual_seed(1)
    model = NBodyNetwork(["Si"], cutoff=3.0, levels=2, lmax=2, channels=2, gate="first_order")
    path = export(model, tmp_path / "m.pt", dtype=dtype)
    scripted = torch.jit.load(str(path))
    assert scripted.embedding.dtype == getattr(torch, dtype)
    torch.set_default_dtype(torch.float64)
    exact = NBodyNetwork(
        ["Si"], cutoff=3.0, levels=2, lmax=2, channels=2, gate="first_order"
    ).state_dict()
    cg = {k: v for k, v in scripted.state_dict().items() if k.endswith(".matrix")}
    assert cg and all(v.dtype == torch.float64 and torch.equal(v, exact[k]) for k, v in cg.items())


def test_float32_file_cast_to_float64_is_exactly_covariant(tmp_path, float32_default):
    torch.manual_seed(2)
    model = NBodyNetwork(
        ["Si", "O"], cutoff=3.2, levels=2, lmax=2, channels=4, gate="first_order_pairs"
    )
    path = export(model, tmp_path / "m32.pt", dtype="float32")
    module = torch.jit.load(str(path)).to(torch.float64)
    module.dtype = "float64"
    atoms = random_cluster(16, ("Si", "O"), seed=8, box=6.0)
    de, df = _max_symmetry_errors(lambda: NBodyCalculator(module), atoms)
    assert de <= 1e-13 and df <= 1e-12, (de, df)
