"""The smooth radial basis and the ZBL short-range prior (docs/theory.md "Radial basis" and
"Short-range prior"), float64: the model with them keeps every symmetry and force = -grad E, the
ZBL term is the published screened Coulomb repulsion, and close pairs are pushed apart."""

import numpy as np
import pytest
import torch

from nbody_lmp import NBodyCalculator, NBodyNetwork
from nbody_lmp.nn.radial_bessel import BesselRadial
from nbody_lmp.nn.zbl import ZBLRepulsion
from nbody_lmp.so3 import random_rotation
from ase import Atoms

from _netutils import assert_forces_are_gradient, five_point, props, random_cluster, random_crystal

pytestmark = pytest.mark.usefixtures("float64")


def make_model(seed=0, species=("C", "H"), **kw):
    torch.manual_seed(seed)
    kw = {"radial_basis": "bessel", "zbl": True, **kw}
    return NBodyNetwork(
        list(species), cutoff=[3.2, 2.8], levels=2, lmax=2, channels=4, dtype=torch.float64, **kw
    )


def zbl_reference(z1, z2, r):
    """The ZBL universal screened Coulomb energy (eV), written out independently of the module."""
    a = 0.46850 / (z1**0.23 + z2**0.23)
    x = r / a
    screen = (
        0.18175 * np.exp(-3.19980 * x)
        + 0.50986 * np.exp(-0.94229 * x)
        + 0.28022 * np.exp(-0.40290 * x)
        + 0.02817 * np.exp(-0.20162 * x)
    )
    return 14.3996454784255 * z1 * z2 / r * screen


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize(
    "kw",
    [
        {"radial_basis": "bessel", "zbl": True},
        {"radial_basis": "inverse_power", "zbl": True},
        {"radial_basis": "bessel", "zbl": False},
    ],
)
def test_symmetries_with_bessel_basis_and_zbl(periodic, kw):
    model = make_model(**kw)
    atoms = (
        random_crystal(("C", "H"), seed=2, n=8)
        if periodic
        else random_cluster(8, ("C", "H"), seed=2, box=3.6, min_dist=0.7)
    )
    ref = props(model, atoms)
    assert abs(ref["energy"]) > 1e-3 and np.abs(ref["forces"]).max() > 1e-4
    R = random_rotation(torch.Generator().manual_seed(3)).numpy()
    rng = np.random.default_rng(1)
    for T in (R, -np.eye(3), -R):
        b = atoms.copy()
        b.positions = atoms.positions @ T.T
        if periodic:
            b.cell = atoms.cell.array @ T.T
        out = props(model, b)
        assert abs(out["energy"] - ref["energy"]) < 1e-12 * abs(ref["energy"])
        np.testing.assert_allclose(
            out["forces"], ref["forces"] @ T.T, rtol=0, atol=1e-11 * np.abs(ref["forces"]).max()
        )
        if periodic:
            np.testing.assert_allclose(
                out["stress"],
                T @ ref["stress"] @ T.T,
                rtol=0,
                atol=1e-11 * np.abs(ref["stress"]).max(),
            )
    b = atoms.copy()
    b.positions += rng.normal(size=3) * 2.0
    if periodic:
        b.wrap()
    assert abs(props(model, b)["energy"] - ref["energy"]) < 1e-12 * abs(ref["energy"])
    perm = rng.permutation(len(atoms))
    out = props(model, atoms[perm])
    np.testing.assert_allclose(
        out["energies"], ref["energies"][perm], rtol=0, atol=1e-11 * np.abs(ref["energies"]).max()
    )
    np.testing.assert_allclose(
        out["forces"], ref["forces"][perm], rtol=0, atol=1e-11 * np.abs(ref["forces"]).max()
    )


