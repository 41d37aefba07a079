"""Stand-alone MLIP (SNAP/POD) training script, copied next to the inputs and run as ``python fit_mlip.py``; no AiiDA.

Needs NumPy, SciPy, ASE, the LAMMPS Python module and this package (only its AiiDA-free modules are imported), so it
runs on a cluster next to the data. Reads

* ``training.xyz``: extended XYZ with energy (eV), forces (eV/Å) and optionally stress (eV/Å³, ASE sign);
* ``test.xyz`` (optional): held-out configurations, evaluated but never fitted;
* ``fit.json``::

    {"elements": ["Li", "P", "S"],
     "grid": [{"twojmax": 4, "rcutfac": 4.5}, ...,     # one entry = no search; default model "snap"
              {"model": "pod", "rcut": 5.0, "threebody_number_radial_basis_functions": 6}],
     "snap": {"chemflag": 1, "zbl": [1.2, 1.8], "radelem": null, "wj": null},   # base of every SNAP point
     "pod": {"zbl": [1.2, 1.8]},                                                # base of every POD point
     "weights": {"energy": 0.005, "force": 0.1, "stress": 0.003},   # expected errors: eV/atom, eV/Å, eV/Å³
     "origin_weights": {"contact": 0.1},     # relative weight of frames by their extxyz ``origin`` (default 1)
     "ridge": 1e-6, "validation_fraction": 0.1, "seed": 0, "rank_tol": 1e-6}

A grid point may carry its own ``ridge`` (scanned like any hyperparameter; points that differ only in ridge share their
descriptors). Every grid point is scored on the same 90:10 split with the same weights and ridge fit, whatever its
model (frames weighted below 1 by ``origin_weights`` are fitted but not scored), and the best point is refitted on
everything. It writes the potential (SNAP: ``lps.snapcoeff`` +
``lps.snapparam``; POD: ``lps_param.pod`` + ``lps_coefficients.pod``), ``active_set.npz`` (per element the MaxVol active
set and the grade map, plus the descriptor columns), ``parity.npz`` (reference vs predicted energies per atom and force
components of the training, validation and test sets) and ``results.json`` (``model``, chosen ``grid_point`` and
hyperparameters, grid table, metrics, fit diagnostics, and ``short_range``: the element pairs along which the potential
turns attractive below the training data's shortest contacts, :mod:`~aiida_lps.engines.lammps.mlip.short_range`). On
a refused fit ``results.json`` holds ``{"error": ..., "message": ...}`` and the exit status is 2.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
import traceback

import numpy as np

from aiida_lps.engines.lammps.mlip import models

RESULTS = "results.json"
TRAINING = "training.xyz"
TEST = "test.xyz"
SETTINGS = "fit.json"
ACTIVE_SET = "active_set.npz"
PARITY = "parity.npz"


def point_settings(point: dict, settings: dict):
    """``(model, settings)`` of one grid point: ``SnapSettings`` or ``PodSettings`` with the model's base dictionary.

    :raises ValueError: on an unknown model or invalid hyperparameters (the message names the model).
    """
    if not isinstance(point, dict):
        raise ValueError(f"a grid point must be a dictionary of hyperparameters, got {point!r}")
    model = str(point.get("model", "snap")).lower()
    values = {k: v for k, v in point.items() if k not in ("model", "ridge")}
    if model not in models.MODELS:
        raise ValueError(f"unknown model {point.get('model')!r} in grid point {point}; known: {list(models.MODELS)}")
    return model, models.model_settings(model, {**settings.get(model, {}), **values, "elements": settings["elements"]})


def point_ridge_of(point: dict, default: float) -> float:
    """Ridge λ of a grid point (``ridge`` key, e.g. to scan it like any hyperparameter) or the fit-wide default."""
    value = float(point.get("ridge", default))
    if value < 0:
        raise ValueError(f"ridge must be non-negative, got {value} in grid point {point}")
    return value


def _read(path: str) -> list:
    from ase.io import read

    return read(path, index=":", format="extxyz")


def _configuration_data(calc, atoms, origin_weights: dict | None = None):
    """Rows of ``atoms`` as :class:`ConfigurationData` (targets minus the reference potential) plus atom rows; the
    configuration's weight is ``origin_weights[atoms.info["origin"]]`` (default 1)."""
    rows = calc.rows(atoms.numbers, atoms.positions, atoms.cell.array)
    try:
        stress = np.asarray(atoms.get_stress(voigt=True))
    except Exception:  # no stress label
        stress = None
    data = rows.labelled(atoms.get_potential_energy(), atoms.get_forces(), stress, atoms.get_chemical_symbols())
    data.weight = float((origin_weights or {}).get(atoms.info.get("origin"), 1.0))
    return data, rows


