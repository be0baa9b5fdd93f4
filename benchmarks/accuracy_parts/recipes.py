"""The recipes that benchmarks.accuracy measures (rMD17 aspirin and ethanol, 3BPA, mlearn Si and
Ge: the examples/ folders) and the published test errors to print beside them (the data sets are
described in docs/data.md, "Shared data sets"): rMD17 MAE from the MACE paper (Batatia et al.,
NeurIPS 2022), 3BPA RMSE at 300 K from the Allegro and MACE papers (published test sets, which
our derived test set is *not*: printed for orientation only), mlearn from Zuo et al. 2020 (SNAP
is measured in the same run by ``examples/*/run.sh`` through benchmarks/mlearn_accuracy.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass(frozen=True)
class Recipe:
    name: str
    folder: str  # under examples/
    train: str  # under folder/data/
    test: str
    molecule: bool  # True: energies per molecule, boundary f f f; False: per atom, periodic
    e0_file: Optional[str] = None
    stress: bool = False  # mlearn: stress in VASP kbar under virial_kbar_raw
    # published: model -> {"metric": "MAE"|"RMSE", "E": value, "F": value} (meV or meV/atom, meV/A)
    published: Dict[str, Dict[str, float]] = field(default_factory=dict)
    published_note: str = ""

    @property
    def path(self) -> Path:
        return EXAMPLES / self.folder

    def data(self, which: str) -> Path:
        return self.path / "data" / {"train": self.train, "test": self.test}[which]

    @property
    def energy_unit(self) -> Tuple[str, str]:
        """(the metrics key, its unit) of the energy error printed for this recipe."""
        return ("energy", "meV/mol") if self.molecule else ("energy_per_atom", "meV/atom")


def _pub(metric: str, **models: Tuple[float, float]) -> Dict[str, Dict[str, float]]:
    return {m: {"metric": metric, "E": e, "F": f} for m, (e, f) in models.items()}


RECIPES: Dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "aspirin",
            "rmd17-aspirin",
            "aspirin_train.xyz.xz",
            "aspirin_test.xyz.xz",
            True,
            "isolated_atoms.xyz",
            published=_pub(
                "MAE",
                MACE=(2.2, 6.6),
                Allegro=(2.3, 7.3),
                NequIP=(2.3, 8.2),
                BOTNet=(2.3, 8.5),
                ACE=(6.1, 17.9),
                GAP=(17.7, 44.9),
            ),
            published_note="rMD17, 1000 train, test MAE (MACE paper)",
        ),
        Recipe(
            "ethanol",
            "rmd17-ethanol",
            "ethanol_train.xyz.xz",
            "ethanol_test.xyz.xz",
            True,
            "isolated_atoms.xyz",
            published=_pub(
                "MAE",
                MACE=(0.4, 2.1),
                Allegro=(0.4, 2.1),
                NequIP=(0.4, 2.8),
                BOTNet=(0.4, 3.2),
                ACE=(1.2, 7.3),
                GAP=(3.5, 18.1),
            ),
            published_note="rMD17, 1000 train, test MAE (MACE paper)",
        ),
        Recipe(
            "3bpa",
            "3bpa",
            "train_300K.xyz.xz",
            "derived_mixedT_not_in_train_300K.xyz.xz",
            True,
            "iso_atoms.xyz",
            published={
                "NequIP": {"metric": "RMSE", "E": 3.3, "F": 10.8},
                "MACE": {"metric": "RMSE", "E": float("nan"), "F": 8.8},
            },
            published_note="published 300 K test set, RMSE: NOT the derived mixed-T test used here",
        ),
        Recipe(
            "si",
            "si-dft",
            "si_train.xyz",
            "si_test.xyz",
            False,
            stress=True,
            published_note="mlearn: Zuo et al. 2020 Table 2; SNAP/qSNAP measured by examples/si-dft/run.sh",
        ),
        Recipe(
            "ge",
            "mlearn-ge",
            "ge_train.xyz.xz",
            "ge_test.xyz.xz",
            False,
            stress=True,
            published_note="mlearn: Zuo et al. 2020 Table 2; SNAP/qSNAP measured by examples/mlearn-ge/run.sh",
        ),
    ]
}


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise SystemExit(f"unknown recipe {name!r}: choose from {', '.join(RECIPES)}")
    return RECIPES[name]
