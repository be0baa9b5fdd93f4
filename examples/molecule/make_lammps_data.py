"""Write one ethanol configuration of the test set as a LAMMPS data file (types 1 C, 2 H, 3 O)
in a 20 A box, for ``in.lammps`` (boundary f f f)."""

import sys

from ase.io import read, write

atoms = read("data/ethanol_test_100.xyz", 0)
atoms.set_cell([20.0, 20.0, 20.0])
atoms.set_pbc(False)
atoms.center()
out = sys.argv[1] if len(sys.argv) > 1 else "ethanol.data"
write(out, atoms, format="lammps-data", specorder=["C", "H", "O"], masses=True)
print(f"wrote {out}")
