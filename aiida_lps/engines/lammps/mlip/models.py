"""The linear MLIPs that ``lps.mlip.train`` fits, by name (``snap``, ``pod``); no AiiDA import.

One table from a model name to its settings class, descriptor calculator, potential files and pair commands, read by
the fit script (:mod:`~aiida_lps.engines.lammps.mlip.fit`), the fit parser and the active-set readers.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping

import numpy as np

from aiida_lps.engines.lammps.mlip import pod, snap
from aiida_lps.engines.lammps.mlip.settings import pair_lines as _pair_lines

__all__ = (
    "MODELS",
    "description",
    "descriptor_calculator",
    "grade_maps",
    "model_settings",
    "pair_arguments",
    "pair_lines",
    "potential_filenames",
    "write_potential_files",
)

MODELS = ("snap", "pod")
_SETTINGS = {"snap": snap.SnapSettings, "pod": pod.PodSettings}
#: Potential files of each model, in the order the fit script lists them.
_FILENAMES = {
    "snap": (snap.COEFF_FILENAME, snap.PARAM_FILENAME),
    "pod": (pod.POD_PARAM_FILENAME, pod.POD_COEFF_FILENAME),
}


def _checked(model: str) -> str:
    if model not in _SETTINGS:
        raise ValueError(f"unknown model {model!r}; known: {list(MODELS)}")
    return model


def model_settings(model: str, data: Mapping, *, drop_unknown: bool = False) -> snap.SnapSettings | pod.PodSettings:
    """Settings of ``model`` from a dictionary; ``drop_unknown`` ignores keys that are no setting (e.g. ``ridge`` in
    the hyperparameters of ``results.json``), otherwise they raise ``ValueError``."""
    cls = _SETTINGS[_checked(model)]
    if drop_unknown:
        fields = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in fields}
    return cls.from_dict(dict(data))


def descriptor_calculator(model: str, settings, groups=None):
    """The descriptor calculator of ``model`` (SNAP: with the given column groups); a context manager."""
    if _checked(model) == "pod":
        return pod.PodDescriptorCalculator(settings)
    return snap.SnapDescriptorCalculator(settings, groups=groups)


def potential_filenames(model: str) -> tuple[str, str]:
    """Names of the two potential files of ``model``."""
    return _FILENAMES[_checked(model)]


def write_potential_files(model: str, settings, coefficients: np.ndarray, comment: str, folder=".") -> list[str]:
    """Write the potential files of ``model`` (full coefficient vector) into ``folder``; return their names."""
    module = pod if _checked(model) == "pod" else snap
    texts = {
        pod.POD_COEFF_FILENAME if model == "pod" else snap.COEFF_FILENAME: module.coefficient_file(
            settings, coefficients, comment
        ),
        pod.POD_PARAM_FILENAME if model == "pod" else snap.PARAM_FILENAME: module.parameter_file(settings),
    }
    for name, text in texts.items():
        (pathlib.Path(folder) / name).write_text(text)
    return list(potential_filenames(model))


def pair_arguments(model: str, settings) -> dict:
    """``pair_style`` and ``pair_coeff`` templates of the fitted potential (for ``InteratomicPotentialData``)."""
    return (pod if _checked(model) == "pod" else snap).pair_arguments(settings)


def pair_lines(model: str, settings, folder=".") -> list[str]:
    """LAMMPS pair commands of the potential files of ``model`` in ``folder`` (absolute paths, settings' type order)."""
    return _pair_lines(pair_arguments(model, settings), settings.elements, potential_filenames(model), folder)


def description(model: str, settings) -> str:
    """One-line description of the fitted model, e.g. ``SNAP (element-resolved, linear)``."""
    if _checked(model) == "pod":
        return "POD (linear, one environment cluster)"
    return "SNAP (element-resolved, linear)" if settings.chemflag else "SNAP (linear)"


def grade_maps(elements, columns, arrays: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """Per-element grade maps (type order) from the arrays of an active set (``<element>_grade_map``).

    An element without training rows gets a grade map that gives every atom of it γ = 10⁶ (pure extrapolation).
    """
    maps = []
    for element in elements:
        if f"{element}_grade_map" in arrays:
            maps.append(np.asarray(arrays[f"{element}_grade_map"]))
        else:
            unseen = np.zeros((1 + len(columns), 1))
            unseen[0, 0] = 1e6
            maps.append(unseen)
    return maps
