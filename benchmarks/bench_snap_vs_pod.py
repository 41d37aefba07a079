"""Element-resolved SNAP (project code) vs POD (LAMMPS ``fitpod``) on Li-P-S: held-out accuracy, fit time, MD speed.

Teacher mode (default). Labels come from a CHEAP TEACHER, not DFT: the LAMMPS pair potential of
``bench_active_learning.py`` (Morse P-S bonds, Buckingham repulsion, weak Li-S/S-S Morse attraction) labels all
configurations, because DFT is too slow for benchmark-size data on 2 cores. The numbers compare how well each linear
MLIP family learns a Li-P-S energy surface from the same data, not accuracy against DFT.

Data: teacher NVT MD of the 32-atom β-Li3PS4 cell (``load_structure('beta-Li3PS4')``) at 300/600/900 K, with the cell
isotropically strained by -2/0/+2 %, gives the training set; a separate 750 K run (another seed, strains -1/+1 %)
gives the held-out test set. Both models are fitted on the same training frames (energies and forces) and scored on
the same test frames: energy MAE per atom, force-component MAE/RMSE. SNAP uses the project's element-resolved
(``chemflag 1``) descriptors, ZBL reference and ridge least squares (``aiida_lps.science.mlip.linear.fit``); POD is
trained entirely inside ``lmp`` by ``fitpod param.pod data.pod`` from extxyz files and evaluated with
``pair_style pod`` (fitpod's own test-set errors are printed as a cross-check). Neither model fits stresses.
MD speed: NVT at 300 K of a 128-atom supercell, 200 steps, 1 MPI rank, fastest of 3 runs (shared machine: noisy).
Default run: about 1.5 minutes on 2 cores; ``--quick`` about 15 s.

    python benchmarks/bench_snap_vs_pod.py [--configs 60] [--seed 1] [--quick]

Dataset mode (``--dataset PATH``): DFT labels from an extended XYZ file (energy eV, forces eV/Å, optional stress
eV/Å³; e.g. the GPAW PBE data of ``make_gpaw_dataset.py``) whose frames carry ``info['subset']`` = ``pool``
(training) or ``test`` (held out); all frames must have the same atoms in the same order. Frames are rotated into
the LAMMPS frame on reading, so SNAP rows, the POD extxyz files and the ``pair_style`` evaluation see one set of
coordinates. A small grid search picks each model's hyperparameters on a 90:10 split of the pool
(``split_indices(n_pool, 0.1, seed)``): SNAP 2J ∈ {4, 6} × rcutfac ∈ {4.5, 5.0} Å × ridge λ ∈ {1e-6, 1e-4}; POD
2+3-body at rcut 4.5 and 5.0 Å (``--pod-n2/--pod-n3/--pod-a3`` basis), then 2+3+4-body at the better of the two.
Both models fit the same frames, written once per subset (fit, validation, pool, test) from the frames in memory;
fitpod's frame count is checked against them. The score, as in the project's SNAP grid search (``mlip.fit``), is
E MAE/σ_E + F MAE/σ_F on the validation frames with the ``--snap-sigma`` σ. The chosen setting of each model is
refitted on the whole pool and scored on the test frames (energy MAE, force MAE/RMSE, force MAE per species) with
fit time and MD speed; the last line names the winner by test force MAE. ``--twojmax`` and ``--rcut`` are not used.
About 3 minutes on 2 cores for the 60 pool + 18 test frames of ``make_gpaw_dataset.py --per-condition 5`` (fit
times are on one thread: SNAP under ``threadpoolctl``, fitpod with ``OMP_NUM_THREADS=1``; fitpod's error
analysis runs after the timed fit, from the fitted coefficients):

    python benchmarks/bench_snap_vs_pod.py --dataset benchmarks/data/beta_li3ps4_gpaw_pbe.xyz
"""

from __future__ import annotations

import argparse
import itertools
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from bench_active_learning import ELEMENTS, labels, teacher_md  # noqa: E402
from benchlib import md_speed, one_thread  # noqa: E402

from aiida_lps.engines.lammps.mlip.snap import SnapDescriptorCalculator, SnapSettings, write_potential  # noqa: E402
from aiida_lps.science.mlip.linear import FitWeights, fit, metrics  # noqa: E402
from aiida_lps.science.mlip.sampling import split_indices  # noqa: E402
from aiida_lps.testing.lammps_labels import lammps_labels_many  # noqa: E402

