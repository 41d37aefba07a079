"""Element-resolved SNAP (project code) vs POD (LAMMPS ``fitpod``) on Li-P-S: held-out accuracy, fit time, MD speed.

Labels come from a CHEAP TEACHER, not DFT: the LAMMPS pair potential of ``bench_active_learning.py`` (Morse P-S
bonds, Buckingham repulsion, weak Li-S/S-S Morse attraction) labels all configurations, because DFT is too slow for
benchmark-size data on 2 cores. The numbers compare how well each linear MLIP family learns a Li-P-S energy surface
from the same data, not accuracy against DFT.

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
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from bench_active_learning import ELEMENTS, labels, teacher_md  # noqa: E402

from aiida_lps.engines.lammps.inputs import write_data_file  # noqa: E402
from aiida_lps.engines.lammps.snap import (  # noqa: E402
    DescriptorCalculator,
    SnapSettings,
    load_lammps,
    write_potential,
)
from aiida_lps.science.mlip.linear import FitWeights, fit, metrics  # noqa: E402


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


def evaluate_lammps(pair_lines, numbers, frames, labelled, workdir: pathlib.Path) -> dict:
    """Energy MAE (meV/atom) and force MAE/RMSE (eV/Å) of a LAMMPS potential on labelled frames."""
    import ase

    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    e_err, f_err = [], []
    for (positions, cell), (energy, forces, _stress) in zip(frames, labelled, strict=True):
        frame = ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
        (workdir / "eval.data").write_text(write_data_file(frame, ELEMENTS))
        lmp.commands_list(
            [
                "clear",
                "units metal",
                "atom_style atomic",
                "atom_modify map array sort 0 0",
                f"read_data {workdir / 'eval.data'}",
                *pair_lines,
                "thermo_style custom step pe",
                "run 0",
            ]
        )
        n = len(numbers)
        e_err.append((lmp.get_thermo("pe") - energy) / n)
        f_err.append(np.array(lmp.numpy.extract_atom("f"))[:n].reshape(-1) - np.asarray(forces))
    lmp.close()
    f_all = np.concatenate(f_err)
    return {
        "energy_mae_meV_per_atom": float(np.mean(np.abs(e_err)) * 1000),
        "force_mae_eV_per_A": float(np.mean(np.abs(f_all))),
        "force_rmse_eV_per_A": float(np.sqrt(np.mean(f_all**2))),
    }


def md_speed(pair_lines, big, steps: int, repeats: int, workdir: pathlib.Path) -> float:
    """Atom-steps/s of NVT at 300 K with ``pair_lines`` on one MPI rank: fastest of ``repeats`` runs after warm-up."""
    (workdir / "big.data").write_text(write_data_file(big, ELEMENTS))
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    lmp.commands_list(
        [
            "units metal",
            "atom_style atomic",
            f"read_data {workdir / 'big.data'}",
            *pair_lines,
            "timestep 0.001",
            "velocity all create 300 1 dist gaussian",
            "fix nvt all nvt temp 300 300 0.1",
            "run 10",
        ]
    )
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        lmp.command(f"run {steps}")
        best = min(best, time.perf_counter() - start)
    lmp.close()
    return len(big) * steps / best


def fit_snap(args, twojmax: int, atoms, train, test, workdir: pathlib.Path):
    """Element-resolved SNAP with the project's descriptors and ridge fit; returns (row, pair lines)."""
    settings = SnapSettings(elements=ELEMENTS, twojmax=twojmax, rcutfac=args.rcut)
    workdir = workdir / f"snap_{twojmax}"
    workdir.mkdir()
    species = atoms.get_chemical_symbols()
    start = time.perf_counter()
    with DescriptorCalculator(settings) as calc:

        def rows_of(frames, labelled):
            out = []
            for (positions, cell), (energy, forces, stress) in zip(frames, labelled, strict=True):
                r = calc.rows(atoms.numbers, positions, cell)
                out.append(r.labelled(energy, forces, stress, species))
            return out

        train_rows = rows_of(*train)
        n_features, expand = calc.n_features, calc.expand
        result = fit(
            train_rows,
            FitWeights(energy=args.snap_sigma[0], force=args.snap_sigma[1], stress=0.0),  # no stress: as POD
            1e-6,
            [e * n_features for e in range(len(ELEMENTS))],
        )
        fit_time = time.perf_counter() - start
        test_rows = rows_of(*test)
    errors = metrics(test_rows, result.coefficients)
    lines = write_potential(settings, expand(result.coefficients), workdir)
    row = {
        "model": "SNAP chemflag=1 (+ZBL)",
        "hyper": f"2J={twojmax} rc={settings.cutoff:g}",
        "n_coef": 3 * n_features,
        "fit_s": fit_time,
        **{k: errors[k] for k in ("energy_mae_meV_per_atom", "force_mae_eV_per_A", "force_rmse_eV_per_A")},
    }
    return row, lines


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
error_analysis_for_training_data_set 1
error_analysis_for_test_data_set 1
basename_for_output_files lps
precision_for_pod_coefficients 12
"""


def fit_pod(args, n4: int, a4: int, workdir: pathlib.Path):
    """POD fitted by ``lmp`` ``fitpod``; returns (row, pair lines, fitpod log tail)."""
    pod_dir = workdir / f"pod_{n4}_{a4}"
    pod_dir.mkdir()
    (pod_dir / "param.pod").write_text(
        POD_PARAM.format(rin=args.rin, rcut=args.rcut, n2=args.pod_n2, n3=args.pod_n3, a3=args.pod_a3, n4=n4, a4=a4)
    )
    (pod_dir / "data.pod").write_text(
        POD_DATA.format(train=workdir / "train", test=workdir / "test", we=args.pod_energy_weight)
    )
    (pod_dir / "fit.in").write_text("units metal\nfitpod param.pod data.pod\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run(
        ["lmp", "-in", "fit.in", "-log", "fit.log"], cwd=pod_dir, capture_output=True, text=True, env=env
    )
    fit_time = time.perf_counter() - start
    coeff = pod_dir / "lps_coefficients.pod"
    if proc.returncode or not coeff.exists():
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise RuntimeError(f"fitpod failed (rc={proc.returncode}):\n{tail}")
    n_coef = int(re.search(r"model_coefficients:\s*(\d+)", coeff.read_text()).group(1))
    lines = ["pair_style pod", f"pair_coeff * * {pod_dir / 'param.pod'} {coeff} Li P S"]
    body = f"2+3{'+4' if n4 else ''}-body"
    row = {
        "model": f"POD {body}",
        "hyper": f"rc={args.rcut:g} n2={args.pod_n2} n3={args.pod_n3} a3={args.pod_a3}"
        + (f" n4={n4} a4={a4}" if n4 else ""),
        "n_coef": n_coef,
        "fit_s": fit_time,
    }
    return row, lines, pod_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=60, help="training configurations (32 atoms each)")
    parser.add_argument("--test-configs", type=int, default=24, help="held-out configurations")
    parser.add_argument("--seed", type=int, default=1)
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
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    atoms = AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))
    symbols = atoms.get_chemical_symbols()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-snap-pod-"))
    start = time.perf_counter()
    train = make_frames(atoms, (300.0, 600.0, 900.0), (-0.02, 0.0, 0.02), args.configs, args.seed, workdir)
    test = make_frames(atoms, (750.0,), (-0.01, 0.01), args.test_configs, args.seed + 50, workdir)
    for name, (frames, labelled) in (("train", train), ("test", test)):
        (workdir / name).mkdir()
        write_extxyz(workdir / name / f"{name}.xyz", symbols, frames, labelled)
    print(
        f"teacher (pair potential, NOT DFT) MD + labels: {len(train[0])} train / {len(test[0])} held-out frames of "
        f"{len(atoms)}-atom beta-Li3PS4 ({time.perf_counter() - start:.1f} s); work dir {workdir}"
    )

    big = atoms.repeat((1, 2, 2))
    rows = []
    for twojmax in args.twojmax:
        snap_row, snap_lines = fit_snap(args, twojmax, atoms, train, test, workdir)
        snap_row["md"] = md_speed(snap_lines, big, args.md_steps, args.md_repeats, workdir)
        rows.append(snap_row)
        print(f"{snap_row['model']} {snap_row['hyper']} done ({snap_row['fit_s']:.1f} s fit)", flush=True)

    variants = [(0, 0)] if args.quick else [(0, 0), (4, 2)]
    for n4, a4 in variants:
        try:
            row, lines, pod_dir = fit_pod(args, n4, a4, workdir)
        except RuntimeError as error:
            print(error)
            continue
        row.update(evaluate_lammps(lines, atoms.numbers, *test, workdir))
        row["md"] = md_speed(lines, big, args.md_steps, args.md_repeats, workdir)
        rows.append(row)
        own = pod_dir / "lps_test_errors.pod"
        if own.exists():  # cross-check of the pair_style pod evaluation: fitpod's own test errors (eV/atom, eV/Å)
            summary = [x for x in own.read_text().splitlines() if x.startswith("All files")]
            print(f"fitpod's own test errors ({row['model']}; configs, atoms, E MAE/RMSE eV/atom, F MAE/RMSE eV/Å):")
            print("  " + " ".join(summary[0].split()[2:]) if summary else own.read_text())
        print(f"{row['model']} done ({row['fit_s']:.1f} s fit)", flush=True)

    print(
        f"\nHeld-out: {len(test[0])} teacher-MD frames at 750 K (strain ±1 %), trained on {len(train[0])} frames "
        f"(300/600/900 K, strain -2/0/+2 %). Labels: pair-potential teacher, not DFT. MD: {len(big)} atoms, NVT 300 K, "
        f"{args.md_steps} steps, 1 core, fastest of {args.md_repeats} (shared machine: noisy). SNAP weights σ_E = "
        f"{args.snap_sigma[0]} eV/atom, σ_F = {args.snap_sigma[1]} eV/Å; POD fitting_weight_energy "
        f"{args.pod_energy_weight:g}, force 1; neither fits stress."
    )
    header = (
        f"{'model':<24} {'hyperparameters':<30} {'#coef':>6} {'fit s':>7} {'E MAE meV/at':>13} "
        f"{'F MAE eV/Å':>11} {'F RMSE eV/Å':>12} {'MD atom-steps/s':>16}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['model']:<24} {r['hyper']:<30} {r['n_coef']:>6d} {r['fit_s']:>7.1f} "
            f"{r['energy_mae_meV_per_atom']:>13.3f} {r['force_mae_eV_per_A']:>11.4f} {r['force_rmse_eV_per_A']:>12.4f} "
            f"{r['md']:>16.0f}"
        )
    best = min(rows, key=lambda r: r["force_rmse_eV_per_A"])
    print(f"\nlowest held-out force RMSE: {best['model']} ({best['hyper']})")


if __name__ == "__main__":
    main()
