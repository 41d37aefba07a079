#!/usr/bin/env python
"""The training step of ``lps.mlip.active_learning`` on a labelled data set: model choice, held-out errors, MD speed.

Runs the fit script of ``lps.mlip.train`` (``aiida_lps.engines.lammps.mlip.fit``, exactly what the work chain runs)
in a temporary folder on the ``pool`` frames of an extended-XYZ data set (``info['subset']``), with a grid of SNAP
and POD points (ridge scanned per point) scored on its 90:10 validation split, and evaluates the chosen potential on
the ``test`` frames, which never enter the fit. Then the MD speed of the chosen potential (128-atom β-Li3PS4, NVT
300 K, one core) in atom-steps/s. Unlike ``bench_snap_vs_pod.py`` (which trains POD with LAMMPS ``fitpod``), both
models here go through the project's own rows, weights, ridge fit and stress rows.

    python benchmarks/bench_fit_dataset.py [--dataset benchmarks/data/beta_li3ps4_gpaw_pbe.xyz] [--no-pod]

About 3 minutes for 60 pool + 18 test frames of 32 atoms on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import ase.io
import numpy as np
from pymatgen.io.ase import AseAtomsAdaptor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from benchlib import md_speed, one_thread  # noqa: E402

from aiida_lps.structures.reference import load_structure  # noqa: E402

ELEMENTS = ["Li", "P", "S"]
SNAP_GRID = [
    {"twojmax": twojmax, "rcutfac": rcutfac, "ridge": ridge}
    for twojmax in (4, 6)
    for rcutfac in (4.5, 5.0)
    for ridge in (1e-6, 1e-4)
]
BASES = {"snap": {"chemflag": 1, "zbl": [1.2, 1.8]}, "pod": {"zbl": [1.2, 1.8]}}  # ZBL reference for both models
POD_GRID = [
    {"model": "pod", "rcut": rcut, "ridge": ridge}  # 2+3-body, 8/6 radial functions, angular degree 4 (defaults)
    for rcut in (4.5, 5.0)
    for ridge in (1e-6, 1e-4)
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="benchmarks/data/beta_li3ps4_gpaw_pbe.xyz")
    parser.add_argument("--no-pod", action="store_true", help="SNAP points only")
    args = parser.parse_args()
    one_thread()  # the fit on one core (an environment variable set here would come after NumPy's import)
    from aiida_lps.engines.lammps.mlip import fit as mlip_fit

    frames = ase.io.read(args.dataset, index=":", format="extxyz")
    pool = [a for a in frames if a.info.get("subset") == "pool"]
    test = [a for a in frames if a.info.get("subset") == "test"]
    forces = np.concatenate([a.get_forces().ravel() for a in test])
    print(
        f"{args.dataset}: {len(pool)} pool, {len(test)} test frames; test forces RMS {np.sqrt(np.mean(forces**2)):.2f} "
        f"eV/Å, energy spread {np.ptp([a.get_potential_energy() / len(a) for a in test]) * 1000:.0f} meV/atom"
    )
    grid = SNAP_GRID + ([] if args.no_pod else POD_GRID)
    settings = {
        "elements": ELEMENTS,
        "grid": grid,
        **BASES,
        "weights": {"energy": 0.005, "force": 0.1, "stress": 0.003},
        "validation_fraction": 0.1,
        "seed": 0,
    }
    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench-fit-"))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        ase.io.write(mlip_fit.TRAINING, pool, format="extxyz")
        ase.io.write(mlip_fit.TEST, test, format="extxyz")
        start = time.perf_counter()
        results = mlip_fit.run(settings)
        wall = time.perf_counter() - start
    finally:
        os.chdir(cwd)
    if "error" in results:
        raise SystemExit(f"fit refused: {results['message']}")
    (folder / mlip_fit.RESULTS).write_text(json.dumps(results, indent=1, default=float))
    print(f"\nvalidation (90:10 split of the pool; score = E MAE/σ_E + F MAE/σ_F + S MAE/σ_S), {wall:.0f} s in all")
    print(f"{'model':6s} {'hyperparameters':44s} {'#coef':>6s} {'E meV/at':>9s} {'F eV/Å':>8s} {'score':>7s}")
    for entry in results["grid"]:
        point = {k: v for k, v in entry["hyperparameters"].items() if k != "model"}
        val = entry.get("validation", {})
        chosen = " *" if entry["hyperparameters"] == results["grid_point"] else ""
        print(
            f"{entry['model']:6s} {json.dumps(point):44s} {entry['n_coefficients']:6d} "
            f"{val.get('energy_mae_meV_per_atom', np.nan):9.2f} {val.get('force_mae_eV_per_A', np.nan):8.3f} "
            f"{entry.get('score', np.nan):7.2f}{chosen}"
        )
    test_metrics = results["test_metrics"]
    print(
        f"\nchosen: {results['model']} {results['grid_point']} ({results['n_coefficients']} coefficients); "
        f"{results['fit']['message']}"
    )
    print(
        f"held-out ({test_metrics['n_configurations']} test frames): energy MAE "
        f"{test_metrics['energy_mae_meV_per_atom']:.2f} meV/atom, force MAE {test_metrics['force_mae_eV_per_A']:.3f} "
        f"eV/Å (RMSE {test_metrics['force_rmse_eV_per_A']:.3f}), per species "
        + ", ".join(f"{k} {v:.3f}" for k, v in test_metrics["force_mae_per_species_eV_per_A"].items())
        + (f"; stress MAE {test_metrics['stress_mae_GPa']:.3f} GPa" if "stress_mae_GPa" in test_metrics else "")
    )
    files = [f for f in os.listdir(folder) if f.startswith("lps")]
    if results["model"] == "pod":
        from aiida_lps.engines.lammps.mlip import pod as module
    else:
        from aiida_lps.engines.lammps.mlip import snap as module
    pair = module.pair_arguments(module_settings(results))
    from aiida_lps.engines.lammps.potential import render_pair_lines

    lines = render_pair_lines(pair["pair_style"], pair["pair_coeff"], ELEMENTS, ELEMENTS)
    for name in files:
        lines = [line.replace(name, str(folder / name)) for line in lines]
    big = AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4")).repeat((1, 2, 2))
    speed = md_speed(lines, big, ELEMENTS, steps=200, repeats=3, workdir=folder)
    print(f"MD speed: {speed:.0f} atom-steps/s (128 atoms, 1 core; shared machine: noisy)")


def module_settings(results: dict):
    """Settings object of the chosen model from ``results.json``."""
    from aiida_lps.engines.lammps.mlip import fit as mlip_fit

    return mlip_fit.point_settings(results["grid_point"], {"elements": ELEMENTS, **BASES})[1]


if __name__ == "__main__":
    main()
