"""Calcfunctions of the core-hole XAS work chain: absorber sites and supercells, 1s-hole datasets, site average.

Every derived node (supercells, the site table, the generated PAW dataset, aligned and averaged spectra) is the
output of one of these, so the provenance graph shows what it was made from. The science is in
:mod:`aiida_lps.science.xas`.
"""

from __future__ import annotations

import io
import tempfile
from typing import Any

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction
from pymatgen.core import Structure

from aiida_lps.common.mappings import recursive_merge
from aiida_lps.common.serialize import json_safe
from aiida_lps.protocols import default_inputs
from aiida_lps.science import xas
from aiida_lps.science.supercell import minimum_repetitions, plane_spacings

__all__ = (
    "SITE_DEFAULTS",
    "XAS_DEFAULTS",
    "absorber_kind_name",
    "analyse_absorber_sites",
    "generate_core_hole_setup",
    "site_average",
    "to_pymatgen",
    "INVALID_INPUT",
)

#: exit status of invalid input of ``analyse_absorber_sites`` and ``site_average`` (the message names the problem)
INVALID_INPUT = 300
_INPUT_ERRORS = (ValueError, TypeError, KeyError, IndexError)


def _invalid(what: str, exception: Exception) -> ExitCode:
    """Exit code 300 with a message naming the problem (a KeyError names the missing key)."""
    detail = f"missing key {exception}" if isinstance(exception, KeyError) else str(exception)
    return ExitCode(INVALID_INPUT, f"invalid {what} input: {detail}")


#: Defaults of ``lps.xas``'s parameters: the ``default_inputs`` of ``aiida_lps/protocols/xas.yaml`` (written only
#: there): absorber, supercell_min_width (Å between opposite faces), symprec (Å), angle_tolerance (degrees),
#: ground_state_cell, broadening (eV), grid (eV), calibration_shift (eV).
XAS_DEFAULTS: dict[str, Any] = default_inputs("xas")["parameters"]
#: The settings of the site average (broadening, grid, calibration), defaults from ``XAS_DEFAULTS``.
_AVERAGE_KEYS = ("broadening", "grid", "calibration_shift")

#: Defaults of the ``parameters`` of :func:`analyse_absorber_sites`.
SITE_DEFAULTS: dict[str, Any] = {
    **{key: XAS_DEFAULTS[key] for key in ("absorber", "supercell_min_width", "symprec", "angle_tolerance")},
    "sites": None,  # user list of absorber indices (or {index: multiplicity}) bypassing symmetry
    "ground_state_cell": XAS_DEFAULTS["ground_state_cell"],  # or "unit_cell": the input structure as given
    "orient": True,  # supercells in the standard orientation (a ∥ x, b in the xy plane)
    "neighbours": ["P", "Li"],
    "neighbour_cutoff": 3.2,  # Å
}


def absorber_kind_name(element: str) -> str:
    """Kind name of the excited atom: ``<element>_ch`` (its own species: VASP's CLNT, GPAW's dataset name)."""
    return f"{element}_ch"


def to_pymatgen(structure: orm.StructureData) -> Structure:
    """pymatgen Structure of an ordered StructureData (kind names dropped, elements kept)."""
    symbols = [structure.get_kind(site.kind_name).symbol for site in structure.sites]
    positions = [site.position for site in structure.sites]
    return Structure(structure.cell, symbols, positions, coords_are_cartesian=True)


def _structure_data(structure: Structure, absorber_kind: str | None = None) -> orm.StructureData:
    """StructureData of ``structure``; the site flagged ``absorber`` gets the kind ``absorber_kind``."""
    result = orm.StructureData(cell=structure.lattice.matrix.tolist())
    flags = structure.site_properties.get("absorber", [False] * len(structure))
    for site, flag in zip(structure, flags, strict=True):
        name = absorber_kind if (flag and absorber_kind) else site.specie.symbol
        result.append_atom(position=site.coords.tolist(), symbols=site.specie.symbol, name=name)
    return result


