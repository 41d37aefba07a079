"""``lps.sampling.genetic`` on PostgreSQL + RabbitMQ: a daemon SIGKILLed after a finished generation resumes there.

Runs ``genetic_restart.py`` once (a throw-away profile, a 4-generation GA of population 4 on β-Li3PS4 minus one Li2S,
toy potential): the daemon is killed as soon as generation 1 has been reported and restarted. The GA state lives in
the work chain's context, so the work chain must finish with one ``relax_batch`` job per generation (none run twice)
and a history with every generation once; replaying the GA from the jobs' energies must propose exactly the
arrangements the jobs relaxed, i.e. the restarted run is the uninterrupted one. In the run on the shared 2-core
machine under a load average of ~16 the kill fell 59 s after submission, with generation 2 launched but not started
(it was sealed and launched anew); the work chain finished 141 s after submission, the whole script took 278 s (most
of the rest is making and deleting the PostgreSQL profile) - over the ~90 s aimed at, hence the `services` marker
like ``test_daemon_restart.py``. As a pytest run (load average ~8) it took 201 s.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from aiida_lps.testing.services import services_running

SCRIPT = pathlib.Path(__file__).parent / "genetic_restart.py"
GENERATIONS = 4
KILL_AFTER = 1


@pytest.mark.services
@pytest.mark.lammps
def test_genetic_resumes_at_last_finished_generation_after_daemon_kill():
    if not services_running():
        pytest.fail("PostgreSQL (5432) and RabbitMQ (5672) must run: scripts/start-services.sh starts them")
    env = {key: value for key, value in os.environ.items() if key not in ("AIIDA_PATH", "AIIDA_PROFILE")}
    args = ["--kill-after", str(KILL_AFTER), "--generations", str(GENERATIONS), "--timeout", "300"]
    with subprocess.Popen(
        [sys.executable, str(SCRIPT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=420)
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: the script stops its daemon and deletes its profile
            stdout, stderr = proc.communicate(timeout=180)
            pytest.fail(f"no result after 420 s:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    record = json.loads(stdout.strip().splitlines()[-1])
    assert not record["terminated_before_kill"] and record["killed_processes"] >= 2, record  # circus + a worker
    # the kill fell after generation KILL_AFTER had been relaxed and before the last generation was launched
    assert f"generation_{KILL_AFTER}" in record["labels_at_kill"], record
    assert f"generation_{GENERATIONS - 1}" not in record["labels_at_kill"], record
    assert record["state"] == "finished" and record["exit_status"] == 0, record
    # one batch relaxation per generation, none run twice, nothing launched twice under a label
    assert record["jobs_per_label"] == {f"generation_{g}": 1 for g in range(GENERATIONS)}, record
    assert record["duplicates"] == {}, record
    # the history is continuous: every generation once, and the GA replayed from the jobs' energies proposes exactly
    # what the jobs relaxed (the restarted run is the uninterrupted one)
    assert record["history_generations"] == list(range(GENERATIONS)), record
    assert record["summary_generations"] == GENERATIONS
    # every generation reported (generation KILL_AFTER twice if the kill fell before its step's checkpoint)
    assert set(record["reports"]) == {f"generation {g}" for g in range(GENERATIONS)}, record["reports"]
    assert [row["generation"] for row in record["replay"]] == list(range(GENERATIONS))
    assert all(row["same"] for row in record["replay"]), record["replay"]
    assert record["history_n_evaluated"] == [row["proposed"] for row in record["replay"]]
    assert record["replay_best"] == pytest.approx(record["mlip_best"]) == pytest.approx(record["history_best"][-1])
