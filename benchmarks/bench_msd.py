"""Benchmark: tracer-D analysis of ``aiida_lps.science`` vs pymatgen-analysis-diffusion.

A seeded synthetic trajectory (default 1000 atoms x 5000 frames, 1/3 Li random walkers with
D = 1e-5 cm²/s, the rest a P/S framework vibrating around fixed sites, 0.1 ps between frames) is written
to a temporary .npy file. Each method then runs in its own fresh subprocess, twice: once for wall time and
peak RSS (``resource.getrusage`` ru_maxrss, reported as the increase over the RSS after loading the data),
and once under ``tracemalloc`` for the peak of traced (NumPy + Python) allocations. Both methods start
from the same unwrapped positions array (n_frames, n_atoms, 3) in Å:

Wall time is reported for the first call in the process (cold) and as the best of two further calls (warm).

* ``aiida_lps``: ``analyse_diffusion(positions, 0.1, symbols, masses, 'Li')`` (FFT MSD of the Li atoms,
  framework drift by all-atom COM, 5 blocks for the error).
* ``aiida_lps_msd``: the same MSD and fit without the block errors (the work pymatgen does).
* ``pymatgen``: build the displacement array (n_atoms, n_frames, 3) and the initial ``Structure``, then
  ``DiffusionAnalyzer(structure, disp, 'Li', temperature, time_step=100 fs, step_skip=1, smoothed=...)``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_msd.py                      # 1000 atoms x 5000 frames
    .venv/bin/python benchmarks/bench_msd.py --atoms 300 --frames 2000 --seed 1 --smoothed max
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

D_TRUE = 1e-5  # cm²/s
DT_PS = 0.1  # ps between frames
TEMPERATURE = 800.0  # K, only used by pymatgen for its conductivity
MASSES = {"Li": 6.94, "P": 30.974, "S": 32.06}
METHODS = ("aiida_lps", "aiida_lps_msd", "pymatgen")


def make_trajectory(n_atoms: int, n_frames: int, seed: int) -> tuple[np.ndarray, list[str], float]:
    """Unwrapped positions (n_frames, n_atoms, 3) in Å, symbols, cubic box length in Å."""
    rng = np.random.default_rng(seed)
    n_li = n_atoms // 3
    n_p = (n_atoms - n_li) // 5
    symbols = ["Li"] * n_li + ["P"] * n_p + ["S"] * (n_atoms - n_li - n_p)
    box = (20.0 * n_atoms) ** (1.0 / 3.0)  # ~20 Å³ per atom
    positions = rng.normal(size=(n_frames, n_atoms, 3))
    positions[:, :n_li] *= np.sqrt(2.0 * D_TRUE * 1e4 * DT_PS)
    np.cumsum(positions[:, :n_li], axis=0, out=positions[:, :n_li])
    positions[:, n_li:] *= 0.1  # framework vibrations, Å
    positions += rng.uniform(0.0, box, size=(1, n_atoms, 3))
    return positions, symbols, box


def _maxrss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _analysis_defaults() -> dict:
    """The protocol's default analysis settings (``analysis`` of aiida_lps/protocols/lammps_md.yaml)."""
    from aiida_lps.protocols import default_inputs

    analysis = default_inputs("lammps_md")["analysis"]
    return {key: analysis[key] for key in ("window", "n_blocks", "drift", "subdiffusive_threshold")}


def _run_aiida_lps(positions: np.ndarray, symbols: list[str], box: float) -> tuple[float, float]:
    from aiida_lps.science.diffusion import analyse_diffusion

    masses = np.array([MASSES[s] for s in symbols])
    result, _, _ = analyse_diffusion(positions, DT_PS, symbols, masses, "Li", **_analysis_defaults())
    return result.D, result.D_stderr


def _run_aiida_lps_msd(positions: np.ndarray, symbols: list[str], box: float) -> tuple[float, float]:
    """MSD + D only (no block errors): the same work as pymatgen's DiffusionAnalyzer."""
    from aiida_lps.science.constants import A2_PER_PS_TO_CM2_PER_S
    from aiida_lps.science.diffusion import fit_msd
    from aiida_lps.science.msd import msd_by_species

    masses = np.array([MASSES[s] for s in symbols])
    defaults = _analysis_defaults()
    msd = msd_by_species(positions, symbols, masses, species=["Li"], drift=defaults["drift"])["Li"]
    slope, _, _, _ = fit_msd(np.arange(len(msd)) * DT_PS, msd.sum(axis=1), defaults["window"])
    return slope / 6.0 * A2_PER_PS_TO_CM2_PER_S, float("nan")


