"""Remote computers and a real batch scheduler: LAMMPS over SSH, LAMMPS and GPAW through SLURM, a time-limit kill.

``scripts/start-cluster.sh`` (run once per session by the ``cluster`` fixture) installs and starts a one-node SLURM
cluster (munge, slurmctld, slurmd) and an SSH server on localhost with key-based login. The computers are ordinary
AiiDA computers: ``core.ssh`` transport + ``core.direct`` scheduler, and ``core.local`` transport + ``core.slurm``
scheduler (real ``sbatch``/``squeue``/``scancel``).
"""

from __future__ import annotations

import getpass
import pathlib
import subprocess

import pytest
from aiida import orm
from aiida.engine import CalcJob, run_get_node
from aiida.plugins import CalculationFactory

from aiida_lps.cli.setup import ensure_code, find_gpaw_executable, find_lammps_executable
from aiida_lps.workflows.dft import DftWorkChain

LammpsMDCalculation = CalculationFactory("lps.lammps.md")
ROOT = pathlib.Path(__file__).resolve().parents[2]
SHORT_MD = {"temperature": 100.0, "timestep_fs": 2.0, "equilibration_steps": 50, "production_steps": 600,
            "dump_interval": 10, "thermo_interval": 10}  # fmt: skip
ONE_CORE = {"resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}, "max_wallclock_seconds": 600}

pytestmark = [pytest.mark.services, pytest.mark.lammps]


@pytest.fixture(scope="session")
def cluster():
    """Start (or find running) the one-node SLURM cluster and the SSH server; returns the host name."""
    subprocess.run(["bash", str(ROOT / "scripts" / "start-cluster.sh")], check=True, capture_output=True, text=True)
    return subprocess.run(["hostname", "-s"], check=True, capture_output=True, text=True).stdout.strip()


def _computer(label: str, transport: str, scheduler: str, workdir: pathlib.Path, **configure) -> orm.Computer:
    computer = orm.Computer(
        label=label, hostname="localhost", transport_type=transport, scheduler_type=scheduler, workdir=str(workdir)
    ).store()
    computer.configure(safe_interval=0.0, **configure)
    computer.set_minimum_job_poll_interval(0.5)
    return computer


def _md_inputs(code, structure, potential, **parameters) -> dict:
    return {
        "code": code,
        "structure": structure,
        "potential": potential,
        "parameters": orm.Dict({**SHORT_MD, **parameters}),
        "analysis": orm.Dict({"species": ["Ar"], "charges": {}}),
        "metadata": {"options": dict(ONE_CORE)},
    }


def test_lammps_over_ssh(cluster, tmp_path, argon_structure, argon_potential):
    """core.ssh to this machine's SSH server (key-based login): upload, submit, poll, retrieve, parse."""
    computer = _computer(
        "ssh-localhost", "core.ssh", "core.direct", tmp_path / "ssh-work",
        username=getpass.getuser(), key_filename=str(pathlib.Path.home() / ".ssh" / "id_ed25519"),
        look_for_keys=False, key_policy="RejectPolicy", load_system_host_keys=True,
    )  # fmt: skip
    assert computer.get_transport().__class__.__name__ == "SshTransport"
    code, _ = ensure_code("lmp", find_lammps_executable(), computer)
    results, node = run_get_node(LammpsMDCalculation, **_md_inputs(code, argon_structure(2), argon_potential))
    assert node.is_finished_ok, node.exit_message
    assert node.get_remote_workdir().startswith(str(tmp_path / "ssh-work"))
    assert results["results"]["species"]["Ar"]["D"] > 0


def test_lammps_and_gpaw_through_slurm(cluster, tmp_path, argon_structure, argon_potential, reference_structure):
    """core.slurm: real sbatch/squeue; the job ids are SLURM's and the jobs ran on the cluster's node."""
    computer = _computer("slurm-localhost", "core.local", "core.slurm", tmp_path / "slurm-work")
    lmp, _ = ensure_code("lmp", find_lammps_executable(), computer)
    results, node = run_get_node(LammpsMDCalculation, **_md_inputs(lmp, argon_structure(2), argon_potential))
    assert node.is_finished_ok, node.exit_message
    assert results["results"]["species"]["Ar"]["D"] > 0
    job_id = node.get_job_id()
    assert job_id and job_id.isdigit()
    submit_script = pathlib.Path(node.get_remote_workdir()) / "_aiidasubmit.sh"
    assert "#SBATCH --time=00:10:00" in submit_script.read_text()
    accounting = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    assert not accounting or f"NodeList={cluster}" in accounting  # purged after MinJobAge, else on our node

    gpaw, _ = ensure_code("gpaw", find_gpaw_executable(), computer)
    overrides = {"calculator": {"mode": {"name": "pw", "ecut": 200}, "convergence": {"energy": 1e-3}},
                 "kpoint_spacing": 1.0}  # fmt: skip
    results, node = run_get_node(
        DftWorkChain, engine=orm.Str("gpaw"), task=orm.Str("single_point"),
        structure=reference_structure("Li2S", primitive=True), code=gpaw, protocol=orm.Str("fast"),
        overrides=orm.Dict(overrides), options=orm.Dict(ONE_CORE),
    )  # fmt: skip
    assert node.is_finished_ok, node.exit_message
    assert results["energy"].value < 0
    [calc] = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
    assert calc.get_job_id().isdigit() and calc.computer.uuid == computer.uuid


def test_slurm_time_limit_kill(cluster, tmp_path, argon_structure, argon_potential):
    """An MD longer than its 1-minute limit is killed by SLURM; AiiDA reports the scheduler's walltime error."""
    computer = _computer("slurm-limit", "core.local", "core.slurm", tmp_path / "slurm-limit")
    lmp, _ = ensure_code("lmp", find_lammps_executable(), computer)
    inputs = _md_inputs(lmp, argon_structure(4), argon_potential, production_steps=10_000_000, dump_interval=1000)
    inputs["metadata"]["options"]["max_wallclock_seconds"] = 60
    _, node = run_get_node(LammpsMDCalculation, **inputs)
    assert node.is_failed
    assert node.exit_status == CalcJob.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME.status, node.exit_message
    stderr = node.outputs.retrieved.base.repository.get_object_content("_scheduler-stderr.txt")
    assert "DUE TO TIME LIMIT" in stderr
