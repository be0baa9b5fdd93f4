"""The exported-model contract (docs/model-format.md), pinned by building the
inputs exactly as the C++ pair style does: owned atoms plus explicit ghost copies (no shifts),
atoms ordered by the local hierarchy with the ``n_nodes`` prefixes, per-level edge lists, forces
and virial from one backward pass over the edge vectors, ghost forces folded back to owners."""

import numpy as np
import pytest
import torch
from ase.build import bulk

from nbody_lmp import NBodyCalculator, NBodyNetwork, export, load_exported
from nbody_lmp.data.neighbors import neighbor_list
from nbody_lmp.nn.network import FORMAT_VERSION, OLDEST_FORMAT_VERSION

from _netutils import random_cluster, random_crystal

pytestmark = pytest.mark.usefixtures("float64")


def local_hierarchy_inputs(module, positions, species, owned, owner):
    """What the C++ side builds: ``positions`` of owned + ghost atoms (``owned`` of them first),
    ``owner[n]`` the original atom of every copy. Returns the forward inputs plus the node order."""
    cut = list(module.cutoffs)
    K = len(cut)
    pos = torch.as_tensor(positions)
    d = torch.cdist(pos, pos)
    need = [None] * (K + 1)
    need[K] = torch.zeros(len(pos), dtype=torch.bool)
    need[K][:owned] = True
    for k in range(K, 0, -1):  # level k-1 is needed within cutoff_k of a level-k node
        need[k - 1] = need[k] | ((d < cut[k - 1]) & need[k].unsqueeze(1)).any(0)
    depth = sum(n.long() for n in need[1:])  # highest level each atom is needed at
    keep = need[0].nonzero().squeeze(1)
    order = keep[torch.sort(-depth[keep], stable=True).indices]
    assert (order[:owned] == torch.arange(owned)).all()
    pos, spec = pos[order], torch.as_tensor(species)[order]
    n_nodes = [int(need[k].sum()) for k in range(K + 1)]
    d = torch.cdist(pos, pos)
    ei, ev = [], []
    for k in range(1, K + 1):
        mask = (d < cut[k - 1]) & ~torch.eye(len(pos), dtype=torch.bool)
        mask[n_nodes[k] :] = False
        i, j = mask.nonzero(as_tuple=True)
        assert int(j.max()) < n_nodes[k - 1]
        ei.append(torch.stack([i, j]))
        ev.append((pos[j] - pos[i]).to(getattr(torch, module.dtype)).requires_grad_(True))
    return spec, ei, ev, n_nodes, np.asarray(owner)[order.numpy()]


def run_contract(module, spec, ei, ev, n_nodes, owner, n_atoms):
    e = module(spec, ei, ev, n_nodes)
    grads = torch.autograd.grad(e.sum(), ev)
    f = torch.zeros(len(spec), 3, dtype=torch.float64)
    W = torch.zeros(3, 3, dtype=torch.float64)
    for idx, v, g in zip(ei, ev, grads):
        g = g.double()
        f.index_add_(0, idx[0], g).index_add_(0, idx[1], -g)
        W -= v.detach().double().T @ g
    forces = np.zeros((n_atoms, 3))
    np.add.at(forces, owner, f.numpy())  # reverse communication: ghosts' forces to their owners
    return e.detach().double().numpy(), forces, W.numpy()


def ghost_copies(atoms, rf):
    """Owned atoms, then every periodic image within ``rf`` of an owned atom (as LAMMPS ghosts)."""
    n = len(atoms)
    if not atoms.pbc.any():
        return atoms.positions.copy(), np.arange(n)
    i, j, S = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, rf)
    img = {(int(a), tuple(s)) for a, s in zip(j, S) if any(s)}
    img = sorted(img)
    pos = np.concatenate(
        [atoms.positions] + [[atoms.positions[a] + np.array(s) @ atoms.cell.array] for a, s in img]
    )
    return pos, np.concatenate([np.arange(n), [a for a, _ in img]]).astype(int)


