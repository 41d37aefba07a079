"""Active vs random selection, held-out accuracy and MD speed of element-resolved SNAP on Li-P-S (β-Li3PS4).

Labels come from a CHEAP TEACHER, not DFT: a LAMMPS pair potential (Morse P-S bonds, Buckingham repulsion, weak
Li-S/S-S Morse attraction) stands in for DFT so the benchmark runs in minutes on 2 cores. The figures measure the
selection and fitting machinery, not the accuracy against DFT (see ``bench_snap_vs_pod.py --dataset`` for GPAW data).

Pool: teacher NVT MD of the 32-atom β-Li3PS4 cell at 300/600/900/1200 K with the cell strained by -5/0/+5 % (the
exploration of the work chain's protocol), ``--pool-per-condition`` frames per condition (40 → 480 frames; an
exploration pool is thousands of frames, and a pool only a few times larger than the label budget leaves nothing to
choose: at 100 % of the pool both methods are the same). Test: separate runs (other seeds) at 450/750/1050 K and
-3/0/+3 %. Random selection draws N labels from the pool (median test error of ``--draws`` draws); active selection
starts from the same 2 random labels and adds batches (``--batch``) chosen exactly as ``lps.mlip.active_learning``
does: pool frames with γ > γ_select, batch MaxVol (select-add), topped up by the highest γ when fewer frames own
active rows. Both are fitted identically (``--ridge``) and scored on the test set. Efficiency: for each active
budget, the number of random labels that reaches the same test force MAE (log-log interpolation of the random
curve); headline: active labels needed for the error random selection reaches with 48 labels.
Then the held-out errors of the final active potential and the MD speed of it (128 atoms, 1 core) in atom-steps/s.

    python benchmarks/bench_active_learning.py [--pool-per-condition 40] [--ridge 1e-4] [--twojmax 4] [--quick]

Default run about 3 minutes on 2 cores (``--quick``: 15 frames per condition, about 1 minute).
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np
from benchlib import md_speed

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.library import load_lammps
from aiida_lps.engines.lammps.mlip.snap import SnapDescriptorCalculator, SnapSettings, write_potential
from aiida_lps.engines.lammps.potential import render_pair_lines
from aiida_lps.science.mlip.linear import FitWeights, fit, metrics
from aiida_lps.science.mlip.maxvol import build_active_set, select_add
from aiida_lps.testing.lammps_labels import lammps_labels_many
from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments

ELEMENTS = ["Li", "P", "S"]
POOL_CONDITIONS = {"temperatures": (300.0, 600.0, 900.0, 1200.0), "strains": (-0.05, 0.0, 0.05), "seed": 100}
TEST_CONDITIONS = {"temperatures": (450.0, 750.0, 1050.0), "strains": (-0.03, 0.0, 0.03), "seed": 900}
ACTIVE_BUDGETS = (4, 8, 12, 16, 24, 32, 48)
RANDOM_BUDGETS = (4, 8, 12, 16, 24, 32, 48, 64, 96)
HEADLINE_BUDGET = 48

#: The teacher's LAMMPS pair lines: the toy Buckingham + Morse Li-P-S potential of ``aiida_lps.testing.toy_potentials``
#: (one definition for the tests, the GA and the benchmarks), with Li, P, S as types 1, 2, 3.
_TOY = lps_buck_morse_arguments()
TEACHER = render_pair_lines(_TOY["pair_style"], _TOY["pair_coeff"], ELEMENTS, ELEMENTS)


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
    """Teacher energy (eV), forces (3N,) (eV/Å) and Voigt stress (eV/Å³, ASE sign) of each (positions, cell) frame."""
    import ase

    structures = (ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True) for positions, cell in frames)
    return [
        (energy, forces.reshape(-1), stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]])
        for energy, forces, stress in lammps_labels_many(TEACHER, structures, ELEMENTS, workdir)
    ]


def condition_frames(atoms, conditions: dict, per_condition: int, interval: int, workdir: pathlib.Path) -> list:
    """Teacher-MD frames (positions, cell) for every (temperature, strain) of ``conditions``."""
    frames = []
    pairs = [(t, s) for t in conditions["temperatures"] for s in conditions["strains"]]
    for k, (temperature, strain) in enumerate(pairs):
        strained = atoms.copy()
        strained.set_cell(atoms.cell[:] * (1 + strain), scale_atoms=True)
        frames += teacher_md(strained, temperature, per_condition, interval, conditions["seed"] + k, workdir)
    return frames


def random_equivalent(error: float, budgets, curve: np.ndarray) -> float:
    """Random labels that reach ``error`` (log-log interpolation of the monotone envelope of the random curve)."""
    envelope = np.minimum.accumulate(np.asarray(curve, dtype=float))
    if error >= envelope[0]:
        return float(budgets[0])
    if error < envelope[-1]:
        return np.inf
    return float(np.exp(np.interp(np.log(error), np.log(envelope[::-1]), np.log(np.asarray(budgets, float)[::-1]))))


def labels_to_reach(target: float, budgets, curve) -> float:
    """Labels at which ``curve`` first reaches ``target`` (log-log interpolation between budgets; inf if never)."""
    for k, (n, error) in enumerate(zip(budgets, curve, strict=True)):
        if error <= target:
            if k == 0:
                return float(n)
            n0, e0 = budgets[k - 1], curve[k - 1]
            t = (np.log(e0) - np.log(target)) / (np.log(e0) - np.log(error))
            return float(np.exp(np.log(n0) + t * (np.log(n) - np.log(n0))))
    return np.inf


def max_gamma(actives: dict, rows) -> float:
    """Largest extrapolation grade over the atoms of one configuration (``rows``: its ConfigurationRows)."""
    return max(actives[el].grade(rows.atom_rows[rows.types == e]).max() for e, el in enumerate(ELEMENTS))


def active_selection(pool, start: list[int], budgets, batch: int, gamma_select: float, evaluate) -> dict[int, dict]:
    """Test errors along the active-learning path: γ > γ_select candidates, batch MaxVol, top-up by γ."""
    chosen, curve = list(start), {}
    while True:
        if len(chosen) in budgets:
            curve[len(chosen)] = evaluate(chosen)[1]
        if len(chosen) >= budgets[-1]:
            return curve | {"chosen": chosen}
        actives = {
            el: build_active_set(np.vstack([pool[i][1].atom_rows[pool[i][1].types == e] for i in chosen]))
            for e, el in enumerate(ELEMENTS)
        }
        rest = [i for i in range(len(pool)) if i not in chosen]
        gammas = np.array([max_gamma(actives, pool[i][1]) for i in rest])
        over = gammas > gamma_select
        candidates, candidate_gammas = [i for i, o in zip(rest, over, strict=True) if o], gammas[over]
        if not candidates:  # nothing extrapolates: the loop would stop here (converged)
            return curve | {"chosen": chosen, "converged_at": len(chosen)}
        step = min(batch, min(b for b in budgets if b > len(chosen)) - len(chosen))
        rows = [{el: pool[i][1].atom_rows[pool[i][1].types == e] for e, el in enumerate(ELEMENTS)} for i in candidates]
        picked = [candidates[k] for k in select_add(actives, rows, step, candidate_gammas).selected]
        if len(picked) < step:  # fewer owners than needed: fill with the highest-γ candidates
            by_gamma = [candidates[k] for k in np.argsort(-candidate_gammas)]
            picked += [i for i in by_gamma if i not in picked][: step - len(picked)]
        chosen += picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twojmax", type=int, default=4)
    parser.add_argument("--rcutfac", type=float, default=4.5)
    parser.add_argument("--pool-per-condition", type=int, default=40, help="pool frames per (T, strain); 12 pairs")
    parser.add_argument("--ridge", type=float, default=1e-4)
    parser.add_argument("--draws", type=int, default=8, help="random draws per budget (median reported)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--gamma-select", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random draws and the 2 starting labels")
    parser.add_argument("--quick", action="store_true", help="15 frames per condition, fewer draws")
    args = parser.parse_args()
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    per_condition = 15 if args.quick else args.pool_per_condition
    draws = 4 if args.quick else args.draws
    atoms = AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-al-"))
    start = time.perf_counter()
    pool_frames = condition_frames(atoms, POOL_CONDITIONS, per_condition, 40, workdir)
    test_frames = condition_frames(atoms, TEST_CONDITIONS, 4, 60, workdir)
    pool_labels, test_labels = labels(atoms.numbers, pool_frames, workdir), labels(atoms.numbers, test_frames, workdir)
    print(
        f"teacher MD + labels: {len(pool_frames)} pool, {len(test_frames)} test frames of {len(atoms)} atoms "
        f"({time.perf_counter() - start:.1f} s)"
    )

    settings = SnapSettings(elements=ELEMENTS, twojmax=args.twojmax, rcutfac=args.rcutfac)
    start = time.perf_counter()
    species = atoms.get_chemical_symbols()
    with SnapDescriptorCalculator(settings) as calc:

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
    weights = FitWeights(energy=0.002, force=0.05, stress=0.002)

    def evaluate(indices):
        result = fit([pool[i][0] for i in indices], weights, args.ridge, unpenalised)
        return result, metrics([d for d, _ in test], result.coefficients)["force_mae_eV_per_A"]

    rng = np.random.default_rng(args.seed)
    random_budgets = [b for b in RANDOM_BUDGETS if b <= len(pool)]
    random_draws = {
        n: [evaluate(rng.choice(len(pool), n, replace=False))[1] for _ in range(draws)] for n in random_budgets
    }
    random_curve = np.array([np.median(random_draws[n]) for n in random_budgets])
    first = [int(i) for i in rng.choice(len(pool), 2, replace=False)]
    budgets = [b for b in ACTIVE_BUDGETS if b <= len(pool)]
    start = time.perf_counter()
    path = active_selection(pool, first, budgets, args.batch, args.gamma_select, evaluate)
    active_time = time.perf_counter() - start
    chosen = path.pop("chosen")
    converged = path.pop("converged_at", None)

    print(f"\nrandom selection (median of {draws} draws) from {len(pool)} pool frames, ridge {args.ridge:g}")
    print("labels  random-force-MAE(eV/Å)  [min-max]")
    for n, median in zip(random_budgets, random_curve, strict=True):
        print(f"{n:6d}  {median:.4f}                  [{min(random_draws[n]):.4f}-{max(random_draws[n]):.4f}]")
    print(
        f"\nactive selection (γ_select {args.gamma_select}, batch MaxVol, batches of {args.batch}; {active_time:.0f} s)"
    )
    print("labels  active-force-MAE(eV/Å)  random labels for the same error  active/random")
    for n, error in path.items():
        equivalent = random_equivalent(error, random_budgets, random_curve)
        if np.isfinite(equivalent):
            shown, ratio = f"{equivalent:.1f}", f"{n / equivalent:.2f}"
        else:  # beyond the random curve: only a bound
            shown, ratio = f"> {random_budgets[-1]}", f"< {n / random_budgets[-1]:.2f}"
        print(f"{n:6d}  {error:.4f}                  {shown:>8s}                          {ratio}")
    if converged:
        print(f"(no pool frame above γ_select after {converged} labels: the loop would stop as converged)")
    if HEADLINE_BUDGET in random_budgets:
        target = float(random_curve[random_budgets.index(HEADLINE_BUDGET)])
        needed = labels_to_reach(target, list(path), list(path.values()))
        print(
            f"\nlabels to reach the test force MAE of {HEADLINE_BUDGET} random labels ({target:.4f} eV/Å): active "
            f"{needed:.1f} = {needed / HEADLINE_BUDGET:.0%} of the random labels (goal <= 50 %)"
        )

    result, _ = evaluate(chosen)
    errors = metrics([d for d, _ in test], result.coefficients)
    print(
        f"\nheld-out ({errors['n_configurations']} teacher-MD frames, 450-1050 K) with {len(chosen)} active labels: "
        f"energy MAE {errors['energy_mae_meV_per_atom']:.2f} meV/atom, force MAE {errors['force_mae_eV_per_A']:.4f} "
        f"eV/Å, stress MAE {errors.get('stress_mae_GPa', float('nan')):.3f} GPa; per species "
        + ", ".join(f"{k} {v:.3f}" for k, v in errors["force_mae_per_species_eV_per_A"].items())
    )
    print(f"fit: {result.message}")

    # MD speed of the final potential: 1x2x2 supercell, 1 MPI rank (the shared measurement of all MLIP benchmarks)
    big = atoms.repeat((1, 2, 2))
    lines = write_potential(settings, expand(result.coefficients), workdir)
    speed = md_speed(lines, big, ELEMENTS, steps=100 if args.quick else 300, repeats=3, workdir=workdir)
    print(
        f"\nMD speed: {len(big)} atoms, 2J={args.twojmax}, rc={settings.cutoff} Å, NVT 300 K, 1 core, fastest of 3: "
        f"{speed:.0f} atom-steps/s (machine shared: expect noise)"
    )


if __name__ == "__main__":
    main()