RIDGE = 1e-6  # the usual ridge λ of aiida_lps.science.mlip.linear.fit
POD_FOUR_BODY = (4, 2)  # fourbody radial basis functions, angular degree of the 2+3+4-body POD
SCAN_SNAP_TWOJMAX = (4, 6)
SCAN_SNAP_RCUTFAC = (4.5, 5.0)
SCAN_SNAP_RIDGE = (RIDGE, 1e-4)
SCAN_POD_RCUT = (4.5, 5.0)
ERRORS = ("energy_mae_meV_per_atom", "force_mae_eV_per_A", "force_rmse_eV_per_A")


def make_frames(atoms, temperatures, strains, n_frames: int, seed: int, workdir: pathlib.Path):
    """Teacher MD frames spread over (temperature, strain) pairs, ``n_frames`` in total, with teacher labels."""
    pairs = [(t, s) for t in temperatures for s in strains]
    per = [n_frames // len(pairs) + (1 if k < n_frames % len(pairs) else 0) for k in range(len(pairs))]
    frames = []
    for k, ((temperature, strain), count) in enumerate(zip(pairs, per, strict=True)):
        if not count:
            continue
        strained = atoms.copy()
        strained.set_cell(atoms.cell[:] * (1 + strain), scale_atoms=True)
        frames += teacher_md(strained, temperature, count, 40, seed * 100 + k, workdir)
    return frames, labels(atoms.numbers, frames, workdir)


def read_dataset(path: str):
    """Atomic numbers and the ``pool``/``test`` subsets of an extxyz data set, in the LAMMPS frame.

    Each subset is (frames, labelled) as from :func:`make_frames`: frames (positions Å, cell rows Å) and labels
    (energy eV, forces (3N,) eV/Å, Voigt stress eV/Å³ or ``None``), all rotated into the lower-triangular cell of
    LAMMPS. Other subsets are ignored; every frame must have the atoms of the first in the same order.
    """
    import ase.io
    from ase.calculators.lammps.coordinatetransform import Prism
    from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress

    images = ase.io.read(path, ":", format="extxyz")
    numbers = images[0].numbers
    subsets = {"pool": ([], []), "test": ([], [])}
    for index, image in enumerate(images):
        if image.info.get("subset") not in subsets:
            continue
        if not np.array_equal(image.numbers, numbers):
            raise ValueError(f"{path}: frame {index} has other atoms (or order) than frame 0")
        rotation = Prism(image.cell.array).rot_mat  # LAMMPS-frame row vector = input-frame row vector @ rotation
        stress = image.calc.results.get("stress")
        if stress is not None:
            stress = full_3x3_to_voigt_6_stress(rotation.T @ voigt_6_to_full_3x3_stress(stress) @ rotation)
        frames, labelled = subsets[image.info["subset"]]
        frames.append((image.positions @ rotation, image.cell.array @ rotation))
        labelled.append((image.get_potential_energy(), (image.get_forces() @ rotation).reshape(-1), stress))
    return numbers, subsets


def take(data, indices):
    """The (frames, labelled) of ``data`` at ``indices``."""
    frames, labelled = data
    return [frames[i] for i in indices], [labelled[i] for i in indices]


def write_extxyz(path: pathlib.Path, symbols, frames, labelled) -> None:
    """Extended XYZ for ``fitpod`` (Lattice, energy, species/pos/forces), LAMMPS-frame positions and cell."""
    lines = []
    for (positions, cell), (energy, forces, _stress) in zip(frames, labelled, strict=True):
        lattice = " ".join(f"{v:.10f}" for v in np.asarray(cell).reshape(-1))
        lines.append(str(len(symbols)))
        lines.append(f'Lattice="{lattice}" Properties=species:S:1:pos:R:3:forces:R:3 energy={energy:.10f} pbc="T T T"')
        f = np.asarray(forces).reshape(-1, 3)
        for sym, x, fx in zip(symbols, positions, f, strict=True):
            lines.append(f"{sym} {x[0]:.10f} {x[1]:.10f} {x[2]:.10f} {fx[0]:.10f} {fx[1]:.10f} {fx[2]:.10f}")
    path.write_text("\n".join(lines) + "\n")


def write_sets(workdir: pathlib.Path, symbols, sets: dict) -> None:
    """``workdir/<name>/<name>.xyz`` for each (frames, labelled) of ``sets``: the folders fitpod reads."""
    for name, (frames, labelled) in sets.items():
        (workdir / name).mkdir()
        write_extxyz(workdir / name / f"{name}.xyz", symbols, frames, labelled)


def ase_symbols(numbers) -> list[str]:
    """Chemical symbols of atomic ``numbers``."""
    from ase.data import chemical_symbols

    return [chemical_symbols[z] for z in numbers]


def force_errors(errors: np.ndarray, species: np.ndarray) -> dict:
    """Force MAE/RMSE (eV/Å) of all components and MAE per species (``force_mae_<element>``)."""
    out = {
        "force_mae_eV_per_A": float(np.mean(np.abs(errors))),
        "force_rmse_eV_per_A": float(np.sqrt(np.mean(errors**2))),
    }
    out.update({f"force_mae_{el}": float(np.mean(np.abs(errors[species == el]))) for el in sorted(set(species))})
    return out


def evaluate_lammps(pair_lines, numbers, frames, labelled, workdir: pathlib.Path) -> dict:
    """Energy MAE (meV/atom), force MAE/RMSE and per-species MAE (eV/Å) of a LAMMPS potential on labelled frames."""
    import ase

    structures = (ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True) for positions, cell in frames)
    predicted = lammps_labels_many(pair_lines, structures, ELEMENTS, workdir)
    e_err, f_err = [], []
    for (e_pred, f_pred, _), (energy, forces, _stress) in zip(predicted, labelled, strict=True):
        e_err.append((e_pred - energy) / len(numbers))
        f_err.append(f_pred.reshape(-1) - np.asarray(forces))
    species = np.tile(np.repeat(ase_symbols(numbers), 3), len(frames))
    return {
        "energy_mae_meV_per_atom": float(np.mean(np.abs(e_err)) * 1000),
        **force_errors(np.concatenate(f_err), species),
    }


