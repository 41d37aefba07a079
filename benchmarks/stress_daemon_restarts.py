"""Daemon crashes under load: SIGKILL the daemon (circus + workers) while work chains run, restart it, check them.

For each work chain type: one uninterrupted reference run, then ``--trials`` runs each with ``--kills`` SIGKILLs of
the whole daemon. The first kill of a trial waits until the work chain is inside its launching step (some of its
children exist, not all); later kills fall at random moments (uniform in ``--window`` seconds after the restart).
A trial is clean when the work chain finishes [0] with results identical to the reference, no caller launched two
children under one link label, and no process node of the trial is left unsealed.

    python benchmarks/stress_daemon_restarts.py --trials 10 --kills 3 --types diffusion genetic

Needs PostgreSQL and RabbitMQ (``scripts/start-services.sh``); makes and deletes a throw-away profile. Prints one
line per trial and a JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import sys
import tempfile
import time

TYPES = ("diffusion", "genetic")


def build(kind: str, code, n_temperatures: int = 4):
    """A tiny builder of work chain type ``kind`` and the function that reads its comparable result."""
    from aiida import orm

    from aiida_lps.data.potential import InteratomicPotentialData

    if kind == "diffusion":
        from aiida_lps.testing.services import lj_diffusion_builder

        builder = lj_diffusion_builder(code, n_temperatures)

        def result(node):
            return {
                "D": {label: node.outputs.runs[label].results["species"]["Ar"]["D"] for label in node.outputs.runs},
                "Ea": node.outputs.arrhenius["diffusivity"]["activation_energy"],
            }

        return builder, result, ("LammpsMDBaseWorkChain", n_temperatures)
    if kind == "genetic":
        from pymatgen.io.ase import AseAtomsAdaptor

        from aiida_lps.structures.reference import load_structure
        from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments
        from aiida_lps.workflows.genetic import GeneticSamplingWorkChain

        parent = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4")))
        builder = GeneticSamplingWorkChain.get_builder_from_protocol(
            code,
            parent,
            protocol="fast",
            potential=InteratomicPotentialData(**lps_buck_morse_arguments()),
            overrides={"ga": {"population_size": 6, "max_generations": 3, "seeds": [0, 1]}, "n_candidates": 3},
            target_x=0.71,
        )

        def result(node):
            return {
                "mlip": node.outputs.candidate_energies.get_array("mlip").tolist(),
                "n_evaluations": node.outputs.summary["n_evaluations"],
            }

        return builder, result, ("BatchRelaxCalculation", None)  # one child per launching step
    raise ValueError(f"unknown work chain type {kind!r}; choose from {TYPES}")


def _launched(node, process_label: str) -> int:
    return sum(1 for child in node.called if child.process_label == process_label)


def trial(kind: str, code, kills: int, args, rng: random.Random, alongside=None) -> dict:
    """Submit one work chain of ``kind``, crash the daemon ``kills`` times, wait for the end; return the record.

    :param alongside: a node submitted before (the reference run), waited for too.
    """
    from aiida import orm
    from aiida.engine import submit

    from aiida_lps.testing.services import duplicate_launches, kill_daemon, start_daemon
    from aiida_lps.workflows.launching import sealed_by_us

    window, timeout, workers = args.window, args.timeout, args.workers
    builder, read, (launch_label, n_launch) = build(kind, code, args.temperatures)
    node = submit(builder)
    start = time.monotonic()
    record = {"pk": node.pk, "kills": [], "inside_launch": 0}
    for index in range(kills):
        if index == 0:  # wait until the launching step has launched a child, then up to `--launch-delay` more
            while time.monotonic() - start < timeout and not node.is_terminated:
                launched = _launched(node, launch_label)
                if launched:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, args.launch_delay))
            launched = _launched(node, launch_label)
        else:
            time.sleep(rng.uniform(0.0, window))
            launched = _launched(node, launch_label)
        if node.is_terminated:
            break
        kill_daemon()
        inside = n_launch is not None and 0 < launched < n_launch
        record["inside_launch"] += inside
        record["kills"].append({"t_s": round(time.monotonic() - start, 2), "launched": launched, "inside": inside})
        time.sleep(rng.uniform(0.0, 0.5))
        start_daemon(workers)
    while not (node.is_terminated and (alongside is None or alongside.is_terminated)):
        if time.monotonic() - start > timeout:
            break
        time.sleep(0.5)
    record["wall_s"] = round(time.monotonic() - start, 1)
    record["state"] = node.process_state.value if node.process_state else None
    record["exit_status"] = node.exit_status
    record["result"] = read(node) if node.is_finished_ok else None
    if node.is_excepted:
        record["exception"] = (node.exception or "")[-600:]
    record["duplicates"] = duplicate_launches(node)
    tree = [node, *node.called_descendants]
    record["unsealed"] = [n.pk for n in tree if not n.is_sealed]
    record["calcjobs"] = sum(1 for n in tree if n.node_type.startswith("process.calculation.calcjob"))
    record["sealed_by_us"] = sum(1 for n in tree if sealed_by_us(n))
    record["reused"] = sum(
        1
        for n in tree
        for log in orm.Log.collection.get_logs_for(n)
        if "launched before a daemon restart" in log.message
    )
    return record


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10, help="crashed runs per work chain type")
    parser.add_argument("--kills", type=int, default=3, help="daemon SIGKILLs per trial (the first inside launching)")
    parser.add_argument("--window", type=float, default=4.0, help="later kills: uniform delay in [0, WINDOW] s")
    parser.add_argument("--types", nargs="+", default=list(TYPES), choices=TYPES)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="per trial (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--launch-delay",
        type=float,
        default=0.0,
        help="first kill: a random 0..DELAY s after the first child exists (0: at once, which hits a child before "
        "its first checkpoint; more lets children start and be reused)",
    )
    parser.add_argument("--temperatures", type=int, default=4, help="diffusion: number of temperatures (children)")
    parser.add_argument(
        "--reference-alongside",
        action="store_true",
        help="submit the uninterrupted reference together with the first trial (it then sees the kills too)",
    )
    args = parser.parse_args(argv)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="lps-stress-"))
    os.environ["AIIDA_PATH"] = str(workdir)  # before aiida is imported: never the user's ~/.aiida

    from aiida.engine import submit

    from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_lammps_executable
    from aiida_lps.testing.services import (
        duplicate_launches,
        services_running,
        start_daemon,
        throwaway_profile,
        unsealed_process_nodes,
    )

    if not services_running():
        sys.exit("PostgreSQL (5432) and RabbitMQ (5672) must run: scripts/start-services.sh starts them")
    rng = random.Random(args.seed)
    summary = {"trials": {}, "settings": vars(args)}
    with throwaway_profile(workdir):
        computer, _ = ensure_localhost()
        code, _ = ensure_code("lmp", find_lammps_executable(), computer)
        start_daemon(args.workers)
        for kind in args.types:
            alongside = None
            if args.reference_alongside:
                alongside = submit(build(kind, code, args.temperatures)[0])
            else:
                reference = trial(kind, code, 0, args, rng)
                print(f"{kind} reference: {reference['state']} [{reference['exit_status']}] {reference['wall_s']} s")
            rows = []
            for index in range(args.trials):
                row = trial(kind, code, args.kills, args, rng, alongside if index == 0 else None)
                if alongside is not None and index == 0:
                    reference = {
                        "pk": alongside.pk,
                        "state": alongside.process_state.value,
                        "exit_status": alongside.exit_status,
                        "result": build(kind, code, args.temperatures)[1](alongside)
                        if alongside.is_finished_ok
                        else None,
                        "duplicates": duplicate_launches(alongside),
                    }
                if reference["result"] is None:
                    print(f"{kind}: the reference run failed: {reference}")
                row["same_result"] = row["result"] is not None and row["result"] == reference["result"]
                row["clean"] = (
                    row["state"] == "finished"
                    and row["exit_status"] == 0
                    and row["same_result"]
                    and not row["duplicates"]
                    and not row["unsealed"]
                )
                rows.append(row)
                print(
                    f"{kind} trial {index}: {'clean' if row['clean'] else 'NOT CLEAN'}; {len(row['kills'])} kills "
                    f"({row['inside_launch']} while the launch was incomplete), {row['state']} [{row['exit_status']}], "
                    f"children sealed/reused {row['sealed_by_us']}/{row['reused']}, "
                    f"same result {row['same_result']}, duplicates {row['duplicates'] or 0}, "
                    f"unsealed {row['unsealed'] or 0}, {row['calcjobs']} CalcJobs, {row['wall_s']} s",
                    flush=True,
                )
            summary["trials"][kind] = {
                "reference": reference,
                "clean": sum(r["clean"] for r in rows),
                "trials": len(rows),
                "kills": sum(len(r["kills"]) for r in rows),
                "kills_inside_launch": sum(r["inside_launch"] for r in rows),
                "duplicate_labels": sum(sum(n - 1 for n in r["duplicates"].values()) for r in rows),
                "unsealed": sum(len(r["unsealed"]) for r in rows),
                "sealed_by_us": sum(r["sealed_by_us"] for r in rows),
                "reused": sum(r["reused"] for r in rows),
                "rows": rows,
            }
        summary["unsealed_in_profile"] = unsealed_process_nodes()
    for kind, entry in summary["trials"].items():
        print(
            f"{kind}: {entry['clean']}/{entry['trials']} clean finishes, {entry['kills']} kills "
            f"({entry['kills_inside_launch']} while a launch was incomplete), {entry['duplicate_labels']} duplicate "
            f"launches, {entry['unsealed']} unsealed nodes; children sealed {entry['sealed_by_us']}, reused "
            f"{entry['reused']}"
        )
    print(json.dumps(summary, default=str))
    return summary


if __name__ == "__main__":
    main()
