"""Tests for plane spacings, minimum supercell repetitions and the most compact supercell."""

import itertools

import numpy as np
import pytest

from aiida_lps.science.supercell import compact_supercell, image_distance, minimum_repetitions, plane_spacings

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


FCC_A = 5.71  # Å, Li2S


def _fcc_primitive(a: float = FCC_A) -> np.ndarray:
    return np.array([[0.0, a / 2, a / 2], [a / 2, 0.0, a / 2], [a / 2, a / 2, 0.0]])


def test_image_distance_is_the_shortest_lattice_vector_of_a_skewed_cell():
    """A cell given by long, skewed vectors (the same lattice as the fcc primitive cell) still has its images at
    a/√2: the cell is reduced first."""
    skewed = np.array([[3, 1, 1], [5, 2, 1], [7, 3, 2]]) @ _fcc_primitive()  # det 1: the same lattice
    assert np.linalg.norm(skewed, axis=1).min() > 10.0
    assert image_distance(skewed) == pytest.approx(FCC_A / np.sqrt(2))


def test_number_of_superlattices_enumerated():
    """Every sublattice of index n of Z³ once: 1, 7, 13, 35, 31, 91, 57, 155 (the sum over d|n of d·σ(d))."""
    from aiida_lps.science.supercell import _hermite_normal_forms

    assert [sum(1 for _ in _hermite_normal_forms(n)) for n in range(1, 9)] == [1, 7, 13, 35, 31, 91, 57, 155]


@pytest.mark.parametrize(
    ("n_cells", "expected"),
    [
        (4, FCC_A),  # the conventional cube
        (8, 2 * FCC_A / np.sqrt(2)),  # 2×2×2 primitive: an fcc superlattice
        (16, FCC_A * np.sqrt(3)),  # a bcc superlattice: images at √3 a
        (20, None),  # the Li2S cell of the XAS size series: beyond 10 Å with 60 atoms
        (27, 3 * FCC_A / np.sqrt(2)),
    ],
)
def test_compact_supercell_of_fcc(n_cells, expected):
    matrix, distance = compact_supercell(_fcc_primitive(), n_cells)
    supercell = matrix @ _fcc_primitive()
    assert matrix.dtype.kind == "i" and round(np.linalg.det(matrix)) == n_cells  # right size, right handedness
    assert distance == pytest.approx(image_distance(supercell))
    if expected is None:
        assert distance > 10.0 > image_distance(compact_supercell(_fcc_primitive(), 16)[0] @ _fcc_primitive())
    else:
        assert distance == pytest.approx(expected)
    # reduced: no supercell vector longer than needed, so plane spacings are close to the image distance
    assert plane_spacings(supercell).min() > 0.75 * distance
    # never worse than repeating the cell vectors with the same number of cells
    cube = round(n_cells ** (1 / 3))
    if cube**3 == n_cells:
        assert distance >= image_distance(cube * _fcc_primitive()) - 1e-9


def test_compact_supercell_rejects_a_bad_size():
    with pytest.raises(ValueError, match="positive integer"):
        compact_supercell(_fcc_primitive(), 0)
    with pytest.raises(ValueError, match="positive integer"):
        compact_supercell(_fcc_primitive(), 2.5)