def fit_snap(args, settings: SnapSettings, ridges, numbers, sets: dict, train: str, test: str, workdir: pathlib.Path):
    """Element-resolved SNAP with the project's descriptors and ridge fit on ``sets[train]``, scored on ``sets[test]``.

    Returns one (row, pair lines) per ridge λ of ``ridges``; the descriptors are computed once, and each fit time is
    the training descriptors plus that fit.
    """
    species = ase_symbols(numbers)
    start = time.perf_counter()
    with SnapDescriptorCalculator(settings) as calc:

        def rows_of(frames, labelled):
            out = []
            for (positions, cell), (energy, forces, stress) in zip(frames, labelled, strict=True):
                r = calc.rows(numbers, positions, cell)
                out.append(r.labelled(energy, forces, stress, species))
            return out

        train_rows = rows_of(*sets[train])
        descriptor_time = time.perf_counter() - start
        n_features, expand = calc.n_features, calc.expand
        test_rows = rows_of(*sets[test])
    out = []
    for ridge in ridges:
        start = time.perf_counter()
        result = fit(
            train_rows,
            FitWeights(energy=args.snap_sigma[0], force=args.snap_sigma[1], stress=0.0),  # no stress: as POD
            ridge,
            [e * n_features for e in range(len(ELEMENTS))],
        )
        fit_time = descriptor_time + time.perf_counter() - start
        errors = metrics(test_rows, result.coefficients)
        folder = workdir / f"snap_{train}_{settings.twojmax}_{settings.rcutfac:g}_{ridge:g}"
        folder.mkdir()
        row = {
            "model": "SNAP chemflag=1 (+ZBL)",
            "hyper": f"2J={settings.twojmax} rc={settings.cutoff:g}",
            "settings": settings,
            "ridge": ridge,
            "fit_message": result.message,
            "n_coef": 3 * n_features,
            "fit_s": fit_time,
            **{k: errors[k] for k in ERRORS},
            **{f"force_mae_{el}": v for el, v in errors["force_mae_per_species_eV_per_A"].items()},
        }
        out.append((row, write_potential(settings, expand(result.coefficients), folder)))
    return out


POD_PARAM = """species Li P S
pbc 1 1 1
rin {rin}
rcut {rcut}
number_of_environment_clusters 1
number_of_principal_components 2
bessel_polynomial_degree 4
inverse_polynomial_degree 8
twobody_number_radial_basis_functions {n2}
threebody_number_radial_basis_functions {n3}
threebody_angular_degree {a3}
fourbody_number_radial_basis_functions {n4}
fourbody_angular_degree {a4}
fivebody_number_radial_basis_functions 0
fivebody_angular_degree 0
sixbody_number_radial_basis_functions 0
sixbody_angular_degree 0
sevenbody_number_radial_basis_functions 0
sevenbody_angular_degree 0
"""