def _strip(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "parity"}


def short_range_check(lines: list[str], training: list, elements: list[str]) -> dict:
    """Energies of the fitted potential along contacts shorter than the training data's shortest ones, the least safe
    of four low-energy training frames per pair (:mod:`~aiida_lps.engines.lammps.mlip.short_range`): ``{"pairs":
    [...], "attractive": [...]}``, or ``{"error": message}`` when the check itself could not run (the fit stands)."""
    from aiida_lps.engines.lammps.mlip.short_range import reference_frames, shortest_contacts, worst_scans

    try:
        scans = worst_scans(lines, reference_frames(training), elements, shortest_contacts(training))
    except Exception as exception:  # a diagnostic: report it, keep the fit
        return {"error": f"{type(exception).__name__}: {exception}"}
    return {"pairs": [s.to_dict() for s in scans], "attractive": [s.pair for s in scans if s.attractive]}


def run(settings: dict) -> dict:
    """Grid search on a split, final fit on everything, active set, test metrics; returns the results dictionary.

    A fit that the data cannot determine with ``ridge = 0`` returns ``{"error": "underdetermined", ...}``.
    """
    from aiida_lps.science.mlip.linear import UnderdeterminedFitError

    try:
        return _run(settings)
    except UnderdeterminedFitError as exception:
        return {"error": "underdetermined", "message": str(exception)}


