"""Configurations for training and testing: rattled and strained copies of a structure, and data splits."""

from __future__ import annotations

import numpy as np

__all__ = ("perturbed_copies", "split_indices", "strained_cell")


def strained_cell(cell: np.ndarray, strain: float) -> np.ndarray:
    """Cell rows (Å) scaled isotropically by (1 + ``strain``), e.g. ±0.05 for the ±5 % cells of Jalem et al. 2023,
    doi:10.1039/d3ya00234a."""
    return np.asarray(cell, dtype=float) * (1.0 + float(strain))


def perturbed_copies(
    positions: np.ndarray,
    cell: np.ndarray,
    count: int,
    rattle: float = 0.1,
    strain: float = 0.03,
    seed: int = 0,
    min_distance: float | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` copies with Gaussian displacements and a random symmetric strain.

    :param positions: (N, 3) Å. :param cell: (3, 3) cell rows in Å.
    :param rattle: standard deviation of each displacement component (Å).
    :param strain: maximum magnitude of each component of the symmetric strain tensor (uniform in ±strain).
    :param min_distance: reject (and redraw, up to 100 times) copies with two atoms closer than this (Å).
    :returns: list of (positions, cell) pairs.
    :raises ValueError: when 100 draws in a row all put two atoms closer than ``min_distance``.
    """
    rng = np.random.default_rng(seed)
    positions = np.asarray(positions, dtype=float)
    cell = np.asarray(cell, dtype=float)
    fractional = positions @ np.linalg.inv(cell)
    copies = []
    for _ in range(count):
        for _attempt in range(100):
            eps = rng.uniform(-strain, strain, (3, 3))
            eps = 0.5 * (eps + eps.T)
            new_cell = cell @ (np.eye(3) + eps)
            new_positions = fractional @ new_cell + rng.normal(0.0, rattle, positions.shape)
            if min_distance is None or _min_distance(new_positions, new_cell) >= min_distance:
                break
        else:
            raise ValueError(
                f"100 perturbed copies in a row put two atoms closer than min_distance = {min_distance} Å "
                f"(rattle {rattle} Å, strain {strain}; closest pair of the input: "
                f"{_min_distance(positions, cell):.3f} Å): lower the rattle or min_distance"
            )
        copies.append((new_positions, new_cell))
    return copies


def _min_distance(positions: np.ndarray, cell: np.ndarray) -> float:
    """Smallest interatomic distance under periodic boundary conditions (Å), including periodic images."""
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ cell
    diff = positions[:, None, None, :] - positions[None, :, None, :] + shifts[None, None, :, :]
    dist = np.linalg.norm(diff, axis=-1)
    n = len(positions)
    dist[np.arange(n), np.arange(n), 13] = np.inf  # the atom itself (zero shift is index 13)
    return float(dist.min())


def split_indices(n: int, validation_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation split of ``n`` items (90:10 by default); at least one item on each side when n ≥ 2."""
    if n < 1:
        raise ValueError("nothing to split")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = int(round(validation_fraction * n))
    if n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    else:
        n_val = 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])
