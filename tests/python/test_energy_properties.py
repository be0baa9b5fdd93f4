"""Energies, forces, stress, per-atom energies (docs/theory.md, "Why it is exactly symmetric"),
float64.

Invariance under rotation, reflection, translation, permutation and choice of cell; forces
covariant and equal to -finite-difference gradients; stress equal to the finite-difference
strain derivative; locality within the receptive field; smoothness at the cutoff; batching,
TorchScript and float32 agreement.
"""

import numpy as np
import pytest
import torch
from ase.build import bulk

from nbody_lmp import NBodyCalculator, NBodyNetwork
from nbody_lmp.data.graph import atoms_to_graph, collate
from nbody_lmp.nn.properties import compute_properties
from nbody_lmp.so3 import random_rotation

from _netutils import five_point, props, random_cluster, random_crystal

pytestmark = pytest.mark.usefixtures("float64")
GATES = ["zeroth_order", "first_order", "first_order_pairs"]


def make_model(gate, species=("Si", "O"), seed=0, cutoff=(3.2, 2.8), **kw):
    torch.manual_seed(seed)
    return NBodyNetwork(
        list(species),
        cutoff=list(cutoff),
        levels=len(cutoff),
        lmax=2,
        channels=4,
        gate=gate,
        dtype=torch.float64,
        **kw,
    )


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("periodic", [False, True])
def test_invariance_and_force_covariance(gate, periodic):
    model = make_model(gate)
    atoms = (
        random_crystal(("Si", "O"), seed=3) if periodic else random_cluster(8, ("Si", "O"), seed=3)
    )
    ref = props(model, atoms)
    assert abs(ref["energy"]) > 1e-3 and np.abs(ref["forces"]).max() > 1e-4  # non-trivial
    rng = np.random.default_rng(0)
    R = random_rotation(torch.Generator().manual_seed(7)).numpy()
    for T in (R, -np.eye(3), -R, np.diag([1.0, 1.0, -1.0])):
        b = atoms.copy()
        b.positions = atoms.positions @ T.T
        if periodic:
            b.cell = atoms.cell.array @ T.T
        out = props(model, b)
        assert abs(out["energy"] - ref["energy"]) < 1e-13 * abs(ref["energy"])
        np.testing.assert_allclose(
            out["energies"], ref["energies"], rtol=0, atol=1e-12 * np.abs(ref["energies"]).max()
        )
        np.testing.assert_allclose(
            out["forces"], ref["forces"] @ T.T, rtol=0, atol=1e-12 * np.abs(ref["forces"]).max()
        )
        if periodic:
            np.testing.assert_allclose(
                out["stress"],
                T @ ref["stress"] @ T.T,
                rtol=0,
                atol=1e-12 * np.abs(ref["stress"]).max(),
            )
    # translation (and, for a crystal, wrapping atoms back into the cell)
    b = atoms.copy()
    b.positions += rng.normal(size=3) * 3.0
    if periodic:
        b.wrap()
    out = props(model, b)
    assert abs(out["energy"] - ref["energy"]) < 1e-13 * abs(ref["energy"])
    np.testing.assert_allclose(
        out["forces"], ref["forces"], rtol=0, atol=1e-12 * np.abs(ref["forces"]).max()
    )
    # permutation of atoms
    perm = rng.permutation(len(atoms))
    b = atoms[perm]
    out = props(model, b)
    assert abs(out["energy"] - ref["energy"]) < 1e-13 * abs(ref["energy"])
    np.testing.assert_allclose(
        out["energies"], ref["energies"][perm], rtol=0, atol=1e-12 * np.abs(ref["energies"]).max()
    )
    np.testing.assert_allclose(
        out["forces"], ref["forces"][perm], rtol=0, atol=1e-12 * np.abs(ref["forces"]).max()
    )


