"""A tiny ``lps.sampling.genetic`` on a daemon that is SIGKILLed once generation K has finished (run by
``test_genetic_restart.py``).

Makes a throw-away PostgreSQL + RabbitMQ profile, submits the GA (β-Li3PS4 cell minus one Li2S unit, toy potential,
population 4, ``--generations`` generations, fixed-cell relaxations), waits until the work chain has reported
generation K (its energies are in the GA state), SIGKILLs the daemon (circus and workers), restarts it and waits for
the end. Then it replays the GA (:mod:`aiida_lps.science.genetic`) from the relaxed energies of the jobs: every job's
arrangements must be exactly what an uninterrupted GA proposes in that generation. Prints one JSON line.

Usage: ``python tests/services/genetic_restart.py [--kill-after 1] [--generations 4] [--timeout 240]``
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import re
import sys
import tempfile
import time


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-after", type=int, default=1, help="kill once generation K is reported")
    parser.add_argument("--generations", type=int, default=4, help="GA generations (the initial one included)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds for the whole run after submission")
    args = parser.parse_args()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="lps-ga-restart-"))
    os.environ["AIIDA_PATH"] = str(workdir)  # before aiida is imported: never the user's ~/.aiida
    # the daemon is started through `verdi` of this interpreter's environment (also when it is not activated)
    os.environ["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    from aiida import orm
    from aiida.common.links import LinkType
    from aiida.engine import submit
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_lammps_executable
    from aiida_lps.data.potential import InteratomicPotentialData
    from aiida_lps.science.genetic import GASettings, GeneticSearch, RemovalProblem
    from aiida_lps.structures.reference import load_structure
    from aiida_lps.testing.services import (
        duplicate_launches,
        kill_daemon,
        services_running,
        start_daemon,
        throwaway_profile,
        wait_for,
    )
    from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments
    from aiida_lps.workflows.genetic import GeneticSamplingWorkChain
    from aiida_lps.workflows.launching import sealed_by_us

    if not services_running():
        sys.exit("PostgreSQL (5432) and RabbitMQ (5672) must run: scripts/start-services.sh starts them")
    record: dict = {"kill_after": args.kill_after}
    with throwaway_profile(workdir, prefix="lps-ga-restart"):
        computer, _ = ensure_localhost()
        code, _ = ensure_code("lmp", find_lammps_executable(), computer)
        parent = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4")))
        builder = GeneticSamplingWorkChain.get_builder_from_protocol(
            code,
            parent,
            protocol="fast",
            potential=InteratomicPotentialData(**lps_buck_morse_arguments()),
            overrides={
                "ga": {
                    "population_size": 4,
                    "n_elite": 1,
                    "n_offspring": 2,
                    "max_generations": args.generations,
                    "stall_generations": args.generations,
                    "seeds": [3],
                },
                "relax": {"maxiter": 100},
                "n_candidates": 1,
                "candidate_pool": 2,
            },
            n_li2s=1,
        )
        start_daemon(1)
        start = time.monotonic()
        node = submit(builder)

        def reported(generation: int) -> bool:
            # report messages carry a "[pk|process|step] " prefix
            return any(f"generation {generation}: best" in log.message for log in orm.Log.collection.get_logs_for(node))

        wait_for(lambda: reported(args.kill_after) or node.is_terminated, args.timeout, "generation reported", 0.02)
        record["terminated_before_kill"] = node.is_terminated
        record["killed_processes"] = kill_daemon()
        record["t_kill_s"] = round(time.monotonic() - start, 1)
        record["labels_at_kill"] = sorted(_calcjob_labels(node))
        start_daemon(1)
        wait_for(lambda: node.is_terminated, max(1.0, args.timeout - (time.monotonic() - start)), "work chain end")
        record["wall_s"] = round(time.monotonic() - start, 1)
        record["state"] = node.process_state.value if node.process_state else None
        record["exit_status"] = node.exit_status
        record["exit_message"] = node.exit_message
        if node.is_excepted:
            record["exception"] = (node.exception or "")[-2000:]
        record["duplicates"] = duplicate_launches(node)
        jobs = {}
        labels = collections.Counter()
        for link in node.base.links.get_outgoing(link_type=LinkType.CALL_CALC).all():
            if link.node.process_label == "BatchRelaxCalculation" and not sealed_by_us(link.node):
                labels[link.link_label] += 1
                jobs[link.link_label] = link.node
        record["jobs_per_label"] = dict(labels)
        record["sealed_by_us"] = sum(1 for n in node.called_descendants if sealed_by_us(n))
        record["reused"] = sum(
            "launched before a daemon restart" in log.message for log in orm.Log.collection.get_logs_for(node)
        )
        record["reports"] = collections.Counter(
            match.group(1)
            for log in orm.Log.collection.get_logs_for(node)
            if (match := re.search(r"(generation \d+): best", log.message))
        )
        if not node.is_finished_ok:
            return record
        history = node.outputs.history
        record["history_generations"] = history.get_array("generation").tolist()
        record["history_n_evaluated"] = history.get_array("n_evaluated").tolist()
        record["history_best"] = history.get_array("best").tolist()
        record["summary_generations"] = node.outputs.summary["generations"]

        # replay: an uninterrupted GA told the jobs' energies proposes exactly the jobs' arrangements
        problem = RemovalProblem.from_structure(
            node.outputs.supercell.get_pymatgen_structure(), n_li2s=1, symprec=node.inputs.symprec.value
        )
        search = GeneticSearch(problem, GASettings.from_dict(node.inputs.ga.get_dict()))
        replay = []
        while not search.done:
            generation = search.generation
            proposed = search.propose_generation()
            job = jobs.get(f"generation_{generation}")
            if job is None:
                replay.append({"generation": generation, "proposed": len(proposed), "job": None})
                search.tell([])
                continue
            ran = job.inputs.removed_sites.get_array("sites").tolist()
            energies = job.outputs.energies.get_array("energy").tolist()
            replay.append({"generation": generation, "proposed": len(proposed), "same": proposed == ran})
            search.tell(energies)
        record["replay"] = replay
        record["replay_best"] = search.best_energy
        record["mlip_best"] = float(node.outputs.candidate_energies.get_array("mlip")[0])
    return record


def _calcjob_labels(node) -> list[str]:
    from aiida.common.links import LinkType

    return [
        link.link_label
        for link in node.base.links.get_outgoing(link_type=LinkType.CALL_CALC).all()
        if link.node.node_type.startswith("process.calculation.calcjob")
    ]


if __name__ == "__main__":
    print(json.dumps(main(), default=str))
