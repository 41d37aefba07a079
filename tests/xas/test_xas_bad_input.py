"""Bad input to lps.xas and its science is rejected early with a message (no spglib crash, no sign-flipped spectra)."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm

from aiida_lps.science import xas
from aiida_lps.structures.reference import load_structure
from aiida_lps.workflows.xas import XasWorkChain


def _port_error(name: str, node) -> str:
    error = XasWorkChain.spec().inputs[name].validate(node)
    return "" if error is None else error.message


@pytest.mark.parametrize(
    ("name", "kind", "value", "fragment"),
    [
        ("symprec", "Float", -0.01, "symprec"),
        ("symprec", "Float", float("nan"), "symprec"),
        ("angle_tolerance", "Float", -5.0, "angle_tolerance"),
        ("angle_tolerance", "Float", 360.0, "at most 45"),
        ("supercell_min_width", "Float", 0.0, "supercell_min_width"),
        ("grid", "Dict", {"step": 0.0}, "grid.step"),
        ("grid", "Dict", {"step": 1e-6}, "at least 0.001"),
        ("grid", "Dict", {"stepsize": 0.1}, "unknown grid keys"),
        ("broadening", "Dict", {"gaussian_fwhm": float("nan")}, "non-negative"),
        ("calibration_shift", "Float", float("inf"), "finite"),
    ],
)
def test_port_validators_name_the_problem(aiida_profile, name, kind, value, fragment):
    assert fragment in _port_error(name, getattr(orm, kind)(value))


def test_negative_symprec_is_a_value_error_not_a_segfault():
    structure = load_structure("Li2S")
    for symprec, angle in ((-0.01, 5.0), (0.01, -1.0), (0.0, 5.0)):
        with pytest.raises(ValueError, match="symprec|angle_tolerance"):
            xas.inequivalent_sites(structure, "S", symprec, angle)


def test_partial_pbc_and_oversized_supercell_are_rejected(aiida_profile):
    structure = orm.StructureData(pymatgen=load_structure("Li2S"))
    slab = structure.clone()
    slab.pbc = (True, True, False)
    validate = XasWorkChain.spec().inputs.validator
    assert "pbc=(True, True, False)" in validate({"structure": slab}, None)
    message = validate({"structure": structure, "supercell_min_width": orm.Float(60.0)}, None)
    assert "above the guard" in message
    assert validate({"structure": structure, "supercell_min_width": orm.Float(10.0)}, None) is None


def test_decreasing_energy_axis_gives_the_same_spectrum():
    energy = np.linspace(0.0, 10.0, 101)
    mu = np.exp(-((energy - 4.0) ** 2))
    grid = np.linspace(-5.0, 20.0, 251)
    widths = {"gaussian_fwhm": 0.5, "lorentzian_fwhm0": 0.59}
    forward = xas.broaden(energy, mu, grid, **widths)
    backward = xas.broaden(energy[::-1], mu[::-1], grid, **widths)
    assert forward.sum() > 0
    np.testing.assert_allclose(backward, forward, rtol=1e-12, atol=1e-15)


def test_nan_spectra_and_absurd_grids_are_rejected():
    grid = np.linspace(0.0, 5.0, 51)
    with pytest.raises(ValueError, match="NaN"):
        xas.broaden(np.linspace(0, 1, 5), np.array([0.0, np.nan, 1.0, 1.0, 0.0]), grid, 0.5, 0.59)
    with pytest.raises(ValueError, match="NaN"):
        xas.weighted_average([np.array([1.0, np.nan])], [1])
    with pytest.raises(ValueError, match="points"):
        xas.common_grid([0.0], step=1e-6, below=5.0, above=35.0)
