"""The N-body network for an atomic system (paper §3-4: the composition scheme of §3, the gates of
eq. 10-12; docs/theory.md, "Paper → code").

Composition scheme: the leaves are the atoms, each with a learnable species embedding (``C``
scalar fragments). For levels ``k = 1..K`` the level-``k`` node of atom ``i`` aggregates the
level-``(k-1)`` nodes of the atoms within the level-``k`` cutoff of ``i``, its own included,
through a gate (eq. 10, 11 or 12). The root sums per-atom energies, read out from each atom's
top-level scalar part (plus per-species reference energies ``E0``).

``forward`` is the exported-model contract of docs/model-format.md ("forward"): it sees
species, one edge list and edge-vector list per level, and how many nodes each level computes
(the local hierarchy). It is TorchScript-compatible.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from ase.data import atomic_numbers

from ..so3 import Irrep, natural_irreps
from .constants import ExactConstants
from .channel_fragments import ChannelRadial
from .first_order import FirstOrderGate
from .first_order_pairs import FirstOrderPairsGate
from .radial import InversePowerRadial
from .radial_bessel import BesselRadial
from .species_gain import SPECIES_LEVELS, NoSpeciesGain, SpeciesGain
from .zbl import ZBLRepulsion
from .zeroth_order import ZerothOrderGate

# the model-file format written (docs/model-format.md, "Versions") and the oldest one read
FORMAT_VERSION = 2
OLDEST_FORMAT_VERSION = 1
GATES = ("zeroth_order", "first_order", "first_order_pairs")
RADIAL_WEIGHTS = ("shared", "per_channel")
RADIAL_BASES = ("inverse_power", "bessel")


class NBodyNetwork(ExactConstants):
    """N-body network potential.

    Args:
        species: chemical symbols the model knows, in model order.
        cutoff: one cutoff (Angstrom) for every level, or a list with one per level.
        levels: number of levels ``K`` of the composition scheme above the atoms.
        lmax: largest ``l`` of the hidden states' parts (and of the spherical harmonics); one
            number for every level, or a list with one per level.
        channels: fragments per part (the paper's ``tau_l``, the same for every part of a level):
            one number for every level, or a list with one per level (the leaves' embedding has
            the first level's width). docs/theory.md, "Width per level".
        gate: ``"zeroth_order"`` (eq. 10), ``"first_order"`` (eq. 11) or ``"first_order_pairs"``
            (eq. 12).
        dtype: parameter dtype (default: torch's default dtype).
        parity: ``"natural"`` keeps parts ``(l, (-1)^l)``; ``"full"`` keeps both parities.
        radial_max_power: ``S`` in ``(r/r_c)^-s, s = 0..S``.
        n_radial: if > 0, a small network mixes the inverse powers into this many radial functions.
        radial_hidden / readout_hidden: widths of the radial and read-out networks.
        e0: per-species reference energies (eV), ``{symbol: value}``.
        scale, shift: per-atom energy = ``scale * readout + shift + E0[species]``.
        avg_num_children: per-level constants the neighbourhood sums are divided by.
        radial_min_distance: below this distance (Angstrom) the inverse powers keep their value at
            it, so the model stays finite for atoms far closer than any training pair
            (:class:`~nbody_lmp.nn.radial.InversePowerRadial`).
        radial_weights: ``"per_channel"`` (default): each channel ``c`` has its own radial
            functions ``R_{c l}(r) = sum_s w_{c l s} R_s(r)``, one per harmonic degree (``C``
            fragments per path: the channel-diagonal restriction of ``W^l``, docs/theory.md);
            ``"shared"``: every channel is multiplied by every radial function (``C x S``
            fragments per path, then ``W^l``: the full Proposition-1 mixing, ``S`` times the work).
        species_levels: ``"leaves"`` (default): the species enters only as the leaves' embedding;
            ``"all"``: every level's node also gets a species gain per channel and part and a scalar
            bias (:mod:`~nbody_lmp.nn.species_gain`).
        radial_basis: ``"inverse_power"`` (default): the paper's ``(r/r_c)^-s``, ``s = 0..S``
            (:mod:`~nbody_lmp.nn.radial`); ``"bessel"``: ``n_bessel`` spherical Bessel functions
            times the envelope, bounded down to ``r = 0`` (:mod:`~nbody_lmp.nn.radial_bessel`).
        n_bessel: number of Bessel functions when ``radial_basis == "bessel"``.
        zbl: add the ZBL screened nuclear repulsion of each level-1 pair to the per-atom energies
            (:mod:`~nbody_lmp.nn.zbl`); the network is trained around it.
        correlation: with the ``first_order`` gate, the highest power of a node's neighbourhood
            sums in its gate: 2 (eq. 11) or 3 (adds the triple product,
            :class:`~nbody_lmp.nn.first_order.TripleProduct`).
    """

    __jit_ignored_attributes__ = ExactConstants.__jit_ignored_attributes__ + ["config"]

    def __init__(
        self,
        species: Sequence[str],
        cutoff: Union[float, Sequence[float]] = 4.0,
        levels: int = 2,
        lmax: Union[int, Sequence[int]] = 2,
        channels: Union[int, Sequence[int]] = 8,
        gate: str = "first_order",
        dtype: Optional[torch.dtype] = None,
        parity: str = "natural",
        radial_max_power: int = 2,
        n_radial: int = 4,
        radial_hidden: int = 16,
        readout_hidden: int = 16,
        e0: Optional[Dict[str, float]] = None,
        scale: float = 1.0,
        shift: float = 0.0,
        avg_num_children: Union[None, float, Sequence[float]] = None,
        radial_min_distance: float = 0.5,
        radial_weights: str = "per_channel",
        species_levels: str = "leaves",
        radial_basis: str = "inverse_power",
        n_bessel: int = 8,
        zbl: bool = False,
        correlation: int = 2,
    ):
        super().__init__()
        _check_choices(radial_basis, correlation, gate)
        species, cutoffs, levels, e0 = _checked_arguments(
            species, cutoff, levels, lmax, channels, gate, radial_weights, species_levels, e0
        )
        self.config = dict(
            species=species,
            cutoff=cutoffs,
            levels=levels,
            lmax=_one_or_list(lmax),
            channels=_one_or_list(channels),
            gate=gate,
            parity=parity,
            radial_max_power=int(radial_max_power),
            n_radial=int(n_radial),
            radial_hidden=int(radial_hidden),
            readout_hidden=int(readout_hidden),
            radial_min_distance=float(radial_min_distance),
            radial_weights=radial_weights,
            species_levels=species_levels,
            radial_basis=radial_basis,
            n_bessel=int(n_bessel),
            zbl=bool(zbl),
            correlation=int(correlation),
        )

        # the exported-model contract (docs/model-format.md)
        self.format_version: int = FORMAT_VERSION
        self.species: List[str] = species
        self.cutoffs: List[float] = cutoffs
        self.receptive_field: float = float(sum(cutoffs))
        self.levels: int = levels
        # shortest distance of each species pair in the training data (flattened [S, S], Angstrom;
        # 0: not known): MD that goes below it has left the data (set_shortest_distances)
        self.shortest_distance: List[float] = [0.0] * (len(species) * len(species))

        widths = _per_level(channels, levels)
        degrees = _per_level(lmax, levels)
        self.embedding = torch.nn.Parameter(torch.randn(len(species), widths[0]))
        radial_args = dict(
            max_power=radial_max_power,
            n_radial=n_radial,
            hidden=radial_hidden,
            weights=radial_weights,
            min_distance=radial_min_distance,
            basis=radial_basis,
            n_bessel=int(n_bessel),
        )
        gates, gains = _build_levels(
            cutoffs,
            widths,
            degrees,
            parity,
            gate,
            species_levels,
            len(species),
            radial_args,
            int(correlation),
        )
        self.gates = torch.nn.ModuleList(gates)
        self.species_gains = torch.nn.ModuleList(gains)
        self.priors = torch.nn.ModuleList([ZBLRepulsion(species, cutoffs[0])] if zbl else [])
        H, C = int(readout_hidden), widths[-1]
        if H > 0:
            self.readout = torch.nn.Sequential(
                torch.nn.Linear(C, H), torch.nn.SiLU(), torch.nn.Linear(H, 1)
            )
        else:
            self.readout = torch.nn.Sequential(torch.nn.Linear(C, 1))
        # energy statistics stay float64 in a float32 model (E0 ~ 1e2 eV would lose 1e-5 eV)
        self.register_float64_buffer(
            "e0", torch.tensor([e0.get(s, 0.0) for s in species], dtype=torch.float64)
        )
        self.register_float64_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))
        self.register_float64_buffer("shift", torch.tensor(float(shift), dtype=torch.float64))
        if avg_num_children is not None:
            self.set_avg_num_children(avg_num_children)
        self.to(dtype or torch.get_default_dtype())
        self.dtype: str = str(self.embedding.dtype).replace("torch.", "")

    # ----------------------------------------------------------------- set-up helpers (Python only)
    @staticmethod
    def _radial(
        cutoff: float,
        max_power: int,
        n_radial: int,
        hidden: int,
        weights: str,
        channels: int,
        lmax: int,
        min_distance: float,
        basis: str = "inverse_power",
        n_bessel: int = 8,
    ) -> torch.nn.Module:
        if basis == "bessel":
            base = BesselRadial(cutoff, n_bessel, n_radial, hidden, min_distance)
        else:
            base = InversePowerRadial(cutoff, max_power, n_radial, hidden, min_distance)
        return ChannelRadial(base, channels, lmax) if weights == "per_channel" else base

    @torch.jit.unused
    def set_avg_num_children(self, avg: Union[float, Sequence[float]]) -> None:
        """Divide each level's neighbourhood sums by its average number of children (+1: the node
        itself)."""
        avg = (
            [float(avg)] * self.levels if isinstance(avg, (int, float)) else [float(a) for a in avg]
        )
        if len(avg) != self.levels:
            raise ValueError(f"avg_num_children needs {self.levels} values, got {len(avg)}")
        for g, a in zip(self.gates, avg):
            for m in g.modules():
                if hasattr(m, "inv_num_children"):
                    m.inv_num_children.fill_(1.0 / max(a, 1.0))

    @torch.jit.unused
    def set_shortest_distances(self, distances: Optional[Dict[str, float]]) -> None:
        """Record the training data's shortest distance per species pair, ``{"C-H": 1.02, ...}``
        (either order of the pair; symbols outside the model are ignored)."""
        S = len(self.species)
        table = [0.0] * (S * S)
        for key, value in (distances or {}).items():
            a, _, b = key.partition("-")
            if a in self.species and b in self.species:
                i, j = self.species.index(a), self.species.index(b)
                table[i * S + j] = table[j * S + i] = float(value)
        self.shortest_distance = table

    @torch.jit.unused
    def set_energy_statistics(
        self,
        e0: Optional[Dict[str, float]] = None,
        scale: Optional[float] = None,
        shift: Optional[float] = None,
    ) -> None:
        if e0 is not None:
            for s, v in e0.items():
                if s not in self.species:
                    raise ValueError(
                        f"e0 names {s!r}, which is not in the model's species {self.species}"
                    )
                self.e0[self.species.index(s)] = float(v)
        if scale is not None:
            self.scale.fill_(float(scale))
        if shift is not None:
            self.shift.fill_(float(shift))

    # ----------------------------------------------------------------- the contract
    def forward(
        self,
        species: torch.Tensor,
        edge_index: List[torch.Tensor],
        edge_vectors: List[torch.Tensor],
        n_nodes: List[int],
    ) -> torch.Tensor:
        if (
            len(edge_index) != self.levels
            or len(edge_vectors) != self.levels
            or len(n_nodes) != self.levels + 1
        ):
            raise ValueError(
                "nbody model: expected one edge_index and edge_vectors tensor per level and "
                "levels + 1 entries in n_nodes"
            )
        x = self.embedding[species].unsqueeze(-1)  # [N, C, 1]: the leaves' scalar fragments
        k = 0
        for gate, gain in zip(self.gates, self.species_gains):
            x = gain(
                gate(x, edge_index[k], edge_vectors[k], n_nodes[k + 1]), species[: n_nodes[k + 1]]
            )
            k += 1
        n_out = n_nodes[self.levels]
        e = self.readout(x[:, :, 0]).squeeze(-1)
        e = (
            e * self.scale.to(e.dtype)
            + self.shift.to(e.dtype)
            + self.e0.to(e.dtype)[species[:n_out]]
        )
        for prior in self.priors:
            e = e + prior(species, edge_index[0], edge_vectors[0], n_out)
        return e


def _build_levels(
    cutoffs: List[float],
    widths: List[int],
    degrees: List[int],
    parity: str,
    gate: str,
    species_levels: str,
    n_species: int,
    radial_args: Dict,
    correlation: int = 2,
) -> Tuple[List[torch.nn.Module], List[torch.nn.Module]]:
    """One gate (eq. 10, 11 or 12) and one species gain per level ``k = 1..K``, built in level order
    (so their parameters are created, and drawn from the random generator, in that order). Level
    ``k`` has ``widths[k]`` channels and parts up to ``degrees[k]``, and reads the ``widths[k-1]``
    channels of the level below (the embedding's, ``widths[0]``, at the leaves). Hidden levels
    output every part up to their ``lmax``; the top level only the scalar part the read-out needs.
    ``radial_args``: the arguments of :meth:`NBodyNetwork._radial` other than the cutoff and the
    level's channels and degree."""
    scalar = [Irrep(0, 1)]
    gates: List[torch.nn.Module] = []
    gains: List[torch.nn.Module] = []
    irreps_in: List[Irrep] = scalar
    c_in = widths[0]
    for k in range(len(cutoffs)):
        last = k == len(cutoffs) - 1
        C, lmax = widths[k], degrees[k]
        hidden_irreps = natural_irreps(lmax, parity)
        irreps_out = scalar if last else hidden_irreps
        level_radial = dict(radial_args, channels=c_in, lmax=lmax)
        radial = NBodyNetwork._radial(cutoffs[k], **level_radial)
        if gate == "zeroth_order":
            g = ZerothOrderGate(irreps_in, c_in, irreps_out, C, lmax, radial, hidden=not last)
        elif gate == "first_order":
            g = FirstOrderGate(
                irreps_in,
                c_in,
                hidden_irreps,
                irreps_out,
                C,
                lmax,
                radial,
                hidden=not last,
                correlation=correlation,
            )
        else:  # eq. 12: the children's relative positions reach twice the cutoff
            pair_radial = NBodyNetwork._radial(2 * cutoffs[k], **level_radial)
            g = FirstOrderPairsGate(
                irreps_in, C, hidden_irreps, irreps_out, lmax, radial, pair_radial, hidden=not last
            )
        gates.append(g)
        gains.append(
            SpeciesGain(g.irreps_out, C, n_species) if species_levels == "all" else NoSpeciesGain()
        )
        irreps_in, c_in = g.irreps_out, C
    if irreps_in != scalar:
        raise RuntimeError("internal error: the top level has no scalar part")
    return gates, gains


def _one_or_list(value: Union[int, Sequence[int]]) -> Union[int, List[int]]:
    """A per-level setting as the config records it: one int, or a list of ints."""
    return int(value) if isinstance(value, (int, float)) else [int(v) for v in value]


def _per_level(value: Union[int, Sequence[int]], levels: int) -> List[int]:
    """One value per level from one number or a list (checked by :func:`_checked_arguments`)."""
    return [int(value)] * levels if isinstance(value, (int, float)) else [int(v) for v in value]


def _check_choices(radial_basis: str, correlation: int, gate: str) -> None:
    if radial_basis not in RADIAL_BASES:
        raise ValueError(f"radial_basis must be one of {RADIAL_BASES}, got {radial_basis!r}")
    if correlation not in (2, 3) or (correlation == 3 and gate != "first_order"):
        raise ValueError(
            f"correlation must be 2, or 3 with gate first_order; got {correlation} with {gate}"
        )


def _checked_arguments(
    species: Sequence[str],
    cutoff: Union[float, Sequence[float]],
    levels: int,
    lmax: Union[int, Sequence[int]],
    channels: Union[int, Sequence[int]],
    gate: str,
    radial_weights: str,
    species_levels: str,
    e0: Optional[Dict[str, float]],
) -> Tuple[List[str], List[float], int, Dict[str, float]]:
    """The network's arguments checked (a ValueError that says what to give), and normalised:
    ``(species list, one cutoff per level, levels, e0 dict)``."""
    species = list(species)
    if not species:
        raise ValueError(
            "species is empty: give the chemical symbols the model should know, e.g. ['Si']"
        )
    for s in species:
        if s not in atomic_numbers:
            raise ValueError(
                f"unknown chemical symbol {s!r} in species; use symbols like 'Si', 'O'"
            )
    if len(set(species)) != len(species):
        raise ValueError(f"species contains duplicates: {species}")
    if int(levels) < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    levels = int(levels)
    cutoffs = (
        [float(cutoff)] * levels if isinstance(cutoff, (int, float)) else [float(c) for c in cutoff]
    )
    if len(cutoffs) != levels:
        raise ValueError(
            f"cutoff lists {len(cutoffs)} values but levels = {levels}: give one per level"
        )
    for c in cutoffs:
        if not (c > 0 and math.isfinite(c)):
            raise ValueError(f"cutoffs must be positive and finite (Angstrom), got {cutoffs}")
    for name, value, least in (("lmax", lmax, 0), ("channels", channels, 1)):
        values = [value] if isinstance(value, (int, float)) else list(value)
        if not isinstance(value, (int, float)) and len(values) != levels:
            raise ValueError(
                f"{name} lists {len(values)} values but levels = {levels}: give one per level, "
                "or a single number"
            )
        if any(int(v) != v or int(v) < least for v in values):
            raise ValueError(f"{name} must be whole numbers >= {least}, got {value}")
    if gate not in GATES:
        raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
    if gate == "first_order_pairs" and len(set(_per_level(channels, levels))) > 1:
        raise ValueError(
            "gate first_order_pairs keeps one width through the levels: give channels as one "
            f"number, not {channels}"
        )
    if radial_weights not in RADIAL_WEIGHTS:
        raise ValueError(f"radial_weights must be one of {RADIAL_WEIGHTS}, got {radial_weights!r}")
    if species_levels not in SPECIES_LEVELS:
        raise ValueError(f"species_levels must be one of {SPECIES_LEVELS}, got {species_levels!r}")
    e0 = dict(e0 or {})
    for s in e0:
        if s not in species:
            raise ValueError(f"e0 names {s!r}, which is not in species {species}")
    return species, cutoffs, levels, e0
