"""``lps.arrhenius``: weighted Arrhenius fit of diffusivities (and conductivities) as a calcfunction."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_lps.common.serialize import json_safe
from aiida_lps.science.arrhenius import (
    extrapolate,
    extrapolate_conductivity,
    fit_arrhenius,
    fit_conductivity_arrhenius,
)

__all__ = ("arrhenius_fit",)


@calcfunction
def arrhenius_fit(
    temperatures: orm.List,
    diffusivities: orm.List,
    diffusivity_errors: orm.List | None = None,
    conductivities: orm.List | None = None,
    conductivity_errors: orm.List | None = None,
    target_temperature: orm.Float | None = None,
    excluded: orm.Dict | None = None,
) -> orm.Dict | ExitCode:
    """Fit ln D = ln D0 − Ea/(k_B T) (weighted by the errors when given) and extrapolate to ``target_temperature``.

    :param temperatures: K. :param diffusivities: cm²/s, with optional standard errors ``diffusivity_errors``.
    :param conductivities: S/cm (optional, with errors): fitted as ln(σT) vs 1/T, the usual conductivity form.
    :param target_temperature: K, default 300.
    :param excluded: temperatures (K, as keys) left out of the fit by the caller and why; copied to the output.
    :returns: a Dict with ``temperatures_K`` (those fitted), ``excluded_temperatures``, ``diffusivity`` (Ea eV,
        D0 cm²/s, covariance, D(T) with standard error and the one-sigma interval) and, when conductivities are
        given, ``conductivity`` (Ea, prefactor S K/cm, σ(T)).
    """
    target = float(target_temperature.value) if target_temperature is not None else 300.0
    temps = list(temperatures.get_list())
    try:
        fit = fit_arrhenius(temps, diffusivities.get_list(), _errors(diffusivity_errors))
        result = {
            "temperatures_K": [float(t) for t in temps],
            "excluded_temperatures": excluded.get_dict() if excluded is not None else {},
            "target_temperature_K": target,
            "diffusivity": {**fit.to_dict(), "at_target": extrapolate(fit, target), "units": "cm^2/s"},
        }
        if conductivities is not None:
            cfit = fit_conductivity_arrhenius(temps, conductivities.get_list(), _errors(conductivity_errors))
            result["conductivity"] = {
                **cfit.to_dict(),
                "at_target": extrapolate_conductivity(cfit, target),
                "units": "S/cm (prefactor: S K/cm)",
            }
    except ValueError as exception:
        return ExitCode(300, f"invalid Arrhenius input: {exception}")
    return orm.Dict(json_safe(result))


def _errors(node: orm.List | None) -> list[float] | None:
    return None if node is None else list(node.get_list())