def test_forces_and_stress_are_derivatives_with_zbl_active():
    model = make_model(seed=1)
    atoms = random_crystal(("C", "H"), seed=4, n=6)
    atoms.positions[1] = atoms.positions[0] + [
        0.55,
        0.3,
        0.2,
    ]  # C-H / C-C well inside the ZBL range
    ref = props(model, atoms)
    zbl_part = float(model.priors[0](*_level1(model, atoms)).sum())
    assert zbl_part > 1.0  # the prior is doing something here
    h = 1e-5
    assert_forces_are_gradient(model, atoms, components=[(0, 0), (1, 1), (4, 2)], h=h)
    vol = atoms.get_volume()

    def strained(eps):
        x = atoms.copy()
        s = np.eye(3)
        s[0, 1] += eps / 2
        s[1, 0] += eps / 2
        x.set_cell(atoms.cell.array @ s, scale_atoms=True)
        return props(model, x)["energy"]

    assert (
        abs(five_point(strained, 0.0, 1e-6) / vol - ref["stress"][0, 1])
        < 1e-8 * np.abs(ref["stress"]).max()
    )


def _level1(model, atoms):
    from nbody_lmp.data.graph import atoms_to_graph

    g = atoms_to_graph(atoms, model.species, model.cutoffs[0])
    return g.species, g.edge_index, g.edge_vectors(), len(atoms)


def test_zbl_pair_energy_is_the_published_form_and_vanishes_smoothly():
    z = ZBLRepulsion(["C", "H", "O"], 3.0)
    r = torch.linspace(0.05, 0.6, 12, dtype=torch.float64)
    for (a, za), (b, zb) in [((0, 6), (0, 6)), ((0, 6), (1, 1)), ((2, 8), (1, 1))]:
        pair = torch.full_like(r, a * 3 + b, dtype=torch.long)
        f = z.envelope(r / z.outer[a * 3 + b])
        expected = torch.from_numpy(zbl_reference(za, zb, r.numpy())) * f
        torch.testing.assert_close(z.pair_energy(r, pair), expected, rtol=1e-13, atol=0)
    # r * phi(r) -> Z1 Z2 e^2 / (4 pi eps0) as r -> 0: the screening sums to 1
    tiny = torch.tensor([1e-6], dtype=torch.float64)
    assert (
        abs(float(z.pair_energy(tiny, torch.tensor([0])) * tiny) / (14.3996454784255 * 36) - 1)
        < 1e-4
    )
    # zero, with zero slope, from the sum of covalent radii on
    outer = float(z.outer[0])
    r = torch.tensor([outer - 1e-4, outer, outer + 0.3], dtype=torch.float64, requires_grad=True)
    e = z.pair_energy(r, torch.zeros(3, dtype=torch.long))
    (g,) = torch.autograd.grad(e.sum(), r)
    e = e.detach()
    assert (
        float(e[1]) == 0
        and float(e[2]) == 0
        and abs(float(e[0])) < 1e-9
        and abs(float(g[0])) < 1e-5
    )


def test_zbl_reach_must_fit_in_the_first_cutoff():
    with pytest.raises(ValueError, match="raise the cutoff or set model.zbl: false"):
        ZBLRepulsion(["Cs", "Cs"][:1], 2.0)


def test_close_pair_is_pushed_apart_with_zbl_but_not_without():
    """Below radial_min_distance the network is constant: only the prior can make a dimer repel."""
    for zbl in (True, False):
        model = make_model(seed=2, species=("C",), zbl=zbl)
        e = []
        for r in (0.2, 0.3, 0.4):
            d = Atoms("CC", positions=[[0, 0, 0], [r, 0, 0]])
            out = props(model, d)
            e.append(out["energy"])
            if zbl:
                assert out["forces"][1, 0] > 10.0  # pushes the second atom away along +x
        if zbl:
            assert e[0] > e[1] > e[2] and e[0] - e[2] > 100.0
        else:
            assert max(e) - min(e) < 1e-9


