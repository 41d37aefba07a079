"""The production path for real: PostgreSQL storage, RabbitMQ broker, AiiDA daemon, submitted work chain.

Uses the services of the machine (PostgreSQL on 127.0.0.1:5432 with trust auth, RabbitMQ on 127.0.0.1:5672,
guest/guest) through a throw-away profile in its own AIIDA_PATH; the database is dropped afterwards.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import uuid

import pytest

HERE = pathlib.Path(__file__).parent


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _admin():
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True)


def _create_database(name: str) -> None:
    """Create a user and a UTF-8 database (C.UTF-8: the only UTF-8 locale these machines have)."""
    with _admin() as conn:
        conn.execute(f"CREATE USER {name} WITH PASSWORD '{name}'")
        conn.execute(
            f"CREATE DATABASE {name} OWNER {name} ENCODING 'UTF8' TEMPLATE template0 "
            "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        )


def _drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP USER IF EXISTS {name}")


@pytest.mark.services
@pytest.mark.lammps
def test_submit_to_daemon_with_postgres_and_rabbitmq(tmp_path):
    if not (_port_open(5432) and _port_open(5672)):
        pytest.fail("PostgreSQL (5432) and RabbitMQ (5672) must run: scripts/start-services.sh starts them")
    env = {**os.environ, "AIIDA_PATH": str(tmp_path)}
    env.pop("AIIDA_PROFILE", None)
    verdi = [str(pathlib.Path(sys.executable).parent / "verdi")]
    profile = f"lps-svc-{uuid.uuid4().hex[:8]}"

    def run(*args, timeout=120):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    database = profile.replace("-", "_")
    _create_database(database)
    run(
        *verdi,
        "profile",
        "setup",
        "core.psql_dos",
        "-n",
        "--profile-name",
        profile,
        "--email",
        "ci@aiida-lps.invalid",
        "--first-name",
        "CI",
        "--last-name",
        "Runner",
        "--institution",
        "aiida-lps",
        "--broker",
        "core.rabbitmq",
        "--database-hostname",
        "127.0.0.1",
        "--database-port",
        "5432",
        "--database-username",
        database,
        "--database-password",
        database,
        "--database-name",
        database,
        "--repository-uri",
        (tmp_path / "repository").as_uri(),
    )
    run(*verdi, "profile", "set-default", profile)
    try:
        shown = run(*verdi, "profile", "show", profile)
        assert "core.psql_dos" in shown and "core.rabbitmq" in shown, shown
        run(*verdi, "daemon", "start", "1")
        try:
            out = run(sys.executable, str(HERE / "daemon_submit.py"), "240", timeout=300)
        finally:
            subprocess.run([*verdi, "daemon", "stop"], env=env, capture_output=True, timeout=120)
        result = json.loads(out.strip().splitlines()[-1])
        assert result["state"] == "finished" and result["exit_status"] == 0, result
        assert result["storage"] == "PsqlDosBackend"
        assert result["calcjobs"] == 2
        assert 1e-5 < result["D"] < 5e-5  # LJ argon near Rahman's 2.43e-5 cm²/s (108 atoms, short run)
    finally:
        subprocess.run(
            [*verdi, "profile", "delete", "--delete-data", "-f", profile],
            env=env,
            capture_output=True,
            timeout=120,
        )
        _drop_database(database)
        shutil.rmtree(tmp_path, ignore_errors=True)