POD_DATA = """file_format extxyz
file_extension xyz
path_to_training_data_set "{train}"
path_to_test_data_set "{test}"
fitting_weight_energy {we}
fitting_weight_force 1.0
fitting_regularization_parameter 1e-10
error_analysis_for_training_data_set {analysis}
error_analysis_for_test_data_set {analysis}
basename_for_output_files lps
precision_for_pod_coefficients 12
"""


def fit_pod(args, rcut: float, n4: int, a4: int, train: str, test: str, workdir: pathlib.Path):
    """POD fitted by ``lmp`` ``fitpod`` on the extxyz folder ``workdir/train``; returns (row, pair lines, folder)."""
    pod_dir = workdir / f"pod_{train}_{rcut:g}_{n4}_{a4}"
    pod_dir.mkdir()
    (pod_dir / "param.pod").write_text(
        POD_PARAM.format(rin=args.rin, rcut=rcut, n2=args.pod_n2, n3=args.pod_n3, a3=args.pod_a3, n4=n4, a4=a4)
    )
    data = dict(train=workdir / train, test=workdir / test, we=args.pod_energy_weight)
    (pod_dir / "data.pod").write_text(POD_DATA.format(**data, analysis=0))
    (pod_dir / "errors.pod").write_text(POD_DATA.format(**data, analysis=1))
    (pod_dir / "fit.in").write_text("units metal\nfitpod param.pod data.pod\n")
    # fitpod's error analysis runs separately (from the fitted coefficients, untimed): the fit time covers the
    # descriptors and the solve, the same scope as the SNAP fit time
    (pod_dir / "errors.in").write_text("units metal\nfitpod param.pod errors.pod lps_coefficients.pod\n")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    lmp = shutil.which("lmp") or str(pathlib.Path(sys.prefix) / "bin" / "lmp")
    start = time.perf_counter()
    proc = subprocess.run(
        [lmp, "-in", "fit.in", "-log", "fit.log"], cwd=pod_dir, capture_output=True, text=True, env=env
    )
    fit_time = time.perf_counter() - start
    if not proc.returncode:
        proc = subprocess.run(
            [lmp, "-in", "errors.in", "-log", "errors.log"], cwd=pod_dir, capture_output=True, text=True, env=env
        )
    coeff = pod_dir / "lps_coefficients.pod"
    if proc.returncode or not coeff.exists():
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise RuntimeError(f"fitpod failed (rc={proc.returncode}):\n{tail}")
    n_coef = int(re.search(r"model_coefficients:\s*(\d+)", coeff.read_text()).group(1))
    lines = ["pair_style pod", f"pair_coeff * * {pod_dir / 'param.pod'} {coeff} Li P S"]
    body = f"2+3{'+4' if n4 else ''}-body"
    row = {
        "model": f"POD {body}",
        "hyper": f"rc={rcut:g} n2={args.pod_n2} n3={args.pod_n3} a3={args.pod_a3}"
        + (f" n4={n4} a4={a4}" if n4 else ""),
        "variant": (rcut, n4, a4),
        "n_coef": n_coef,
        "fit_s": fit_time,
    }
    return row, lines, pod_dir


def fitpod_errors(pod_dir: pathlib.Path, subset: str) -> list[str] | None:
    """fitpod's own errors on ``subset`` ('training' or 'test'): configs, atoms, E MAE/RMSE eV/atom, F MAE/RMSE eV/Å."""
    path = pod_dir / f"lps_{subset}_errors.pod"
    summary = [x for x in path.read_text().splitlines() if x.startswith("All files")] if path.exists() else []
    return summary[0].split()[2:] if summary else None


def print_fitpod_test_errors(row: dict, pod_dir: pathlib.Path, indent: str = "") -> None:
    """fitpod's own test errors (eV/atom, eV/Å): a cross-check of the ``pair_style pod`` evaluation."""
    own = fitpod_errors(pod_dir, "test")
    if own:
        print(
            f"{indent}fitpod's own test errors ({row['model']}; configs, atoms, E MAE/RMSE eV/atom, F MAE/RMSE eV/Å):"
        )
        print(f"{indent}  " + " ".join(own))


