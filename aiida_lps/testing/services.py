"""The production stack for tests and benchmarks: a throw-away PostgreSQL + RabbitMQ profile, its daemon, crashes.

Used by ``tests/services`` and the ``benchmarks/stress_daemon_restarts.py`` / ``benchmarks/load_submit.py`` scripts.
PostgreSQL on 127.0.0.1:5432 (user ``postgres``, trust) and RabbitMQ on 127.0.0.1:5672 (guest/guest) must run
(``scripts/start-services.sh``).
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

__all__ = (
    "duplicate_launches",
    "kill_daemon",
    "services_running",
    "start_daemon",
    "throwaway_profile",
    "unsealed_process_nodes",
    "wait_for",
)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def services_running() -> bool:
    """Whether PostgreSQL (5432) and RabbitMQ (5672) answer on localhost."""
    return _port_open(5432) and _port_open(5672)


def _admin():
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True)


def _verdi(env: dict, *args: str, timeout: float = 120) -> str:
    verdi = str(pathlib.Path(sys.executable).parent / "verdi")
    done = subprocess.run([verdi, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"verdi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def throwaway_profile(workdir: pathlib.Path, prefix: str = "lps-svc") -> Iterator[str]:
    """Create a ``core.psql_dos`` + ``core.rabbitmq`` profile under ``workdir`` and load it; drop it afterwards.

    Sets ``AIIDA_PATH`` of this process to ``workdir`` (daemon workers inherit it). The database uses the C.UTF-8
    locale, the only UTF-8 one on these machines (``verdi presto --use-postgres`` fails without it).
    """
    from aiida import load_profile
    from aiida.manage.configuration import reset_config
    from aiida.manage.configuration.settings import AiiDAConfigDir

    signal.signal(signal.SIGTERM, _interrupt)  # `timeout` and kill: clean up like Ctrl-C
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    profile = f"{prefix}-{uuid.uuid4().hex[:8]}"
    database = profile.replace("-", "_")
    os.environ["AIIDA_PATH"] = str(workdir)
    os.environ.pop("AIIDA_PROFILE", None)
    AiiDAConfigDir.set()
    reset_config()
    env = dict(os.environ)
    with _admin() as conn:
        conn.execute(f"CREATE USER {database} WITH PASSWORD '{database}'")
        conn.execute(
            f"CREATE DATABASE {database} OWNER {database} ENCODING 'UTF8' TEMPLATE template0 "
            "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        )
    try:
        _verdi(
            env,
            *("profile", "setup", "core.psql_dos", "-n", "--profile-name", profile),
            *("--email", "ci@aiida-lps.invalid", "--first-name", "CI", "--last-name", "Runner"),
            *("--institution", "aiida-lps", "--broker", "core.rabbitmq"),
            *("--database-hostname", "127.0.0.1", "--database-port", "5432"),
            *("--database-username", database, "--database-password", database, "--database-name", database),
            *("--repository-uri", (workdir / "repository").as_uri()),
        )
        _verdi(env, "profile", "set-default", profile)
        _verdi(env, "config", "set", "warnings.rabbitmq_version", "False")
        load_profile(profile, allow_switch=True)
        yield profile
    finally:
        with contextlib.suppress(Exception):
            kill_daemon()
        with contextlib.suppress(Exception):
            from aiida.manage import get_manager

            get_manager().unload_profile()
        subprocess.run(
            [str(pathlib.Path(sys.executable).parent / "verdi"), "profile", "delete", "--delete-data", "-f", profile],
            env=env,
            capture_output=True,
            timeout=120,
        )
        with _admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.execute(f"DROP USER IF EXISTS {database}")
        shutil.rmtree(workdir, ignore_errors=True)


def start_daemon(workers: int = 1, timeout: float = 60.0) -> None:
    """Start the daemon of the loaded profile with ``workers`` workers and wait until they run."""
    from aiida.engine.daemon.client import get_daemon_client

    client = get_daemon_client()
    client.start_daemon(number_workers=workers)
    wait_for(lambda: client.is_daemon_running and client.get_number_of_workers() >= workers, timeout, "daemon start")


def kill_daemon() -> int:
    """SIGKILL the daemon of the loaded profile: circus and all its workers at once. Returns how many were killed."""
    import psutil
    from aiida.engine.daemon.client import get_daemon_client

    client = get_daemon_client()
    pid = client.get_daemon_pid()
    if pid is None or not psutil.pid_exists(pid):
        return 0
    circus = psutil.Process(pid)
    victims = [circus, *circus.children(recursive=True)]
    for process in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=10)
    return len(victims)


def wait_for(condition, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``condition()`` until true; raise ``TimeoutError`` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return
        time.sleep(interval)
    raise TimeoutError(f"{what}: not done after {timeout:.0f} s")


def unsealed_process_nodes() -> list[int]:
    """Primary keys of the terminated-or-not process nodes of the profile that are not sealed."""
    from aiida import orm

    query = orm.QueryBuilder().append(orm.ProcessNode, project=["id", "attributes.sealed"])
    return sorted(pk for pk, sealed in query.iterall() if not sealed)


def duplicate_launches(root) -> dict[str, int]:
    """``'<caller pk>/<label>' → n`` for each caller in ``root``'s tree that launched ``n > 1`` children under a label.

    Children sealed by :mod:`aiida_lps.workflows.launching` as dead (they never ran) are not counted.
    """
    from aiida_lps.workflows.launching import sealed_by_us

    duplicates = {}
    callers = [root, *(node for node in root.called_descendants if node.called)]
    for caller in callers:
        counts = collections.Counter(
            link.link_label
            for link in caller.base.links.get_outgoing().all()
            if link.link_type.value.startswith("call") and not sealed_by_us(link.node)
        )
        duplicates.update({f"{caller.pk}/{label}": n for label, n in counts.items() if n > 1})
    return duplicates


def lj_diffusion_builder(code, n_temperatures: int = 3, repeat: int = 3, production_steps: int = 1000):
    """A tiny ``lps.diffusion`` of Lennard-Jones argon (``4 repeat³`` atoms, 5 fs steps) for service tests and loads."""
    from aiida import orm

    from aiida_lps.data.potential import InteratomicPotentialData
    from aiida_lps.reference import lennard_jones
    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    return DiffusionWorkChain.get_builder_from_protocol(
        code,
        orm.StructureData(ase=lennard_jones.argon_fcc(repeat)),
        protocol="fast",
        potential=InteratomicPotentialData(**lennard_jones.potential_arguments()),
        temperatures=[94.4, 120.0, 150.0, 180.0, 210.0, 240.0][:n_temperatures],
        overrides={
            "parameters": {
                "timestep_fs": 5.0,
                "equilibration_steps": 200,
                "production_steps": production_steps,
                "dump_interval": production_steps // 100,
                "initial_temperature": 400.0,
            },
        },
        species="Ar",
        charge=0.0,
    )
