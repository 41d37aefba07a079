"""Cross-check of our tracer D against kinisi 2.x (Bayesian MSD regression) on the same random walk."""

import math

import ase
import kinisi.analyze as kinisi_analyze
import numpy as np
import scipp as sc

from aiida_lps.protocols import default_inputs
from aiida_lps.science.diffusion import analyse_diffusion

D_TRUE = 1e-5  # cm²/s
DT_PS = 0.1  # ps between frames
BOX = 20.0  # Å, cubic
N_LI, N_S, N_FRAMES = 100, 20, 1000


def _trajectory(seed: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Unwrapped positions (Å): Li random walkers (D_TRUE) plus a vibrating S framework."""
    rng = np.random.default_rng(seed)
    step = math.sqrt(2.0 * D_TRUE * 1e4 * DT_PS)  # Å per axis per frame
    li = rng.uniform(0, BOX, (1, N_LI, 3)) + np.cumsum(rng.normal(scale=step, size=(N_FRAMES, N_LI, 3)), axis=0)
    s = rng.uniform(0, BOX, (1, N_S, 3)) + rng.normal(scale=0.05, size=(N_FRAMES, N_S, 3))
    symbols = ["Li"] * N_LI + ["S"] * N_S
    masses = np.array([6.94] * N_LI + [32.06] * N_S)
    return np.concatenate([li, s], axis=1), symbols, masses


def test_d_agrees_with_kinisi():
    positions, symbols, masses = _trajectory(seed=2024)
    defaults = default_inputs("lammps_md")["analysis"]  # n_blocks and the sub-diffusion threshold of the protocol
    ours, _, _ = analyse_diffusion(
        positions, DT_PS, symbols, masses, "Li", window=(0.1, 0.5), drift=["S"],
        n_blocks=defaults["n_blocks"], subdiffusive_threshold=defaults["subdiffusive_threshold"],
    )  # fmt: skip

    # kinisi reads wrapped configurations (it unwraps them itself) and removes the framework drift.
    frames = [ase.Atoms(symbols=symbols, positions=np.mod(p, BOX), cell=np.eye(3) * BOX, pbc=True) for p in positions]
    # kinisi 2.x's default grid (every frame) is slow and biased low: use 30 intervals from 10 % to the full
    # length (kinisi's variance model assumes the grid ends at the full trajectory length).
    lags = np.unique(np.linspace(0.1 * (N_FRAMES - 1), N_FRAMES - 1, 30).round().astype(int))
    analyzer = kinisi_analyze.DiffusionAnalyzer.from_ase(
        frames,
        specie="Li",
        time_step=sc.scalar(DT_PS, unit="ps"),
        step_skip=sc.scalar(1),
        dt=sc.array(dims=["time interval"], values=lags * DT_PS, unit="ps"),
        progress=False,
    )
    analyzer.diffusion(
        start_dt=sc.scalar(lags[0] * DT_PS, unit="ps"),
        n_samples=500,
        n_burn=200,
        n_walkers=32,
        n_thin=5,
        progress=False,
        random_state=np.random.RandomState(7),
    )
    samples = analyzer.D
    assert str(samples.unit) == "cm^2/s"
    d_kinisi, err_kinisi = float(np.mean(samples.values)), float(np.std(samples.values, ddof=1))

    combined = math.hypot(ours.D_stderr, err_kinisi)
    assert abs(ours.D - d_kinisi) < 2 * combined
    assert abs(d_kinisi - D_TRUE) < 3 * err_kinisi
    assert abs(ours.D - D_TRUE) < 3 * ours.D_stderr
