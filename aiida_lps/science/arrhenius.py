"""Arrhenius fits ln y = a + b / T by (weighted) linear least squares, with extrapolation errors.

Units: temperatures K, activation energies eV; y is a diffusion coefficient (cm²/s) or σT (S K/cm).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .constants import K_B_EV

MIN_RELATIVE_SPREAD = 1e-6  # smallest (max - min)/max of 1/T that a fit accepts
_MAX_LN = 700.0  # exp(±700) is the edge of float64

__all__ = [
    "ArrheniusFit",
    "extrapolate",
    "extrapolate_conductivity",
    "fit_arrhenius",
    "fit_conductivity_arrhenius",
]


@dataclass(frozen=True)
class ArrheniusFit:
    """Result of an Arrhenius fit ln y = a + b/T with Ea = -b k_B.

    ``covariance`` is the 2x2 covariance of (a, b) (b in K). ``prefactor`` = exp(a) has the unit of the
    fitted quantity (cm²/s for D, S K/cm for σT). For unweighted fits ``reduced_chi2`` is the residual
    variance of ln y (the covariance is scaled by it); for weighted fits it is χ²/(n-2) with absolute sigmas.
    """

    activation_energy: float
    activation_energy_stderr: float
    ln_prefactor: float
    ln_prefactor_stderr: float
    prefactor: float
    covariance: tuple[tuple[float, float], tuple[float, float]]
    reduced_chi2: float
    n_points: int
    quantity: str
    weighted: bool

    @property
    def intercept(self) -> float:
        """a in ln y = a + b/T."""
        return self.ln_prefactor

    @property
    def slope(self) -> float:
        """b in ln y = a + b/T, in K."""
        return -self.activation_energy / K_B_EV

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (tuples become lists, NaN becomes None)."""

        def clean(x: Any) -> Any:
            return None if isinstance(x, float) and not math.isfinite(x) else x

        d = {key: clean(value) for key, value in asdict(self).items()}
        d["covariance"] = [[clean(v) for v in row] for row in self.covariance]
        return d


def _as_1d(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Validate a 1-D array of finite, strictly positive numbers."""
    flat = values if isinstance(values, np.ndarray) else np.ravel(np.asarray(values, dtype=object))
    if isinstance(values, (str, bytes)) or any(isinstance(v, (bool, np.bool_)) for v in flat):
        raise ValueError(f"{name} must be numbers, got {values!r}")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exception:
        raise ValueError(f"{name} must be numbers, got {values!r}") from exception
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers, got {arr.tolist()}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be strictly positive, got {arr.tolist()}")
    return arr


def _inverse(matrix: np.ndarray, temps: np.ndarray) -> np.ndarray:
    """Inverse of the normal matrix; ``ValueError`` naming the temperatures if it is singular or not finite."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.inv(matrix)
    except (np.linalg.LinAlgError, ValueError) as exception:
        raise ValueError(f"the Arrhenius fit of {temps.tolist()} K is singular: {exception}") from exception


def fit_arrhenius(
    temperatures_K: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    errors: Sequence[float] | np.ndarray | None = None,
    quantity: str = "D",
) -> ArrheniusFit:
    """Fit ln(value) = a + b/T; Ea = -b k_B in eV.

    Weighted (``errors`` given, 1-sigma absolute errors of ``values``): weights 1/σ_ln² with
    σ_ln = error/value, covariance (XᵀWX)⁻¹ (absolute sigma), reduced χ² reported.
    Unweighted (``errors`` None): ordinary least squares with the covariance scaled by the residual
    variance; needs at least 3 points.

    :param temperatures_K: temperatures in K.
    :param values: positive values (e.g. D in cm²/s or σT in S K/cm).
    :param errors: optional positive 1-sigma errors, same unit as ``values``.
    :param quantity: label stored in the result ('D' or 'sigmaT').
    :raises ValueError: on bad input or a fit that is ill-conditioned (temperatures too close together).
    """
    temps = _as_1d("temperatures_K", temperatures_K)
    vals = _as_1d("values", values)
    if temps.size != vals.size:
        raise ValueError(f"temperatures_K and values lengths differ: {temps.size} != {vals.size}")
    n = temps.size
    if n < 2:
        raise ValueError(f"an Arrhenius fit needs at least 2 points, got {n}")
    if np.unique(temps).size < 2:
        raise ValueError("an Arrhenius fit needs at least 2 distinct temperatures")
    x = 1.0 / temps
    if np.ptp(x) < MIN_RELATIVE_SPREAD * np.max(x):
        raise ValueError(
            f"the temperatures {temps.tolist()} K are too close together for an Arrhenius fit: 1/T must spread by "
            f"at least {MIN_RELATIVE_SPREAD:g} of its value"
        )
    y = np.log(vals)
    design = np.column_stack([np.ones(n), x])

    if errors is not None:
        errs = _as_1d("errors", errors)
        if errs.size != n:
            raise ValueError(f"errors length {errs.size} differs from the number of points {n}")
        sigma_ln = errs / vals
        w = 1.0 / sigma_ln**2
        normal = design.T @ (design * w[:, None])
        cov = _inverse(normal, temps)
        params = cov @ (design.T @ (w * y))
        resid = y - design @ params
        chi2 = float(np.sum(w * resid**2))
        red_chi2 = chi2 / (n - 2) if n > 2 else float("nan")
        weighted = True
    else:
        if n < 3:
            raise ValueError(f"an unweighted Arrhenius fit needs at least 3 points to estimate errors, got {n}")
        normal = design.T @ design
        inv = _inverse(normal, temps)
        params = inv @ (design.T @ y)
        resid = y - design @ params
        red_chi2 = float(np.sum(resid**2) / (n - 2))
        cov = inv * red_chi2
        weighted = False

    a, b = float(params[0]), float(params[1])
    if not (np.all(np.isfinite(cov)) and math.isfinite(a) and math.isfinite(b) and abs(a) < _MAX_LN):
        raise ValueError(f"the Arrhenius fit of {temps.tolist()} K is ill-conditioned (ln prefactor {a:g})")
    cov_t = ((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1])))
    return ArrheniusFit(
        activation_energy=-b * K_B_EV,
        activation_energy_stderr=math.sqrt(cov_t[1][1]) * K_B_EV,
        ln_prefactor=a,
        ln_prefactor_stderr=math.sqrt(cov_t[0][0]),
        prefactor=math.exp(a),
        covariance=cov_t,
        reduced_chi2=float(red_chi2),
        n_points=int(n),
        quantity=str(quantity),
        weighted=weighted,
    )


