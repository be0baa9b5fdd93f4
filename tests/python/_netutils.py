"""Helpers for the network tests: direct edge lists (stable order) and finite differences."""

import numpy as np
import torch
from ase import Atoms

from nbody_lmp.so3 import o3_D


def all_pairs_edges(positions, cutoff):
    """Directed edges (i, j), i != j, |r_j - r_i| < cutoff, in (i, j) order: rotation-stable."""
    pos = torch.as_tensor(positions)
    d = torch.cdist(pos, pos)
    i, j = torch.nonzero((d < cutoff) & ~torch.eye(len(pos), dtype=torch.bool), as_tuple=True)
    return torch.stack([i, j]), pos[j] - pos[i]


def model_inputs(model, positions):
    ei, ev = [], []
    for rc in model.cutoffs:
        e, v = all_pairs_edges(positions, rc)
        ei.append(e)
        ev.append(v)
    n = len(positions)
    return ei, ev, [n] * (model.levels + 1)


def record_parts(model, species, positions, kinds):
    """Run the model and collect (irreps, output) of every gate and of every inner stage whose
    module is one of ``kinds`` (the covariance tests check each against its Wigner D)."""
    rec, hooks = [], []
    for gate in model.gates:
        hooks.append(gate.register_forward_hook(lambda m, i, o: rec.append((m.irreps_out, o))))
        for sub in gate.modules():
            if isinstance(sub, tuple(kinds)):
                hooks.append(
                    sub.register_forward_hook(lambda m, i, o: rec.append((m.irreps_out, list(o))))
                )
    ei, ev, nn = model_inputs(model, positions)
    energies = model(species, ei, ev, nn)
    for h in hooks:
        h.remove()
    return energies, rec


def apply_D(flat_or_parts, irreps, channels, R):
    """Act with o3_D(R) on a flat state [n, C, D] (irreps side by side) or a list of parts
    [n, F, 2l+1]."""
    if isinstance(flat_or_parts, (list, tuple)):
        return [p @ o3_D(ir, R).T.to(p.dtype) for p, ir in zip(flat_or_parts, irreps)]
    out, o = [], 0
    for ir in irreps:
        out.append(flat_or_parts[..., o : o + ir.dim] @ o3_D(ir, R).T.to(flat_or_parts.dtype))
        o += ir.dim
    return torch.cat(out, dim=-1)


def props(model, atoms):
    """Energy, forces, per-atom energies (and stress of a periodic cell) from NBodyCalculator."""
    from nbody_lmp import NBodyCalculator

    a = atoms.copy()
    a.calc = NBodyCalculator(model)
    out = {
        "energy": a.get_potential_energy(),
        "forces": a.get_forces(),
        "energies": a.get_potential_energies(),
    }
    if a.pbc.all():
        out["stress"] = a.get_stress(voigt=False)
    return out


def rel_err(a, b):
    a, b = torch.as_tensor(a).detach(), torch.as_tensor(b).detach()
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def five_point(f, x0, h):
    return (-f(x0 + 2 * h) + 8 * f(x0 + h) - 8 * f(x0 - h) + f(x0 - 2 * h)) / (12 * h)


def random_cluster(n, species=("Si",), seed=0, box=6.0, min_dist=1.2):
    """Random non-periodic cluster with atoms at least ``min_dist`` apart."""
    rng = np.random.default_rng(seed)
    pos = []
    while len(pos) < n:
        p = rng.uniform(0, box, 3)
        if all(np.linalg.norm(p - q) > min_dist for q in pos):
            pos.append(p)
    symbols = [species[k % len(species)] for k in range(n)]
    rng.shuffle(symbols)
    return Atoms(symbols=symbols, positions=pos)


def random_crystal(species=("Si",), seed=0, triclinic=True, n=8):
    """Random periodic cell (triclinic by default) with ``n`` atoms."""
    rng = np.random.default_rng(seed)
    cell = np.diag([5.5, 5.8, 6.1])
    if triclinic:
        cell = cell + rng.uniform(-1.0, 1.0, (3, 3)) * (1 - np.eye(3))
    for _ in range(1000):
        frac = rng.uniform(0, 1, (n, 3))
        a = Atoms(
            symbols=[species[k % len(species)] for k in range(n)],
            scaled_positions=frac,
            cell=cell,
            pbc=True,
        )
        from nbody_lmp.data.neighbors import neighbor_list

        i, j, S = neighbor_list(a.positions, a.cell.array, True, 1.3)
        if len(i) == 0:
            return a
    raise RuntimeError("could not place atoms")


def assert_symmetric(model, atoms, periodic, seed=3, tol=1e-12):
    """Energy invariant and forces covariant (float64) under a random rotation, the inversion and
    a rotoreflection, a translation, and a permutation of the atoms; returns the reference."""
    from nbody_lmp.so3 import random_rotation

    ref = props(model, atoms)
    assert abs(ref["energy"]) > 1e-3 and np.abs(ref["forces"]).max() > 1e-4
    R = random_rotation(torch.Generator().manual_seed(seed)).numpy()
    fmax = np.abs(ref["forces"]).max()
    for T in (R, -np.eye(3), -R):
        b = atoms.copy()
        b.positions = atoms.positions @ T.T
        if periodic:
            b.cell = atoms.cell.array @ T.T
        out = props(model, b)
        assert abs(out["energy"] - ref["energy"]) < tol * abs(ref["energy"])
        np.testing.assert_allclose(out["forces"], ref["forces"] @ T.T, rtol=0, atol=10 * tol * fmax)
    rng = np.random.default_rng(1)
    b = atoms.copy()
    b.positions += rng.normal(size=3) * 2.0
    if periodic:
        b.wrap()
    assert abs(props(model, b)["energy"] - ref["energy"]) < tol * abs(ref["energy"])
    perm = rng.permutation(len(atoms))
    out = props(model, atoms[perm])
    emax = np.abs(ref["energies"]).max()
    np.testing.assert_allclose(out["energies"], ref["energies"][perm], rtol=0, atol=10 * tol * emax)
    return ref


def assert_forces_are_gradient(model, atoms, components=((0, 0), (3, 1), (6, 2)), h=1e-5):
    """Forces equal -dE/dx by five-point finite differences (float64) on a few components."""
    ref = props(model, atoms)
    for a, c in components:

        def energy(x):
            b = atoms.copy()
            b.positions[a, c] = x
            return props(model, b)["energy"]

        fd = -five_point(energy, atoms.positions[a, c], h)
        assert abs(fd - ref["forces"][a, c]) < 1e-8 * max(1.0, np.abs(ref["forces"]).max())