@calcfunction
def analyse_absorber_sites(structure: orm.StructureData, parameters: orm.Dict) -> dict[str, orm.Data]:
    """Inequivalent absorber sites, their multiplicities and local environments, and the structures to run.

    ``parameters`` (defaults :data:`SITE_DEFAULTS`): ``absorber`` (element), ``supercell_min_width`` (Å, plane
    spacing), ``symprec`` (Å), ``angle_tolerance`` (°), ``sites`` (user absorber indices, bypassing symmetry),
    ``ground_state_cell`` (``supercell`` or ``unit_cell``), ``orient``.

    Outputs: ``site_table`` (Dict: ``sites`` rows with ``label``, ``index`` (in the input structure),
    ``multiplicity``, ``equivalent_indices``, ``environment`` (nearest P/Li and distances, Å), and the
    ``repetitions``, atom counts, plane spacings), ``ground_state`` (StructureData of the ground-state SCF) and
    one ``site_<n>`` StructureData per inequivalent site (supercell, absorber first as kind ``<element>_ch``).
    Invalid input (no absorber atom, a user site that is not one, bad tolerances): exit code 300 naming it.
    """
    try:
        return _analyse_absorber_sites(structure, parameters.get_dict())
    except _INPUT_ERRORS as exception:
        return _invalid("site-analysis", exception)


def _analyse_absorber_sites(structure: orm.StructureData, parameters: dict) -> dict[str, orm.Data]:
    settings = {**SITE_DEFAULTS, **parameters}
    element = settings["absorber"]
    pmg = to_pymatgen(structure)
    sites = settings.get("sites")
    if isinstance(sites, dict):
        sites = {int(k): int(v) for k, v in sites.items()}
    rows = xas.site_table(
        pmg,
        element,
        symprec=float(settings["symprec"]),
        angle_tolerance=float(settings["angle_tolerance"]),
        sites=sites,
        neighbours=settings["neighbours"],
        cutoff=float(settings["neighbour_cutoff"]),
    )
    repetitions = minimum_repetitions(pmg.lattice.matrix, float(settings["supercell_min_width"]))
    kind = absorber_kind_name(element)
    outputs: dict[str, orm.Data] = {}
    n_supercell = len(pmg) * int(np.prod(repetitions))
    for row in rows:
        supercell, original = xas.supercell_with_absorber(pmg, repetitions, row["index"], orient=settings["orient"])
        row["supercell_index"] = original
        outputs[row["label"]] = _structure_data(supercell, kind)
    if settings["ground_state_cell"] == "unit_cell":
        ground_state = _structure_data(pmg)
    elif settings["ground_state_cell"] == "supercell":
        ground_state = _structure_data(xas.supercell_with_absorber(pmg, repetitions, None, settings["orient"])[0])
    else:
        raise ValueError(f"ground_state_cell must be 'supercell' or 'unit_cell', got {settings['ground_state_cell']!r}")
    outputs["ground_state"] = ground_state
    table = {
        "absorber": element,
        "absorber_kind": kind,
        "n_absorbers": sum(r["multiplicity"] for r in rows),
        "repetitions": list(repetitions),
        "plane_spacings_supercell": [float(h) for h in plane_spacings(pmg.lattice.matrix) * np.array(repetitions)],
        "n_atoms_supercell": n_supercell,
        "n_atoms_ground_state": len(ground_state.sites),
        "settings": settings,
        "sites": rows,
        "units": {"distances": "Å", "plane_spacings_supercell": "Å"},
    }
    outputs["site_table"] = orm.Dict(json_safe(table))
    return outputs


@calcfunction
def generate_core_hole_setup(element: orm.Str, xc: orm.Str, hole: orm.Str | None = None) -> orm.Data:
    """A GPAW PAW dataset with a full core hole (default ``1s``) for ``element`` and functional ``xc``.

    Made with GPAW's setup generator (``gpaw.atom.generator``; the same as ``gpaw-setup -f <xc> <element>
    --core-hole=1s,1.0``), returned as an aiida-pseudo ``JthXmlData`` node.
    """
    from aiida_pseudo.data.pseudo import JthXmlData

    from aiida_lps.engines.gpaw.xch import core_hole_command, generate_core_hole_dataset

    level = hole.value if hole is not None else "1s"
    name = f"{element.value}_ch"
    with tempfile.TemporaryDirectory(prefix="lps-core-hole-") as directory:
        path = generate_core_hole_dataset(element.value, xc.value, name, directory, hole=level, fraction=1.0)
        content = path.read_bytes()
    node = JthXmlData(io.BytesIO(content), filename=f"{element.value}.{name}.{xc.value}")
    import gpaw

    node.label = f"gpaw-{gpaw.__version__}/{element.value}.{name}.{xc.value}"
    node.description = "generated: " + " ".join(core_hole_command(element.value, xc.value, name, level, 1.0))
    return node


def _spectrum_node(grid: np.ndarray, mu: np.ndarray, attributes: dict[str, Any]) -> orm.ArrayData:
    node = orm.ArrayData()
    node.set_array("energy", grid)
    node.set_array("mu", mu)
    node.set_array("mu_average", mu.mean(axis=1))
    node.base.attributes.set_many(json_safe(attributes))
    return node


