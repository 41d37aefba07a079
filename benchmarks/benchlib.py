"""Pieces shared by the benchmark scripts: one thread for NumPy/BLAS, one way to measure MD speed.

Every MLIP benchmark reports MD speed with :func:`md_speed` (NVT at 300 K, one MPI rank, fastest of ``repeats``
timed runs after a 10-step warm-up), and every fit time is taken under :func:`one_thread`, so figures from different
scripts compare like with like.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.library import load_lammps

__all__ = ("md_speed", "one_thread")


def one_thread():
    """Limit the BLAS/OpenMP thread pools of this process to one thread (works after NumPy is imported).

    Setting ``OPENBLAS_NUM_THREADS`` from Python after NumPy is loaded has no effect; this does. Use as a context
    manager, or call once at the start of ``main()`` to keep the limit for the whole run.
    """
    return threadpool_limits(limits=1)


def md_speed(pair_lines: Sequence[str], atoms, elements: Sequence[str], steps: int, repeats: int,
             workdir: pathlib.Path) -> float:  # fmt: skip
    """MD speed in atom-steps/s of ``atoms`` with the potential ``pair_lines``: NVT at 300 K, timestep 1 fs, one
    MPI rank; the fastest of ``repeats`` runs of ``steps`` steps after a 10-step warm-up.

    NaN (with a note) when LAMMPS stops, e.g. on lost atoms with a potential fitted to too few frames.
    """
    data = pathlib.Path(workdir) / "md_speed.data"
    data.write_text(write_data_file(atoms, list(elements)))
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    best = np.inf
    try:
        lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                f"read_data {data}",
                *pair_lines,
                "timestep 0.001",
                "velocity all create 300 1 dist gaussian",
                "fix nvt all nvt temp 300 300 0.1",
                "run 10",
            ]
        )
        for _ in range(repeats):
            start = time.perf_counter()
            lmp.command(f"run {steps}")
            best = min(best, time.perf_counter() - start)
    except Exception as error:  # LAMMPS error: report no speed rather than stop the benchmark
        print(f"  MD stopped, no MD speed: {(str(error).strip().splitlines() or ['?'])[0][:200]}")
        return float("nan")
    finally:
        lmp.close()
    return len(atoms) * steps / best
