"""ASE calculator on an in-memory :class:`NBodyNetwork` or an exported model file (DESIGN.md §3).

    atoms.calc = NBodyCalculator(model)          # or NBodyCalculator("model.pt", device="cuda")
    atoms.get_potential_energy(); atoms.get_forces(); atoms.get_stress(); atoms.get_potential_energies()

Units are ASE's (eV, Angstrom, eV/Angstrom, eV/Angstrom^3). Stress is available for systems
periodic in all three directions.
"""
from __future__ import annotations

import os
from typing import Union

import numpy as np
import torch
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .data.graph import atoms_to_graph
from .nn.properties import compute_properties


class NBodyCalculator(Calculator):
    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, model: Union[torch.nn.Module, str, os.PathLike], device: Union[str, torch.device] = "cpu",
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(model, (str, os.PathLike)):
            from .export import load_exported

            model, self.metadata = load_exported(model, device=device)
        else:
            self.metadata = {}
            model = model.to(device)
        self.model = model
        self.device = torch.device(device)
        self.species = list(model.species)
        self.cutoff = max(model.cutoffs)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_stress = "stress" in properties
        if want_stress and not self.atoms.pbc.all():
            raise PropertyNotImplementedError("stress needs a cell periodic in all three directions")
        graph = atoms_to_graph(self.atoms, self.species, self.cutoff).to(self.device)
        out = compute_properties(self.model, graph, forces=True, stress=bool(self.atoms.pbc.all()))
        self.results["energy"] = float(out["energy"][0].detach())
        self.results["free_energy"] = self.results["energy"]
        self.results["energies"] = out["energies"].detach().double().cpu().numpy()
        self.results["forces"] = out["forces"].detach().double().cpu().numpy()
        if "stress" in out:
            s = out["stress"][0].detach().double().cpu().numpy()
            s = 0.5 * (s + s.T)
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
