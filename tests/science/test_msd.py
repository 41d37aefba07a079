"""Tests for the FFT MSD and drift removal."""

import numpy as np
import pytest

from aiida_lps.science.msd import com_displacement, msd_by_species, msd_fft, remove_drift


def _brute_force_msd(positions: np.ndarray) -> np.ndarray:
    """O(N^2) multi-time-origin MSD per axis, averaged over atoms."""
    n = positions.shape[0]
    out = np.zeros((n, 3))
    for m in range(1, n):
        disp = positions[m:] - positions[: n - m]
        out[m] = np.mean(disp**2, axis=(0, 1))
    return out


@pytest.fixture
def trajectory() -> np.ndarray:
    rng = np.random.default_rng(42)
    return 5.0 + np.cumsum(rng.normal(scale=0.3, size=(60, 11, 3)), axis=0)


def test_msd_fft_matches_brute_force(trajectory):
    np.testing.assert_allclose(msd_fft(trajectory), _brute_force_msd(trajectory), rtol=0, atol=1e-9)


@pytest.mark.parametrize("n_frames", [1, 2, 3, 17])
def test_msd_fft_short_trajectories(n_frames):
    rng = np.random.default_rng(n_frames)
    pos = rng.normal(size=(n_frames, 4, 3))
    np.testing.assert_allclose(msd_fft(pos), _brute_force_msd(pos), atol=1e-12)


def test_chunking_gives_identical_results(trajectory):
    reference = msd_fft(trajectory, atom_chunk=256)
    for chunk in (1, 3, 4, 11):
        np.testing.assert_allclose(msd_fft(trajectory, atom_chunk=chunk), reference, rtol=1e-12, atol=1e-12)


def test_msd_fft_float32_input_and_bad_shape(trajectory):
    np.testing.assert_allclose(msd_fft(trajectory.astype(np.float32)), msd_fft(trajectory), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        msd_fft(trajectory[..., :2])
    with pytest.raises(ValueError, match="atom_chunk"):
        msd_fft(trajectory, atom_chunk=0)


def test_drift_removal_removes_uniform_translation(trajectory):
    rng = np.random.default_rng(1)
    masses = rng.uniform(1, 40, size=trajectory.shape[1])
    translation = np.cumsum(rng.normal(scale=2.0, size=(trajectory.shape[0], 1, 3)), axis=0)
    translation -= translation[0]  # drift is measured relative to frame 0
    moved = trajectory + translation
    np.testing.assert_allclose(remove_drift(moved, masses), remove_drift(trajectory, masses), rtol=0, atol=1e-12)
    # a pure translation of a rigid body is removed exactly
    rigid = np.broadcast_to(trajectory[:1], trajectory.shape) + translation
    corrected = remove_drift(rigid, masses)
    np.testing.assert_allclose(corrected, np.broadcast_to(rigid[:1], rigid.shape), atol=1e-12)


def test_drift_reference_mask_and_out(trajectory):
    masses = np.full(trajectory.shape[1], 2.0)
    mask = np.zeros(trajectory.shape[1], dtype=bool)
    mask[:4] = True
    expected_shift = trajectory[:, :4].mean(axis=1) - trajectory[0, :4].mean(axis=0)
    np.testing.assert_allclose(com_displacement(trajectory, masses, mask), expected_shift, atol=1e-12)
    work = trajectory.copy()
    result = remove_drift(work, masses, mask, out=work)
    assert result is work
    np.testing.assert_allclose(work, trajectory - expected_shift[:, None, :], atol=1e-12)
    new = remove_drift(trajectory, masses, mask)
    assert new is not trajectory and new.dtype == np.float64
    with pytest.raises(ValueError, match="zero total mass"):
        com_displacement(trajectory, masses, np.zeros_like(mask))


def test_msd_by_species(trajectory):
    symbols = np.array(["Li"] * 5 + ["P"] * 2 + ["S"] * 4)
    masses = np.where(symbols == "Li", 6.94, np.where(symbols == "P", 30.97, 32.06))
    out = msd_by_species(trajectory, symbols, masses, drift="none")
    assert set(out) == {"Li", "P", "S"}
    np.testing.assert_allclose(out["Li"], _brute_force_msd(trajectory[:, :5]), atol=1e-9)
    framework = msd_by_species(trajectory, symbols, masses, species="Li", drift=["P", "S"])
    mask = symbols != "Li"
    corrected = remove_drift(trajectory, masses, mask)
    np.testing.assert_allclose(framework["Li"], _brute_force_msd(corrected[:, :5]), atol=1e-9)
    com = msd_by_species(trajectory, symbols, masses, species=["P"], drift="com")
    np.testing.assert_allclose(com["P"], _brute_force_msd(remove_drift(trajectory, masses)[:, 5:7]), atol=1e-9)
    with pytest.raises(ValueError, match="Na"):
        msd_by_species(trajectory, symbols, masses, species="Na", drift="com")
    with pytest.raises(ValueError, match="drift"):
        msd_by_species(trajectory, symbols, masses, drift="bogus")
    with pytest.raises(ValueError, match="Ge"):
        msd_by_species(trajectory, symbols, masses, drift=["Ge"])
