"""GA vs enumeration vs random search on an enumerable removal problem (prints figures; not a test).

Problem: one Li2S unit (2 Li + 1 S) removed from a β-Li3PS4 supercell. Every symmetry-distinct arrangement is
relaxed once with the toy Li–P–S pair potential (``aiida_lps.testing.toy_potentials``) in one LAMMPS batch run
(``aiida_lps.engines.lammps.relax``), which gives the true minimum. The GA (``aiida_lps.science.genetic``) and a
random search then draw on those relaxed energies (a relaxation is deterministic, so looking it up is the same as
running it again); the figure of merit is the number of relaxations until the true minimum is found.

Usage: ``python benchmarks/bench_genetic_enumeration.py [--supercell 2 1 1] [--population 32] [--seeds 10]``
(about 2 minutes for the 2×1×1 cell on one core, most of it the enumeration).
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import subprocess
import tempfile
import time

import numpy as np
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.cli.setup import find_lammps_executable
from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.potential import render_pair_lines
from aiida_lps.engines.lammps.relax import RelaxSettings, config_filename, parse_relax_log, relax_batch_script
from aiida_lps.science.genetic import GASettings, GeneticSearch, RemovalProblem
from aiida_lps.structures.reference import load_structure
from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments


def enumerate_distinct(problem: RemovalProblem) -> dict[str, list[int]]:
    """One representative removed-site list per canonical key (every mask with the exact counts)."""
    per_element = [
        itertools.combinations(problem.sublattices[el], problem.removed_counts[el]) for el in problem.sublattices
    ]
    distinct: dict[str, list[int]] = {}
    for parts in itertools.product(*per_element):
        removed = sorted(int(i) for part in parts for i in part)
        distinct.setdefault(problem.key(problem.mask(removed)), removed)
    return distinct


def load_or_enumerate(structure, problem: RemovalProblem, table_path: pathlib.Path | None) -> dict[str, float]:
    """Relaxed energy (eV, inf on failure) per canonical key: read from ``table_path`` if it exists, else relax every
    distinct arrangement (and write the table there)."""
    if table_path is not None and table_path.exists():
        data = json.loads(table_path.read_text())
        print(f"enumeration read from {table_path} ({len(data['energies'])} distinct arrangements)")
        return {k: (float(e) if e is not None else np.inf) for k, e in data["energies"].items()}
    start = time.perf_counter()
    distinct = enumerate_distinct(problem)
    print(f"{len(distinct)} distinct arrangements ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        energies = relax_all(structure, list(distinct.values()), pathlib.Path(tmp))
    elapsed = time.perf_counter() - start
    print(f"enumeration: {len(distinct)} relaxations in one LAMMPS run, {elapsed:.1f} s")
    table = {key: (float(e) if np.isfinite(e) else np.inf) for key, e in zip(distinct, energies, strict=True)}
    if table_path is not None:
        table_path.write_text(
            json.dumps(
                {
                    "energies": {k: (e if np.isfinite(e) else None) for k, e in table.items()},
                    "removed": distinct,
                    "seconds": elapsed,
                }
            )
        )
    return table


def relax_all(structure, removed_lists, workdir: pathlib.Path) -> np.ndarray:
    """Relaxed energies (eV; NaN on failure) of the parent minus each removed-site list, in one LAMMPS run."""
    args = lps_buck_morse_arguments()
    elements = args["elements"]
    pair = render_pair_lines(args["pair_style"], args["pair_coeff"], elements, elements)
    atoms = AseAtomsAdaptor.get_atoms(structure)
    for index, removed in enumerate(removed_lists):
        keep = np.ones(len(atoms), dtype=bool)
        keep[removed] = False
        (workdir / config_filename(index)).write_text(write_data_file(atoms[keep], elements))
    settings = RelaxSettings(ftol=1e-3, maxiter=500)
    (workdir / "in.lmp").write_text(relax_batch_script(settings, pair, len(removed_lists)))
    subprocess.run(
        [find_lammps_executable(), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"],
        cwd=workdir,
        check=True,
    )
    results = parse_relax_log((workdir / "log.lammps").read_text())
    return np.array([results[i].energy if i in results else np.nan for i in range(len(removed_lists))])


def ga_relaxations_to_minimum(problem, table, minimum, settings) -> tuple[int | None, int]:
    """(relaxations until the minimum was first evaluated or None, total relaxations) of one GA run."""
    search = GeneticSearch(problem, settings)
    found = None
    while not search.done:
        batch = search.propose_generation()
        energies = [table[problem.key(problem.mask(r))] for r in batch]
        before = search.n_evaluations
        search.tell(energies)
        if found is None and any(abs(e - minimum) < 1e-6 for e in energies):
            found = before + 1 + min(i for i, e in enumerate(energies) if abs(e - minimum) < 1e-6)
    return found, search.n_evaluations


def random_relaxations_to_minimum(problem, table, minimum, seed: int) -> int:
    """Relaxations a random search (uniform masks, distinct keys) needs until it evaluates the minimum."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    while True:
        key = problem.key(problem.random_mask(rng))
        if key in seen:
            continue
        seen.add(key)
        if abs(table[key] - minimum) < 1e-6:
            return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent", default="beta-Li3PS4", help="packaged crystal (aiida_lps.structures)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 1, 1])
    parser.add_argument("--n-li2s", type=int, default=1, help="Li2S units removed")
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-generations", type=int, default=30)
    parser.add_argument("--stall", type=int, default=10, help="stall_generations")
    parser.add_argument("--n-refine", type=int, nargs="+", default=[0, 4], help="n_refine values to compare")
    parser.add_argument(
        "--table", type=pathlib.Path, help="JSON file of the enumerated energies: read if it exists, else written"
    )
    args = parser.parse_args()

    structure = load_structure(args.parent)
    structure.make_supercell(args.supercell)
    problem = RemovalProblem.from_structure(structure, n_li2s=args.n_li2s)
    print(
        f"{args.parent} {args.supercell} ({len(structure)} sites), {args.n_li2s} Li2S removed: "
        f"{problem.n_arrangements()} masks, {len(problem.permutations)} symmetry operations"
    )
    table = load_or_enumerate(structure, problem, args.table)
    minimum = min(table.values())
    ranked = sorted(table.values())
    degenerate = sum(1 for e in ranked if abs(e - minimum) < 1e-6)
    print(f"true minimum {minimum:.5f} eV ({degenerate} arrangement(s)); next {ranked[degenerate]:.5f} eV")
    budget = 0.1 * len(table)

    for n_refine in args.n_refine:
        settings = dict(
            population_size=args.population,
            mutation_rate=0.1,
            max_generations=args.max_generations,
            stall_generations=args.stall,
            n_refine=n_refine,
        )
        runs = [
            ga_relaxations_to_minimum(problem, table, minimum, GASettings(**settings, seeds=[seed]))
            for seed in range(args.seeds)
        ]
        found = [r[0] for r in runs if r[0] is not None]
        within = sum(1 for n in found if n <= budget)
        print(
            f"GA (population {args.population}, mutation 0.1, n_refine {n_refine}): minimum found in {len(found)}/"
            f"{args.seeds} seeds, within 10 % of enumeration ({budget:.0f} relaxations) in {within}/{args.seeds}; "
            f"relaxations to the minimum: median {np.median(found) if found else float('nan'):.0f}, "
            f"per run (total) median {np.median([r[1] for r in runs]):.0f}"
        )
    random_counts = [random_relaxations_to_minimum(problem, table, minimum, seed) for seed in range(args.seeds)]
    within = sum(1 for n in random_counts if n <= budget)
    print(
        f"random search: relaxations to the minimum median {np.median(random_counts):.0f} "
        f"(min {min(random_counts)}, max {max(random_counts)}); within 10 % in {within}/{args.seeds}; "
        f"expected {len(table) / 2:.0f} for a uniform draw over distinct arrangements"
    )


if __name__ == "__main__":
    main()
