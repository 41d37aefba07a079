"""Property-based bad-input suites (hypothesis, 200 generated cases each): a clear ValueError/TypeError or a
validation message, never a crash, an OverflowError or a silent NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiida_lps.science import arrhenius, xas
from aiida_lps.science.diffusion import _check_disjoint
from aiida_lps.science.phase_diagram import convex_hull
from aiida_lps.utils import validation

CASES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**9), 10**9), st.booleans())


@CASES
@given(
    st.lists(numbers, max_size=6),
    st.lists(numbers, max_size=6),
    st.one_of(st.none(), st.lists(numbers, max_size=6)),
    numbers,
)
def test_arrhenius_fit_and_extrapolation(temperatures, values, errors, target):
    try:
        fit = arrhenius.fit_arrhenius(temperatures, values, errors)
        result = arrhenius.extrapolate(fit, target)
    except ValueError as exception:
        assert str(exception)
        return
    assert math.isfinite(fit.activation_energy) and math.isfinite(result["value"])


@CASES
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=8),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=8),
    st.floats(min_value=-1, max_value=2),
)
def test_xas_broadening(energy, intensity, fwhm):
    grid = np.linspace(-5.0, 5.0, 41)
    try:
        result = xas.broaden(energy, intensity, grid, gaussian_fwhm=fwhm, lorentzian_fwhm0=0.59)
    except ValueError as exception:
        assert str(exception)
        return
    assert np.all(np.isfinite(result))


@CASES
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    numbers,
    numbers,
    numbers,
)
def test_xas_common_grid(onsets, step, below, above):
    try:
        grid = xas.common_grid(onsets, step, below, above)
    except (ValueError, TypeError) as exception:
        assert str(exception)
        return
    assert 2 <= len(grid) <= xas.MAX_GRID_POINTS and np.all(np.isfinite(grid))


@CASES
@given(st.one_of(numbers, junk), st.one_of(numbers, junk))
def test_symmetry_tolerances_never_reach_spglib_unchecked(symprec, angle):
    try:
        xas.check_tolerances(symprec, angle)
    except ValueError as exception:
        assert "symprec" in str(exception) or "angle_tolerance" in str(exception)
        return
    assert 0 < symprec <= 1 and 0 < angle <= 45


@CASES
@given(st.lists(st.one_of(st.tuples(numbers, numbers), junk), max_size=4))
def test_diffusion_regions(boundaries):
    try:
        _check_disjoint(boundaries)
    except ValueError as exception:
        assert str(exception)
        return
    for lo, hi in boundaries:
        assert 0 <= lo <= 1 and 0 <= hi <= 1 and lo != hi


@CASES
@given(st.lists(numbers, max_size=5), st.lists(numbers, max_size=5), st.one_of(numbers, junk))
def test_convex_hull(fractions, energies, tolerance):
    try:
        hull = convex_hull(fractions, energies, tolerance=tolerance)
    except (ValueError, TypeError) as exception:
        assert str(exception)
        return
    assert all(math.isfinite(d) for d in hull.e_above_hull)


@CASES
@given(
    st.dictionaries(
        st.sampled_from(
            ["species", "charges", "window", "n_blocks", "drift", "subdiffusive_threshold", "regions",
             "trajectory_stride", "windw", "blocks"]
        ),
        junk,
        max_size=4,
    )
)  # fmt: skip
def test_diffusion_analysis_validator(aiida_profile, analysis):
    from aiida import orm

    structure = orm.StructureData(cell=np.eye(3) * 5.0)
    structure.append_atom(position=(0, 0, 0), symbols="Li")
    structure.append_atom(position=(2.5, 2.5, 2.5), symbols="S")
    message = validation.validate_analysis(analysis, structure)
    assert message is None or isinstance(message, str) and message


@CASES
@given(st.lists(st.one_of(numbers, junk), max_size=5), st.one_of(numbers, junk))
def test_diffusion_workchain_port_validators(aiida_profile, temperatures, target):
    from aiida import orm

    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    ports = DiffusionWorkChain.spec().inputs
    try:
        node = orm.List(temperatures)
    except (TypeError, ValueError):
        return  # not storable as a List: the builder refuses it before any validator
    error = ports["temperatures"].validate(node)
    if error is None:
        assert temperatures and all(validation.check_temperature("t", t) is None for t in temperatures)
    if validation.is_real(target):
        error = ports["target_temperature"].validate(orm.Float(target))
        assert (error is None) == (0 < target <= validation.MAX_TEMPERATURE_K)


@CASES
@given(
    st.dictionaries(
        st.sampled_from(["symprec", "angle_tolerance", "supercell_min_width", "calibration_shift"]),
        st.floats(allow_nan=True, allow_infinity=True),
        min_size=1,
        max_size=4,
    ),
    st.dictionaries(st.sampled_from(["step", "below", "above", "stp"]), numbers, max_size=3),
)
def test_xas_workchain_port_validators(aiida_profile, floats, grid):
    from aiida import orm

    from aiida_lps.workflows.xas import XasWorkChain

    ports = XasWorkChain.spec().inputs
    for name, value in floats.items():
        error = ports[name].validate(orm.Float(value))
        if not math.isfinite(value):
            assert error is not None and error.message
    error = ports["grid"].validate(orm.Dict(grid))
    if error is None:
        assert all(validation.is_real(v) and v > 0 for v in grid.values()) and "stp" not in grid


@CASES
@given(st.one_of(st.just("gpaw"), st.just("vasp"), st.text(max_size=8)), st.lists(junk, max_size=3))
def test_active_learning_and_genetic_port_validators(aiida_profile, engine, schedule):
    from aiida import orm

    from aiida_lps.workflows.active_learning import ActiveLearningWorkChain
    from aiida_lps.workflows.genetic import GeneticSamplingWorkChain

    al = ActiveLearningWorkChain.spec().inputs
    error = al["dft"]["engine"].validate(orm.Str(engine))
    assert (error is None) == (engine in ("gpaw", "vasp"))
    try:
        node = orm.List(schedule)
    except (TypeError, ValueError):
        return
    error = al["gamma_break_schedule"].validate(node)
    assert error is None or error.message
    ga = GeneticSamplingWorkChain.spec().inputs
    error = ga["supercell"].validate(node)
    assert error is None or error.message


@pytest.mark.parametrize("pbc", [(True, True, False), (False, False, False), (True, False, True)])
def test_every_3d_work_chain_rejects_partial_pbc(aiida_profile, pbc):
    from aiida import orm

    from aiida_lps.workflows.genetic import GeneticSamplingWorkChain
    from aiida_lps.workflows.xas import XasWorkChain

    structure = orm.StructureData(cell=np.eye(3) * 5.0, pbc=pbc)
    structure.append_atom(position=(0, 0, 0), symbols="Li")
    for chain in (XasWorkChain, GeneticSamplingWorkChain):
        assert "pbc=" in chain.spec().inputs.validator({"structure": structure}, None)
