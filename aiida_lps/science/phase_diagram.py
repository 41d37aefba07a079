"""Formation energies and the lower convex hull on the Li2S–P2S5 pseudo-binary line. No AiiDA import.

A structure Li_a P_b S_c lies on the line when 2c = a + 5b: it is (Li2S)_{a/2}(P2S5)_{b/2}, i.e.
(Li2S)_x(P2S5)_{1−x} per formula unit with the molar (formula) fraction x = a / (a + b). Its formation energy per
atom relative to Li2S and P2S5 is (Guo, Wang, Urban, Artrith, Chem. Mater. 2022, doi:10.1021/acs.chemmater.2c00267,
eq. 1)

    E_f = [E − n(Li2S)·E_Li2S − n(P2S5)·E_P2S5] / N        (eV/atom)

with E the total energy (eV) of the N-atom structure, n the numbers of Li2S and P2S5 units it contains and E_Li2S,
E_P2S5 the energies per formula unit (eV) of the bulk end members. Per formula unit of (Li2S)_x(P2S5)_{1−x} there are
7 − 4x atoms, which is the denominator of the paper's eq. 1.

The hull must be built on a coordinate in which mixing is linear in the plotted quantity: per-atom energies go with
the Li2S *atom* fraction y = 3·n(Li2S) / N = 3x / (7 − 4x) (the fraction of the atoms that belong to Li2S units).
Per-atom energies against the formula fraction x give a different (wrong) hull, because y(x) is not linear.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = (
    "PseudoBinaryComposition",
    "pseudo_binary_composition",
    "formula_fraction_to_atom_fraction",
    "atom_fraction_to_formula_fraction",
    "energy_per_unit",
    "formation_energy_per_atom",
    "lower_hull",
    "HullResult",
    "convex_hull",
    "phase_diagram",
)

ELEMENTS = ("Li", "P", "S")
STABLE, METASTABLE = "stable", "metastable"


@dataclasses.dataclass(frozen=True)
class PseudoBinaryComposition:
    """Position of a composition on the Li2S–P2S5 line.

    :ivar n_li2s: number of Li2S units (may be half-integer).
    :ivar n_p2s5: number of P2S5 units.
    :ivar natoms: number of atoms.
    :ivar x: formula (molar) fraction of Li2S in (Li2S)_x(P2S5)_{1−x}.
    :ivar atom_fraction: fraction of the atoms in Li2S units, 3·n_li2s / natoms.
    """

    n_li2s: float
    n_p2s5: float
    natoms: int

    @property
    def x(self) -> float:
        return self.n_li2s / (self.n_li2s + self.n_p2s5)

    @property
    def atom_fraction(self) -> float:
        return 3.0 * self.n_li2s / self.natoms

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "x": self.x, "atom_fraction": self.atom_fraction}


def pseudo_binary_composition(composition) -> PseudoBinaryComposition:
    """Locate a composition on the Li2S–P2S5 line.

    :param composition: element → count mapping, formula string or pymatgen ``Composition`` (atom counts, not
        reduced: the natoms of the structure).
    :raises ValueError: for other elements, non-integer or negative counts, or a composition off the line
        (2·n_S ≠ n_Li + 5·n_P), naming the excess or deficit of S.
    """
    from pymatgen.core import Composition

    if isinstance(composition, Mapping):
        counts = {str(k): v for k, v in composition.items()}
    else:
        counts = {el.symbol: amount for el, amount in Composition(composition).items()}
    other = sorted(k for k, v in counts.items() if k not in ELEMENTS and v != 0)
    if other:
        raise ValueError(f"composition {counts} contains {other}: only Li, P and S lie on the Li2S–P2S5 line")
    n = {}
    for element in ELEMENTS:
        value = float(counts.get(element, 0))
        if not math.isfinite(value) or value < 0 or abs(value - round(value)) > 1e-8:
            raise ValueError(f"composition {counts}: the number of {element} atoms must be a non-negative integer")
        n[element] = int(round(value))
    natoms = sum(n.values())
    if natoms == 0:
        raise ValueError(f"composition {counts} has no atoms")
    excess = 2 * n["S"] - (n["Li"] + 5 * n["P"])
    if excess:
        formula = "".join(f"{e}{n[e]}" for e in ELEMENTS if n[e])
        raise ValueError(
            f"{formula} is not on the Li2S–P2S5 line: it needs 2·n_S = n_Li + 5·n_P, it has "
            f"{abs(excess) / 2:g} S {'too many' if excess > 0 else 'too few'}"
        )
    return PseudoBinaryComposition(n_li2s=n["Li"] / 2, n_p2s5=n["P"] / 2, natoms=natoms)


def formula_fraction_to_atom_fraction(x):
    """Li2S atom fraction y = 3x / (7 − 4x) of the formula fraction x (scalar or array)."""
    x = np.asarray(x, dtype=float)
    return 3.0 * x / (7.0 - 4.0 * x)


def atom_fraction_to_formula_fraction(y):
    """Formula fraction x = 7y / (3 + 4y) of the Li2S atom fraction y (inverse of the above)."""
    y = np.asarray(y, dtype=float)
    return 7.0 * y / (3.0 + 4.0 * y)


def _finite(value, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (eV), got {value}")
    return value


def energy_per_unit(composition, total_energy: float, end_member: str) -> float:
    """Energy per formula unit (eV) of an end member from its structure's total energy (eV).

    :param end_member: ``"Li2S"`` or ``"P2S5"``; the composition must be pure Li2S (x = 1) or pure P2S5 (x = 0).
    """
    comp = pseudo_binary_composition(composition)
    energy = _finite(total_energy, f"the total energy of the {end_member} reference")
    if end_member == "Li2S":
        if comp.n_p2s5:
            raise ValueError(f"the Li2S reference contains P ({comp.n_p2s5 * 2:g} atoms): it must be pure Li2S")
        return energy / comp.n_li2s
    if end_member == "P2S5":
        if comp.n_li2s:
            raise ValueError(f"the P2S5 reference contains Li ({comp.n_li2s * 2:g} atoms): it must be pure P2S5")
        return energy / comp.n_p2s5
    raise ValueError(f"end_member must be 'Li2S' or 'P2S5', got {end_member!r}")


def formation_energy_per_atom(composition, total_energy: float, e_li2s: float, e_p2s5: float) -> float:
    """Formation energy (eV/atom) relative to Li2S and P2S5 (eq. 1 of Guo et al. 2022, see the module docstring).

    :param composition: atom counts of the structure (see :func:`pseudo_binary_composition`).
    :param total_energy: total energy of the structure (eV).
    :param e_li2s: energy per Li2S formula unit (eV). :param e_p2s5: energy per P2S5 formula unit (eV).
    """
    comp = pseudo_binary_composition(composition)
    energy = _finite(total_energy, "the total energy")
    e_li2s = _finite(e_li2s, "the Li2S reference energy")
    e_p2s5 = _finite(e_p2s5, "the P2S5 reference energy")
    return (energy - comp.n_li2s * e_li2s - comp.n_p2s5 * e_p2s5) / comp.natoms


def lower_hull(fractions, energies) -> np.ndarray:
    """Indices of the vertices of the lower convex hull of points (fraction, energy), sorted by fraction.

    Collinear points and all but the lowest point of a composition are not vertices. Needs points at the smallest
    and largest fractions (every hull spans its end members).
    """
    f = np.asarray(fractions, dtype=float)
    e = np.asarray(energies, dtype=float)
    order = np.lexsort((e, f))
    hull: list[int] = []
    for i in order:
        if hull and f[hull[-1]] == f[i]:
            continue  # same composition, higher (or equal) energy
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies on or above the segment a→i
            cross = (f[b] - f[a]) * (e[i] - e[a]) - (e[b] - e[a]) * (f[i] - f[a])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(int(i))
    return np.array(hull, dtype=int)


@dataclasses.dataclass
class HullResult:
    """Lower hull on the Li2S–P2S5 line.

    :ivar labels: entry labels. :ivar atom_fraction: (n,) Li2S atom fraction. :ivar x: (n,) formula fraction.
    :ivar formation_energy: (n,) eV/atom. :ivar e_above_hull: (n,) eV/atom (≥ 0).
    :ivar stability: ``"stable"`` (on the hull within ``tolerance``) or ``"metastable"`` per entry.
    :ivar vertices: indices of the entries at the hull's vertices, sorted by atom fraction; the end points are
        included only where an entry lies there (otherwise the reference, at E_f = 0, is the vertex).
    :ivar hull_atom_fraction, hull_energy: the hull polyline (end members at E_f = 0 unless an entry is lower).
    """

    labels: list[str]
    atom_fraction: np.ndarray
    x: np.ndarray
    formation_energy: np.ndarray
    e_above_hull: np.ndarray
    stability: list[str]
    vertices: np.ndarray
    hull_atom_fraction: np.ndarray
    hull_energy: np.ndarray
    tolerance: float

    @property
    def stable(self) -> np.ndarray:
        return np.array([s == STABLE for s in self.stability], dtype=bool)

    def to_dict(self) -> dict:
        """JSON-able dictionary (energies in eV/atom)."""
        return {
            "units": {"formation_energy": "eV/atom", "e_above_hull": "eV/atom", "atom_fraction": "Li2S atoms / atoms"},
            "tolerance_eV_per_atom": self.tolerance,
            "entries": {
                label: {
                    "atom_fraction": float(self.atom_fraction[i]),
                    "x": float(self.x[i]),
                    "formation_energy_per_atom": float(self.formation_energy[i]),
                    "e_above_hull_per_atom": float(self.e_above_hull[i]),
                    "stability": self.stability[i],
                }
                for i, label in enumerate(self.labels)
            },
            "vertices": [self.labels[i] for i in self.vertices],
            "hull": {
                "atom_fraction": self.hull_atom_fraction.tolist(),
                "x": atom_fraction_to_formula_fraction(self.hull_atom_fraction).tolist(),
                "formation_energy_per_atom": self.hull_energy.tolist(),
            },
        }


def convex_hull(
    atom_fractions: Sequence[float],
    formation_energies: Sequence[float],
    labels: Sequence[str] | None = None,
    tolerance: float = 1e-6,
) -> HullResult:
    """Lower hull of formation energies (eV/atom) against the Li2S atom fraction, and each entry's distance to it.

    The end members Li2S (y = 1) and P2S5 (y = 0) are the references, at E_f = 0 by construction; they join the hull
    whether or not they are among the entries.

    :param tolerance: eV/atom; entries within it of the hull are labelled stable.
    :raises ValueError: for NaN/infinite values, fractions outside [0, 1], mismatched lengths or duplicate labels.
    """
    y = np.asarray(atom_fractions, dtype=float).reshape(-1)
    ef = np.asarray(formation_energies, dtype=float).reshape(-1)
    if y.shape != ef.shape:
        raise ValueError(f"{y.size} atom fractions but {ef.size} formation energies")
    if y.size == 0:
        raise ValueError("no entries to build a hull from")
    if not np.all(np.isfinite(ef)):
        bad = np.flatnonzero(~np.isfinite(ef)).tolist()
        raise ValueError(f"formation energies of entries {bad} are not finite numbers")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y > 1):
        raise ValueError(f"Li2S atom fractions must lie in [0, 1], got {y[~((y >= 0) & (y <= 1))].tolist()}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be non-negative (eV/atom), got {tolerance}")
    labels = [str(label) for label in labels] if labels is not None else [f"entry{i}" for i in range(y.size)]
    if len(labels) != y.size or len(set(labels)) != len(labels):
        raise ValueError("labels must be unique, one per entry")

    points_f = np.concatenate([y, [0.0, 1.0]])
    points_e = np.concatenate([ef, [0.0, 0.0]])
    vertex_points = lower_hull(points_f, points_e)
    hull_f, hull_e = points_f[vertex_points], points_e[vertex_points]
    e_hull = np.interp(y, hull_f, hull_e)
    above = np.maximum(ef - e_hull, 0.0)
    stability = [STABLE if d <= tolerance else METASTABLE for d in above]
    vertices = np.array([i for i in vertex_points if i < y.size], dtype=int)
    return HullResult(
        labels=labels,
        atom_fraction=y,
        x=atom_fraction_to_formula_fraction(y),
        formation_energy=ef,
        e_above_hull=above,
        stability=stability,
        vertices=vertices,
        hull_atom_fraction=hull_f,
        hull_energy=hull_e,
        tolerance=float(tolerance),
    )


def phase_diagram(
    compositions: Sequence, total_energies: Sequence[float], labels: Sequence[str] | None = None, **kwargs
) -> HullResult:
    """Hull from structures' total energies alone: the lowest-energy pure Li2S and pure P2S5 entries are the
    references (as pymatgen does), then :func:`convex_hull`.

    :param compositions: atom counts per entry. :param total_energies: eV per entry.
    :raises ValueError: when no entry is pure Li2S or pure P2S5, or an energy is not finite.
    """
    comps = [pseudo_binary_composition(c) for c in compositions]
    energies = [_finite(e, f"the total energy of entry {i}") for i, e in enumerate(total_energies)]
    if len(comps) != len(energies):
        raise ValueError(f"{len(comps)} compositions but {len(energies)} energies")
    li2s = [e / c.n_li2s for c, e in zip(comps, energies, strict=True) if c.n_p2s5 == 0]
    p2s5 = [e / c.n_p2s5 for c, e in zip(comps, energies, strict=True) if c.n_li2s == 0]
    missing = [name for name, found in (("Li2S (x = 1)", li2s), ("P2S5 (x = 0)", p2s5)) if not found]
    if missing:
        raise ValueError(f"no end-member entry for {' and '.join(missing)}: the hull needs both references")
    e_li2s, e_p2s5 = min(li2s), min(p2s5)
    ef = [(e - c.n_li2s * e_li2s - c.n_p2s5 * e_p2s5) / c.natoms for c, e in zip(comps, energies, strict=True)]
    return convex_hull([c.atom_fraction for c in comps], ef, labels, **kwargs)
