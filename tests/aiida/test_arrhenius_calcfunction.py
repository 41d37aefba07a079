"""lps.arrhenius: the calcfunction records provenance, recovers known parameters and rejects bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.plugins import CalculationFactory

from aiida_lps.calcfunctions.arrhenius import arrhenius_fit
from aiida_lps.science.constants import K_B_EV


def test_entry_point_and_exact_data():
    assert CalculationFactory("lps.arrhenius") is arrhenius_fit
    temps = [600.0, 800.0, 1000.0, 1200.0]
    ea, d0 = 0.25, 2e-3
    d = [d0 * np.exp(-ea / (K_B_EV * t)) for t in temps]
    err = [0.05 * x for x in d]
    sigma = [1e-2 * np.exp(-0.3 / (K_B_EV * t)) / t for t in temps]
    result, node = arrhenius_fit.run_get_node(
        temperatures=orm.List(temps),
        diffusivities=orm.List(d),
        diffusivity_errors=orm.List(err),
        conductivities=orm.List(sigma),
        conductivity_errors=orm.List([0.05 * s for s in sigma]),
        target_temperature=orm.Float(300.0),
    )
    assert node.is_finished_ok
    fit = result.get_dict()
    assert fit["diffusivity"]["activation_energy"] == pytest.approx(ea, rel=1e-9)
    assert fit["diffusivity"]["at_target"]["value"] == pytest.approx(d0 * np.exp(-ea / (K_B_EV * 300)), rel=1e-8)
    assert fit["diffusivity"]["activation_energy_stderr"] > 0
    assert np.array(fit["diffusivity"]["covariance"]).shape == (2, 2)
    assert fit["conductivity"]["activation_energy"] == pytest.approx(0.3, rel=1e-9)
    assert fit["conductivity"]["at_target"]["value"] == pytest.approx(1e-2 * np.exp(-0.3 / (K_B_EV * 300)) / 300)
    assert fit["temperatures_K"] == temps and fit["excluded_temperatures"] == {}
    # provenance: the inputs are linked to the calcfunction node
    assert {link.link_label for link in node.base.links.get_incoming().all()} >= {
        "temperatures",
        "diffusivities",
    }


def test_bad_input_gives_exit_code():
    _, node = arrhenius_fit.run_get_node(temperatures=orm.List([600.0, -800.0]), diffusivities=orm.List([1e-6, 2e-6]))
    assert node.exit_status == 300
    assert "invalid Arrhenius input" in node.exit_message and "positive" in node.exit_message


def test_fit_records_the_excluded_temperatures():
    """The caller's excluded temperatures (e.g. runs that left the training domain) are named in the output."""
    excluded = {"T1500K": {"temperature_K": 1500.0, "reason": "max γ 12 > γ_break 10"}}
    result, node = arrhenius_fit.run_get_node(
        temperatures=orm.List([700.0, 900.0, 1200.0]),
        diffusivities=orm.List([1e-6, 4e-6, 2e-5]),
        diffusivity_errors=orm.List([1e-7, 4e-7, 2e-6]),
        excluded=orm.Dict(excluded),
    )
    assert node.is_finished_ok, node.exit_message
    assert result["temperatures_K"] == [700.0, 900.0, 1200.0] and result["excluded_temperatures"] == excluded
