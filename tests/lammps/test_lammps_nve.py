"""Energy conservation of NVE MD with pair_style nbody in float64 (docs/lammps.md, "Validation"):
over 1000 steps the total energy fluctuates at the level of the integrator's O(dt^2) error and does
not drift, which needs exact forces (-dE/dr) and a smooth potential (the cutoff envelope).

A random-weight network is no stable potential for a crystal, so it is overlaid on LAMMPS's
Stillinger-Weber Si (pair_style hybrid/overlay sw nbody): sw holds the crystal together, the
network adds forces of comparable size (scale 300) whose consistency with its energy is tested.
The drift of a trained SW-Si model alone is reported in docs/lammps.md."""

import numpy as np
from ase.build import bulk

from _lmputils import lammps_frame, make_model, read_thermo, run_lmp_input, write_data

INPUT = """
units metal
atom_style atomic
atom_modify map array
read_data {data}
pair_style hybrid/overlay sw nbody
pair_coeff * * sw {sw} Si
pair_coeff * * nbody {model} Si
compute enb all pair nbody
velocity all create 600.0 8812 loop geom
timestep 0.001
fix nve all nve
thermo 20
thermo_style custom step temp pe ke etotal c_enb
thermo_modify format float %.15g
run 1000
"""


def test_nve_energy_conservation_1000_steps(tmp_path):
    from nbody_lmp.workflows.lammps_run import sw_potential_file

    model = make_model(
        tmp_path / "si.pt",
        ["Si"],
        cutoff=[3.2, 2.8],
        levels=2,
        lmax=1,
        channels=4,
        seed=31,
        scale=300.0,
    )
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    atoms.rattle(0.03, seed=32)
    data = write_data(tmp_path / "si.data", lammps_frame(atoms), ["Si"])
    proc = run_lmp_input(tmp_path, INPUT.format(data=data, model=model, sw=sw_potential_file()))
    assert proc.returncode == 0, proc.output[-3000:]
    th = read_thermo(tmp_path / "log.lammps")
    assert th["Step"][-1] == 1000
    etot, ke = th["TotEng"], th["KinEng"]
    n = len(atoms)
    fluct = np.abs(etot - etot[0]).max() / n
    # linear drift over the run, from a fit (eV/atom/ps with dt = 1 fs)
    drift = np.polyfit(th["Step"] * 1e-3, etot / n, 1)[0]
    print(
        f"NVE 1000 steps, 64 atoms: max |E - E0| = {fluct:.3g} eV/atom, "
        f"drift {drift:.3g} eV/atom/ps, KE range {np.ptp(ke) / n:.3g} eV/atom, "
        f"nbody energy range {np.ptp(th['c_enb']) / n:.3g} eV/atom"
    )
    assert np.ptp(ke) / n > 1e-3  # the atoms do exchange kinetic and potential energy
    assert np.ptp(th["c_enb"]) / n > 1e-3  # and the network's energy changes as much
    assert fluct < 1e-4, f"total energy varies by {fluct} eV/atom"
    assert abs(drift) < 2e-5, f"total energy drifts by {drift} eV/atom/ps"
