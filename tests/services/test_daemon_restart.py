"""Daemon crashes during ``lps.diffusion`` on PostgreSQL + RabbitMQ: the work chain finishes as if nothing happened.

Runs ``benchmarks/stress_daemon_restarts.py`` once: a tiny LJ ``lps.diffusion`` (two temperatures) and an
uninterrupted-by-design reference submitted with it; the daemon (circus and workers) is SIGKILLed twice, the first
time inside ``run_md`` (some temperatures launched, not all), and restarted each time. On the shared 2-core machine
under a load average of 12 one run took about 4 minutes (the trial itself 125 s), over the ~90 s aimed at.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from aiida_lps.testing.services import services_running

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "stress_daemon_restarts.py"


@pytest.mark.services
@pytest.mark.lammps
def test_daemon_killed_inside_launching_step():
    if not services_running():
        pytest.fail("PostgreSQL (5432) and RabbitMQ (5672) must run: scripts/start-services.sh starts them")
    env = {key: value for key, value in os.environ.items() if key not in ("AIIDA_PATH", "AIIDA_PROFILE")}
    args = ["--trials", "1", "--kills", "2", "--temperatures", "2", "--reference-alongside", "--window", "2"]
    with subprocess.Popen(
        [sys.executable, str(SCRIPT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: the script stops its daemon and deletes its profile
            stdout, stderr = proc.communicate(timeout=180)
            pytest.fail(f"no result after 600 s:\n{stdout[-3000:]}")
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    entry = summary["trials"]["diffusion"]
    (row,) = entry["rows"]
    assert entry["reference"]["state"] == "finished" and entry["reference"]["exit_status"] == 0, entry["reference"]
    assert row["kills"] and row["kills"][0]["inside"], row["kills"]  # the first kill fell inside run_md
    assert row["state"] == "finished" and row["exit_status"] == 0, row
    assert row["same_result"], (row["result"], entry["reference"]["result"])
    assert row["duplicates"] == {} and entry["reference"]["duplicates"] == {}
    assert row["unsealed"] == [] and summary["unsealed_in_profile"] == []
    assert row["calcjobs"] == 2  # one MD per temperature, none run twice