@pytest.mark.parametrize("gate", GATES)
def test_supercell_and_cell_choice(gate):
    model = make_model(gate, species=("Si",))
    atoms = bulk("Si", "diamond", a=5.43)  # primitive cell: several periodic images of every atom
    atoms.rattle(0.05, seed=1)
    ref = props(model, atoms)
    sc = atoms.repeat((2, 2, 2))
    out = props(model, sc)
    assert abs(out["energy"] - 8 * ref["energy"]) < 1e-13 * abs(8 * ref["energy"])
    np.testing.assert_allclose(out["energies"], np.tile(ref["energies"], 8), rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        out["stress"], ref["stress"], rtol=0, atol=1e-12 * np.abs(ref["stress"]).max()
    )
    # another choice of cell for the same crystal: cubic conventional cell vs primitive
    cub = bulk("Si", "diamond", a=5.43, cubic=True)
    prim = bulk("Si", "diamond", a=5.43)
    assert abs(props(model, cub)["energy"] / 8 - props(model, prim)["energy"] / 2) < 1e-10


@pytest.mark.parametrize("gate", GATES)
def test_forces_are_minus_gradient(gate):
    model = make_model(gate)
    atoms = random_crystal(("Si", "O"), seed=5, n=6)
    f = props(model, atoms)["forces"]
    h = 1e-4
    for a, c in [(0, 0), (2, 1), (5, 2)]:

        def energy(x):
            b = atoms.copy()
            b.positions[a, c] = x
            return props(model, b)["energy"]

        fd = -five_point(energy, atoms.positions[a, c], h)
        assert abs(fd - f[a, c]) < 1e-9 * max(1.0, np.abs(f).max())


@pytest.mark.parametrize("gate", GATES)
def test_stress_is_strain_derivative(gate):
    model = make_model(gate)
    atoms = random_crystal(("Si", "O"), seed=6, n=6)
    s = props(model, atoms)["stress"]
    vol = atoms.get_volume()
    for a, b in [(0, 0), (1, 2), (2, 0)]:

        def energy(eps):
            strain = np.eye(3)
            strain[a, b] += eps / 2
            strain[b, a] += eps / 2
            x = atoms.copy()
            x.set_cell(atoms.cell.array @ strain, scale_atoms=True)
            return props(model, x)["energy"]

        fd = five_point(energy, 0.0, 1e-5) / vol
        assert abs(fd - s[a, b]) < 1e-9 * max(1e-3, np.abs(s).max())


@pytest.mark.parametrize("gate", GATES)
def test_locality_receptive_field(gate):
    model = make_model(gate, cutoff=(2.6, 2.4))
    rf = model.receptive_field
    atoms = random_cluster(6, ("Si", "O"), seed=2, box=4.0)
    far = atoms.positions.mean(0) + np.array([rf + 8.0, 0, 0])
    base = atoms.copy()
    base.append("Si")
    base.positions[-1] = far
    e1 = props(model, base)["energies"]
    moved = base.copy()
    moved.positions[-1] = far + np.array([-3.0, 1.0, 0.5])  # still beyond rf of every atom
    d = np.linalg.norm(atoms.positions - moved.positions[-1], axis=1).min()
    assert d > rf
    e2 = props(model, moved)["energies"]
    np.testing.assert_allclose(e2[:-1], e1[:-1], rtol=0, atol=1e-14)
    # ... while an atom inside the receptive field does change its neighbours' energies
    inside = base.copy()
    inside.positions[-1] = atoms.positions[0] + np.array([2.0, 0, 0])
    assert np.abs(props(model, inside)["energies"][:-1] - e1[:-1]).max() > 1e-8


@pytest.mark.parametrize("gate", GATES)
def test_smooth_across_cutoff(gate):
    model = make_model(gate, species=("Si",), cutoff=(3.0,))
    from ase import Atoms

    def ef(r):
        a = Atoms("Si3", positions=[[0, 0, 0], [2.2, 0, 0], [0.3, r, 0.1]])
        p = props(model, a)
        return p["energy"], p["forces"]

    rc = np.sqrt(3.0**2 - 0.3**2 - 0.1**2)  # atom 2 crosses atom 0's cutoff at y = rc
    e_in, f_in = ef(rc - 1e-6)
    e_out, f_out = ef(rc + 1e-6)
    assert abs(e_in - e_out) < 1e-9
    assert np.abs(f_in - f_out).max() < 1e-6