@pytest.mark.parametrize("gate", ["zeroth_order", "first_order", "first_order_pairs"])
@pytest.mark.parametrize("system", ["cubic", "triclinic", "cluster", "small_box"])
def test_ghost_inputs_match_in_memory_model(tmp_path, gate, system):
    torch.manual_seed(0)
    model = NBodyNetwork(
        ["Si", "O"], cutoff=[3.0, 2.7], levels=2, lmax=2, channels=4, gate=gate, dtype=torch.float64
    )
    atoms = {
        "cubic": lambda: bulk("Si", "diamond", a=5.43, cubic=True),
        "triclinic": lambda: random_crystal(("Si", "O"), seed=1),
        "cluster": lambda: random_cluster(9, ("Si", "O"), seed=1),
        "small_box": lambda: bulk("Si", "diamond", a=5.43),
    }[system]()
    atoms.rattle(0.05, seed=2)
    path = export(model, tmp_path / "model.pt", dtype="float64")
    module, meta = load_exported(path)
    assert (
        meta["species"] == ["Si", "O"]
        and meta["cutoffs"] == [3.0, 2.7]
        and meta["dtype"] == "float64"
    )
    assert module.receptive_field == pytest.approx(5.7) and module.format_version == FORMAT_VERSION

    ref = atoms.copy()
    ref.calc = NBodyCalculator(model)
    pos, owner = ghost_copies(atoms, module.receptive_field)
    species = [module.species.index(s) for s in np.array(atoms.get_chemical_symbols())[owner]]
    inputs = local_hierarchy_inputs(module, pos, species, len(atoms), owner)
    assert inputs[3][0] >= inputs[3][1] >= inputs[3][2] == len(atoms)
    e, f, W = run_contract(module, *inputs, n_atoms=len(atoms))
    np.testing.assert_allclose(e, ref.get_potential_energies(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(f, ref.get_forces(), rtol=0, atol=1e-10)
    if atoms.pbc.all():
        stress = ref.get_stress(voigt=False)
        np.testing.assert_allclose(W, -stress * atoms.get_volume(), rtol=0, atol=1e-10)
    # the in-memory and the loaded model agree through the calculator too
    loaded = atoms.copy()
    loaded.calc = NBodyCalculator(path)
    assert abs(loaded.get_potential_energy() - ref.get_potential_energy()) < 1e-10


def test_domain_decomposition_sums_to_whole(tmp_path):
    """Two 'ranks' each own half a cluster and see the rest as ghosts: energies and forces add
    up."""
    torch.manual_seed(3)
    model = NBodyNetwork(["Si"], cutoff=2.8, levels=2, lmax=2, channels=4, dtype=torch.float64)
    module, _ = load_exported(export(model, tmp_path / "m.pt"))
    atoms = random_cluster(12, ("Si",), seed=4, box=5.0)
    ref = atoms.copy()
    ref.calc = NBodyCalculator(model)
    total_e, total_f = 0.0, np.zeros((len(atoms), 3))
    for part in (np.arange(0, 6), np.arange(6, 12)):
        rest = np.setdiff1d(np.arange(len(atoms)), part)
        owner = np.concatenate([part, rest])
        inputs = local_hierarchy_inputs(
            module, atoms.positions[owner], [0] * len(owner), len(part), owner
        )
        e, f, _ = run_contract(module, *inputs, n_atoms=len(atoms))
        total_e += e.sum()
        total_f += f
    assert abs(total_e - ref.get_potential_energy()) < 1e-10
    np.testing.assert_allclose(total_f, ref.get_forces(), rtol=0, atol=1e-10)


def test_float32_export_and_metadata(tmp_path):
    model = NBodyNetwork(["Si"], cutoff=3.0, levels=2, lmax=1, channels=4, dtype=torch.float64)
    path = export(
        model, tmp_path / "m32.pt", dtype="float32", metadata={"training": {"configs": 3}}
    )
    module, meta = load_exported(path)
    assert (
        module.dtype == "float32"
        and meta["dtype"] == "float32"
        and meta["training"] == {"configs": 3}
    )
    assert len(meta["model_hash"]) == 64
    a = bulk("Si", "diamond", a=5.43)
    a.calc = NBodyCalculator(path)
    b = a.copy()
    b.calc = NBodyCalculator(model)
    assert abs(a.get_potential_energy() - b.get_potential_energy()) < 1e-5
    with pytest.raises(FileExistsError, match="overwrite"):
        export(model, path)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_exported(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a TorchScript model"):
        load_exported(bad)
    # a file with a different format version is refused with both versions named
    model = NBodyNetwork(["Si"], cutoff=3.0, levels=1, lmax=1, channels=2, dtype=torch.float64)
    model.format_version = 99
    p = export(model, tmp_path / "v99.pt")
    with pytest.raises(ValueError, match="version 99.*versions 1 to 2"):
        load_exported(p)


def test_versions_read(tmp_path):
    """docs/model-format.md, "Versions": a file of every version from 1 on loads; a newer one is
    refused before its code is read, with what to do."""
    model = NBodyNetwork(["Si"], cutoff=3.0, levels=1, lmax=1, channels=2, dtype=torch.float64)
    for version in range(OLDEST_FORMAT_VERSION, FORMAT_VERSION + 1):
        model.format_version = version
        p = export(model, tmp_path / f"v{version}.pt", metadata={"format_version": version})
        module, meta = load_exported(p)
        assert module.format_version == version and meta["format_version"] == version
    model.format_version = FORMAT_VERSION + 1
    newer = export(model, tmp_path / "newer.pt", metadata={"format_version": FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="written by a newer nbody-lmp.*pip install -U"):
        load_exported(newer)