def pod_model(args, rcut: float, n4: int, a4: int, numbers, sets: dict, train: str, test: str, workdir: pathlib.Path):
    """:func:`fit_pod` on ``sets[train]``, scored on ``sets[test]`` with ``pair_style pod``; ``None`` if fitpod fails.

    Checks that fitpod trained on exactly the frames of ``sets[train]``.
    """
    try:
        row, lines, pod_dir = fit_pod(args, rcut, n4, a4, train, test, workdir)
    except RuntimeError as error:
        print(error)
        return None
    own = fitpod_errors(pod_dir, "training")
    if own is not None and int(own[0]) != len(sets[train][0]):
        raise RuntimeError(f"fitpod read {own[0]} training frames, not the {len(sets[train][0])} of '{train}'")
    row.update(evaluate_lammps(lines, numbers, *sets[test], workdir))
    return row, lines, pod_dir


def column_spec(hyper_width: int = 30, species=(), extra=()) -> list[tuple[str, str, str]]:
    """Table columns (title, row key, format spec): model, hyperparameters, size, fit time, errors, ``extra``."""
    return [
        ("model", "model", "<24"),
        ("hyperparameters", "hyper", f"<{hyper_width}"),
        ("#coef", "n_coef", ">6d"),
        ("fit s", "fit_s", ">7.1f"),
        ("E MAE meV/at", "energy_mae_meV_per_atom", ">13.3f"),
        ("F MAE eV/Å", "force_mae_eV_per_A", ">11.4f"),
        ("F RMSE eV/Å", "force_rmse_eV_per_A", ">12.4f"),
        *[(f"F MAE {el}", f"force_mae_{el}", ">9.4f") for el in species],
        *extra,
    ]


def print_table(rows, columns) -> None:
    """Fixed-width table of ``rows`` (dicts) with the ``columns`` of :func:`column_spec`."""
    header = " ".join(f"{title:{re.match(r'[<>^]?[0-9]*', spec).group()}}" for title, _, spec in columns)
    print(header)
    print("-" * len(header))
    for r in rows:
        print(" ".join(f"{r[key]:{spec}}" for _, key, spec in columns))


def reference_atoms():
    """The shipped 32-atom β-Li3PS4 cell (ase.Atoms)."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    return AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))


def run_teacher(args) -> None:
    """Teacher-labelled train/test frames, SNAP per ``--twojmax`` and POD 2+3(+4)-body at ``--rcut``."""
    atoms = reference_atoms()
    symbols = atoms.get_chemical_symbols()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-snap-pod-"))
    start = time.perf_counter()
    sets = {
        "train": make_frames(atoms, (300.0, 600.0, 900.0), (-0.02, 0.0, 0.02), args.configs, args.seed, workdir),
        "test": make_frames(atoms, (750.0,), (-0.01, 0.01), args.test_configs, args.seed + 50, workdir),
    }
    write_sets(workdir, symbols, sets)
    n_train, n_test = len(sets["train"][0]), len(sets["test"][0])
    print(
        f"teacher (pair potential, NOT DFT) MD + labels: {n_train} train / {n_test} held-out frames of "
        f"{len(atoms)}-atom beta-Li3PS4 ({time.perf_counter() - start:.1f} s); work dir {workdir}"
    )

    big = atoms.repeat((1, 2, 2))
    rows = []
    for twojmax in args.twojmax:
        settings = SnapSettings(elements=ELEMENTS, twojmax=twojmax, rcutfac=args.rcut)
        [(snap_row, snap_lines)] = fit_snap(args, settings, [RIDGE], atoms.numbers, sets, "train", "test", workdir)
        snap_row["md"] = md_speed(snap_lines, big, ELEMENTS, args.md_steps, args.md_repeats, workdir)
        rows.append(snap_row)
        print(f"{snap_row['model']} {snap_row['hyper']} done ({snap_row['fit_s']:.1f} s fit)", flush=True)

    variants = [(0, 0)] if args.quick else [(0, 0), POD_FOUR_BODY]
    for n4, a4 in variants:
        model = pod_model(args, args.rcut, n4, a4, atoms.numbers, sets, "train", "test", workdir)
        if model is None:
            continue
        row, lines, pod_dir = model
        row["md"] = md_speed(lines, big, ELEMENTS, args.md_steps, args.md_repeats, workdir)
        rows.append(row)
        print_fitpod_test_errors(row, pod_dir)
        print(f"{row['model']} done ({row['fit_s']:.1f} s fit)", flush=True)

    print(
        f"\nHeld-out: {n_test} teacher-MD frames at 750 K (strain ±1 %), trained on {n_train} frames "
        f"(300/600/900 K, strain -2/0/+2 %). Labels: pair-potential teacher, not DFT. MD: {len(big)} atoms, NVT 300 K, "
        f"{args.md_steps} steps, 1 core, fastest of {args.md_repeats} (shared machine: noisy). SNAP weights σ_E = "
        f"{args.snap_sigma[0]} eV/atom, σ_F = {args.snap_sigma[1]} eV/Å; POD fitting_weight_energy "
        f"{args.pod_energy_weight:g}, force 1; neither fits stress."
    )
    print_table(rows, column_spec(extra=[("MD atom-steps/s", "md", ">16.0f")]))
    best = min(rows, key=lambda r: r["force_rmse_eV_per_A"])
    print(f"\nlowest held-out force RMSE: {best['model']} ({best['hyper']})")


def score(row: dict, sigma) -> float:
    """Validation score of the project's SNAP grid search: E MAE/σ_E + F MAE/σ_F (σ_E eV/atom, σ_F eV/Å)."""
    value = row["energy_mae_meV_per_atom"] / 1000 / sigma[0] + row["force_mae_eV_per_A"] / sigma[1]
    return value if np.isfinite(value) else np.inf


