"""The variants of the ablation the paper invites (benchmarks.ablation): one factor changed at
a time around a recipe, each a list of ``KEY=VALUE`` config overrides for ``nbody-lmp train``.

* ``gate``: zeroth-order (eq. 10), first-order (eq. 11), first-order with the children's relative
  positions (eq. 12);
* ``levels``: 1, 2, 3 levels of the composition scheme. One level keeps the recipe's level-1
  cutoff (its neighbourhood of atoms) and drops the levels above; three levels add one more at the
  recipe's top cutoff. The receptive field changes with the levels, as it does in the paper's
  hierarchy: that is what a level buys;
* ``lmax``: largest ``l`` of the parts (and of the spherical harmonics);
* ``channels``: fragments per part (the paper's ``tau_l``);
* ``species``: the species embedding at the leaves only, or a species-dependent gain and scalar
  bias of every level's node (``model.species_levels``; molecules and alloys only).

The recipe's own value of a factor is not repeated: the ``default`` variant (the recipe as it
is, with the benchmark's base overrides) is its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

FACTORS: Dict[str, Tuple[str, ...]] = {
    "gate": ("zeroth_order", "first_order", "first_order_pairs"),
    "levels": ("1", "2", "3"),
    "lmax": ("1", "2", "3"),
    "channels": ("8", "16", "32"),
    "species": ("leaves", "all"),
}


@dataclass(frozen=True)
class Variant:
    factor: str  # "default" or a key of FACTORS
    value: str
    overrides: Tuple[str, ...]  # KEY=VALUE, after the base overrides

    @property
    def tag(self) -> str:
        """The run folder's tag: empty for the default (so it is the folder benchmarks.accuracy
        uses)."""
        return "" if self.factor == "default" else f"{self.factor}-{self.value}"


def _cutoffs(model) -> List[float]:
    c = model.cutoff
    return [float(x) for x in c] if isinstance(c, list) else [float(c)] * int(model.levels)


def _current(model, factor: str) -> str:
    if factor == "levels":
        return str(int(model.levels))
    if factor == "species":
        return str(getattr(model, "species_levels", "leaves"))
    return str(getattr(model, factor))


def _overrides(model, factor: str, value: str) -> Tuple[str, ...]:
    if factor == "levels":
        cut = _cutoffs(model)
        n = int(value)
        new = (cut + [cut[-1]] * n)[:n]
        return (f"model.levels={n}", "model.cutoff=[" + ", ".join(f"{c:g}" for c in new) + "]")
    if factor == "species":
        return (f"model.species_levels={value}",)
    return (f"model.{factor}={value}",)


def variants(model, factors: Sequence[str]) -> List[Variant]:
    """The default and, for each factor, every value but the recipe's own (``model``: its loaded
    ``ModelSection``). The species factor is skipped for a single-element recipe."""
    for f in factors:
        if f not in FACTORS:
            raise SystemExit(f"unknown ablation factor {f!r}: choose from {', '.join(FACTORS)}")
    out = [Variant("default", "", ())]
    for f in factors:
        if f == "species" and len(model.species or []) < 2:
            continue
        here = _current(model, f)
        out += [Variant(f, v, _overrides(model, f, v)) for v in FACTORS[f] if v != here]
    return out