def test_batch_equals_single_and_script_equals_eager():
    model = make_model("first_order")
    systems = [
        random_cluster(5, ("Si", "O"), seed=1),
        random_crystal(("Si", "O"), seed=2, n=6),
        bulk("Si", "diamond", a=5.43),
    ]
    graphs = [atoms_to_graph(a, model.species, max(model.cutoffs)) for a in systems]
    singles = [compute_properties(model, g, forces=True, stress=False) for g in graphs]
    batch = compute_properties(model, collate(graphs), forces=True, stress=False)
    torch.testing.assert_close(
        batch["energy"], torch.cat([s["energy"] for s in singles]), rtol=0, atol=1e-12
    )
    torch.testing.assert_close(
        batch["forces"], torch.cat([s["forces"] for s in singles]), rtol=0, atol=1e-12
    )
    scripted = torch.jit.script(model)
    out = compute_properties(scripted, collate(graphs), forces=True)
    torch.testing.assert_close(out["forces"], batch["forces"], rtol=0, atol=1e-13)
    torch.testing.assert_close(out["energy"], batch["energy"], rtol=0, atol=1e-13)


@pytest.mark.parametrize("gate", GATES)
def test_float32_agrees_with_float64(gate):
    model = make_model(gate)
    atoms = random_crystal(("Si", "O"), seed=4)
    ref = props(model, atoms)
    m32 = make_model(gate).to(torch.float32)
    out = props(m32, atoms)
    assert abs(out["energy"] - ref["energy"]) < 1e-5 * max(1.0, abs(ref["energy"]))
    np.testing.assert_allclose(
        out["forces"], ref["forces"], rtol=0, atol=1e-5 * max(1.0, np.abs(ref["forces"]).max())
    )


def test_bad_input_errors():
    from ase import Atoms

    with pytest.raises(ValueError, match="lmax"):
        NBodyNetwork(["Si"], lmax=-1)
    with pytest.raises(ValueError, match="cutoff"):
        NBodyNetwork(["Si"], cutoff=0.0)
    with pytest.raises(ValueError, match="one per level"):
        NBodyNetwork(["Si"], cutoff=[3.0, 3.0, 3.0], levels=2)
    with pytest.raises(ValueError, match="gate"):
        NBodyNetwork(["Si"], gate="second_order")
    model = make_model("zeroth_order", species=("Si",))
    calc = NBodyCalculator(model)
    with pytest.raises(ValueError, match=r"\['O'\] not in the model's species"):
        a = Atoms("SiO", positions=[[0, 0, 0], [1.5, 0, 0]])
        a.calc = calc
        a.get_potential_energy()
    with pytest.raises(ValueError, match="apart"):
        a = Atoms("Si2", positions=[[0, 0, 0], [0.05, 0, 0]])
        a.calc = NBodyCalculator(model)
        a.get_potential_energy()
    with pytest.raises(ValueError, match="singular"):
        a = Atoms(
            "Si2",
            positions=[[0, 0, 0], [1.5, 0, 0]],
            cell=[[3, 0, 0], [6, 0, 0], [0, 0, 3]],
            pbc=True,
        )
        a.calc = NBodyCalculator(model)
        a.get_potential_energy()


def test_structure_with_no_edges_and_lazy_package_import(tmp_path):
    """Atoms farther apart than every cutoff: per-atom energies only, zero forces (also for a
    frozen, exported model); importing the package (as LAMMPS's plugin entry point does) loads no
    torch."""
    import subprocess
    import sys

    from ase import Atoms
    from nbody_lmp import export

    model = make_model("first_order", species=("Si",), cutoff=(3.0,))
    path = export(model, tmp_path / "m.pt")
    for calc_model in (model, str(path)):
        a = Atoms("Si2", positions=[[0, 0, 0], [5.0, 0, 0]])
        a.calc = NBodyCalculator(calc_model)
        assert np.isfinite(a.get_potential_energy())
        assert np.abs(a.get_forces()).max() == 0.0
    code = (
        "import sys, nbody_lmp, nbody_lmp.plugin; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