def progress(row: dict, what: str) -> None:
    """One line per fit: model, hyperparameters, errors on ``what``, fit time."""
    print(
        f"  {row['model']} {row['hyper']}: {what} E MAE {row['energy_mae_meV_per_atom']:.3f} meV/atom, "
        f"F MAE {row['force_mae_eV_per_A']:.4f} eV/Å ({row['fit_s']:.1f} s fit)",
        flush=True,
    )


def run_dataset(args) -> None:
    """Grid search of SNAP and POD on a 90:10 split of the pool, refit of each best on the pool, test errors."""
    start = time.perf_counter()
    numbers, data = read_dataset(args.dataset)
    n_pool, n_test = len(data["pool"][0]), len(data["test"][0])
    if n_pool < 2 or not n_test:
        raise SystemExit(f"{args.dataset}: needs at least 2 'pool' and 1 'test' frames, has {n_pool} and {n_test}")
    fit_idx, val_idx = split_indices(n_pool, 0.1, args.seed)
    sets = {**data, "fit": take(data["pool"], fit_idx), "val": take(data["pool"], val_idx)}
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-snap-pod-dft-"))
    write_sets(workdir, ase_symbols(numbers), sets)
    print(
        f"data set {args.dataset}: {n_pool} pool frames ({len(fit_idx)} fit + {len(val_idx)} validation, "
        f"split_indices seed {args.seed}) / {n_test} test frames of {len(numbers)} atoms; work dir {workdir}"
    )

    print("grid search (fit on the fit frames, errors on the validation frames):", flush=True)
    snap_scan, pod_scan = [], []

    def record(scan: list, row: dict) -> None:
        row.update(score=score(row, args.snap_sigma), chosen="")
        scan.append(row)
        progress(row, "validation")

    for twojmax, rcutfac in itertools.product(SCAN_SNAP_TWOJMAX, SCAN_SNAP_RCUTFAC):
        settings = SnapSettings(elements=ELEMENTS, twojmax=twojmax, rcutfac=rcutfac)
        for row, _lines in fit_snap(args, settings, SCAN_SNAP_RIDGE, numbers, sets, "fit", "val", workdir):
            row["hyper"] += f" ridge={row['ridge']:g}"
            record(snap_scan, row)

    def scan_pod(rcut: float, n4: int, a4: int) -> None:
        model = pod_model(args, rcut, n4, a4, numbers, sets, "fit", "val", workdir)
        if model is not None:
            record(pod_scan, model[0])

    for rcut in SCAN_POD_RCUT:
        scan_pod(rcut, 0, 0)
    if pod_scan:  # the 2+3+4-body variant at the better 2+3-body cut-off
        scan_pod(min(pod_scan, key=lambda r: r["score"])["variant"][0], *POD_FOUR_BODY)
    chosen = [min(scan, key=lambda r: r["score"]) for scan in (snap_scan, pod_scan) if scan]
    for row in chosen:
        row["chosen"] = "*"

    print("refit of the chosen settings on the whole pool, errors on the test frames:", flush=True)
    big = reference_atoms().repeat((1, 2, 2))
    final = []
    for row in chosen:
        if row["model"].startswith("SNAP"):
            [(best, lines)] = fit_snap(args, row["settings"], [row["ridge"]], numbers, sets, "pool", "test", workdir)
            best["hyper"] = row["hyper"]
            progress(best, "test")
            print(f"    {best['fit_message']}")
        else:
            model = pod_model(args, *row["variant"], numbers, sets, "pool", "test", workdir)
            if model is None:
                continue
            best, lines, pod_dir = model
            progress(best, "test")
            print_fitpod_test_errors(best, pod_dir, "    ")
        best["md"] = md_speed(lines, big, ELEMENTS, args.md_steps, args.md_repeats, workdir)
        final.append(best)

    print(
        f"\nGrid search: fit on {len(fit_idx)} pool frames, errors on {len(val_idx)} validation frames; score = "
        f"E MAE/σ_E + F MAE/σ_F (σ_E = {args.snap_sigma[0]} eV/atom, σ_F = {args.snap_sigma[1]} eV/Å), * = chosen."
    )
    print_table(snap_scan + pod_scan, column_spec(34, extra=[("score", "score", ">7.2f"), ("chosen", "chosen", ">6")]))
    print(
        f"\nHeld-out: {n_test} test frames of {args.dataset}, chosen settings refitted on all {n_pool} pool frames "
        f"(energies and forces; neither model fits stress). MD: {len(big)}-atom beta-Li3PS4, NVT 300 K, "
        f"{args.md_steps} steps, 1 core, fastest of {args.md_repeats} (shared machine: noisy). Total "
        f"{time.perf_counter() - start:.0f} s."
    )
    print_table(final, column_spec(34, ELEMENTS, [("MD atom-steps/s", "md", ">16.0f")]))
    if final:

        def summary(r: dict) -> str:
            return f"test F MAE {r['force_mae_eV_per_A']:.4f} eV/Å, E MAE {r['energy_mae_meV_per_atom']:.3f} meV/atom"

        winner, *others = sorted(final, key=lambda r: r["force_mae_eV_per_A"])
        rest = "".join(f"; vs {r['model']}: {summary(r)}" for r in others)
        print(f"\nwinner: {winner['model']} ({winner['hyper']}: {summary(winner)}{rest})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset",
        default=None,
        help="extxyz of DFT-labelled frames with info subset=pool/test: grid search, refit, test errors (no teacher)",
    )
    parser.add_argument("--configs", type=int, default=60, help="training configurations (32 atoms each)")
    parser.add_argument("--test-configs", type=int, default=24, help="held-out configurations")
    parser.add_argument("--seed", type=int, default=1, help="teacher MD seed; with --dataset the pool split's")
    parser.add_argument(
        "--quick", action="store_true", help="20 train / 10 test configs, 100 MD steps, 2J=4 and 2+3-body POD only"
    )
    parser.add_argument("--twojmax", type=int, nargs="+", default=[4, 6], help="SNAP band limits 2J to fit")
    parser.add_argument("--rcut", type=float, default=4.5, help="cut-off radius of both models (Å)")
    parser.add_argument("--rin", type=float, default=1.0, help="POD inner cut-off (Å)")
    parser.add_argument("--pod-n2", type=int, default=8)
    parser.add_argument("--pod-n3", type=int, default=6)
    parser.add_argument("--pod-a3", type=int, default=4)
    parser.add_argument("--pod-energy-weight", type=float, default=100.0)
    parser.add_argument(
        "--snap-sigma",
        type=float,
        nargs=2,
        default=[0.002, 0.05],
        metavar=("E", "F"),
        help="SNAP expected errors: energy eV/atom, force eV/Å (row weights 1/σ); stresses are not fitted",
    )
    parser.add_argument("--md-steps", type=int, default=200)
    parser.add_argument("--md-repeats", type=int, default=3, help="MD timing repeats; the fastest is reported")
    args = parser.parse_args()
    if args.quick:
        args.configs, args.test_configs, args.md_steps = min(args.configs, 20), min(args.test_configs, 10), 100
        args.twojmax = args.twojmax[:1]
    one_thread()  # SNAP's descriptors and solve on one thread, like fitpod (OMP_NUM_THREADS=1)
    if args.dataset:
        run_dataset(args)
    else:
        run_teacher(args)


if __name__ == "__main__":
    main()
