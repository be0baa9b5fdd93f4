"""pair_style nbody runs the model variants exactly like Python: per-channel radial weights
(``radial_weights: per_channel``, docs/theory.md "Per-channel radial weights and Proposition 1"),
export's radial tables (``radial_table``) and the species gains of every level
(``species_levels: all``), float64,
energies, per-atom energies, forces and virials to 1e-9 relative, on a rattled crystal and a
two-species triclinic cell."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from nbody_lmp import NBodyNetwork, export

from _lmputils import (
    assert_matches,
    calculator_reference,
    contract_reference,
    lammps_frame,
    run_zero,
)

TOL = 1e-9


def variant(path, species, radial_weights, table, seed, species_levels="leaves"):
    torch.manual_seed(seed)
    model = NBodyNetwork(
        list(species),
        cutoff=[3.0, 2.7],
        levels=2,
        lmax=2,
        channels=4,
        gate="first_order",
        radial_max_power=4,
        n_radial=4,
        radial_weights=radial_weights,
        species_levels=species_levels,
        dtype=torch.float64,
    )
    with torch.no_grad():  # gains and biases away from the identity they start at
        for name, p in model.named_parameters():
            if name.startswith("species_gains"):
                p.add_(0.3 * torch.randn_like(p))
    model.set_energy_statistics(e0={s: -1.0 - 0.5 * k for k, s in enumerate(species)})
    return export(model, path, dtype="float64", overwrite=True, radial_table=table)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("variants")
    return {
        "per_channel": variant(d / "pc.pt", ["Si", "O"], "per_channel", 0, 4),
        "per_channel_table": variant(d / "pct.pt", ["Si", "O"], "per_channel", 1024, 5),
        "shared_table": variant(d / "st.pt", ["Si", "O"], "shared", 1024, 6),
        "species_levels": variant(
            d / "sl.pt", ["Si", "O"], "per_channel", 0, 7, species_levels="all"
        ),
    }


def compare(path, atoms, type_symbols):
    atoms = lammps_frame(atoms)
    got = run_zero(
        atoms, type_symbols, ["pair_style nbody", f"pair_coeff * * {path} {' '.join(type_symbols)}"]
    )
    assert_matches(got, contract_reference(path, atoms), TOL)
    assert_matches(got, calculator_reference(path, atoms), TOL)
    return got


@pytest.mark.parametrize(
    "name", ["per_channel", "per_channel_table", "shared_table", "species_levels"]
)
def test_variant_crystal_and_triclinic(models, name):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    got = compare(models[name], atoms, ["Si"])
    assert np.abs(got["forces"]).max() > 1e-4
    rng = np.random.default_rng(3)
    cell = np.array([[7.4, 0.4, -0.3], [1.7, 6.9, 0.5], [-1.1, 0.9, 7.6]])
    frac = (
        np.array(np.meshgrid(*[np.arange(3)] * 3)).reshape(3, -1).T
        + rng.uniform(-0.1, 0.1, (27, 3))
    ) / 3
    tri = Atoms(symbols=["Si", "O", "Si"] * 9, scaled_positions=frac, cell=cell, pbc=True)
    compare(models[name], tri, ["O", "Si"])
