"""Configurations for training and testing: rattled and strained copies of a structure, and data splits."""

from __future__ import annotations

import numpy as np

__all__ = ("compressed_contact", "contact_path", "perturbed_copies", "split_indices", "strained_cell")


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


def compressed_contact(
    positions: np.ndarray, cell: np.ndarray, symbols, first: str, second: str, distance: float
) -> tuple[np.ndarray, int, int]:
    """Positions with one ``first`` atom moved straight towards a ``second`` neighbour until the two are ``distance``
    apart: a close-contact configuration for labelling the short-range repulsion that thermal frames never reach (a
    linear MLIP is unconstrained below the data's shortest contacts and may turn attractive there).

    :param positions: (N, 3) Å. :param cell: (3, 3) rows, Å. :param symbols: N element symbols.
    :param distance: the contact distance (Å), shorter than the present one.
    :returns: (new positions (N, 3) Å, index of the moved atom, index of its partner); the pair as in
        :func:`contact_path`.
    :raises ValueError: as :func:`contact_path`.
    """
    path, moved, partner, _ = contact_path(positions, cell, symbols, first, second, [distance])
    return path[0], moved, partner


def contact_path(
    positions: np.ndarray, cell: np.ndarray, symbols, first: str, second: str, distances
) -> tuple[list[np.ndarray], int, int, float]:
    """Positions along one ``first``-``second`` contact shortened to each of ``distances`` (Å), one atom moved.

    The pair is the closest ``first``-``second`` pair (periodic images included) that can be brought to the shortest
    of ``distances`` without the moved atom coming closer than that to a third atom; every other atom stays.

    :returns: (positions (N, 3) per distance, index of the moved atom, index of its partner, present distance Å).
    :raises ValueError: when an element is missing or no pair can be brought to the distances (the message names the
        pair and the distances).
    """
    positions = np.asarray(positions, dtype=float)
    cell = np.asarray(cell, dtype=float)
    symbols = np.asarray(list(symbols))
    distances = np.asarray(distances, dtype=float).reshape(-1)
    shortest = float(distances.min())
    firsts, seconds = np.flatnonzero(symbols == first), np.flatnonzero(symbols == second)
    if not len(firsts) or not len(seconds):
        raise ValueError(f"no {first}-{second} pair: the structure holds {sorted(set(symbols.tolist()))}")
    if shortest <= 0:
        raise ValueError(f"contact distances must be positive, got {distances.tolist()}")
    shifts = _image_shifts(cell)
    vectors = positions[seconds][None, :, None, :] + shifts[None, None] - positions[firsts][:, None, None, :]
    lengths = np.linalg.norm(vectors, axis=-1)
    lengths[lengths < 1e-8] = np.inf  # an atom is not its own neighbour (first == second)
    problem = ""
    for flat in np.argsort(lengths, axis=None):
        a, b, s = np.unravel_index(flat, lengths.shape)
        present = float(lengths[a, b, s])
        if not np.isfinite(present):
            break
        if distances.max() >= present:
            problem = (
                problem or f"{first}-{second} contacts of {distances.max():g} Å are not shorter than {present:.3f} Å"
            )
            continue
        moved, partner = int(firsts[a]), int(seconds[b])
        unit = vectors[a, b, s] / present
        path = []
        for distance in distances:
            new = positions.copy()
            new[moved] += unit * (present - distance)
            path.append(new)
        nearest = path[int(np.argmin(distances))]
        others = np.delete(np.arange(len(positions)), [moved, partner])
        gaps = np.linalg.norm(nearest[others][:, None, :] + shifts[None] - nearest[moved], axis=-1).min(axis=1)
        if not len(gaps) or gaps.min() >= shortest:
            return path, moved, partner, present
        problem = problem or (
            f"moving {first}{moved} to {shortest:g} Å from {second}{partner} brings it {gaps.min():.3f} Å from "
            f"{symbols[others][np.argmin(gaps)]}{others[np.argmin(gaps)]}"
        )
    raise ValueError(f"no {first}-{second} pair can be brought to {shortest:g} Å alone: {problem}")


def _image_shifts(cell: np.ndarray) -> np.ndarray:
    """(27, 3) Cartesian shifts (Å) to the cell and its 26 neighbouring images; the zero shift is index 13."""
    return np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ cell


def _min_distance(positions: np.ndarray, cell: np.ndarray) -> float:
    """Smallest interatomic distance under periodic boundary conditions (Å), including periodic images."""
    shifts = _image_shifts(cell)
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
