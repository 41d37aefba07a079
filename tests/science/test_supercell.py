"""Tests for plane spacings and minimum supercell repetitions."""

import itertools

import numpy as np
import pytest

from aiida_lps.science.supercell import minimum_repetitions, plane_spacings

CELLS = {
    "cubic": np.eye(3) * 9.8,
    "orthorhombic": np.diag([8.7, 8.7, 12.6]),
    "triclinic": np.array([[10.0, 0.0, 0.0], [7.0, 6.0, 0.0], [-4.5, 3.5, 7.0]]),
}


def brute_spacings(cell: np.ndarray) -> np.ndarray:
    """Face distances as 1/|b_i| with b_i the reciprocal vectors (no 2π); independent of V/|a_j×a_k|."""
    reciprocal = np.linalg.inv(cell).T
    return 1.0 / np.linalg.norm(reciprocal, axis=1)


def brute_min_width(cell: np.ndarray) -> float:
    """Smallest face distance: each lattice vector projected on the unit normal of the other two."""
    widths = []
    for i in range(3):
        normal = np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])
        widths.append(abs(cell[i] @ normal) / np.linalg.norm(normal))
    return min(widths)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_plane_spacings(name):
    cell = CELLS[name]
    np.testing.assert_allclose(plane_spacings(cell), brute_spacings(cell), rtol=1e-12)


def test_known_values():
    np.testing.assert_allclose(plane_spacings(CELLS["cubic"]), [9.8] * 3)
    np.testing.assert_allclose(plane_spacings(CELLS["orthorhombic"]), [8.7, 8.7, 12.6])
    assert minimum_repetitions(CELLS["cubic"], 20.0) == (3, 3, 3)
    assert minimum_repetitions(CELLS["cubic"], 19.6) == (2, 2, 2)  # exact multiple is not bumped up
    assert minimum_repetitions(CELLS["orthorhombic"], 25.0) == (3, 3, 2)
    assert minimum_repetitions(CELLS["orthorhombic"], 1.0) == (1, 1, 1)


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("width", [5.0, 12.0, 20.0, 31.5])
def test_minimum_repetitions_brute_force(name, width):
    cell = CELLS[name]
    reps = minimum_repetitions(cell, width)
    supercell = np.diag(reps) @ cell
    assert brute_min_width(supercell) >= width - 1e-9
    # one repeat fewer along any axis is too thin along that axis
    for axis in range(3):
        if reps[axis] > 1:
            smaller = list(reps)
            smaller[axis] -= 1
            assert brute_spacings(np.diag(smaller) @ cell)[axis] < width
    # and no valid repetition has fewer cells
    valid = [n for n in itertools.product(range(1, 12), repeat=3) if brute_min_width(np.diag(n) @ cell) >= width - 1e-9]
    assert np.prod(reps) == min(np.prod(n) for n in valid)


def test_triclinic_differs_from_lengths():
    """For the skewed cell the face distances are much smaller than the vector lengths."""
    cell = CELLS["triclinic"]
    assert np.all(plane_spacings(cell) < np.linalg.norm(cell, axis=1))
    naive = tuple(int(np.ceil(20.0 / length)) for length in np.linalg.norm(cell, axis=1))
    assert minimum_repetitions(cell, 20.0) != naive


def test_bad_input():
    with pytest.raises(ValueError, match="3x3"):
        plane_spacings(np.eye(2))
    with pytest.raises(ValueError, match="singular"):
        plane_spacings(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="min_width"):
        minimum_repetitions(np.eye(3), -1.0)
