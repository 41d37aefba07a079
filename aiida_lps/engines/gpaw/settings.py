"""GPAW run parameters (the ``parameters.json`` of :mod:`aiida_lps.engines.gpaw.runner`) from protocol inputs."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np

from aiida_lps.science.kpoints import mesh_from_spacing

__all__ = ("TASKS", "gpaw_parameters", "safer_mixing")

TASKS = ("single_point", "relax")
LCAO_BASIS = "dzp"  # the basis sets gpaw-data ships


def gpaw_parameters(task: str, cell: np.ndarray, protocol_inputs: Mapping) -> dict:
    """Return the runner parameters for ``task`` from protocol inputs.

    ``protocol_inputs`` holds ``calculator`` (GPAW keywords; ``mode`` as ``{"name": "pw", "ecut": eV}`` or
    ``{"name": "lcao"}``), ``kpoint_spacing`` (Å⁻¹, 2π included; Γ-centred mesh) and ``relax`` settings. The GPAW
    engine's builder sets ``calculator.kpts`` from aiida's ``KpointsData`` density mesh before calling this; the
    spacing is turned into a mesh here (:func:`~aiida_lps.science.kpoints.mesh_from_spacing`, the same rule) only
    for the scripts that run without an AiiDA profile.
    """
    if task not in TASKS:
        raise ValueError(f"unknown GPAW task {task!r}; available: {TASKS}")
    calculator = copy.deepcopy(dict(protocol_inputs["calculator"]))
    if "kpts" not in calculator:
        spacing = protocol_inputs.get("kpoint_spacing")
        if spacing is None:
            raise ValueError("give either calculator.kpts or kpoint_spacing (1/Å)")
        calculator["kpts"] = {"size": list(mesh_from_spacing(cell, float(spacing))), "gamma": True}
    if is_lcao(calculator):
        calculator["basis"] = LCAO_BASIS
    parameters = {"task": task, "calculator": calculator, "magmoms": protocol_inputs.get("magmoms")}
    if task == "relax":
        parameters["relax"] = dict(protocol_inputs.get("relax", {}))
    return parameters


def is_lcao(calculator: Mapping) -> bool:
    """Whether the calculator settings ask for GPAW's LCAO mode (cheap, no stress)."""
    mode = calculator.get("mode", {})
    return (mode.get("name") if isinstance(mode, Mapping) else mode) == "lcao"


def safer_mixing(parameters: Mapping) -> dict:
    """Return ``parameters`` with a slower density mixer and more SCF iterations (for an SCF that did not converge)."""
    safer = copy.deepcopy(dict(parameters))
    calculator = safer["calculator"]
    calculator["mixer"] = {"beta": 0.02, "nmaxold": 5, "weight": 100.0}
    calculator["maxiter"] = max(int(calculator.get("maxiter", 333)) * 2, 500)
    return safer
