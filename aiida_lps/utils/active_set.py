"""Readers of the active-set node of ``lps.mlip.train`` (``ArrayData``: MaxVol active set and grade map per element).

The node carries the attribute ``model`` (``snap`` when absent: older nodes) and ``<model>_settings``; the arrays are
read by :mod:`aiida_lps.engines.lammps.mlip.models`.
"""

from __future__ import annotations

import numpy as np
from aiida import orm

from aiida_lps.engines.lammps.mlip import models
from aiida_lps.engines.lammps.mlip.pod import PodSettings
from aiida_lps.engines.lammps.mlip.snap import SnapSettings

__all__ = ("active_set_grade_maps", "active_set_settings", "find_active_set", "validate_active_set")


def active_set_settings(active_set: orm.ArrayData) -> tuple[str, dict | None]:
    """``(model, settings dictionary)`` of an active-set node of ``lps.mlip.train``: the attribute ``model`` (``snap``
    when absent: older nodes) and its ``<model>_settings`` attribute (``None`` if missing)."""
    model = active_set.base.attributes.get("model", "snap")
    return model, active_set.base.attributes.get(f"{model}_settings", None)


def active_set_grade_maps(
    active_set: orm.ArrayData,
) -> tuple[SnapSettings | PodSettings, list[np.ndarray], list[int]]:
    """Model settings, per-element grade maps (type order) and descriptor columns stored in an active-set node.

    An element without training rows gets a grade map that gives every atom of it γ = 10⁶ (pure extrapolation).
    """
    model, stored = active_set_settings(active_set)
    settings = models.model_settings(model, stored)
    columns = [int(c) for c in active_set.get_array("columns")]
    arrays = {name: active_set.get_array(name) for name in active_set.get_arraynames() if name.endswith("_grade_map")}
    return settings, models.grade_maps(settings.elements, columns, arrays), columns


def validate_active_set(active_set: orm.ArrayData, potential) -> str | None:
    """A message if ``active_set`` is not an active set of ``lps.mlip.train`` for the elements of ``potential``."""
    model, settings = active_set_settings(active_set)
    if settings is None:
        return f"the active set carries no `{model}_settings` attribute (it must come from lps.mlip.train)"
    if list(settings["elements"]) != list(potential.elements):
        return f"active set elements {settings['elements']} differ from the potential's {potential.elements}"
    return None


def find_active_set(potential: orm.Data) -> orm.ArrayData | None:
    """The active set made together with ``potential`` (the ``active_set`` output of the ``lps.mlip.train``
    calculation that created it; ``lps.mlip.active_learning`` returns those two nodes), else ``None``."""
    creator = potential.creator if potential.is_stored else None
    if creator is None or "active_set" not in creator.outputs:
        return None
    candidate = creator.outputs.active_set
    return candidate if validate_active_set(candidate, potential) is None else None
