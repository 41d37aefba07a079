"""Γ-centred Monkhorst-Pack meshes from a k-point spacing (no AiiDA import)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ("mesh_from_spacing",)


def mesh_from_spacing(cell: np.ndarray, spacing: float) -> tuple[int, int, int]:
    """Smallest mesh whose spacing along every reciprocal vector is at most ``spacing`` (Å⁻¹, 2π included).

    ``cell`` has the lattice vectors as rows (Å); n_i = max(1, ceil(|b_i| / spacing)) with b = 2π (A⁻¹)ᵀ, the
    convention of VASP's KSPACING and of aiida-quantumespresso's ``kpoints_distance``.
    """
    if not spacing > 0:
        raise ValueError(f"k-point spacing must be positive (1/Å), got {spacing}")
    reciprocal = 2.0 * math.pi * np.linalg.inv(np.asarray(cell, dtype=float)).T
    lengths = np.linalg.norm(reciprocal, axis=1)
    return tuple(max(1, math.ceil(length / spacing - 1e-9)) for length in lengths)