def _run(settings: dict) -> dict:
    from aiida_lps.science.mlip.linear import FitWeights, fit, metrics, weighted_score
    from aiida_lps.science.mlip.maxvol import build_active_set
    from aiida_lps.science.mlip.sampling import split_indices

    training = _read(TRAINING)
    test = _read(TEST) if pathlib.Path(TEST).is_file() else []
    elements = list(settings["elements"])
    weights = FitWeights(**settings.get("weights", {}))
    origin_weights = {str(k): float(v) for k, v in (settings.get("origin_weights") or {}).items()}
    ridge = float(settings.get("ridge", 1e-6))
    rank_tol = float(settings.get("rank_tol", 1e-6))
    grid = settings.get("grid") or [{}]
    train_idx, val_idx = split_indices(
        len(training), float(settings.get("validation_fraction", 0.1)), int(settings.get("seed", 0))
    )
    table = []
    best = None
    cache = {}
    for point in grid:
        model, model_settings = point_settings(point, settings)
        point_ridge = point_ridge_of(point, ridge)
        descriptors = json.dumps({k: v for k, v in point.items() if k != "ridge"}, sort_keys=True)
        start = time.perf_counter()
        if descriptors not in cache:  # grid points that differ only in ridge share their descriptors
            with models.descriptor_calculator(model, model_settings) as calc:
                data = [_configuration_data(calc, atoms, origin_weights) for atoms in training]
                cache[descriptors] = (model, model_settings, data, getattr(calc, "groups", None), calc.n_features)
        _, _, data, groups, n_features = cache[descriptors]
        descriptor_time = time.perf_counter() - start
        unpenalised = [e * n_features for e in range(len(elements))]
        entry = {"model": model, "hyperparameters": point, "n_coefficients": len(elements) * n_features}
        if len(grid) > 1 and len(val_idx):
            result = fit([data[i][0] for i in train_idx], weights, point_ridge, unpenalised)
            # frames weighted below 1 (close contacts) shape the fit but are not scored: a left-out contact frame is
            # unlike every other, its error says nothing about the accuracy that the grid should choose by
            validation = [data[i][0] for i in val_idx if data[i][0].weight >= 1.0] or [data[i][0] for i in val_idx]
            val = metrics(validation, result.coefficients)
            score = weighted_score(validation, result.coefficients, weights)
            entry.update(validation=_strip(val), score=score, regularised=result.regularised)
        entry["descriptor_time_s"] = descriptor_time
        table.append(entry)
        if best is None or entry.get("score", 0.0) < best[0].get("score", 0.0):
            best = (entry, point)
    chosen = best[1]
    ridge = point_ridge_of(chosen, ridge)
    model, model_settings, data, groups, n_features = cache[
        json.dumps({k: v for k, v in chosen.items() if k != "ridge"}, sort_keys=True)
    ]
    unpenalised = [e * n_features for e in range(len(elements))]
    result = fit([d for d, _ in data], weights, ridge, unpenalised)
    train_metrics = metrics([d for d, _ in data], result.coefficients)
    with models.descriptor_calculator(model, model_settings, groups) as calc:
        full = calc.expand(result.coefficients)
        test_data = [_configuration_data(calc, atoms)[0] for atoms in test]
        models.write_potential_files(model, model_settings, full, f"({len(training)} configurations)")
        columns = calc.columns
    short_range = short_range_check(models.pair_lines(model, model_settings), training, elements)
    test_metrics = metrics(test_data, result.coefficients) if test_data else {"n_configurations": 0}

    arrays = {"columns": np.array(columns, dtype=int)}
    active_info = {}
    for e, element in enumerate(elements):
        rows = [r.atom_rows[r.types == e] for _, r in data]
        stacked = np.vstack(rows) if rows else np.zeros((0, n_features))
        if not len(stacked):
            continue
        active = build_active_set(stacked, rank_tol)
        arrays.update(active.to_arrays(element))
        arrays[f"{element}_grade_map"] = active.grade_map
        training_gamma = active.grade(stacked)
        active_info[element] = {
            "rank": active.rank,
            "n_features": int(stacked.shape[1]),
            "n_training_rows": int(len(stacked)),
            "max_training_gamma": float(training_gamma.max()),
        }
    np.savez_compressed(ACTIVE_SET, **arrays)
    parity = {}
    for name, values in (("train", train_metrics), ("test", test_metrics)):
        for key, array in values.get("parity", {}).items():
            parity[f"{name}_{key}"] = np.asarray(array)
    np.savez_compressed(PARITY, **parity)
    sizes = {"n_descriptors": n_features - 1}
    if model == "snap":
        sizes = {"n_bispectrum_full": model_settings.n_bispectrum, "n_bispectrum_unique": len(groups)}
    return {
        "model": model,
        "grid_point": chosen,
        "hyperparameters": {**model_settings.to_dict(), **chosen},
        "grid": table,
        "fit": result.to_dict(),
        "ridge": ridge,
        # each origin weight with the number of training frames it applied to (0: the data have no such origin)
        "origin_weights": {
            origin: {"weight": weight, "n_frames": sum(atoms.info.get("origin") == origin for atoms in training)}
            for origin, weight in origin_weights.items()
        },
        "weights": {
            "energy_eV_per_atom": weights.energy,
            "force_eV_per_A": weights.force,
            "stress_eV_per_A3": weights.stress,
        },
        "n_training": len(training),
        "n_test": len(test),
        "n_coefficients": int(result.n_coefficients),
        **sizes,
        "cutoff_A": model_settings.cutoff,
        "training_metrics": _strip(train_metrics),
        "test_metrics": _strip(test_metrics),
        "active_set": active_info,
        "short_range": short_range,
    }


def main() -> int:
    """Entry point: always writes ``results.json``; exit status 0 (fit written), 2 (fit refused) or 1 (crash)."""
    start = time.perf_counter()
    try:
        settings = json.loads(pathlib.Path(SETTINGS).read_text())
        results = run(settings)
    except Exception as exception:  # report, do not hide
        results = {
            "error": "exception",
            "message": f"{type(exception).__name__}: {exception}",
            "traceback": traceback.format_exc(),
        }
    results["wall_time_s"] = time.perf_counter() - start
    pathlib.Path(RESULTS).write_text(json.dumps(results, indent=1, default=float))
    if "error" in results:
        print(results["message"], file=sys.stderr)
        return 2 if results["error"] == "underdetermined" else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
