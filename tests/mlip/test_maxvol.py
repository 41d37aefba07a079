"""MaxVol active set, extrapolation grade and select-add against their definitions (pure NumPy)."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_lps.science.mlip.maxvol import ActiveSet, build_active_set, grade, maxvol, select_add


def _brute_force_grade(active: np.ndarray, row: np.ndarray) -> float:
    """max_j |det A_j(b)| / |det A|: the factor by which |det A| changes when row j is replaced by b."""
    base = abs(np.linalg.det(active))
    values = []
    for j in range(len(active)):
        replaced = active.copy()
        replaced[j] = row
        values.append(abs(np.linalg.det(replaced)) / base)
    return max(values)


def test_grade_equals_brute_force_definition():
    rng = np.random.default_rng(0)
    for size in (2, 3, 5):
        active = rng.normal(size=(size, size))
        rows = rng.normal(size=(7, size)) * 3
        expected = [_brute_force_grade(active, row) for row in rows]
        np.testing.assert_allclose(grade(rows, np.linalg.inv(active)), expected, rtol=1e-10)


def test_maxvol_increases_determinant_and_bounds_coefficients():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(60, 6))
    start = np.arange(6)
    chosen = maxvol(rows, initial=start)
    assert abs(np.linalg.det(rows[chosen])) > abs(np.linalg.det(rows[start]))
    # at the optimum no row can raise |det A| any further: every coefficient |(X A^-1)_ij| <= 1
    assert np.abs(rows @ np.linalg.inv(rows[chosen])).max() <= 1.0 + 1e-6
    # from the QR start too
    assert np.abs(rows @ np.linalg.inv(rows[maxvol(rows)])).max() <= 1.0 + 1e-6


def test_training_rows_have_gamma_at_most_one_and_subspace_is_exact_at_full_rank():
    rng = np.random.default_rng(2)
    training = np.hstack([np.ones((40, 1)), rng.normal(size=(40, 4)) * [1, 10, 0.1, 3]])
    active = build_active_set(training)
    assert active.rank == 5
    assert active.grade(training).max() <= 1.0 + 1e-6
    # a configuration copied from the training set interpolates
    copied = training[[3, 17, 25]]
    assert active.grade(copied).max() <= 1.0 + 1e-6
    # full rank: the projected grade equals the plain definition with the active rows
    new = np.hstack([np.ones((5, 1)), rng.normal(size=(5, 4)) * 5])
    np.testing.assert_allclose(active.grade(new), grade(new, np.linalg.inv(active.rows)), rtol=1e-8)
    assert active.grade(new).max() > 1.0


def test_rank_deficient_training_uses_the_spanned_subspace():
    rng = np.random.default_rng(3)
    basis = rng.normal(size=(3, 8))
    training = rng.normal(size=(20, 3)) @ basis  # rank 3 in 8 dimensions
    active = build_active_set(training)
    assert active.rank == 3
    assert active.grade(training).max() <= 1.0 + 1e-6
    stored = ActiveSet.from_arrays(active.to_arrays("Li"), "Li")
    np.testing.assert_allclose(stored.grade_map, active.grade_map)


def test_select_add_picks_owners_and_skips_interpolating_candidates():
    rng = np.random.default_rng(4)
    training = np.hstack([np.ones((30, 1)), rng.normal(size=(30, 3))])
    active = {"Li": build_active_set(training)}
    inside = {"Li": training[:4] * 0.5 + training[4:8] * 0.5}  # interpolating configuration
    far = {"Li": np.hstack([np.ones((3, 1)), rng.normal(size=(3, 3)) * 20])}
    twin = {"Li": far["Li"] * (1 + 1e-9)}  # near-duplicate of `far`
    other = {"Li": np.hstack([np.ones((2, 1)), -rng.normal(size=(2, 3)) * 20])}
    result = select_add(active, [inside, far, twin, other], gammas=np.array([0.9, 30.0, 30.0, 25.0]))
    assert result.selected, "extrapolating candidates must be selected"
    assert 0 not in result.selected
    assert len(set(result.selected) & {1, 2}) == 1  # a diverse subset: one of the twins, not both
    assert len(result.owners) == len(result.selected) and all(owned > 0 for owned in result.owners)
    assert sum(result.owners) <= active["Li"].rank  # owners count rows of the (rank-sized) updated active set
    capped = select_add(active, [inside, far, twin, other], max_select=1)
    assert len(capped.selected) == 1 and capped.n_owning >= 1


def test_maxvol_rejects_too_few_rows():
    with pytest.raises(ValueError, match="at least as many rows"):
        maxvol(np.ones((2, 3)))
