"""Input validation shared by CalcJobs and WorkChains: messages that name the problem."""

from __future__ import annotations

import math
from collections.abc import Mapping

from aiida import orm

from aiida_lps.common.defaults import DIFFUSING_CHARGE, DIFFUSING_SPECIES
from aiida_lps.engines.lammps.inputs import MAX_TEMPERATURE_K
from aiida_lps.protocols import default_inputs
from aiida_lps.science.supercell import minimum_repetitions
from aiida_lps.utils.structures import structure_attributes, structure_symbols

#: Defaults of the trajectory analysis: the ``analysis`` of ``aiida_lps/protocols/lammps_md.yaml`` (written only
#: there), plus the diffusing species of :mod:`aiida_lps.common.defaults` and no regions.
ANALYSIS_DEFAULTS: dict = {
    "species": [DIFFUSING_SPECIES],
    "charges": {DIFFUSING_SPECIES: DIFFUSING_CHARGE},
    "regions": None,
    **default_inputs("lammps_md")["analysis"],
}


XAS_MAX_ATOMS = 1000  # default guard of a core-hole (DFT) supercell; overridable with the `max_atoms` input
MAX_SUPERCELL_ATOMS = 20000  # default size guard of generated supercells; pass a larger ``max_atoms`` to go beyond


