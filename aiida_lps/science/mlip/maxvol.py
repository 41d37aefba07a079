"""D-optimality active sets and the extrapolation grade of a linear model (MTP/ACE MaxVol construction).

For a linear potential the row of atom i is b_i = [1, B_i] in the block of its element (the gradient of the
atom's energy with respect to that element's coefficients). An *active set* is a square matrix A of r rows taken
from the training rows whose |det A| is (locally) maximal; the extrapolation grade of a row b is

    γ(b) = max_j |(b A⁻¹)_j|,

i.e. the largest factor by which |det A| would grow if b replaced an active row (Cramer's rule). γ ≤ 1 means the
neighbourhood interpolates the training set; γ > 1 extrapolates.

When the training rows do not span the full row space (fewer training atoms than coefficients, or linearly
dependent descriptors) the grade is computed in the r-dimensional subspace they span: rows are standardised
column-wise and projected on the leading right singular vectors (singular values above ``rank_tol`` · s_max). With a
full-rank training set the projection is an invertible change of basis and γ is exactly the full-space grade.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ("ActiveSet", "build_active_set", "grade", "maxvol", "select_add", "SelectionResult")

#: MaxVol stops when no coefficient exceeds this (swapping would raise |det A| by less than 1e-7).
MAXVOL_TOLERANCE = 1.0000001


def maxvol(
    rows: np.ndarray, initial: np.ndarray | None = None, tol: float = MAXVOL_TOLERANCE, max_swaps: int = 10000
) -> np.ndarray:
    """Indices of ``r`` rows of ``rows`` (n × r, n ≥ r, rank r) whose square submatrix has locally maximal |det|.

    Starts from ``initial`` (r distinct row indices with a non-singular submatrix) or from the pivots of a QR
    decomposition with column pivoting of ``rowsᵀ``; then swaps the active row j for row i while
    max |(rows A⁻¹)_ij| > ``tol`` (each swap multiplies |det A| by that value).
    """
    import scipy.linalg

    rows = np.asarray(rows, dtype=float)
    n, r = rows.shape
    if n < r:
        raise ValueError(f"maxvol needs at least as many rows as columns, got {n} × {r}")
    if initial is None:
        _, _, pivots = scipy.linalg.qr(rows.T, pivoting=True, mode="economic")
        active = np.array(pivots[:r])
    else:
        active = np.array(initial, dtype=int)
        if active.shape != (r,) or len(set(active.tolist())) != r:
            raise ValueError(f"`initial` must hold {r} distinct row indices")
    inverse = np.linalg.inv(rows[active])
    coefficients = rows @ inverse  # (n, r): row i in the basis of the active rows
    for _ in range(max_swaps):
        i, j = np.unravel_index(np.argmax(np.abs(coefficients)), coefficients.shape)
        if abs(coefficients[i, j]) <= tol:
            break
        # Sherman-Morrison rank-one update of rows @ A^-1 after replacing active row j by row i
        column = coefficients[:, j].copy()
        row = coefficients[i].copy()
        row[j] -= 1.0
        coefficients -= np.outer(column / coefficients[i, j], row)
        active[j] = i
    return active


def grade(rows: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """γ of each row: max_j |(rows @ A⁻¹)_j| for rows already in the active set's (projected) coordinates."""
    return np.abs(np.asarray(rows, dtype=float) @ inverse).max(axis=1)


