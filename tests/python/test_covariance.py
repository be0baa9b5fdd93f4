"""Every intermediate part of every gate type is covariant (docs/theory.md, "Why it is exactly
symmetric"): it transforms by its
Wigner D under random rotations and by its parity under inversion, to <= 1e-12 relative
(float64)."""

import pytest
import torch

from nbody_lmp import NBodyNetwork
from nbody_lmp.nn.tensor_product import ChannelwiseProduct
from nbody_lmp.nn.zeroth_order import NeighbourhoodFragments
from nbody_lmp.so3 import random_rotation

from _netutils import apply_D, random_cluster, record_parts, rel_err

pytestmark = pytest.mark.usefixtures("float64")

GATES = ["zeroth_order", "first_order", "first_order_pairs"]


def _record(model, species, positions):
    """Run the model and collect (module kind, irreps, output) of every gate and inner CG stage."""
    return record_parts(model, species, positions, (NeighbourhoodFragments, ChannelwiseProduct))


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("parity", ["natural", "full"])
@pytest.mark.parametrize("seed", [0, 1])
def test_intermediate_parts_covariant(gate, parity, seed):
    torch.manual_seed(seed)
    atoms = random_cluster(7, ("Si", "O"), seed=seed, box=4.5)
    # the shared radial weights (full W^l mixing); the per-channel default: test_radial_weights.py
    model = NBodyNetwork(
        ["Si", "O"],
        cutoff=[3.5, 3.0, 3.2],
        levels=3,
        lmax=2,
        channels=3,
        gate=gate,
        parity=parity,
        radial_weights="shared",
        dtype=torch.float64,
    )
    species = torch.tensor([model.species.index(s) for s in atoms.get_chemical_symbols()])
    pos = torch.from_numpy(atoms.positions)
    g = torch.Generator().manual_seed(100 + seed)
    R = random_rotation(g)
    e0, rec0 = _record(model, species, pos)
    assert len(rec0) >= 2 * model.levels
    for T in (R, -torch.eye(3, dtype=torch.float64), -R):  # rotation, inversion, improper rotation
        e1, rec1 = _record(model, species, pos @ T.T)
        assert rel_err(e1, e0) < 1e-12
        for (irreps, a), (_, b) in zip(rec0, rec1):
            expected = apply_D(a, irreps, None, T)
            if isinstance(a, list):
                for x, y in zip(expected, b):
                    assert rel_err(y, x) < 1e-12
                assert any(x.abs().max() > 1e-6 for x in a)  # non-trivial
            else:
                assert rel_err(b, expected) < 1e-12
