"""Γ-centred Monkhorst-Pack meshes from a k-point spacing (no AiiDA import)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ("mesh_from_spacing",)


def mesh_from_spacing(cell: np.ndarray, spacing: float) -> tuple[int, int, int]:
    """Smallest mesh whose spacing along every reciprocal vector is at most ``spacing`` (Å⁻¹, 2π included).

    ``cell`` has the lattice vectors as rows (Å); ``n_i = max(1, ceil(|b_i| / spacing))`` with b = 2π (A⁻¹)ᵀ and
    ``|b_i| / spacing`` rounded to 5 decimals first. This is the rule of aiida's
    ``KpointsData.set_kpoints_mesh_from_density`` (used by the DFT builders through
    :func:`aiida_lps.dft.base.kpoints_from_spacing`) for scripts that run without an AiiDA profile, where a
    ``KpointsData`` cannot be made; ``tests/aiida/test_kpoints.py`` checks that both agree.
    """
    if not spacing > 0:
        raise ValueError(f"k-point spacing must be positive (1/Å), got {spacing}")
    reciprocal = 2.0 * math.pi * np.linalg.inv(np.asarray(cell, dtype=float)).T
    lengths = np.linalg.norm(reciprocal, axis=1)
    return tuple(max(1, math.ceil(round(float(length) / spacing, 5))) for length in lengths)  # type: ignore[return-value]
