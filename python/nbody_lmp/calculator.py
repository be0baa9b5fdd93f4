"""ASE calculator on an in-memory :class:`NBodyNetwork` or an exported model file
(docs/model-format.md), or on an ensemble of them (docs/lammps.md, "Several models: model
deviation").

    atoms.calc = NBodyCalculator(model)        # or NBodyCalculator("model.pt", device="cuda")
    atoms.get_potential_energy(); atoms.get_forces(); atoms.get_stress()
    atoms.get_potential_energies()

    atoms.calc = NBodyCalculator(["m0.pt", "m1.pt", "m2.pt"])     # an ensemble
    atoms.get_forces()                         # of the first model, as pair_style nbody's dynamics
    atoms.calc.results["force_deviation"]      # (N,) sqrt(<|F_m - <F>|^2>), eV/Å
    atoms.calc.results["max_force_deviation"]  # its max over the atoms
    atoms.calc.results["energy_deviation"]     # deviation of the total energy per atom, eV/atom
    atoms.calc.results["energies_deviation"]   # (N,) deviation of each atom's energy, eV

With several models the energy, forces, stress and per-atom energies are the first model's, like
``pair_coeff * * m0.pt m1.pt m2.pt Si`` in LAMMPS (docs/lammps.md: a trajectory is then the one
the first model alone gives); the deviations follow :mod:`nbody_lmp.deviation`. All models must
have the same species and cutoffs. Units are ASE's (eV, Angstrom, eV/Angstrom, eV/Angstrom^3).
Stress is available for systems periodic in all three directions.
"""

from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np
import torch
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .data.graph import atoms_to_graph
from .data_range import pairs_below_training, warn_below_training
from .deviation import check_same_models, energy_deviation, force_deviation, total_energy_deviation
from .nn.properties import compute_properties

ModelLike = Union[torch.nn.Module, str, os.PathLike]
DEVIATION_PROPERTIES = [
    "force_deviation",
    "max_force_deviation",
    "energy_deviation",
    "energies_deviation",
]


class NBodyCalculator(Calculator):
    implemented_properties = [
        "energy",
        "free_energy",
        "energies",
        "forces",
        "stress",
        *DEVIATION_PROPERTIES,
    ]

    def __init__(
        self,
        model: Union[ModelLike, Sequence[ModelLike]],
        device: Union[str, torch.device] = "cpu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        given = list(model) if isinstance(model, (list, tuple)) else [model]
        if not given:
            raise ValueError(
                "NBodyCalculator needs a model: a network, a model file, or a list of them"
            )
        self.models, self.metadatas, names = [], [], []
        for m in given:
            if isinstance(m, (str, os.PathLike)):
                from .export import load_exported

                module, meta = load_exported(m, device=device)
                names.append(str(m))
            else:
                module, meta = m.to(device), {}
                names.append(f"<{type(m).__name__} #{len(names)}>")
            self.models.append(module)
            self.metadatas.append(meta)
        check_same_models(self.models, names)
        self.model, self.metadata = self.models[0], self.metadatas[0]
        self.device = torch.device(device)
        self.species = list(self.model.species)
        self.cutoff = max(self.model.cutoffs)
        self.shortest_distance = list(getattr(self.model, "shortest_distance", []))
        self.warned_outside_data = False

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties
        if want_stress and not self.atoms.pbc.all():
            raise PropertyNotImplementedError(
                "stress needs a cell periodic in all three directions"
            )
        graph = atoms_to_graph(self.atoms, self.species, self.cutoff).to(self.device)
        self._check_data_range(graph)
        out = compute_properties(self.model, graph, forces=True, stress=bool(self.atoms.pbc.all()))
        self.results["energy"] = float(out["energy"][0].detach())
        self.results["free_energy"] = self.results["energy"]
        self.results["energies"] = out["energies"].detach().double().cpu().numpy()
        self.results["forces"] = out["forces"].detach().double().cpu().numpy()
        if "stress" in out:
            s = out["stress"][0].detach().double().cpu().numpy()
            s = 0.5 * (s + s.T)
            self.results["stress"] = np.array(
                [s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]]
            )
        if len(self.models) > 1:
            forces, energies = [self.results["forces"]], [self.results["energies"]]
            for m in self.models[1:]:
                o = compute_properties(m, graph, forces=True, stress=False)
                forces.append(o["forces"].detach().double().cpu().numpy())
                energies.append(o["energies"].detach().double().cpu().numpy())
            fd = force_deviation(np.stack(forces))
            self.results["force_deviation"] = fd
            self.results["max_force_deviation"] = float(fd.max()) if fd.size else 0.0
            self.results["energies_deviation"] = energy_deviation(np.stack(energies))
            self.results["energy_deviation"] = total_energy_deviation(np.stack(energies))

    def _check_data_range(self, graph) -> None:
        """Warn once if two atoms are closer than the training data's shortest pair of their
        species."""
        if self.warned_outside_data or not self.shortest_distance:
            return
        pairs = pairs_below_training(
            graph.species,
            graph.edge_index,
            graph.edge_vectors(),
            self.shortest_distance,
            len(self.species),
        )
        if pairs:
            self.warned_outside_data = True
            warn_below_training(pairs, self.atoms.get_chemical_symbols())
