"""GA vs enumeration vs random search on an enumerable removal problem (prints figures; not a test).

Problem: ``--n-li2s`` Li2S units (2 Li + 1 S each) removed from a supercell of a packaged crystal. Every
symmetry-distinct arrangement is relaxed once with the toy Li–P–S pair potential (``aiida_lps.testing.toy_potentials``)
in LAMMPS batch runs (``aiida_lps.engines.lammps.relax``, ``--workers`` at once), which gives the true minimum
(``--table`` keeps the energies for later runs). The GA (``aiida_lps.science.genetic``) and a random search then
draw on those relaxed energies (a relaxation is deterministic, so looking it up is the same as running it again);
the figure of merit is the number of relaxations until the true minimum is evaluated, against the goal of 10 % of
the enumeration. A relaxation that diverges or collapses (``RelaxSettings.fmax_break``, ``collapse_ratio``) counts
as failed (infinite energy).

``--fitness vacancy-coulomb`` replaces the relaxed energies by a screened Coulomb energy of the removed sites
(effective charges −1 per Li vacancy, +2 per S vacancy, −5 per P vacancy; 14.4/ε eV Å, ε = 10, screening length
5 Å, minimum-image distances): a landscape with the structure of an ionic crystal's vacancy interactions, on which a
search that learns from good arrangements can beat random sampling. The printed landscape diagnostics (correlation
of the energies across nearest-hop moves; best rank among the minimum's nearest-hop neighbours) say whether the
landscape has such structure.

Usage: ``python benchmarks/bench_genetic_enumeration.py [--parent beta-Li3PS4] [--supercell 2 1 1] [--n-li2s 1]
[--seeds 10] [--schemes aevo default steady] [--fitness relaxed|vacancy-coulomb] [--table FILE]`` (the 2×1×1 cell:
about 2 minutes on one idle core, most of it the enumeration).
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import shutil
import subprocess
import tempfile
import time

import numpy as np
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.cli.setup import find_lammps_executable
from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.potential import render_pair_lines
from aiida_lps.engines.lammps.relax import (
    RelaxSettings,
    config_filename,
    parse_relax_log,
    read_relaxed,
    relax_batch_script,
    relax_failure,
    relaxed_filename,
)
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


def load_or_enumerate(
    structure, problem: RemovalProblem, table_path: pathlib.Path | None, potential=None, workers: int = 1
):
    """(relaxed energy (eV, inf on failure) per canonical key, removed sites per key): read from ``table_path`` if it
    exists, else relax every distinct arrangement (and write the table there)."""
    if table_path is not None and table_path.exists():
        data = json.loads(table_path.read_text())
        print(f"enumeration read from {table_path} ({len(data['energies'])} distinct arrangements)")
        return {k: (float(e) if e is not None else np.inf) for k, e in data["energies"].items()}, data["removed"]
    start = time.perf_counter()
    distinct = enumerate_distinct(problem)
    print(f"{len(distinct)} distinct arrangements ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        energies = relax_all(structure, list(distinct.values()), pathlib.Path(tmp), potential, workers)
    elapsed = time.perf_counter() - start
    failed = int(np.sum(~np.isfinite(energies)))
    print(f"enumeration: {len(distinct)} relaxations in {workers} LAMMPS run(s), {elapsed:.1f} s; {failed} failed")
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
    return table, distinct


def relax_all(
    structure, removed_lists, workdir: pathlib.Path, potential: pathlib.Path | None = None, workers: int = 1
) -> np.ndarray:
    """Relaxed energies (eV; NaN on failure) of the parent minus each removed-site list, in ``workers`` LAMMPS runs
    (the configurations split into contiguous chunks, run at the same time).

    ``potential``: a folder of ``aiida-lps potential export`` (``potential.json``, ``potential.lammps`` and the
    potential's files, e.g. the POD potential of ``lps.mlip.active_learning``); default: the toy pair potential.
    A relaxation that diverges or collapses (``aiida_lps.engines.lammps.relax.relax_failure``) counts as failed, as
    in ``lps.lammps.relax_batch``."""
    if potential is None:
        args = lps_buck_morse_arguments()
        elements = args["elements"]
        pair = render_pair_lines(args["pair_style"], args["pair_coeff"], elements, elements)
    else:
        description = json.loads((potential / "potential.json").read_text())
        elements = description["elements"]
        pair = (potential / "potential.lammps").read_text().splitlines()
    atoms = AseAtomsAdaptor.get_atoms(structure)
    settings = RelaxSettings(ftol=1e-3, maxiter=500)
    chunks = np.array_split(np.arange(len(removed_lists)), max(1, min(workers, len(removed_lists))))
    running = []
    for number, chunk in enumerate(chunks):
        folder = workdir / f"chunk{number}"
        folder.mkdir()
        if potential is not None:
            for name in description["files"]:
                shutil.copy(potential / name, folder / name)
        for local, index in enumerate(chunk):
            keep = np.ones(len(atoms), dtype=bool)
            keep[removed_lists[index]] = False
            (folder / config_filename(local)).write_text(write_data_file(atoms[keep], elements))
        (folder / "in.lmp").write_text(relax_batch_script(settings, pair, len(chunk)))
        command = [find_lammps_executable(), "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"]
        running.append((folder, chunk, subprocess.Popen(command, cwd=folder)))
    energies = np.full(len(removed_lists), np.nan)
    for folder, chunk, process in running:
        if process.wait():
            raise RuntimeError(f"LAMMPS failed in {folder} (exit status {process.returncode})")
        results = parse_relax_log((folder / "log.lammps").read_text())
        for local, index in enumerate(chunk):
            result = results.get(local)
            if result is None or not np.isfinite(result.energy):
                continue
            if relax_failure(result, settings, read_relaxed(folder / relaxed_filename(local), elements)) is None:
                energies[index] = result.energy
    return energies


#: GA schemes compared (population 32 and mutation rate 0.1 throughout; ``default`` = the work chain's defaults)
SCHEMES = {
    "aevo": {"n_refine": 0, "mutation": "swap"},  # generational, random swap mutation, no refinement (ævo)
    "default": {},  # generational, local mutation, 4 nearest-hop refinements of the best per generation
    "steady": {"n_offspring": 8, "n_refine": 4},  # 8 new arrangements per generation, best 32 of parents + children
    "steady-refine": {"n_offspring": 8, "n_refine": 8},  # 8 per generation, all nearest-hop moves of the best
}


def ga_relaxations_to_minimum(problem, table, minimum, settings, cap: int) -> tuple[int | None, int]:
    """(relaxations until the minimum was first evaluated or None, relaxations made) of one GA run (at most ``cap``
    relaxations; a run stops when it has found the minimum)."""
    search = GeneticSearch(problem, settings)
    while not search.done and search.n_evaluations < cap:
        batch = search.propose_generation()
        energies = [table[problem.key(problem.mask(r))] for r in batch]
        before = search.n_evaluations
        search.tell(energies)
        hits = [i for i, e in enumerate(energies) if abs(e - minimum) < 1e-6]
        if hits:
            return before + 1 + hits[0], search.n_evaluations
    return None, search.n_evaluations


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


def vacancy_coulomb_table(problem: RemovalProblem, distinct: dict[str, list[int]]) -> dict[str, float]:
    """Screened Coulomb energy (eV) of the removed sites of every distinct arrangement (see the module docstring)."""
    charge = {"Li": -1.0, "S": 2.0, "P": -5.0}
    species = np.array(problem.species)
    distances = problem.distances.copy()
    np.fill_diagonal(distances, np.inf)

    def energy(removed) -> float:
        removed = np.asarray(removed)
        q = np.array([charge[el] for el in species[removed]])
        d = distances[np.ix_(removed, removed)]
        return float(14.4 / 10.0 * np.triu(np.outer(q, q) * np.exp(-d / 5.0) / d, 1).sum())

    return {key: energy(removed) for key, removed in distinct.items()}


def landscape(problem: RemovalProblem, table: dict[str, float], removed: dict[str, list[int]], sample: int = 300):
    """(correlation of the energies of arrangements one nearest hop apart (4 shortest hops of ``sample``
    arrangements), best rank (0 = minimum) among the minimum's 4 shortest-hop neighbours)."""
    rng = np.random.default_rng(0)
    ranking = {key: rank for rank, key in enumerate(sorted(table, key=table.get))}

    def hops(key):
        mask = problem.mask(removed[key])
        for i, j in problem.local_moves(mask, rng)[:4]:
            neighbour = mask.copy()
            neighbour[i], neighbour[j] = False, True
            yield problem.key(neighbour)

    pairs = [
        (table[key], table[other])
        for key in list(table)[:sample]
        for other in hops(key)
        if other in table and np.isfinite(table[key]) and np.isfinite(table[other])
    ]
    minimum = min(table, key=table.get)
    near = [ranking[other] for other in hops(minimum) if other != minimum]
    return float(np.corrcoef(np.array(pairs).T)[0, 1]), min(near) if near else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent", default="beta-Li3PS4", help="packaged crystal (aiida_lps.structures)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 1, 1])
    parser.add_argument("--n-li2s", type=int, default=1, help="Li2S units removed")
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-generations", type=int, default=200)
    parser.add_argument("--stall", type=int, default=50, help="stall_generations")
    parser.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=list(SCHEMES))
    parser.add_argument("--cap", type=float, default=3.0, help="a GA run stops after CAP x the 10 %% budget")
    parser.add_argument("--fitness", choices=("relaxed", "vacancy-coulomb"), default="relaxed")
    parser.add_argument(
        "--table", type=pathlib.Path, help="JSON file of the enumerated energies: read if it exists, else written"
    )
    parser.add_argument(
        "--potential",
        type=pathlib.Path,
        help="folder of `aiida-lps potential export` (a learned potential) instead of the toy pair potential",
    )
    parser.add_argument("--workers", type=int, default=1, help="LAMMPS runs at once for the enumeration")
    args = parser.parse_args()

    structure = load_structure(args.parent)
    structure.make_supercell(args.supercell)
    problem = RemovalProblem.from_structure(structure, n_li2s=args.n_li2s)
    print(
        f"{args.parent} {args.supercell} ({len(structure)} sites), {args.n_li2s} Li2S removed: "
        f"{problem.n_arrangements()} masks, {len(problem.permutations)} symmetry operations; fitness {args.fitness}"
    )
    if args.fitness == "relaxed":
        table, removed = load_or_enumerate(structure, problem, args.table, args.potential, args.workers)
    else:
        removed = enumerate_distinct(problem)
        table = vacancy_coulomb_table(problem, removed)
    minimum = min(table.values())
    ranked = sorted(table.values())
    degenerate = sum(1 for e in ranked if abs(e - minimum) < 1e-6)
    print(f"true minimum {minimum:.5f} eV ({degenerate} arrangement(s)); next {ranked[degenerate]:.5f} eV")
    correlation, near = landscape(problem, table, removed)
    print(
        f"landscape: energy correlation across nearest-hop moves {correlation:.2f}; best rank among the minimum's "
        f"nearest-hop neighbours {near} of {len(table)}"
    )
    budget = 0.1 * len(table)
    cap = int(args.cap * budget)

    for name in args.schemes:
        settings = dict(
            population_size=args.population,
            mutation_rate=0.1,
            max_generations=args.max_generations,
            stall_generations=args.stall,
            **SCHEMES[name],
        )
        runs = [
            ga_relaxations_to_minimum(problem, table, minimum, GASettings(**settings, seeds=[seed]), cap)
            for seed in range(args.seeds)
        ]
        found = [r[0] for r in runs if r[0] is not None]
        within = sum(1 for n in found if n <= budget)
        print(
            f"GA {name} {SCHEMES[name]}: within 10 % of enumeration ({budget:.0f} relaxations) in {within}/"
            f"{args.seeds} seeds; found within {cap} in {len(found)}/{args.seeds}, relaxations to the minimum "
            f"median {np.median(found) if found else float('nan'):.0f}",
            flush=True,
        )
    random_counts = [random_relaxations_to_minimum(problem, table, minimum, seed) for seed in range(args.seeds)]
    within = sum(1 for n in random_counts if n <= budget)
    print(
        f"random search: within 10 % in {within}/{args.seeds}; relaxations to the minimum median "
        f"{np.median(random_counts):.0f} (min {min(random_counts)}, max {max(random_counts)}; "
        f"expected {len(table) / 2:.0f} for a uniform draw over distinct arrangements)"
    )


if __name__ == "__main__":
    main()
