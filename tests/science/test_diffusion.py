"""Tests for diffusion coefficients, block errors, regions and Nernst–Einstein conductivity."""

import json
import math

import numpy as np
import pytest

from aiida_lps.protocols import default_inputs
from aiida_lps.science.diffusion import (
    DiffusionResult,
    analyse_diffusion,
    fit_msd,
    nernst_einstein_conductivity,
    number_density,
    region_diffusion,
)

#: the default analysis settings: the ``analysis`` of protocols/lammps_md.yaml, their only source
DEFAULTS = {
    key: default_inputs("lammps_md")["analysis"][key]
    for key in ("window", "n_blocks", "drift", "subdiffusive_threshold")
}
DT_PS = 0.1  # time between frames, ps
CM2S_TO_A2PS = 1e4  # 1 cm²/s = 1e4 Å²/ps


def analyse(positions, timestep_ps, symbols, masses, species="Li", **settings):
    """:func:`analyse_diffusion` with the protocol's default settings, ``settings`` replacing some."""
    return analyse_diffusion(positions, timestep_ps, symbols, masses, species, **{**DEFAULTS, **settings})


def random_walk(n_atoms, n_frames, d_axes_cm2_s, seed, start=None):
    """Gaussian random walk with per-axis diffusion coefficients (cm²/s); positions in Å."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(2.0 * np.asarray(d_axes_cm2_s, dtype=float) * CM2S_TO_A2PS * DT_PS)
    pos = rng.normal(size=(n_frames, n_atoms, 3))
    pos *= scale
    np.cumsum(pos, axis=0, out=pos)
    if start is not None:
        pos += start[None]
    return pos


def test_isotropic_random_walk_recovers_d():
    d_true = 1e-5
    pos = random_walk(2000, 2000, [d_true] * 3, seed=7)
    n = pos.shape[1]
    result, time_ps, msd = analyse(pos, DT_PS, ["Li"] * n, np.full(n, 6.94), "Li", drift="none")
    assert isinstance(result, DiffusionResult)
    assert time_ps.shape == (2000,) and msd.shape == (2000, 3)
    assert time_ps[1] == pytest.approx(DT_PS)
    assert abs(result.D - d_true) < 3 * result.D_stderr
    assert result.D == pytest.approx(d_true, rel=0.05)
    assert result.D_stderr / d_true < 0.05
    assert result.loglog_slope == pytest.approx(1.0, abs=0.05)
    assert not result.subdiffusive
    assert result.isotropy == pytest.approx(1.0, abs=0.12)
    assert result.n_atoms == n and len(result.D_blocks) == 5
    assert result.window_ps[0] == pytest.approx(0.1 * 1999 * DT_PS, abs=DT_PS)
    assert result.window_ps[1] == pytest.approx(0.5 * 1999 * DT_PS, abs=DT_PS)
    assert np.mean(result.D_axes) == pytest.approx(result.D, rel=1e-10)
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["D"] == result.D and payload["D_axes"] == list(result.D_axes)


def test_block_stderr_is_calibrated():
    """The default block error matches the true scatter of D; 'sem' is smaller by sqrt(n_blocks)."""
    d_true = 1e-5
    estimates, errors = [], []
    for seed in range(60):
        pos = random_walk(40, 1000, [d_true] * 3, seed=1000 + seed)
        res, _, _ = analyse(pos, DT_PS, ["Li"] * 40, np.ones(40), drift="none")
        estimates.append(res.D)
        errors.append(res.D_stderr)
    true_sd = np.std(estimates, ddof=1)
    rms_err = np.sqrt(np.mean(np.square(errors)))
    assert 0.7 < rms_err / true_sd < 1.4
    sem, _, _ = analyse(pos, DT_PS, ["Li"] * 40, np.ones(40), drift="none", block_error="sem")
    assert sem.D_stderr == pytest.approx(res.D_stderr / math.sqrt(5), rel=1e-12)


def test_anisotropic_walk_axes_and_isotropy():
    d_axes = np.array([1e-5, 1e-5, 2.5e-6])
    pos = random_walk(1500, 1500, d_axes, seed=11)
    n = pos.shape[1]
    result, _, _ = analyse(pos, DT_PS, ["Li"] * n, np.ones(n), drift="none")
    for got, err, want in zip(result.D_axes, result.D_axes_stderr, d_axes, strict=True):
        assert abs(got - want) < 4 * err
        assert got == pytest.approx(want, rel=0.1)
    assert result.D == pytest.approx(d_axes.mean(), rel=0.08)
    assert result.isotropy == pytest.approx(0.25, abs=0.04)


def test_caged_trajectory_is_subdiffusive():
    """Ornstein–Uhlenbeck particles in harmonic traps: MSD plateaus, log-log slope << 1."""
    rng = np.random.default_rng(3)
    n_frames, n_atoms, k = 1000, 100, 0.05
    pos = np.zeros((n_frames, n_atoms, 3))
    noise = rng.normal(scale=0.1, size=(n_frames, n_atoms, 3))
    for t in range(1, n_frames):
        pos[t] = (1.0 - k) * pos[t - 1] + noise[t]
    result, _, msd = analyse(pos, DT_PS, ["Li"] * n_atoms, np.ones(n_atoms), drift="none")
    assert result.subdiffusive
    assert result.loglog_slope < 0.3
    # plateau at 2 <x^2> per axis, <x^2> = s^2 / (1 - (1-k)^2)
    plateau = 2 * 0.1**2 / (1 - (1 - k) ** 2)
    assert msd[500].mean() == pytest.approx(plateau, rel=0.15)
    free, _, _ = analyse(pos, DT_PS, ["Li"] * n_atoms, np.ones(n_atoms), drift="none", subdiffusive_threshold=-1.0)
    assert not free.subdiffusive


def test_drift_com_and_framework():
    """A uniform drift of the whole system is removed by 'com' and by a framework reference."""
    d_true = 1e-5
    n_li, n_s, n_frames = 300, 100, 1000
    li = random_walk(n_li, n_frames, [d_true] * 3, seed=5)
    rng = np.random.default_rng(6)
    frame = rng.uniform(0, 20, size=(1, n_s, 3)) + rng.normal(scale=0.05, size=(n_frames, n_s, 3))
    drift = (np.arange(n_frames) * 0.05)[:, None, None] * np.array([1.0, -0.5, 0.2])
    pos = np.concatenate([li, frame], axis=1) + drift
    symbols = ["Li"] * n_li + ["S"] * n_s
    masses = np.array([6.94] * n_li + [32.06] * n_s)
    ref, _, _ = analyse(li, DT_PS, ["Li"] * n_li, np.full(n_li, 6.94), drift="none")
    fw, _, _ = analyse(pos, DT_PS, symbols, masses, drift=["S"])
    com, _, _ = analyse(pos, DT_PS, symbols, masses, drift="com")
    raw, _, _ = analyse(pos, DT_PS, symbols, masses, drift="none")
    assert fw.D == pytest.approx(ref.D, rel=0.02)
    assert com.D == pytest.approx(ref.D, rel=0.05)
    assert raw.D > 5 * ref.D  # the drift dominates without correction


def test_fit_msd_exact_line_and_errors():
    t = np.arange(100) * 0.5
    slope, intercept, loglog, window = fit_msd(t, 6.0 * t, (0.1, 0.5))
    assert slope == pytest.approx(6.0) and intercept == pytest.approx(0.0, abs=1e-9)
    assert loglog == pytest.approx(1.0)
    assert window == (pytest.approx(5.0), pytest.approx(24.5))
    with pytest.raises(ValueError, match="at least 3"):
        fit_msd(t[:6], 6.0 * t[:6], (0.1, 0.5))
    with pytest.raises(ValueError, match="window"):
        fit_msd(t, t, (0.5, 0.1))


def test_errors_for_bad_input():
    pos = random_walk(10, 100, [1e-5] * 3, seed=0)
    symbols, masses = ["Li"] * 10, np.ones(10)
    with pytest.raises(ValueError, match="'Na' not present"):
        analyse(pos, DT_PS, symbols, masses, "Na")
    with pytest.raises(ValueError, match="too few frames"):
        analyse(pos[:40], DT_PS, symbols, masses, "Li")
    with pytest.raises(ValueError, match="atom_mask"):
        analyse(pos, DT_PS, symbols, masses, "Li", atom_mask=np.zeros(10, dtype=bool))
    with pytest.raises(ValueError, match="symbols"):
        analyse(pos, DT_PS, symbols[:5], masses, "Li")
    with pytest.raises(ValueError, match="timestep"):
        analyse(pos, 0.0, symbols, masses, "Li")
    with pytest.raises(ValueError, match="'Na' not present"):
        region_diffusion(pos, np.eye(3) * 10, DT_PS, symbols, masses, "Na", 2, [(0, 1)])


def test_nernst_einstein_by_hand():
    # n = 1 Li per 20 Å^3, D = 1e-6 cm^2/s, T = 300 K, z = 1
    n_m3 = (1 / 20) * 1e30  # m^-3
    d_m2_s = 1e-6 * 1e-4  # m^2/s
    e, k_b = 1.602176634e-19, 1.380649e-23  # C, J/K
    sigma_s_per_m = n_m3 * e**2 * d_m2_s / (k_b * 300)  # = 30.99 S/m
    expected = sigma_s_per_m / 100  # S/cm
    assert expected == pytest.approx(0.30987, rel=1e-4)
    n = number_density(1, 20.0)
    assert nernst_einstein_conductivity(1e-6, n, 300.0, 1.0) == pytest.approx(expected, rel=1e-9)
    assert nernst_einstein_conductivity(1e-6, n, 300.0, charge=2.0) == pytest.approx(4 * expected, rel=1e-9)
    with pytest.raises(ValueError, match="temperature"):
        nernst_einstein_conductivity(1e-6, n, 0.0, 1.0)
    with pytest.raises(ValueError, match="volume"):
        number_density(1, 0.0)


def test_region_diffusion_two_slabs():
    cell = np.array([[30.0, 0, 0], [0, 30.0, 0], [0, 0, 100.0]])
    n_slab, n_frames = 500, 1000
    rng = np.random.default_rng(21)
    d_fast, d_slow = 1e-5, 3e-6
    starts = rng.uniform(0, 30, size=(2 * n_slab, 3))
    starts[:n_slab, 2] = rng.uniform(20, 30, size=n_slab)
    starts[n_slab:, 2] = rng.uniform(70, 80, size=n_slab)
    fast = random_walk(n_slab, n_frames, [d_fast] * 3, seed=22, start=starts[:n_slab])
    slow = random_walk(n_slab, n_frames, [d_slow] * 3, seed=23, start=starts[n_slab:])
    framework = np.broadcast_to(rng.uniform(0, 30, size=(1, 50, 3)), (n_frames, 50, 3))
    pos = np.concatenate([fast, framework, slow], axis=1)
    symbols = ["Li"] * n_slab + ["S"] * 50 + ["Li"] * n_slab
    masses = np.array([6.94] * n_slab + [32.06] * 50 + [6.94] * n_slab)
    regions = region_diffusion(
        pos,
        cell,
        DT_PS,
        symbols,
        masses,
        "Li",
        axis=2,
        boundaries=[(0.95, 0.05), (0.05, 0.5), (0.5, 0.95)],
        **{**DEFAULTS, "drift": ["S"], "n_blocks": 10},
    )
    assert [r["region"] for r in regions] == [0, 1, 2]
    assert regions[0]["n_atoms"] == 0 and regions[0]["D"] is None
    assert regions[1]["n_atoms"] == n_slab and regions[2]["n_atoms"] == n_slab
    for region, d_true in ((regions[1], d_fast), (regions[2], d_slow)):
        assert region["D"] == pytest.approx(d_true, rel=0.12)
        assert abs(region["D"] - d_true) < 4 * region["D_stderr"]
    json.dumps(regions, allow_nan=False)


@pytest.mark.parametrize("boundaries", [[(0.0, 0.5), (0.4, 1.0)], [(0.9, 0.1), (0.0, 0.5)], [(0.2, 0.2)]])
def test_region_diffusion_rejects_overlapping_or_empty_regions(boundaries):
    pos = random_walk(4, 100, [1e-5] * 3, seed=1)
    with pytest.raises(ValueError, match="overlap|distinct"):
        region_diffusion(pos, np.eye(3) * 10.0, DT_PS, ["Li"] * 4, [6.94] * 4, "Li", axis=2, boundaries=boundaries)


def test_analysis_settings_have_no_second_default():
    """The analysis settings are written once, in the protocol: the science functions require them."""
    import inspect

    for function, names in ((analyse_diffusion, DEFAULTS), (fit_msd, ("window",))):
        parameters = inspect.signature(function).parameters
        for name in names:
            assert parameters[name].default is inspect.Parameter.empty, (function.__name__, name)
    assert inspect.signature(analyse_diffusion).parameters["species"].default is inspect.Parameter.empty