def _run_pymatgen(positions: np.ndarray, symbols: list[str], box: float, smoothed: str | bool) -> tuple[float, float]:
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    structure = Structure(Lattice.cubic(box), symbols, np.mod(positions[0], box), coords_are_cartesian=True)
    displacements = (positions - positions[0]).transpose(1, 0, 2)  # (n_atoms, n_frames, 3), Å
    analyzer = DiffusionAnalyzer(
        structure,
        displacements,
        specie="Li",
        temperature=TEMPERATURE,
        time_step=DT_PS * 1000.0,  # fs
        step_skip=1,
        smoothed=smoothed,
    )
    return float(analyzer.diffusivity), float(analyzer.diffusivity_std_dev)


def worker(method: str, data: Path, trace: bool, smoothed: str | bool) -> dict:
    """Run one method on the stored trajectory in this (fresh) process and return its measurements."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    # Import the heavy modules before the baseline so that only the analysis itself is measured.
    import pymatgen.analysis.diffusion.analyzer  # noqa: F401

    import aiida_lps.science.diffusion  # noqa: F401

    stored = np.load(data, allow_pickle=False)
    positions = stored["positions"]
    symbols = [str(s) for s in stored["symbols"]]
    box = float(stored["box"])
    baseline = _maxrss_mib()
    if trace:
        tracemalloc.start()
    walls = []
    for _ in range(1 if trace else 3):  # first call (cold: allocations, FFT plans) and two warm repeats
        start = time.perf_counter()
        if method == "aiida_lps":
            d, d_err = _run_aiida_lps(positions, symbols, box)
        elif method == "aiida_lps_msd":
            d, d_err = _run_aiida_lps_msd(positions, symbols, box)
        else:
            d, d_err = _run_pymatgen(positions, symbols, box, smoothed)
        walls.append(time.perf_counter() - start)
    out = {
        "method": method,
        "D": d,
        "D_err": d_err,
        "wall_s": walls[0],
        "warm_s": min(walls[1:] or walls),
        "rss_increase_mib": _maxrss_mib() - baseline,
    }
    if trace:
        out["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def _spawn(method: str, data: Path, trace: bool, smoothed: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", method, "--data", str(data), "--smoothed", smoothed]
    if trace:
        cmd.append("--trace")
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _parse_smoothed(value: str) -> str | bool:
    return False if value.lower() in ("false", "none", "0") else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoothed", default="max", help="pymatgen smoothing: 'max' (default), 'constant', False")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.trace, _parse_smoothed(args.smoothed))))
        return

    positions, symbols, box = make_trajectory(args.atoms, args.frames, args.seed)
    print(
        f"trajectory: {args.atoms} atoms ({symbols.count('Li')} Li) x {args.frames} frames, dt = {DT_PS} ps, "
        f"box {box:.2f} Å, positions {positions.nbytes / 2**20:.0f} MiB, seed {args.seed}, "
        f"D_true = {D_TRUE:.3e} cm²/s"
    )
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "trajectory.npz"
        np.savez(data, positions=positions, symbols=np.array(symbols), box=box)
        del positions
        for method in METHODS:
            timed = _spawn(method, data, False, args.smoothed)
            traced = _spawn(method, data, True, args.smoothed)
            timed["traced_peak_mib"] = traced["traced_peak_mib"]
            rows[method] = timed

    ref = rows["aiida_lps"]
    columns = [("wall_s", "cold s", ".2f"), ("warm_s", "warm s", ".2f"), ("rss_increase_mib", "ΔRSS MiB", ".0f")]
    columns.append(("traced_peak_mib", "traced MiB", ".0f"))
    header = f"{'method':<14}" + "".join(f"{title:>11}{'ratio':>7}" for _, title, _ in columns)
    header += f"{'D (cm²/s)':>24}{'D/D_true':>10}"
    print(header)
    print("-" * len(header))
    for method, row in rows.items():
        line = f"{method:<14}"
        for key, _, fmt in columns:
            line += f"{row[key]:>11{fmt}}{row[key] / max(ref[key], 1e-12):>7.1f}"
        d_text = f"{row['D']:.3e} ± {row['D_err']:.1e}"
        line += f"{d_text:>24}{row['D'] / D_TRUE:>10.3f}"
        print(line)
    print(f"(pymatgen smoothed={args.smoothed!r}; ratio = method / aiida_lps; ΔRSS = peak RSS - RSS after load)")


if __name__ == "__main__":
    main()