def _ln_and_stderr(fit: ArrheniusFit, temperature_K: float) -> tuple[float, float]:
    """ln y(T) and its standard error from the delta method with the (a, b) covariance."""
    if not (temperature_K > 0 and math.isfinite(temperature_K)):
        raise ValueError(f"temperature_K must be a positive finite number, got {temperature_K}")
    grad = np.array([1.0, 1.0 / temperature_K])
    cov = np.asarray(fit.covariance, dtype=np.float64)
    ln_value = fit.intercept + fit.slope / temperature_K
    return float(ln_value), float(math.sqrt(max(grad @ cov @ grad, 0.0)))


def _log_normal_result(temperature_K: float, ln_value: float, ln_err: float) -> dict[str, float]:
    """Value exp(ln_value), its delta-method error and the 1-sigma log-normal band."""
    if not abs(ln_value) + ln_err < _MAX_LN:
        raise ValueError(
            f"extrapolation to {temperature_K:g} K overflows (ln value {ln_value:g} ± {ln_err:g}): "
            "the fit is too uncertain or the target too far from the fitted temperatures"
        )
    value = math.exp(ln_value)
    return {
        "temperature_K": float(temperature_K),
        "value": value,
        "ln_value": ln_value,
        "ln_stderr": ln_err,
        "stderr": value * ln_err,
        "lower": math.exp(ln_value - ln_err),
        "upper": math.exp(ln_value + ln_err),
    }


def extrapolate(fit: ArrheniusFit, temperature_K: float) -> dict[str, float]:
    """Value of the fitted quantity at ``temperature_K`` (K) with delta-method errors.

    :returns: ``value``, ``ln_value``, ``ln_stderr``, ``stderr`` (= value·ln_stderr) and the 1-sigma
        log-normal band ``lower``/``upper`` = exp(ln_value ∓ ln_stderr), in the unit of the fitted quantity.
    """
    ln_value, ln_err = _ln_and_stderr(fit, temperature_K)
    return _log_normal_result(temperature_K, ln_value, ln_err)


def fit_conductivity_arrhenius(
    temperatures: Sequence[float] | np.ndarray,
    sigma: Sequence[float] | np.ndarray,
    sigma_err: Sequence[float] | np.ndarray | None = None,
) -> ArrheniusFit:
    """Arrhenius fit of σT (S K/cm) from conductivities σ (S/cm) and optional 1-sigma errors (S/cm)."""
    temps = _as_1d("temperatures", temperatures)
    sig = _as_1d("sigma", sigma)
    if temps.size != sig.size:
        raise ValueError(f"temperatures and sigma lengths differ: {temps.size} != {sig.size}")
    errs = None if sigma_err is None else _as_1d("sigma_err", sigma_err)
    if errs is not None and errs.size != temps.size:
        raise ValueError(f"sigma_err length {errs.size} differs from the number of points {temps.size}")
    return fit_arrhenius(temps, sig * temps, None if errs is None else errs * temps, quantity="sigmaT")


def extrapolate_conductivity(fit: ArrheniusFit, temperature_K: float) -> dict[str, float]:
    """Conductivity σ(T) = exp(a + b/T) / T in S/cm from a σT fit, with delta-method errors."""
    if fit.quantity != "sigmaT":
        raise ValueError(f"extrapolate_conductivity needs a fit of 'sigmaT', got {fit.quantity!r}")
    ln_sigma_t, ln_err = _ln_and_stderr(fit, temperature_K)
    ln_value = ln_sigma_t - math.log(temperature_K)
    return _log_normal_result(temperature_K, ln_value, ln_err)
