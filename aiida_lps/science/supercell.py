"""Supercell sizing from perpendicular plane spacings (valid for triclinic cells). Lengths in Å."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["minimum_repetitions", "plane_spacings"]


def _cell(cell: np.ndarray) -> np.ndarray:
    """Validate a 3x3 non-singular cell (rows = lattice vectors, Å)."""
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape != (3, 3):
        raise ValueError(f"cell must be a 3x3 matrix (rows = lattice vectors), got shape {cell.shape}")
    if not np.all(np.isfinite(cell)) or abs(np.linalg.det(cell)) < 1e-12:
        raise ValueError("cell must be finite and non-singular")
    return cell


def plane_spacings(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell, h_i = V / |a_j × a_k|, in Å (shape (3,)).

    :param cell: 3x3 cell in Å, rows are the lattice vectors a_1, a_2, a_3.
    """
    cell = _cell(cell)
    volume = abs(np.linalg.det(cell))
    areas = np.array([np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)])
    return volume / areas


def minimum_repetitions(cell: np.ndarray, min_width: float) -> tuple[int, int, int]:
    """Smallest (n1, n2, n3) such that every plane spacing of the n1 x n2 x n3 supercell is ≥ ``min_width``.

    Repeating lattice vector i n_i times scales the plane spacing h_i by exactly n_i, so n_i = ceil(w / h_i).

    :param cell: 3x3 cell in Å, rows are the lattice vectors.
    :param min_width: minimum perpendicular width in Å (e.g. 2 x interaction cutoff).
    """
    if not (min_width > 0 and math.isfinite(min_width)):
        raise ValueError(f"min_width must be a positive finite length in Å, got {min_width}")
    spacings = plane_spacings(cell)
    # Small relative tolerance so that an exact multiple is not bumped up by rounding.
    reps = [max(1, math.ceil(min_width / h * (1.0 - 1e-12))) for h in spacings]
    return reps[0], reps[1], reps[2]
