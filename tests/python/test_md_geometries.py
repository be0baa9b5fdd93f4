"""Geometries that MD produces and training sets do not have (docs/lammps.md,
"Short-range repulsion and geometries far from the training data"): atoms far closer than
any training pair, atoms on top of each other, NaN positions, boxes thinner than the receptive
field in one direction and very thin triclinic boxes. Each gives a finite answer that is right
(periodic images counted, forces = -gradient) or a clear error naming the atoms."""

import numpy as np
import pytest
import torch
from ase import Atoms

from nbody_lmp import NBodyCalculator, NBodyNetwork
from nbody_lmp.nn.radial import InversePowerRadial

from _netutils import five_point, random_cluster

pytestmark = pytest.mark.usefixtures("float64")


def sw_like_model(dtype=torch.float64, seed=0, **kw):
    """The si-sw recipe's radial terms (inverse powers up to 6, an MLP) at a small size."""
    torch.manual_seed(seed)
    return NBodyNetwork(
        ["Si"],
        cutoff=3.8,
        levels=2,
        lmax=2,
        channels=4,
        gate="first_order",
        radial_max_power=6,
        n_radial=4,
        radial_hidden=16,
        dtype=dtype,
        **kw,
    )


def close_pair(d, seed=0):
    """A 10-atom cluster with atoms 0 and 1 at distance ``d``."""
    a = random_cluster(9, ("Si",), seed=seed, box=6.0, min_dist=2.0)
    p = a.positions[0] + d * np.array([0.6, -0.48, 0.64])
    return Atoms("Si10", positions=np.vstack([a.positions, p[None]]))[
        [0, 9, 1, 2, 3, 4, 5, 6, 7, 8]
    ]


def energy_forces(model, atoms):
    a = atoms.copy()
    a.calc = NBodyCalculator(model)
    return a.get_potential_energy(), a.get_forces()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d", [0.12, 0.3, 0.5, 1.0, 1.5])
def test_close_pairs_give_finite_answers(dtype, d):
    e, f = energy_forces(sw_like_model(dtype), close_pair(d))
    assert np.isfinite(e) and np.isfinite(f).all()
    # random weights: the size means nothing, but it must not be near overflow (float32: 3e38)
    assert abs(e) < 1e15 and np.abs(f).max() < 1e16


def test_radial_inputs_bounded_below_min_distance():
    rad = InversePowerRadial(3.8, max_power=6, n_radial=0, min_distance=0.5)
    r = torch.tensor([1e-6, 0.1, 0.3, 0.5, 0.7])
    u = rad(r)
    assert torch.isfinite(u).all()
    assert float(u.max()) <= (3.8 / 0.5) ** 6 * (1 + 1e-12)
    assert torch.equal(u[0], u[3]) and torch.equal(u[2], u[3])  # held at the r_min value
    assert float(u[4, 6]) < float(u[3, 6])  # still decreasing above r_min


def test_model_unchanged_above_min_distance():
    """The limit only acts below r_min: a model with a tiny r_min gives the same numbers
    at 0.6 A."""
    atoms = close_pair(0.6, seed=1)
    a = energy_forces(sw_like_model(seed=2), atoms)
    b = energy_forces(sw_like_model(seed=2, radial_min_distance=1e-3), atoms)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    c = energy_forces(sw_like_model(seed=2, radial_min_distance=0.8), atoms)
    assert abs(c[0] - a[0]) > 1e-6  # and it does act below it


@pytest.mark.parametrize("d", [0.3, 0.8])
def test_close_pair_forces_are_minus_gradient(d):
    model = sw_like_model(seed=3)
    atoms = close_pair(d, seed=2)
    _, f = energy_forces(model, atoms)
    for comp in range(3):

        def energy(x):
            b = atoms.copy()
            b.positions[1, comp] = x
            return energy_forces(model, b)[0]

        fd = -five_point(energy, atoms.positions[1, comp], 1e-4)
        assert abs(fd - f[1, comp]) < 1e-6 * max(1.0, np.abs(f).max())


@pytest.mark.parametrize("d", [0.0, 0.05])
def test_overlapping_atoms_are_an_error(d):
    with pytest.raises(
        ValueError, match=r"atoms 0 and 1 are .* A apart .*remove the overlapping atom"
    ):
        energy_forces(sw_like_model(), close_pair(d))


def test_nan_position_is_an_error():
    atoms = close_pair(1.5)
    atoms.positions[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"positions of atoms \[4\] are NaN or infinite"):
        energy_forces(sw_like_model(), atoms)


def thin_cells():
    """(name, cell): thinner than the 7.6 A receptive field in one direction only, and a very thin,
    strongly tilted triclinic cell."""
    return [
        ("slab-z", np.diag([11.0, 10.5, 2.6])),
        ("thin-triclinic", np.array([[8.0, 0.0, 0.0], [6.5, 6.0, 0.0], [-5.0, 4.0, 1.9]])),
    ]


@pytest.mark.parametrize("name,cell", thin_cells())
def test_thin_cells_count_every_image(name, cell):
    """E(cell repeated 3 times along its thin vector) = 3 E(cell), per-atom energies too."""
    rng = np.random.default_rng(4)
    n = 6
    for _ in range(1000):
        frac = rng.uniform(0, 1, (n, 3))
        atoms = Atoms("Si%d" % n, scaled_positions=frac, cell=cell, pbc=True)
        from nbody_lmp.data.neighbors import neighbor_list

        i, j, S = neighbor_list(atoms.positions, atoms.cell.array, True, 1.7)
        if len(i) == 0:
            break
    model = sw_like_model(seed=5)
    a = atoms.copy()
    a.calc = NBodyCalculator(model)
    e, ea = a.get_potential_energy(), a.get_potential_energies()
    big = atoms.repeat((1, 1, 3))
    big.calc = NBodyCalculator(model)
    assert abs(big.get_potential_energy() - 3 * e) < 1e-12 * abs(3 * e)
    np.testing.assert_allclose(
        big.get_potential_energies(), np.tile(ea, 3), rtol=0, atol=1e-12 * np.abs(ea).max()
    )
    assert np.isfinite(a.get_stress()).all()
