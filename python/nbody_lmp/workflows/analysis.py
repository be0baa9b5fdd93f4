"""Structure and conservation checks of MD trajectories for the demo report (:mod:`.demo`):
radial distribution function g(r), bond-angle distribution, their overlap, and the NVE energy
drift (a linear fit)."""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import numpy as np

from ..data.neighbors import neighbor_list


def read_dump(path: Path):
    from ase.io import read

    return read(str(path), index=":", format="lammps-dump-text")


def rdf(frames, rmax: float = 5.0, nbins: int = 100) -> Tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(0, rmax, nbins + 1)
    hist = np.zeros(nbins)
    density, count = 0.0, 0
    for a in frames:
        i, j, S = neighbor_list(a.positions, a.cell.array, a.pbc, rmax)
        d = np.linalg.norm(a.positions[j] - a.positions[i] + S @ a.cell.array, axis=1)
        hist += np.histogram(d, bins=edges)[0]
        density += len(a) / a.get_volume()
        count += len(a)
    r = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    rho = density / max(len(frames), 1)
    return r, hist / (count * rho * shell)


def angle_distribution(frames, rcut: float = 2.8, nbins: int = 90) -> Tuple[np.ndarray, np.ndarray]:
    """Distribution of angles j-i-k between neighbours of i within ``rcut`` (degrees,
    normalised)."""
    edges = np.linspace(0, 180, nbins + 1)
    hist = np.zeros(nbins)
    for a in frames:
        i, j, S = neighbor_list(a.positions, a.cell.array, a.pbc, rcut)
        v = a.positions[j] - a.positions[i] + S @ a.cell.array
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        order = np.argsort(i, kind="stable")
        i, v = i[order], v[order]
        starts = np.searchsorted(i, np.arange(len(a)))
        ends = np.searchsorted(i, np.arange(len(a)), side="right")
        for s, e in zip(starts, ends):
            if e - s < 2:
                continue
            c = v[s:e] @ v[s:e].T
            iu = np.triu_indices(e - s, 1)
            hist += np.histogram(np.degrees(np.arccos(np.clip(c[iu], -1, 1))), bins=edges)[0]
    centers = 0.5 * (edges[1:] + edges[:-1])
    return centers, hist / max(hist.sum() * (edges[1] - edges[0]), 1e-300)


def energy_drift(step: np.ndarray, etotal: np.ndarray, natoms: int, timestep_ps: float) -> float:
    """Linear-fit drift of the total energy, meV/atom/ps."""
    t = step * timestep_ps
    slope = np.polyfit(t, etotal / natoms, 1)[0]
    return float(slope * 1000.0)


def overlap(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> float:
    """1 - half the L1 distance of two normalised distributions (1 = identical)."""
    dx = x[1] - x[0]
    pa, pb = a / max(a.sum() * dx, 1e-300), b / max(b.sum() * dx, 1e-300)
    return float(1 - 0.5 * np.abs(pa - pb).sum() * dx)
