"""Tests for the Arrhenius fits and extrapolation."""

import json
import math

import numpy as np
import pytest

from aiida_lps.science.arrhenius import (
    extrapolate,
    extrapolate_conductivity,
    fit_arrhenius,
    fit_conductivity_arrhenius,
)
from aiida_lps.science.constants import K_B_EV

EA, D0 = 0.25, 1e-3  # eV, cm²/s
TEMPS = np.array([500.0, 600.0, 700.0, 800.0, 900.0, 1000.0])
NOISE = 0.1  # relative (log-normal) noise


def synthetic(seed, noise=NOISE):
    rng = np.random.default_rng(seed)
    values = D0 * np.exp(-EA / (K_B_EV * TEMPS)) * np.exp(rng.normal(scale=noise, size=TEMPS.size))
    return values, values * noise


def test_recovers_parameters_within_three_sigma():
    values, errors = synthetic(0)
    fit = fit_arrhenius(TEMPS, values, errors)
    assert fit.weighted and fit.quantity == "D" and fit.n_points == TEMPS.size
    assert abs(fit.activation_energy - EA) < 3 * fit.activation_energy_stderr
    assert abs(fit.ln_prefactor - math.log(D0)) < 3 * fit.ln_prefactor_stderr
    assert fit.prefactor == pytest.approx(math.exp(fit.ln_prefactor))
    assert fit.activation_energy_stderr == pytest.approx(math.sqrt(fit.covariance[1][1]) * K_B_EV)
    assert 0.05 < fit.reduced_chi2 < 4.0
    json.dumps(fit.to_dict())
    unweighted = fit_arrhenius(TEMPS, values)
    assert not unweighted.weighted
    assert abs(unweighted.activation_energy - EA) < 3 * unweighted.activation_energy_stderr


def test_exact_data():
    values = D0 * np.exp(-EA / (K_B_EV * TEMPS))
    fit = fit_arrhenius(TEMPS, values, values * 0.05)
    assert fit.activation_energy == pytest.approx(EA, rel=1e-10)
    assert fit.prefactor == pytest.approx(D0, rel=1e-10)
    assert fit.reduced_chi2 == pytest.approx(0.0, abs=1e-15)
    # two points: exact fit, covariance from the errors, chi2 undefined
    two = fit_arrhenius(TEMPS[:2], values[:2], values[:2] * 0.05)
    assert two.activation_energy == pytest.approx(EA, rel=1e-10) and math.isnan(two.reduced_chi2)
    assert json.loads(json.dumps(two.to_dict(), allow_nan=False))["reduced_chi2"] is None


def test_covariance_matches_monte_carlo():
    n_rep = 500
    weighted, unweighted, ln_extrap = [], [], []
    reported_unweighted = np.zeros((2, 2))
    for seed in range(n_rep):
        values, errors = synthetic(10_000 + seed)
        fit = fit_arrhenius(TEMPS, values, errors)
        weighted.append((fit.intercept, fit.slope))
        ln_extrap.append(extrapolate(fit, 300.0)["ln_value"])
        fit_u = fit_arrhenius(TEMPS, values)
        unweighted.append((fit_u.intercept, fit_u.slope))
        reported_unweighted += np.asarray(fit_u.covariance) / n_rep
    reported = np.asarray(fit.covariance)  # identical for every repetition (errors = value * NOISE)
    for samples, cov in ((weighted, reported), (unweighted, reported_unweighted)):
        samples = np.asarray(samples)
        empirical = np.cov(samples.T)
        np.testing.assert_allclose(np.diag(empirical), np.diag(cov), rtol=0.15)
        corr_emp = empirical[0, 1] / math.sqrt(empirical[0, 0] * empirical[1, 1])
        corr_rep = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
        assert corr_emp == pytest.approx(corr_rep, abs=0.02)
        assert samples[:, 1].mean() == pytest.approx(-EA / K_B_EV, rel=0.01)
    # extrapolation to 300 K: reported ln-error equals the Monte-Carlo spread
    assert extrapolate(fit, 300.0)["ln_stderr"] == pytest.approx(np.std(ln_extrap, ddof=1), rel=0.15)


