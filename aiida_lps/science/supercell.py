"""Supercell sizing from perpendicular plane spacings (valid for triclinic cells), and the most compact supercell of
a given size (the largest distance between periodic images). Lengths in Å."""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["compact_supercell", "image_distance", "minimum_repetitions", "plane_spacings"]


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


def image_distance(cell: np.ndarray) -> float:
    """Distance between a point and its nearest periodic image: the shortest non-zero lattice vector, in Å.

    The shortest vector of a Minkowski-reduced basis (ASE's ``minkowski_reduce``), which in 3-D is the shortest
    vector of the lattice."""
    from ase.geometry import minkowski_reduce

    reduced, _ = minkowski_reduce(_cell(cell))
    return float(np.linalg.norm(reduced, axis=1).min())


def _hermite_normal_forms(n: int):
    """Every lower-triangular Hermite normal form of determinant ``n``: each distinct superlattice of index n once.

    Rows are the supercell vectors; adding whole multiples of an earlier row leaves the lattice unchanged, so each
    entry below the diagonal is reduced modulo the diagonal entry of its column."""
    for a in range(1, n + 1):
        if n % a:
            continue
        for c in range(1, n // a + 1):
            if (n // a) % c:
                continue
            f = n // a // c
            for b, d, e in itertools.product(range(a), range(a), range(c)):
                yield np.array([[a, 0, 0], [b, c, 0], [d, e, f]])


def compact_supercell(cell: np.ndarray, n_cells: int) -> tuple[np.ndarray, float]:
    """The supercell of ``n_cells`` copies of ``cell`` whose periodic images are farthest apart.

    Core-hole (XCH) and defect calculations need a large distance between an atom and its images at the fewest
    atoms; repeating the cell vectors (``minimum_repetitions``) is often far from that: for the fcc primitive
    cell of Li2S, 3×3×3 (81 atoms) puts the images 12.1 Å apart, and the best 20-cell supercell (60 atoms) 10.7 Å.

    :param cell: 3x3 cell in Å, rows are the lattice vectors.
    :param n_cells: number of cells in the supercell (its index, ≥ 1).
    :returns: the integer matrix P (supercell vectors = P @ cell, rows; reduced, so that the supercell is as
        little skewed as the lattice allows, with det P = ``n_cells``) and the image distance in Å; ties go to the
        first matrix found, in a fixed order.
    """
    cell = _cell(cell)
    if int(n_cells) != n_cells or n_cells < 1:
        raise ValueError(f"n_cells must be a positive integer, got {n_cells}")
    best, best_distance = None, -1.0
    for matrix in _hermite_normal_forms(int(n_cells)):
        distance = image_distance(matrix @ cell)
        if distance > best_distance + 1e-9:
            best, best_distance = matrix, distance
    from ase.geometry import minkowski_reduce

    _, operation = minkowski_reduce(best @ cell)  # reduced supercell = operation @ best @ cell
    reduced = operation @ best
    return (reduced if np.linalg.det(reduced) > 0 else -reduced), best_distance  # keep the handedness of ``cell``
