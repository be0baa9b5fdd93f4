"""nbody_lmp.data.statistics: E0 least squares recovers known E0; shift/scale; neighbour counts."""

import numpy as np
import pytest
from ase.build import bulk

from nbody_lmp.data import (
    Configuration,
    average_num_neighbors,
    compute_statistics,
    e0_from_isolated_atoms,
    fit_e0,
    neighbor_list,
)

E0 = {"H": -13.6, "C": -1025.3, "O": -2035.6}


def _conf(symbols, energy, forces=None, positions=None, cell=None, pbc=False):
    from ase.data import atomic_numbers

    n = len(symbols)
    rng = np.random.default_rng(n)
    pos = positions if positions is not None else rng.uniform(0, 10, size=(n, 3))
    return Configuration(
        positions=np.asarray(pos, dtype=float),
        numbers=np.array([atomic_numbers[s] for s in symbols]),
        cell=np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=float),
        pbc=np.array([pbc] * 3),
        energy=energy,
        forces=np.zeros((n, 3)) if forces is None else forces,
    )


def _synthetic(n_configs=40, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    confs = []
    for _ in range(n_configs):
        counts = rng.integers(0, 6, size=3)
        counts[rng.integers(3)] += 1
        symbols = [s for s, c in zip(E0, counts) for _ in range(c)]
        energy = sum(E0[s] for s in symbols) + noise * rng.normal() * len(symbols)
        confs.append(_conf(symbols, energy))
    return confs


def test_e0_least_squares_recovers_known_e0():
    fitted = fit_e0(_synthetic(), ["H", "C", "O"])
    for s in E0:
        assert fitted[s] == pytest.approx(E0[s], abs=1e-9)


def test_e0_least_squares_with_noise():
    fitted = fit_e0(_synthetic(400, noise=0.01, seed=1), ["H", "C", "O"])
    for s in E0:
        assert fitted[s] == pytest.approx(E0[s], abs=5e-3)


def test_e0_given_is_checked():
    assert fit_e0([], ["H"], e0={"H": -1.0, "X": 2.0}) == {"H": -1.0}
    with pytest.raises(ValueError, match=r"not for species \['O'\]"):
        fit_e0([], ["H", "O"], e0={"H": -1.0})


def test_e0_underdetermined_warns_and_centres():
    confs = [_conf(["C", "H", "H"], -1050.0 + 0.1 * k) for k in range(5)]  # one composition
    with pytest.warns(UserWarning, match="underdetermined"):
        e0 = fit_e0(confs, ["H", "C"])
    residual = [c.energy - sum(e0[s] for s in c.symbols) for c in confs]
    assert np.mean(residual) == pytest.approx(0.0, abs=1e-9)


def test_e0_absent_species_is_zero():
    with pytest.warns(UserWarning, match=r"\['N'\] do not occur"):
        e0 = fit_e0(_synthetic(), ["H", "C", "N", "O"])
    assert e0["N"] == 0.0 and e0["C"] == pytest.approx(E0["C"])


def test_e0_from_isolated_atoms():
    confs = [_conf(["H"], -13.5), _conf(["O"], -2035.0), _conf(["H", "H"], -31.0)]
    assert e0_from_isolated_atoms(confs) == {"H": -13.5, "O": -2035.0}
    with pytest.raises(ValueError, match=r"\['C'\]"):
        e0_from_isolated_atoms(confs, ["H", "C"])


def test_statistics_shift_scale():
    rng = np.random.default_rng(3)
    confs = []
    per_atom = []
    for k in range(20):
        symbols = ["H"] * (k % 3 + 1) + ["O"] * 2
        e = rng.normal(0.1, 0.02)
        per_atom.append(e)
        f = rng.normal(size=(len(symbols), 3)) * 0.5
        confs.append(_conf(symbols, sum(E0[s] for s in symbols) + e * len(symbols), forces=f))
    stats = compute_statistics(confs, ["H", "O"], e0={"H": E0["H"], "O": E0["O"]})
    assert stats.shift == pytest.approx(np.mean(per_atom))
    assert stats.energy_per_atom_std == pytest.approx(np.std(per_atom))
    all_f = np.concatenate([c.forces for c in confs])
    assert stats.force_rms == pytest.approx(np.sqrt(np.mean(all_f**2)))
    assert stats.scale == stats.force_rms
    assert not stats.e0_fitted and stats.n_configs == 20
    assert stats.species_counts["O"] == 40
    assert stats.avg_num_neighbors is None
    assert "shift" in stats.as_dict()


def test_average_num_neighbors_diamond():
    si = bulk("Si", "diamond", a=5.431, cubic=True)
    conf = _conf(["Si"] * 8, -34.0, positions=si.positions, cell=si.cell.array, pbc=True)
    assert average_num_neighbors([conf], 2.5) == pytest.approx(4.0)  # first shell
    assert average_num_neighbors([conf], 4.0) == pytest.approx(16.0)  # 4 + 12
    i, _, _ = neighbor_list(conf.positions, conf.cell, conf.pbc, 4.0)
    stats = compute_statistics([conf], ["Si"], cutoff=4.0)
    assert stats.avg_num_neighbors == pytest.approx(len(i) / 8)
