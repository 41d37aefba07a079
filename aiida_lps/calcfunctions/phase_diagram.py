"""``lps.formation_energy`` and ``lps.convex_hull``: formation energies on the Li2S–P2S5 line and their lower hull.

Thin provenance wrappers around :mod:`aiida_lps.science.phase_diagram`: the formation energy links to the structure,
its energy and the two reference relaxations' outputs; the hull links to every formation energy it was built from.
Invalid input gives exit code 300 with the reason.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_lps.common.serialize import json_safe
from aiida_lps.science import phase_diagram as pd

__all__ = ("formation_energy", "convex_hull", "summarise_phase_diagram")

#: exit status of invalid input (the message names the problem)
INVALID_INPUT = 300


@calcfunction
def formation_energy(
    structure: orm.StructureData,
    energy: orm.Float,
    li2s_structure: orm.StructureData,
    li2s_energy: orm.Float,
    p2s5_structure: orm.StructureData,
    p2s5_energy: orm.Float,
) -> orm.Dict | ExitCode:
    """Formation energy per atom of ``structure`` relative to Li2S and P2S5 (Guo et al., Chem. Mater. 2022, eq. 1).

    :param energy: total energy of ``structure`` (eV).
    :param li2s_structure, li2s_energy: a relaxed Li2S cell and its total energy (eV), from the same engine and
        protocol as ``energy``; likewise ``p2s5_structure``, ``p2s5_energy``.
    :returns: Dict with ``formation_energy_per_atom`` (eV/atom), ``x`` (formula fraction of Li2S),
        ``atom_fraction`` (Li2S atom fraction, the hull coordinate), ``n_li2s``, ``n_p2s5``, ``natoms``,
        ``formula``, ``total_energy`` (eV), ``e_li2s_per_unit`` and ``e_p2s5_per_unit`` (eV per formula unit),
        ``units``.
    """
    try:
        e_li2s = pd.energy_per_unit(li2s_structure.get_composition(), li2s_energy.value, "Li2S")
        e_p2s5 = pd.energy_per_unit(p2s5_structure.get_composition(), p2s5_energy.value, "P2S5")
        comp = pd.pseudo_binary_composition(structure.get_composition())
        value = pd.formation_energy_per_atom(structure.get_composition(), energy.value, e_li2s, e_p2s5)
    except ValueError as exception:
        return ExitCode(INVALID_INPUT, f"invalid formation-energy input: {exception}")
    return orm.Dict(
        json_safe(
            {
                "formation_energy_per_atom": value,
                **comp.to_dict(),
                "formula": structure.get_formula(mode="hill"),
                "total_energy": float(energy.value),
                "e_li2s_per_unit": e_li2s,
                "e_p2s5_per_unit": e_p2s5,
                "units": {
                    "formation_energy_per_atom": "eV/atom",
                    "total_energy": "eV",
                    "e_li2s_per_unit": "eV per Li2S",
                    "e_p2s5_per_unit": "eV per P2S5",
                },
            }
        )
    )


@calcfunction
def convex_hull(tolerance: orm.Float | None = None, **entries: orm.Dict) -> dict[str, orm.Data] | ExitCode:
    """Lower hull of formation energies against the Li2S atom fraction and every entry's energy above it.

    :param entries: one Dict per structure, keyed by its label (a valid link label), each with
        ``formation_energy_per_atom`` (eV/atom) and ``atom_fraction`` — the outputs of :func:`formation_energy`.
        The references (Li2S, P2S5, E_f = 0) are always hull points.
    :param tolerance: eV/atom within which an entry counts as on the hull (default 1e-6).
    :returns: ``result`` (Dict: per entry ``atom_fraction``, ``x``, ``formation_energy_per_atom``,
        ``e_above_hull_per_atom``, ``stability`` (stable/metastable); ``vertices`` (labels); ``hull`` polyline) and
        ``arrays`` (ArrayData of the same per entry, in the order of the ``labels`` attribute, and the hull).
    """
    if not entries:
        return ExitCode(INVALID_INPUT, "invalid hull input: no entries")
    labels = sorted(entries)
    try:
        missing = [k for k in labels if not {"formation_energy_per_atom", "atom_fraction"} <= set(entries[k].keys())]
        if missing:
            raise ValueError(f"entries {missing} lack 'formation_energy_per_atom' or 'atom_fraction'")
        values = [entries[k].get_dict() for k in labels]
        fractions = [_number(v["atom_fraction"]) for v in values]
        energies = [_number(v["formation_energy_per_atom"]) for v in values]
        result = pd.convex_hull(
            fractions, energies, labels, tolerance=1e-6 if tolerance is None else float(tolerance.value)
        )
    except ValueError as exception:
        return ExitCode(INVALID_INPUT, f"invalid hull input: {exception}")
    arrays = orm.ArrayData()
    arrays.set_array("atom_fraction", result.atom_fraction)
    arrays.set_array("x", result.x)
    arrays.set_array("formation_energy_per_atom", result.formation_energy)
    arrays.set_array("e_above_hull_per_atom", result.e_above_hull)
    arrays.set_array("stable", result.stable)
    arrays.set_array("hull_atom_fraction", result.hull_atom_fraction)
    arrays.set_array("hull_formation_energy_per_atom", result.hull_energy)
    arrays.base.attributes.set("labels", labels)
    arrays.base.attributes.set("units", "eV/atom")
    return {"result": orm.Dict(json_safe(result.to_dict())), "arrays": arrays}


def _number(value) -> float:
    """None (how json_safe stores NaN), booleans and non-numbers become NaN, which the hull rejects by name."""
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


@calcfunction
def summarise_phase_diagram(hull: orm.Dict, details: orm.Dict) -> orm.Dict:
    """The phase diagram of a composition scan: the ``lps.convex_hull`` result with, per entry, what it is.

    :param hull: the ``result`` of :func:`convex_hull`.
    :param details: ``entries`` (label → ``kind`` (``reference``, ``crystal``, ``ga``), ``parent``, ``job``,
        ``total_energy`` eV), ``hull_energies`` (``mlip`` or ``dft``), ``jobs`` (the GA jobs of the scan).
    :returns: the hull Dict (``entries``, ``vertices``, ``hull``, ...) whose entries carry those keys too, plus
        ``hull_energies``, ``jobs`` and ``kinds`` (label → the marker kind of
        :func:`aiida_lps.plotting_phase_diagram.plot_phase_diagram`: the end members count as crystals).
    """
    result = hull.get_dict()
    extra = details.get_dict()
    for label, entry in result["entries"].items():
        entry.update(extra["entries"].get(label, {}))
    kinds = {label: "ga" if e.get("kind") == "ga" else "crystal" for label, e in result["entries"].items()}
    result.update(hull_energies=extra.get("hull_energies"), jobs=extra.get("jobs", []), kinds=kinds)
    return orm.Dict(json_safe(result))
