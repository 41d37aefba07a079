"""``lps.structure_similarity`` and ``lps.partial_rdf``: fingerprint classification and averaged partial RDFs of a set
of structures, as calcfunctions (the science is in :mod:`aiida_lps.science.similarity` and
:mod:`aiida_lps.science.rdf`; descriptors come from LAMMPS ``compute sna/atom`` in this Python process).

Invalid input gives exit code 300 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_lps.common.serialize import json_safe
from aiida_lps.science import rdf as rdf_science
from aiida_lps.science import similarity as sim

__all__ = ("SIMILARITY_DEFAULTS", "RDF_DEFAULTS", "structure_similarity", "partial_rdf", "rdf_curves")

INVALID_INPUT = 300

#: Defaults of the ``parameters`` of :func:`structure_similarity`.
SIMILARITY_DEFAULTS: dict[str, Any] = {
    "references": [],  # labels (keys of the structures) of the reference crystals; at least one
    "species": None,  # None: moments over all atoms; ["Li"]: Li environments; ["Li", "P", "S"]: one block each
    "moments": 2,  # mean and variance (eq. 2)
    "n_components": 10,  # PCA components (capped at n_structures − 1)
    "n_clusters": None,  # k-means clusters (None: no clustering)
    "seed": 0,  # k-means initialisation
    "threshold": sim.SIMILARITY_THRESHOLD,  # S_P below which a structure resembles no reference
    "descriptor": {},  # SNAP settings over aiida_lps.engines.lammps.structure_descriptors.DEFAULT_SETTINGS
}

#: Defaults of the ``parameters`` of :func:`partial_rdf`.
RDF_DEFAULTS: dict[str, Any] = {
    "pairs": [["Li", "S"], ["P", "S"]],
    "r_max": 8.0,  # Å
    "bin_width": 0.02,  # Å
    "smearing": 0.0,  # Å, Gaussian σ applied to each averaged curve
    "groups": None,  # {group: [labels]} averaged together; None: one group "all" of every structure
}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _is_count(value, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


#: type checks of the parameters (a wrong type would otherwise surface as an AttributeError deep in the science)
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "references": (_is_names, "a list of structure labels"),
    "species": (lambda v: v is None or (_is_names(v) and bool(v)), "null or a non-empty list of element symbols"),
    "moments": (_is_count, "an integer >= 1"),
    "n_components": (_is_count, "an integer >= 1"),
    "n_clusters": (lambda v: v is None or _is_count(v), "null or an integer >= 1"),
    "seed": (lambda v: _is_count(v, 0), "an integer >= 0"),
    "threshold": (_is_number, "a finite number"),
    "descriptor": (lambda v: isinstance(v, dict), "a mapping of SNAP settings"),
    "pairs": (
        lambda v: isinstance(v, list) and bool(v) and all(_is_names(p) and len(p) == 2 for p in v),
        "a non-empty list of [element, element] pairs",
    ),
    "r_max": (lambda v: _is_number(v) and 0 < v <= 20, "a number in (0, 20] Å"),
    "bin_width": (lambda v: _is_number(v) and 1e-4 <= v <= 10, "a number in [0.0001, 10] Å"),
    "smearing": (lambda v: _is_number(v) and v >= 0, "a non-negative number (Å)"),
    "groups": (
        lambda v: v is None or (isinstance(v, dict) and all(_is_names(m) for m in v.values())),
        "null or a mapping of group name to a list of structure labels",
    ),
}


def _parameters(node: orm.Dict | None, defaults: dict) -> dict:
    given = node.get_dict() if node is not None else {}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    for key, value in given.items():
        check, expected = _CHECKS[key]
        if not check(value):
            raise ValueError(f"`{key}` must be {expected}, got {value!r}")
    return {**defaults, **given}


@calcfunction
def structure_similarity(parameters: orm.Dict, **structures: orm.StructureData) -> dict[str, orm.Data] | ExitCode:
    """Fingerprints of every structure, PCA, similarity S_P to the reference crystals and k-means clusters.

    :param structures: the set, keyed by label (references included, named in ``parameters["references"]``).
    :param parameters: see :data:`SIMILARITY_DEFAULTS`.
    :returns: ``result`` (Dict: per structure ``pca`` scores, ``similarity`` to each reference, ``closest_reference``
        (``None`` below the threshold), ``cluster``; ``explained_variance_ratio``, ``parameters``) and ``arrays``
        (ArrayData ``fingerprints``, ``pca``, ``similarity``, ``clusters``, ``explained_variance_ratio``; row order in
        the ``labels`` attribute, similarity columns in ``references``).
    """
    from aiida_lps.engines.lammps.structure_descriptors import per_atom_descriptors

    labels = sorted(structures)
    try:
        params = _parameters(parameters, SIMILARITY_DEFAULTS)
        if len(labels) < 2:
            raise ValueError("need at least 2 structures")
        atoms = [structures[k].get_ase() for k in labels]
        rows = per_atom_descriptors(atoms, params["descriptor"])
        fingerprints = np.array(
            [
                _fingerprint(r, a.get_chemical_symbols(), params["species"], params["moments"], label)
                for r, a, label in zip(rows, atoms, labels, strict=True)
            ]
        )
        result = sim.classify(
            fingerprints,
            labels,
            list(params["references"]),
            n_components=params["n_components"],
            n_clusters=params["n_clusters"],
            seed=params["seed"],
            threshold=params["threshold"],
        )
    except ValueError as exception:
        return ExitCode(INVALID_INPUT, f"invalid similarity input: {exception}")
    summary = result.to_dict()
    summary["parameters"] = params
    for label, atom in zip(labels, atoms, strict=True):
        summary["structures"][label]["formula"] = atom.get_chemical_formula()
    arrays = orm.ArrayData()
    arrays.set_array("fingerprints", result.fingerprints)
    arrays.set_array("pca", result.projection.scores)
    arrays.set_array("similarity", result.similarity)
    arrays.set_array("explained_variance_ratio", result.projection.explained_variance_ratio)
    if result.clusters is not None:
        arrays.set_array("clusters", np.asarray(result.clusters))
    arrays.base.attributes.set("labels", labels)
    arrays.base.attributes.set("references", result.references)
    return {"result": orm.Dict(json_safe(summary)), "arrays": arrays}


def _fingerprint(rows, symbols, species, moments, label) -> np.ndarray:
    try:
        return sim.moment_fingerprint(rows, symbols, species, moments)
    except ValueError as exception:
        raise ValueError(f"structure {label!r}: {exception}") from exception


@calcfunction
def partial_rdf(parameters: orm.Dict, **structures: orm.StructureData) -> orm.ArrayData | ExitCode:
    """Partial RDFs g_ab(r) averaged over groups of structures (Guo et al. 2022, Fig. 6).

    :param structures: keyed by label. :param parameters: see :data:`RDF_DEFAULTS` (``groups`` maps a group name,
        e.g. a composition or ``parent_<name>``, to the labels it averages).
    :returns: ArrayData with ``r`` (Å, bin centres) and ``g__<group>__<a>_<b>`` per group and pair; attributes
        ``groups``, ``pairs``, ``bin_width``. Read back with :func:`rdf_curves`.
    """
    try:
        params = _parameters(parameters, RDF_DEFAULTS)
        groups = params["groups"] or {"all": sorted(structures)}
        unknown = sorted({k for members in groups.values() for k in members} - set(structures))
        if unknown or not structures:
            raise ValueError(f"groups name structures that were not given: {unknown}" if unknown else "no structures")
        pairs = [tuple(p) for p in params["pairs"]]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ValueError(f"pairs must be [a, b] element pairs, got {params['pairs']}")
        arrays = orm.ArrayData()
        r = None
        for name, members in groups.items():
            if not members:
                raise ValueError(f"group {name!r} is empty")
            atoms = [structures[k].get_ase() for k in members]
            for a, b in pairs:
                curve = rdf_science.average_partial_rdf(
                    atoms, (a, b), params["r_max"], params["bin_width"], params["smearing"]
                )
                r = curve.r
                arrays.set_array(f"g__{name}__{a}_{b}", curve.g)
    except ValueError as exception:
        return ExitCode(INVALID_INPUT, f"invalid RDF input: {exception}")
    arrays.set_array("r", r)
    arrays.base.attributes.set("groups", {k: list(v) for k, v in groups.items()})
    arrays.base.attributes.set("pairs", [list(p) for p in pairs])
    arrays.base.attributes.set("bin_width", float(params["bin_width"]))
    return arrays


def rdf_curves(arrays: orm.ArrayData, pair: tuple[str, str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(r, {group: g(r)}) of one pair from the output of :func:`partial_rdf`."""
    a, b = pair
    groups = arrays.base.attributes.get("groups")
    return arrays.get_array("r"), {name: arrays.get_array(f"g__{name}__{a}_{b}") for name in groups}
