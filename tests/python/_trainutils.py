"""Helpers for the training and CLI tests: a handful of small labelled configurations and a tiny
training configuration that runs in seconds."""

import numpy as np
import yaml
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.calculators.singlepoint import SinglePointCalculator


def lj_configs(n=8, seed=0, species=("Si",)):
    """``n`` strained, rattled 8-atom diamond cells labelled by a smooth Lennard-Jones potential."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        strain = np.eye(3) + rng.uniform(-0.03, 0.03, (3, 3))
        atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
        atoms.positions += rng.normal(0, 0.08, atoms.positions.shape)
        atoms.set_chemical_symbols([species[i % len(species)] for i in range(len(atoms))])
        atoms.calc = LennardJones(sigma=2.1, epsilon=0.2, rc=3.4, smooth=True)
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        a = Atoms(
            atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True
        )
        a.calc = SinglePointCalculator(a, energy=e, forces=f, stress=s)
        out.append(a)
    return out


def write_lj_data(path, n=8, seed=0, species=("Si",)):
    import ase.io

    ase.io.write(str(path), lj_configs(n, seed, species), format="extxyz")
    return path


TINY_MODEL = dict(
    cutoff=3.0, levels=2, lmax=1, channels=2, n_radial=2, radial_hidden=4, readout_hidden=4
)


def tiny_config(folder, name="config.yaml", data=None, run_dir="run", **sections):
    """Write a tiny training config into ``folder`` (data written too if not given); returns its
    path."""
    if data is None:
        data = write_lj_data(folder / "train.xyz")
    cfg = {
        "seed": 3,
        "data": {"train": str(data), "val_fraction": 0.25},
        "model": dict(TINY_MODEL),
        "loss": {"energy_weight": 10.0, "forces_weight": 1.0, "stress_weight": 1.0},
        "training": {
            "dtype": "float64",
            "batch_size": 2,
            "max_epochs": 4,
            "lr": 0.01,
            "ema_decay": 0.9,
            "early_stopping_patience": None,
        },
        "output": {
            "run_dir": str(run_dir),
            "progress": False,
            "plots": False,
            "export_dtype": None,
        },
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    path = folder / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