def test_extrapolation_delta_method():
    values, errors = synthetic(1)
    fit = fit_arrhenius(TEMPS, values, errors)
    out = extrapolate(fit, 300.0)
    a, b = fit.intercept, fit.slope
    cov = np.asarray(fit.covariance)
    # numerical gradient of ln y(300 K) = a + b / 300 with respect to (a, b)
    h = 1e-6
    ln_y = lambda p: p[0] + p[1] / 300.0  # noqa: E731
    grad = np.array([(ln_y((a + h, b)) - ln_y((a - h, b))) / (2 * h), (ln_y((a, b + h)) - ln_y((a, b - h))) / (2 * h)])
    ln_err = math.sqrt(grad @ cov @ grad)
    assert out["ln_value"] == pytest.approx(a + b / 300.0)
    assert out["value"] == pytest.approx(math.exp(a + b / 300.0))
    assert out["ln_stderr"] == pytest.approx(ln_err, rel=1e-6)
    assert out["stderr"] == pytest.approx(out["value"] * ln_err, rel=1e-6)
    assert out["lower"] == pytest.approx(math.exp(out["ln_value"] - ln_err), rel=1e-6)
    assert out["upper"] == pytest.approx(math.exp(out["ln_value"] + ln_err), rel=1e-6)
    # extrapolating further away grows the error
    assert extrapolate(fit, 250.0)["ln_stderr"] > out["ln_stderr"]


def test_conductivity_fit_and_extrapolation():
    sigma0 = 500.0  # S K / cm
    sigma = sigma0 * np.exp(-EA / (K_B_EV * TEMPS)) / TEMPS
    fit = fit_conductivity_arrhenius(TEMPS, sigma, sigma * 0.05)
    assert fit.quantity == "sigmaT"
    assert fit.activation_energy == pytest.approx(EA, rel=1e-10)
    assert fit.prefactor == pytest.approx(sigma0, rel=1e-10)
    out = extrapolate_conductivity(fit, 300.0)
    assert out["value"] == pytest.approx(sigma0 * math.exp(-EA / (K_B_EV * 300.0)) / 300.0, rel=1e-10)
    assert out["ln_stderr"] == pytest.approx(extrapolate(fit, 300.0)["ln_stderr"])
    assert out["stderr"] == pytest.approx(out["value"] * out["ln_stderr"])
    with pytest.raises(ValueError, match="sigmaT"):
        extrapolate_conductivity(fit_arrhenius(TEMPS, sigma, sigma * 0.05), 300.0)


@pytest.mark.parametrize(
    ("temps", "values", "errors", "match"),
    [
        ([500.0], [1e-5], None, "at least 2"),
        ([500.0, 600.0], [1e-5, 2e-5], None, "at least 3"),
        ([500.0, -600.0, 700.0], [1e-5, 2e-5, 3e-5], None, "temperatures_K must be strictly positive"),
        ([500.0, 600.0, 700.0], [1e-5, 0.0, 3e-5], None, "values must be strictly positive"),
        ([500.0, 600.0, 700.0], [1e-5, float("nan"), 3e-5], None, "finite"),
        ([500.0, 600.0, 700.0], [1e-5, 2e-5], None, "lengths differ"),
        ([500.0, 600.0, 700.0], [1e-5, 2e-5, 3e-5], [1e-6, -1e-6, 1e-6], "errors must be strictly positive"),
        ([500.0, 600.0, 700.0], [1e-5, 2e-5, 3e-5], [1e-6, 1e-6], "errors length"),
        ([500.0, 500.0, 500.0], [1e-5, 2e-5, 3e-5], None, "distinct"),
    ],
)
def test_bad_input_raises(temps, values, errors, match):
    with pytest.raises(ValueError, match=match):
        fit_arrhenius(temps, values, errors)


def test_bad_extrapolation_temperature():
    values, errors = synthetic(2)
    with pytest.raises(ValueError, match="temperature"):
        extrapolate(fit_arrhenius(TEMPS, values, errors), 0.0)