@calcfunction
def site_average(parameters: orm.Dict, site_table: orm.Dict, **kwargs: orm.Data) -> dict[str, orm.Data]:
    """``lps.xas.site_average``: ΔSCF alignment, broadening and multiplicity-weighted average of site spectra.

    Inputs besides ``parameters`` (see :func:`aiida_lps.science.xas.site_average_arrays`) and ``site_table``
    (multiplicities):
    ``ground_state_energy`` (Float, eV), ``ground_state_properties`` (Dict), and per site label ``site_<n>``:
    ``spectrum_site_<n>`` (ArrayData, raw), ``energy_site_<n>`` (Float, eV), ``properties_site_<n>`` (Dict).
    The sites given are the sites averaged (their links show which made the average).

    Outputs: ``spectrum`` (ArrayData ``energy`` eV, ``mu`` (n, 3), ``mu_average``), ``aligned_site_<n>`` (the
    aligned, broadened site spectra on the same grid), ``weights`` (Dict) and ``alignment`` (Dict: ΔSCF, raw and
    aligned onsets, applied shifts, the xas-tools onsets for comparison; eV).
    Invalid input (missing or mismatched inputs, NaN or non-increasing spectra, bad settings): exit code 300 naming
    the problem, and no output.
    """
    labels = sorted(key[len("spectrum_") :] for key in kwargs if key.startswith("spectrum_"))
    try:
        result, rows = _site_average(parameters.get_dict(), site_table.get_dict(), labels, kwargs)
    except _INPUT_ERRORS as exception:
        return _invalid("site-average", exception)
    units = {"energy": "eV", "mu": "arbitrary (raw spectrum units per eV)"}
    outputs: dict[str, orm.Data] = {
        "spectrum": _spectrum_node(
            result["grid"],
            result["average"],
            {"sites": labels, "weights": result["weights"], "units": units, "broadening": result["broadening"],
             "calibration_shift": result["calibration_shift"],
             "calibration": parameters.get_dict().get("calibration")},
        ),  # fmt: skip
        "weights": orm.Dict(json_safe({"weights": result["weights"], "multiplicities":
                                       {label: rows[label]["multiplicity"] for label in labels}})),
        "alignment": orm.Dict(json_safe({"sites": result["alignment"], "units": "eV",
                                         "formula": "E = E_raw - raw_onset + delta_scf + calibration_shift",
                                         "calibration_shift": result["calibration_shift"],
                                         "calibration": parameters.get_dict().get("calibration")})),
    }  # fmt: skip
    for label in labels:
        outputs[f"aligned_{label}"] = _spectrum_node(
            result["grid"], result["sites"][label], {"site": label, **result["alignment"][label], "units": units}
        )
    return outputs


def _site_average(parameters: dict, table: dict, labels: list[str], kwargs: dict) -> tuple[dict, dict]:
    """Checked inputs → ``xas.site_average_arrays`` (raises ``ValueError``/``TypeError``/``KeyError`` naming it)."""
    if not labels:
        raise ValueError("no site spectra given (inputs spectrum_site_<n>)")
    for key in ("ground_state_energy", "ground_state_properties"):
        if key not in kwargs:
            raise ValueError(f"`{key}` is missing")
    rows = {row["label"]: row for row in table.get("sites", []) if isinstance(row, dict) and "label" in row}
    spectra, energies, properties = {}, {}, {}
    for label in labels:
        for name, kind in (("spectrum", orm.ArrayData), ("energy", orm.Float), ("properties", orm.Dict)):
            node = kwargs.get(f"{name}_{label}")
            if not isinstance(node, kind):
                raise TypeError(f"`{name}_{label}` must be a {kind.__name__}, got {type(node).__name__}")
        if label not in rows:
            raise ValueError(f"site {label!r} is not in the site table ({sorted(rows)})")
        node = kwargs[f"spectrum_{label}"]
        spectra[label] = {name: node.get_array(name) for name in node.get_arraynames()}
        if "energy" not in spectra[label] or "mu" not in spectra[label]:
            raise ValueError(f"`spectrum_{label}` needs the arrays `energy` and `mu`, has {sorted(spectra[label])}")
        energies[label] = kwargs[f"energy_{label}"].value
        properties[label] = kwargs[f"properties_{label}"].get_dict()
    result = xas.site_average_arrays(
        spectra,
        energies,
        properties,
        kwargs["ground_state_energy"].value,
        kwargs["ground_state_properties"].get_dict(),
        {label: rows[label]["multiplicity"] for label in labels},
        recursive_merge({key: XAS_DEFAULTS[key] for key in _AVERAGE_KEYS}, parameters),
    )
    return result, rows
