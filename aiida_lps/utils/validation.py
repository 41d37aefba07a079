"""Input validation shared by CalcJobs and WorkChains: messages that name the problem."""

from __future__ import annotations

import math
from collections.abc import Mapping

from aiida import orm

from aiida_lps.protocols import default_inputs

#: Defaults of the trajectory analysis: the ``analysis`` of ``aiida_lps/protocols/lammps_md.yaml`` (written only
#: there), plus the diffusing species (Li, charge +1) and no regions.
ANALYSIS_DEFAULTS: dict = {
    "species": ["Li"],
    "charges": {"Li": 1.0},
    "regions": None,
    **default_inputs("lammps_md")["analysis"],
}


def analysis_settings(analysis: Mapping | None) -> dict:
    """Return the analysis settings with defaults filled in (unknown keys raise ``ValueError``)."""
    analysis = dict(analysis or {})
    unknown = sorted(set(analysis) - set(ANALYSIS_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown analysis setting(s) {unknown}; known: {sorted(ANALYSIS_DEFAULTS)}")
    return {**ANALYSIS_DEFAULTS, **analysis}


def validate_potential_covers_structure(potential, structure: orm.StructureData) -> str | None:
    """Return a message if the structure has elements that the potential does not describe."""
    missing = sorted(set(structure.get_symbols_set()) - set(potential.elements))
    if missing:
        return f"the potential describes {potential.elements} but the structure also contains {missing}"
    return None


def validate_analysis(analysis: Mapping, structure: orm.StructureData) -> str | None:
    """Return a message naming the first problem of the analysis settings for this structure, else ``None``."""
    try:
        settings = analysis_settings(analysis)
    except ValueError as exception:
        return str(exception)
    symbols = set(structure.get_symbols_set())
    species = settings["species"]
    if isinstance(species, str) or not species:
        return f"analysis `species` must be a non-empty list of element symbols, got {species!r}"
    absent = sorted(set(species) - symbols)
    if absent:
        return f"diffusing species {absent} are not in the structure (it contains {sorted(symbols)})"
    window = settings["window"]
    if len(window) != 2 or not 0 <= window[0] < window[1] <= 1:
        return f"analysis `window` must be two fractions 0 <= start < end <= 1 of the longest lag, got {window}"
    if int(settings["n_blocks"]) < 2:
        return f"analysis `n_blocks` must be at least 2 for an uncertainty, got {settings['n_blocks']}"
    drift = settings["drift"]
    if not (drift in ("com", "none") or (isinstance(drift, list) and set(drift) <= symbols)):
        return f"analysis `drift` must be 'com', 'none' or a list of framework elements in the structure, got {drift}"
    for name, charge in (settings["charges"] or {}).items():
        if not isinstance(charge, (int, float)) or not math.isfinite(charge):
            return f"charge of {name} must be a finite number, got {charge!r}"
    regions = settings["regions"]
    if regions is not None:
        if set(regions) != {"axis", "boundaries"} or regions["axis"] not in (0, 1, 2):
            return "analysis `regions` must be {'axis': 0|1|2, 'boundaries': [[start, end], ...]} (fractional)"
        for bounds in regions["boundaries"]:
            if len(bounds) != 2 or not 0 <= bounds[0] < bounds[1] <= 1:
                return f"region boundaries must be fractional pairs 0 <= start < end <= 1, got {bounds}"
    if int(settings["trajectory_stride"]) < 0:
        return "analysis `trajectory_stride` must be >= 0 (0 keeps no trajectory)"
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