@dataclasses.dataclass
class ActiveSet:
    """Active set of one element.

    :ivar projection: (m, r) map from full rows [1, B] to the subspace coordinates (column scaling included).
    :ivar rows: (r, m) the active rows in full coordinates.
    :ivar inverse: (r, r) inverse of the active rows in subspace coordinates, A⁻¹ = (rows @ projection)⁻¹.
    """

    projection: np.ndarray
    rows: np.ndarray
    inverse: np.ndarray

    @property
    def rank(self) -> int:
        """Dimension r of the active set."""
        return self.inverse.shape[0]

    @property
    def grade_map(self) -> np.ndarray:
        """(m, r) matrix G = P A⁻¹ with γ(b) = max_j |(b G)_j| for full rows b (what LAMMPS evaluates)."""
        return self.projection @ self.inverse

    def grade(self, full_rows: np.ndarray) -> np.ndarray:
        """γ of full rows [1, B] (n, m)."""
        return grade(np.asarray(full_rows, dtype=float) @ self.projection, self.inverse)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays ``<prefix>_projection``, ``_rows``, ``_inverse`` for storage."""
        return {f"{prefix}_projection": self.projection, f"{prefix}_rows": self.rows, f"{prefix}_inverse": self.inverse}

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> ActiveSet:
        """Inverse of :meth:`to_arrays` (``arrays`` maps names to arrays)."""
        return cls(arrays[f"{prefix}_projection"], arrays[f"{prefix}_rows"], arrays[f"{prefix}_inverse"])


def build_active_set(full_rows: np.ndarray, rank_tol: float = 1e-6) -> ActiveSet:
    """MaxVol active set of the training rows of one element (n, m).

    Columns are scaled to unit RMS (constant columns kept), the subspace is spanned by the right singular vectors
    with singular value > ``rank_tol`` · s_max, and MaxVol picks r rows there.
    """
    full_rows = np.asarray(full_rows, dtype=float)
    if full_rows.ndim != 2 or full_rows.shape[0] == 0:
        raise ValueError("an active set needs at least one training row")
    scale = np.sqrt(np.mean(full_rows**2, axis=0))
    scale[scale == 0] = 1.0
    scaled = full_rows / scale
    _, singular, vt = np.linalg.svd(scaled, full_matrices=False)
    rank = int(np.count_nonzero(singular > rank_tol * singular[0]))
    projection = (vt[:rank].T) / scale[:, None]
    reduced = full_rows @ projection
    active = maxvol(reduced)
    inverse = np.linalg.inv(reduced[active])
    return ActiveSet(projection=projection, rows=full_rows[active].copy(), inverse=inverse)


@dataclasses.dataclass
class SelectionResult:
    """Outcome of :func:`select_add`.

    :ivar selected: indices of the selected candidate configurations (by number of active rows owned, then γ).
    :ivar owners: for each selected configuration, how many rows of the updated active set it owns.
    :ivar n_owning: number of configurations that own at least one active row before the cap.
    """

    selected: list[int]
    owners: list[int]
    n_owning: int


def select_add(
    active_sets: dict[str, ActiveSet],
    candidates: list[dict[str, np.ndarray]],
    max_select: int | None = None,
    gammas: np.ndarray | None = None,
) -> SelectionResult:
    """Batch select-add: add all candidate rows at once, MaxVol over active ∪ candidate rows, keep owners.

    :param active_sets: element → current active set.
    :param candidates: per candidate configuration, element → its full rows [1, B] (n_e, m).
    :param max_select: cap on the number of configurations returned (``None``: all owners).
    :param gammas: per candidate its max γ, used to break ties when capping.
    :returns: the candidate configurations that own rows of the updated active sets (a diverse subset: two
        near-identical candidates cannot both own rows that one of them alone would fill).
    """
    owned = np.zeros(len(candidates), dtype=int)
    for element, active in active_sets.items():
        blocks, owner = [], []
        for index, candidate in enumerate(candidates):
            rows = candidate.get(element)
            if rows is not None and len(rows):
                blocks.append(np.asarray(rows, dtype=float) @ active.projection)
                owner.extend([index] * len(rows))
        if not blocks:
            continue
        reduced_active = active.rows @ active.projection
        stacked = np.vstack([reduced_active, *blocks])
        new_active = maxvol(stacked, initial=np.arange(active.rank))
        for row in new_active:
            if row >= active.rank:
                owned[owner[row - active.rank]] += 1
    owning = [int(i) for i in np.nonzero(owned)[0]]
    tiebreak = np.zeros(len(candidates)) if gammas is None else np.asarray(gammas, dtype=float)
    owning.sort(key=lambda i: (-owned[i], -tiebreak[i]))
    selected = owning if max_select is None else owning[:max_select]
    return SelectionResult(selected=selected, owners=[int(owned[i]) for i in selected], n_owning=len(owning))