def is_real(value) -> bool:
    """Whether ``value`` is a finite real number (``bool`` excluded: ``True`` is an ``int`` in Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_temperature(name: str, value) -> str | None:
    """Message if ``value`` is not a temperature in (0, MAX_TEMPERATURE_K] K."""
    return check_positive(name, value, MAX_TEMPERATURE_K)


def check_positive(name: str, value, maximum: float | None = None) -> str | None:
    """Message if ``value`` is not a finite number > 0 (and <= ``maximum``), else ``None``."""
    if not is_real(value) or not value > 0:
        return f"`{name}` must be a positive finite number, got {value!r}"
    if maximum is not None and value > maximum:
        return f"`{name}` must be at most {maximum:g}, got {value!r}"
    return None


def positive_port(name: str, maximum: float | None = None):
    """A port validator: the node's ``value`` is a finite number > 0 (and <= ``maximum``).

    Use it on every float port that reaches a C library (spglib ``symprec``/``angle_tolerance`` segfault on
    negative values) or sets a physical scale.
    """

    def validator(node, _) -> str | None:
        return check_positive(name, node.value, maximum)

    return validator


def validate_periodic(structure: orm.StructureData, name: str = "structure") -> str | None:
    """Message if the structure is not periodic in all three directions (the MD and DFT runs assume 3-D pbc)."""
    attributes = structure_attributes(structure)
    pbc = tuple(bool(attributes.get(f"pbc{axis}")) for axis in (1, 2, 3))
    if pbc != (True, True, True):
        return (
            f"`{name}` has pbc={pbc}: this work chain simulates bulk crystals periodic in 3-D; "
            "slabs or molecules would be run fully periodic. Set pbc=(True, True, True) or add vacuum explicitly"
        )
    if not attributes.get("sites"):
        return f"`{name}` has no sites"
    return None


def periodic_port(value: orm.StructureData, _) -> str | None:
    """Port validator form of :func:`validate_periodic`."""
    return validate_periodic(value)


def validate_supercell_size(structure: orm.StructureData, min_width: float, max_atoms: int) -> str | None:
    """Message if the supercell with faces ``min_width`` Å apart would have more than ``max_atoms`` atoms."""
    message = check_positive("supercell_min_width", min_width)
    if message:
        return message
    attributes = structure_attributes(structure)
    try:
        repeats = minimum_repetitions(attributes["cell"], min_width)
    except ValueError as exception:
        return f"`structure` has an unusable cell: {exception}"
    n_atoms = len(attributes.get("sites", [])) * int(repeats[0] * repeats[1] * repeats[2])
    if n_atoms > max_atoms:
        return (
            f"the supercell {'x'.join(map(str, repeats))} for faces >= {min_width:g} Å apart has {n_atoms} atoms, "
            f"above the guard of {max_atoms}: lower `supercell_min_width` or raise `max_atoms` on purpose"
        )
    return None


def analysis_settings(analysis: Mapping | None) -> dict:
    """Return the analysis settings with defaults filled in (unknown keys raise ``ValueError``)."""
    analysis = dict(analysis or {})
    unknown = sorted(set(analysis) - set(ANALYSIS_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown analysis setting(s) {unknown}; known: {sorted(ANALYSIS_DEFAULTS)}")
    return {**ANALYSIS_DEFAULTS, **analysis}


def validate_potential_covers_structure(potential, structure: orm.StructureData) -> str | None:
    """Return a message if the structure has elements that the potential does not describe."""
    missing = sorted(structure_symbols(structure) - set(potential.elements))
    if missing:
        return f"the potential describes {potential.elements} but the structure also contains {missing}"
    return None


def validate_analysis(analysis: Mapping, structure: orm.StructureData) -> str | None:
    """Return a message naming the first problem of the analysis settings for this structure, else ``None``."""
    try:
        settings = analysis_settings(analysis)
    except ValueError as exception:
        return str(exception)
    symbols = structure_symbols(structure)
    species = settings["species"]
    if not isinstance(species, (list, tuple)) or not species or not all(isinstance(e, str) for e in species):
        return f"analysis `species` must be a non-empty list of element symbols, got {species!r}"
    absent = sorted(set(species) - symbols)
    if absent:
        return f"diffusing species {absent} are not in the structure (it contains {sorted(symbols)})"
    window = settings["window"]
    if (
        not isinstance(window, (list, tuple))
        or len(window) != 2
        or not all(is_real(w) for w in window)
        or not 0 <= window[0] < window[1] <= 1
    ):
        return f"analysis `window` must be two fractions 0 <= start < end <= 1 of the longest lag, got {window!r}"
    n_blocks = settings["n_blocks"]
    if not _is_integer(n_blocks) or n_blocks < 2:
        return f"analysis `n_blocks` must be an integer >= 2 for an uncertainty, got {n_blocks!r}"
    threshold = settings["subdiffusive_threshold"]
    if not is_real(threshold) or not 0 < threshold <= 1:
        return f"analysis `subdiffusive_threshold` must be a log-log slope in (0, 1], got {threshold!r}"
    drift = settings["drift"]
    if not (
        (isinstance(drift, str) and drift in ("com", "none"))
        or (isinstance(drift, list) and drift and all(isinstance(e, str) for e in drift) and set(drift) <= symbols)
    ):
        return f"analysis `drift` must be 'com', 'none' or a list of framework elements in the structure, got {drift}"
    charges = settings["charges"] or {}
    if not isinstance(charges, Mapping):
        return f"analysis `charges` must be a mapping element -> charge (e), got {charges!r}"
    for name, charge in charges.items():
        if not is_real(charge):
            return f"charge of {name} must be a finite number, got {charge!r}"
    regions = settings["regions"]
    if regions is not None:
        message = _check_regions(regions)
        if message:
            return message
    stride = settings["trajectory_stride"]
    if not _is_integer(stride) or stride < 0:
        return f"analysis `trajectory_stride` must be an integer >= 0 (0 keeps no trajectory), got {stride!r}"
    select, stop, fraction = settings["gamma_select"], settings["gamma_break"], settings["max_extrapolating_fraction"]
    if not (is_real(select) and is_real(stop) and 0 < select <= stop):
        return f"analysis needs 0 < gamma_select <= gamma_break (extrapolation grades), got {select!r} and {stop!r}"
    if not is_real(fraction) or not 0 <= fraction <= 1:
        return f"analysis `max_extrapolating_fraction` must be a fraction in [0, 1], got {fraction!r}"
    interval = settings["gamma_interval"]
    if not _is_integer(interval) or interval < 1:
        return f"analysis `gamma_interval` must be an integer number of MD steps >= 1, got {interval!r}"
    return None


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_regions(regions) -> str | None:
    form = "analysis `regions` must be {'axis': 0|1|2, 'boundaries': [[start, end], ...]} (fractional)"
    if not isinstance(regions, Mapping) or set(regions) != {"axis", "boundaries"}:
        return form
    if not _is_integer(regions["axis"]) or regions["axis"] not in (0, 1, 2):
        return form
    boundaries = regions["boundaries"]
    if not isinstance(boundaries, (list, tuple)) or not boundaries:
        return form
    for bounds in boundaries:
        if (
            not isinstance(bounds, (list, tuple))
            or len(bounds) != 2
            or not all(is_real(b) for b in bounds)
            or not 0 <= bounds[0] < bounds[1] <= 1
        ):
            return f"region boundaries must be fractional pairs 0 <= start < end <= 1, got {bounds!r}"
    ordered = sorted(tuple(b) for b in boundaries)
    for first, second in zip(ordered[:-1], ordered[1:], strict=True):
        if second[0] < first[1]:
            return f"regions {list(first)} and {list(second)} overlap: an atom would be counted in both"
    return None


def validate_frame_count(parameters: Mapping, analysis: orm.Dict | None) -> str | None:
    """Return a message if the production stores too few frames for the block-averaged analysis."""
    n_blocks = int(analysis_settings(analysis.get_dict() if analysis is not None else None)["n_blocks"])
    steps, interval = parameters.get("production_steps"), parameters.get("dump_interval")
    if not steps or not interval:
        return None
    frames = int(steps) // int(interval) + 1
    if frames < 10 * n_blocks:
        return (
            f"production_steps / dump_interval gives {frames} frames; the analysis with n_blocks={n_blocks} "
            f"needs at least {10 * n_blocks}"
        )
    return None
