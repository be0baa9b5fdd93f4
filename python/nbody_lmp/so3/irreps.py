"""Types of covariant states: parts ``(l, parity)`` and their multiplicities.

Paper §3 (eq. 2-3): a state of *type* ``tau = (tau_0, ..., tau_L)`` is a direct sum of
``tau_l`` *fragments* of dimension ``2l + 1`` for each ``l``; the fragments with one ``l`` form
the *part* ``psi^l``. Here parts also carry a parity (O(3) = SO(3) x {1, -1}; docs/theory.md,
"Departures from the paper, and why": "O(3), not only SO(3)"): every part is ``(l, p)`` with
``p = +1`` ("e", even) or ``-1`` ("o", odd); under inversion a fragment of part ``(l, p)`` is
multiplied by ``p``.

The readable string form is ``"8x0e + 8x1o + 4x2e"``: multiplicity ``x`` ``l`` parity.
"""

from __future__ import annotations

import re
from typing import Iterator, List, NamedTuple, Sequence, Tuple, Union


class Irrep(NamedTuple):
    """One irreducible representation of O(3): degree ``l`` and parity ``p`` (+1 or -1)."""

    l: int
    p: int

    @staticmethod
    def parse(text: str) -> "Irrep":
        m = re.fullmatch(r"\s*(\d+)([eo])\s*", text)
        if m is None:
            raise ValueError(f"cannot read irrep {text!r}: write it as <l><e|o>, e.g. '0e' or '1o'")
        return Irrep(int(m.group(1)), 1 if m.group(2) == "e" else -1)

    @property
    def dim(self) -> int:
        return 2 * self.l + 1

    def __str__(self) -> str:  # noqa: D105
        return f"{self.l}{'e' if self.p == 1 else 'o'}"

    def __mul__(self, other: "Irrep") -> List["Irrep"]:  # type: ignore[override]
        """Clebsch–Gordan selection rules: |l1-l2| <= l <= l1+l2, parity p1 p2."""
        p = self.p * other.p
        return [Irrep(l, p) for l in range(abs(self.l - other.l), self.l + other.l + 1)]


def sh_irrep(l: int) -> Irrep:
    """The part spanned by the spherical harmonics of degree ``l``: parity ``(-1)^l``."""
    return Irrep(l, (-1) ** l)


class Irreps:
    """A type ``tau``: an ordered list of ``(multiplicity, Irrep)`` parts."""

    def __init__(self, parts: Union[str, "Irreps", Sequence[Tuple[int, Irrep]]]):
        if isinstance(parts, Irreps):
            items = list(parts.parts)
        elif isinstance(parts, str):
            items = []
            if parts.strip():
                for chunk in parts.split("+"):
                    m = re.fullmatch(r"\s*(?:(\d+)\s*x\s*)?(\d+[eo])\s*", chunk)
                    if m is None:
                        raise ValueError(
                            f"cannot read type {parts!r} at {chunk.strip()!r}: "
                            "write parts as '<multiplicity>x<l><e|o>' joined by '+', "
                            "e.g. '8x0e + 8x1o'"
                        )
                    items.append((int(m.group(1) or 1), Irrep.parse(m.group(2))))
        else:
            items = [(int(mul), Irrep(*ir)) for mul, ir in parts]
        for mul, ir in items:
            if mul < 0 or ir.l < 0 or ir.p not in (1, -1):
                raise ValueError(
                    f"invalid part {mul}x{ir}: multiplicity and l must be >= 0, parity +-1"
                )
        self.parts: List[Tuple[int, Irrep]] = items

    @staticmethod
    def uniform(channels: int, irreps: Sequence[Irrep]) -> "Irreps":
        return Irreps([(channels, ir) for ir in irreps])

    def __iter__(self) -> Iterator[Tuple[int, Irrep]]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Irreps) and self.parts == other.parts

    def __str__(self) -> str:
        return " + ".join(f"{mul}x{ir}" for mul, ir in self.parts)

    __repr__ = __str__

    @property
    def dim(self) -> int:
        return sum(mul * ir.dim for mul, ir in self.parts)

    @property
    def irreps(self) -> List[Irrep]:
        return [ir for _, ir in self.parts]

    @property
    def lmax(self) -> int:
        return max((ir.l for _, ir in self.parts), default=-1)


def natural_irreps(lmax: int, parity: str = "natural") -> List[Irrep]:
    """Parts up to ``lmax``: ``natural`` keeps ``(l, (-1)^l)`` only; ``full`` keeps both
    parities."""
    if parity == "natural":
        return [sh_irrep(l) for l in range(lmax + 1)]
    if parity == "full":
        return [Irrep(l, p) for l in range(lmax + 1) for p in (1, -1)]
    raise ValueError(f"parity must be 'natural' or 'full', not {parity!r}")
