"""Model deviation of an ensemble (docs/lammps.md, "Several models: model deviation").

The same definitions as ``pair_style nbody`` with several models
(``lammps_plugin/nbody_deviation.h``), which are DeePMD-kit's:

* per-atom force deviation ``sqrt(<|F_m - <F>|^2>)``, ``<.>`` the mean over the M models;
* per-atom energy deviation ``sqrt(<(e_m - <e>)^2>)`` of the atom's energy;
* deviation of the total energy per atom ``sqrt(<(E_m - <E>)^2>) / N``.

All are population (1/M) standard deviations.
"""

from __future__ import annotations

import numpy as np

__all__ = ["force_deviation", "energy_deviation", "total_energy_deviation", "check_same_models"]


def force_deviation(forces) -> np.ndarray:
    """``forces``: (M, N, 3) forces of M models on N atoms -> (N,) force deviation."""
    f = np.asarray(forces, dtype=float)
    if f.ndim != 3 or f.shape[-1] != 3:
        raise ValueError(f"forces must have shape (models, atoms, 3), got {f.shape}")
    return np.sqrt(((f - f.mean(0)) ** 2).sum(-1).mean(0))


def energy_deviation(energies) -> np.ndarray:
    """``energies``: (M, N) per-atom energies of M models -> (N,) energy deviation."""
    e = np.asarray(energies, dtype=float)
    return np.sqrt(((e - e.mean(0)) ** 2).mean(0))


def total_energy_deviation(energies) -> float:
    """``energies``: (M, N) per-atom energies -> deviation of the total energy, per atom."""
    e = np.asarray(energies, dtype=float)
    tot = e.sum(1)
    return float(np.sqrt(((tot - tot.mean()) ** 2).mean()) / e.shape[1])


def check_same_models(models, names) -> None:
    """Every model must have the species (in order) and level cutoffs of the first one, as
    ``pair_coeff`` requires; a ValueError says which differs and how."""
    first = models[0]
    for k, (m, name) in enumerate(zip(models[1:], names[1:]), start=1):
        if list(m.species) != list(first.species):
            raise ValueError(
                f"model {name} (model {k + 1} of the ensemble) has species {list(m.species)}, "
                f"but the first model {names[0]} has {list(first.species)}: all models must "
                "have the same species in the same order "
                "(train them with `nbody-lmp train --ensemble N`)"
            )
        a, b = [float(c) for c in m.cutoffs], [float(c) for c in first.cutoffs]
        if len(a) != len(b) or any(abs(x - y) > 1e-12 * abs(y) for x, y in zip(a, b)):
            raise ValueError(
                f"model {name} (model {k + 1} of the ensemble) has level cutoffs {a} Å, "
                f"but the first model {names[0]} has {b} Å: all models must have the same cutoffs"
            )