def test_bessel_basis_is_bounded_and_smooth_to_zero_at_the_cutoff():
    b = BesselRadial(4.0, n_basis=6, n_radial=0, min_distance=0.01)
    r = torch.linspace(0.01, 4.0, 400, dtype=torch.float64, requires_grad=True)
    u = b(r)
    assert u.shape == (400, 6)
    n = torch.arange(1, 7, dtype=torch.float64)
    assert (
        float(u.detach().abs().max()) <= float((2 / 4.0) ** 0.5 * n.max() * np.pi / 4.0) + 1e-12
    )  # |sin x / x| <= 1
    (g,) = torch.autograd.grad(u.sum(), r)
    assert float(u[-1].abs().max()) < 1e-14 and abs(float(g[-1])) < 1e-10
    # orthogonal on [0, r_c] without the envelope: the defining property of the basis
    rr = torch.linspace(1e-6, 4.0, 20001, dtype=torch.float64)
    raw = (2 / 4.0) ** 0.5 * torch.sin(rr[:, None] * n * np.pi / 4.0) / rr[:, None]
    gram = torch.trapezoid(raw[:, :, None] * raw[:, None, :] * rr[:, None, None] ** 2, rr, dim=0)
    torch.testing.assert_close(gram, torch.eye(6, dtype=torch.float64), atol=1e-6, rtol=0)


def test_calculator_warns_once_below_the_training_data():
    model = make_model(seed=3)
    model.set_shortest_distances({"C-H": 1.0, "H-C": 1.0, "C-C": 1.3})
    assert model.shortest_distance == [1.3, 1.0, 1.0, 0.0]
    atoms = Atoms("CHCH", positions=[[0, 0, 0], [0.8, 0, 0], [0, 3, 0], [0, 4.5, 0]])
    atoms.calc = NBodyCalculator(model)
    from nbody_lmp.data_range import OutsideTrainingDataWarning

    with pytest.warns(
        OutsideTrainingDataWarning, match=r"atoms 0 and 1 \(C-H\) at 0.800 A < 1.000 A"
    ):
        atoms.get_potential_energy()
    atoms.positions[1, 0] = 0.7
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideTrainingDataWarning)
        atoms.get_potential_energy()  # once per calculator
    far = Atoms("CH", positions=[[0, 0, 0], [1.2, 0, 0]])
    far.calc = NBodyCalculator(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideTrainingDataWarning)
        far.get_potential_energy()


def test_training_records_the_shortest_distances_and_the_export_carries_them(tmp_path):
    from _trainutils import tiny_config, write_lj_data
    from nbody_lmp.data.statistics import shortest_distances
    from nbody_lmp.export import load_exported
    from nbody_lmp.training import Trainer, load_config

    data = write_lj_data(tmp_path / "train.xyz", n=6, species=("Si", "C"))
    cfg = load_config(
        tiny_config(
            tmp_path,
            data=data,
            model={"zbl": True, "radial_basis": "bessel", "n_bessel": 5},
            output={"export_dtype": "float64"},
        )
    )
    tr = Trainer(cfg, log=lambda s: None)
    tr.run()
    expected = shortest_distances(tr.train_graphs, tr.species)
    assert tr.species == ["C", "Si"] and "C-Si" in expected
    for key in (
        "C-C",
        "C-Si",
        "Si-Si",
    ):  # brute force over the training configurations, minimum image
        a, b = (tr.species.index(x) for x in key.split("-"))
        best = np.inf
        for g in tr.train_graphs:
            at = Atoms(
                numbers=[1] * len(g.species),
                positions=g.positions.numpy(),
                cell=g.cell[0].numpy(),
                pbc=True,
            )
            d = at.get_all_distances(mic=True)
            sp = g.species.numpy()
            mask = ((sp[:, None] == a) & (sp[None, :] == b)) & ~np.eye(len(sp), dtype=bool)
            if mask.any():
                best = min(best, float(d[mask].min()))
        if key in expected:
            assert expected[key] == pytest.approx(best, abs=1e-4)
        else:  # no such pair within the cutoff: nothing recorded
            assert best >= max(tr.model.cutoffs)
    module, meta = load_exported(tmp_path / "run" / "model.pt")
    S = len(module.species)
    table = list(module.shortest_distance)
    for key, value in expected.items():
        a, b = (module.species.index(x) for x in key.split("-"))
        assert table[a * S + b] == table[b * S + a] == value
    assert meta["training_data"]["shortest_distances"] == expected
    assert (
        meta["hyperparameters"]["zbl"] is True
        and meta["hyperparameters"]["radial_basis"] == "bessel"
    )
