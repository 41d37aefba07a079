"""Weighted ridge fits of linear models: recovery of a known model, refusal/regularisation when under-determined."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aiida_lps.science.mlip.linear import (
    ConfigurationData,
    FitWeights,
    UnderdeterminedFitError,
    fit,
    metrics,
    weighted_score,
)
from aiida_lps.science.mlip.sampling import _min_distance, perturbed_copies, split_indices


def _synthetic(n_configs: int, n_features: int, theta: np.ndarray, seed: int = 0, noise: float = 0.0):
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n_configs):
        n_atoms = int(rng.integers(2, 6))
        species = rng.choice(["Li", "S"], n_atoms)
        counts = [np.count_nonzero(species == "Li"), np.count_nonzero(species == "S")]
        energy_row = np.concatenate([counts, rng.normal(size=n_features - 2) * n_atoms])
        force_rows = rng.normal(size=(3 * n_atoms, n_features))
        force_rows[:, :2] = 0.0  # constants do not act on forces
        stress_rows = rng.normal(size=(6, n_features)) * 0.01
        stress_rows[:, :2] = 0.0
        configs.append(
            ConfigurationData(
                energy_row=energy_row,
                force_rows=force_rows,
                stress_rows=stress_rows,
                energy=float(energy_row @ theta) + noise * rng.normal(),
                forces=force_rows @ theta + noise * rng.normal(size=3 * n_atoms),
                stress=stress_rows @ theta,
                species=list(species),
            )
        )
    return configs


def test_fit_recovers_known_linear_model():
    theta = np.array([-1.9, -4.2, 0.3, -0.7, 1.1, 0.05])
    configs = _synthetic(30, len(theta), theta)
    result = fit(configs, FitWeights(), ridge=0.0, unpenalised=[0, 1])
    np.testing.assert_allclose(result.coefficients, theta, atol=1e-8)
    assert not result.regularised and result.rank == len(theta)
    errors = metrics(configs, result.coefficients)
    assert errors["force_mae_eV_per_A"] < 1e-8 and errors["energy_mae_meV_per_atom"] < 1e-6
    assert set(errors["force_mae_per_species_eV_per_A"]) == {"Li", "S"}
    assert errors["parity"]["force_reference"].shape == errors["parity"]["force_predicted"].shape


def test_underdetermined_fit_is_refused_without_ridge_and_regularised_with_it():
    theta = np.random.default_rng(5).normal(size=200)
    configs = _synthetic(2, len(theta), theta)  # a few dozen rows for 200 coefficients
    with pytest.raises(UnderdeterminedFitError, match=r"under-determined fit: 2 configurations .* \(ridge > 0\)"):
        fit(configs, ridge=0.0)
    result = fit(configs, ridge=1e-3, unpenalised=[0, 1])
    assert result.regularised and "regularised by ridge" in result.message
    assert np.all(np.isfinite(result.coefficients))


def test_configuration_weight_equals_repeating_its_rows():
    """Weight w on a configuration is the same least-squares problem as its rows repeated w² times."""
    theta = np.array([-1.9, -4.2, 0.3, -0.7, 1.1, 0.05])
    configs = _synthetic(12, len(theta), theta, noise=0.05)
    heavy = dataclasses.replace(configs[0], weight=2.0)
    weighted = fit([heavy, *configs[1:]], FitWeights(), ridge=0.0)
    repeated = fit([configs[0]] * 4 + configs[1:], FitWeights(), ridge=0.0)
    np.testing.assert_allclose(weighted.coefficients, repeated.coefficients, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="weights must be positive"):
        fit([dataclasses.replace(configs[0], weight=0.0), *configs[1:]])


def test_weighted_score_is_the_mae_sum_and_discounts_light_configurations():
    theta = np.array([-1.9, -4.2, 0.3, -0.7, 1.1, 0.05])
    configs = _synthetic(10, len(theta), theta, noise=0.05)
    weights = FitWeights()
    errors = metrics(configs, theta)
    expected = (
        errors["energy_mae_meV_per_atom"] / 1000 / weights.energy
        + errors["force_mae_eV_per_A"] / weights.force
        + errors["stress_mae_GPa"] / 160.21766208 / weights.stress
    )
    assert weighted_score(configs, theta, weights) == pytest.approx(expected, rel=1e-12)
    wrong = dataclasses.replace(configs[0], energy=configs[0].energy + 50.0)  # a frame far off the model
    loud = weighted_score([wrong, *configs[1:]], theta, weights)
    quiet = weighted_score([dataclasses.replace(wrong, weight=0.01), *configs[1:]], theta, weights)
    assert quiet < loud / 10


def test_noisy_fit_errors_match_noise_and_split_is_90_10():
    theta = np.array([-2.0, -3.0, 0.4, 0.2, -0.1])
    configs = _synthetic(200, len(theta), theta, seed=3, noise=0.01)
    train, val = split_indices(len(configs), 0.1, seed=0)
    assert len(val) == 20 and len(train) == 180 and not set(train) & set(val)
    result = fit([configs[i] for i in train], ridge=1e-8, unpenalised=[0, 1])
    errors = metrics([configs[i] for i in val], result.coefficients)
    assert errors["force_mae_eV_per_A"] == pytest.approx(0.008, rel=0.3)  # E|N(0, 0.01)| = 0.008


def test_perturbed_copies_respect_minimum_distance():
    # atoms 1.75 Å apart: a rattle of 0.2 Å often pushes them under 1.7 Å, so rejection has to happen
    cell = np.eye(3) * 4.0
    positions = np.array([[0, 0, 0], [1.75, 0, 0], [2.0, 2.0, 2.0]])
    unfiltered = perturbed_copies(positions, cell, 40, rattle=0.2, strain=0.05, seed=1)
    assert min(_min_distance(*copy) for copy in unfiltered) < 1.7  # the filter below is not vacuous
    copies = perturbed_copies(positions, cell, 5, rattle=0.2, strain=0.05, seed=1, min_distance=1.7)
    assert len(copies) == 5
    for new_positions, new_cell in copies:
        assert np.abs(new_cell - cell).max() <= 0.05 * 4.0 + 1e-12
        assert not np.allclose(new_positions, positions)
        assert _min_distance(new_positions, new_cell) >= 1.7


def test_perturbed_copies_raise_when_the_minimum_distance_cannot_be_met():
    cell = np.eye(3) * 4.0
    positions = np.array([[0, 0, 0], [1.0, 0, 0]])  # 1.0 Å apart, minimum asked 2.0 Å
    with pytest.raises(ValueError, match="closer than min_distance = 2.0"):
        perturbed_copies(positions, cell, 3, rattle=0.05, strain=0.01, seed=0, min_distance=2.0)


def test_min_distance_counts_periodic_images():
    cell = np.eye(3) * 4.0
    positions = np.array([[0.2, 0, 0], [3.9, 0, 0]])  # 3.7 Å apart in the cell, 0.3 Å through the boundary
    assert _min_distance(positions, cell) == pytest.approx(0.3)
