#!/usr/bin/env python
"""Benchmark: relaxed structures per minute, one ``lps.lammps.relax_batch`` job per generation vs one per structure.

    AIIDA_PATH=$PWD/.aiida-bench nice -n 5 python benchmarks/bench_relax_throughput.py \
        [--structures 32] [--supercell 1 1 3] [--pairs 1]

A GA generation of ``--structures`` arrangements (one Li2S unit removed at random sites from a β-Li3PS4 supercell,
1×1×3: 96 − 3 = 93 atoms) is relaxed with the toy Li–P–S pair potential (``aiida_lps.testing.toy_potentials``,
fixed cell, ftol 1e-3 eV/Å, at most 500 CG steps) twice through AiiDA's ``run`` (in this interpreter, no daemon):
(a) as ONE ``lps.lammps.relax_batch`` CalcJob, as ``lps.sampling.genetic`` does per generation, and (b) as one
CalcJob per structure. Both relax the same configurations, so the energies must agree (checked). ``--pairs`` repeats
(a, b) with the order alternating. Prints wall times, the CPU time of this process (the AiiDA engine side, per job
overhead; the detached LAMMPS runs are not in it), structures per minute and the ratios (issue 10's goal: ≥ 5×).

Needs a loaded profile (an embedded ``core.sqlite_dos`` one is enough: ``verdi presto --profile-name NAME
--no-broker``); the ``lmp`` code on ``localhost`` is created when missing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
from aiida import load_profile, orm
from aiida.engine import run_get_node
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.calculations.relax_batch import BatchRelaxCalculation
from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_lammps_executable
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.science.genetic import RemovalProblem
from aiida_lps.structures.reference import load_structure
from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments

RELAX = {"ftol": 1.0e-3, "maxiter": 500, "cell_relax": False}


def random_arrangements(problem: RemovalProblem, count: int, seed: int) -> list[list[int]]:
    """``count`` distinct (by symmetry-canonical key) random removals of one Li2S unit (2 Li + 1 S sites)."""
    rng = np.random.default_rng(seed)
    li, s = problem.sublattices["Li"], problem.sublattices["S"]
    rows, keys = [], set()
    while len(rows) < count:
        removed = [int(i) for i in rng.choice(li, 2, replace=False)] + [int(rng.choice(s))]
        key = problem.key(problem.mask(removed))
        if key not in keys:
            keys.add(key)
            rows.append(removed)
    return rows


def cpu_seconds() -> float:
    """CPU time (s) of this process so far: the AiiDA engine side (the direct scheduler detaches the LAMMPS runs,
    so their CPU time is not in it). Less sensitive to the load of a shared machine than the wall time."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def relax(code, structure, potential, parameters, rows) -> tuple[float, np.ndarray]:
    """Wall time (s) and energies (eV) of one ``relax_batch`` job over ``rows`` (removed sites per structure)."""
    sites = orm.ArrayData()
    sites.set_array("sites", np.asarray(rows, dtype=np.int64))
    start = time.perf_counter()
    results, node = run_get_node(
        BatchRelaxCalculation,
        code=code,
        structure=structure,
        removed_sites=sites,
        potential=potential,
        parameters=parameters,
    )
    wall = time.perf_counter() - start
    assert node.is_finished_ok, f"{node.exit_status}: {node.exit_message}"
    return wall, results["energies"].get_array("energy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--structures", type=int, default=32, help="structures per generation")
    parser.add_argument("--supercell", type=int, nargs=3, default=[1, 1, 3])
    parser.add_argument("--pairs", type=int, default=1, help="(batch, per-structure) pairs, order alternating")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_profile()
    computer, _ = ensure_localhost()
    computer.set_minimum_job_poll_interval(0.0)
    code, _ = ensure_code("lmp", find_lammps_executable(), computer)

    parent = load_structure("beta-Li3PS4") * args.supercell
    problem = RemovalProblem.from_structure(parent, n_li2s=1)
    rows = random_arrangements(problem, args.structures, args.seed)
    structure = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(parent)).store()
    potential = InteratomicPotentialData(**lps_buck_morse_arguments()).store()
    parameters = orm.Dict(RELAX).store()
    natoms = len(parent) - 3
    print(
        f"β-Li3PS4 {'x'.join(map(str, args.supercell))} minus one Li2S: {natoms} atoms, {len(rows)} structures, "
        f"toy potential, {RELAX}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; load {os.getloadavg()}"
    )

    def batch() -> tuple[float, np.ndarray]:
        return relax(code, structure, potential, parameters, rows)

    def per_structure() -> tuple[float, np.ndarray]:
        walls, energies = [], []
        for row in rows:
            wall, energy = relax(code, structure, potential, parameters, [row])
            walls.append(wall)
            energies.append(energy[0])
        return sum(walls), np.array(energies)

    times: dict[str, list[float]] = {"batch": [], "per_structure": []}
    cpu: dict[str, list[float]] = {"batch": [], "per_structure": []}
    for pair in range(args.pairs):
        order = (batch, per_structure) if pair % 2 == 0 else (per_structure, batch)
        energies = {}
        for method in order:
            start = cpu_seconds()
            wall, energies[method.__name__] = method()
            used = cpu_seconds() - start
            times[method.__name__].append(wall)
            cpu[method.__name__].append(used)
            print(
                f"pair {pair + 1} {method.__name__:13s}: {wall:8.2f} s wall, {used:8.2f} s engine CPU, "
                f"{60 * len(rows) / wall:7.1f} structures/min "
                f"(load {os.getloadavg()[0]:.2f})"
            )
        difference = np.nanmax(np.abs(energies["batch"] - energies["per_structure"]))
        print(f"pair {pair + 1}: largest energy difference batch vs per structure {difference:.2e} eV")
    one, many = statistics.median(times["batch"]), statistics.median(times["per_structure"])
    print(f"one job per generation : {60 * len(rows) / one:7.1f} structures/min (median wall {one:.2f} s)")
    print(f"one job per structure  : {60 * len(rows) / many:7.1f} structures/min (median wall {many:.2f} s)")
    print(f"throughput ratio       : {many / one:7.2f}x wall (goal >= 5x)")
    one_cpu, many_cpu = statistics.median(cpu["batch"]), statistics.median(cpu["per_structure"])
    print(f"engine CPU time ratio  : {many_cpu / one_cpu:7.2f}x ({many_cpu:.1f} s vs {one_cpu:.1f} s)")


if __name__ == "__main__":
    main()
