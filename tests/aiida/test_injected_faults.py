"""Faults injected with fake LAMMPS executables: each ends in its exit code or handler, nothing hangs.

The fakes (:mod:`aiida_lps.testing.faults`) run the real LAMMPS and damage its output, or fail like a full disk.
A hang past the wall time is not here: aiida-core's ``core.direct`` scheduler ignores ``max_wallclock_seconds``
(its ``timeout`` line is commented out), so the time-limit kill is tested through SLURM
(``tests/services/test_remote_scheduler.py``).
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory, WorkflowFactory

from aiida_lps.cli.setup import ensure_code, find_lammps_executable
from aiida_lps.testing.faults import make_fake_lammps

LammpsMDCalculation = CalculationFactory("lps.lammps.md")
LammpsMDBaseWorkChain = WorkflowFactory("lps.lammps.md.base")
DiffusionWorkChain = WorkflowFactory("lps.diffusion")
CODES = LammpsMDCalculation.exit_codes

SHORT = {
    "temperature": 100.0,
    "timestep_fs": 5.0,
    "equilibration_steps": 50,
    "production_steps": 600,
    "dump_interval": 10,
    "thermo_interval": 10,
}


@pytest.fixture
def fake_code(aiida_localhost, tmp_path):
    """Factory: a code whose executable is a fake LAMMPS with one fault."""
    aiida_localhost.set_minimum_job_poll_interval(0.0)

    def factory(fault: str, once: bool = False):
        path = make_fake_lammps(tmp_path / "bin", fault, find_lammps_executable(), once=once)
        code, _ = ensure_code(path.name, str(path), aiida_localhost)
        return code

    return factory


def _run_md(code, structure, potential):
    return run_get_node(
        LammpsMDBaseWorkChain,
        lammps={
            "code": code,
            "structure": structure,
            "potential": potential,
            "parameters": orm.Dict(SHORT),
            "analysis": orm.Dict({"species": ["Ar"], "charges": {}}),
        },
    )[1]


def _calcjobs(node):
    return sorted((n for n in node.called if isinstance(n, orm.CalcJobNode)), key=lambda n: n.pk)


@pytest.mark.lammps
def test_crash_once_is_continued(fake_code, argon_structure, argon_potential):
    """A run that dies mid-way (log cut, exit 139): incomplete (400), continued, finished by the second run."""
    node = _run_md(fake_code("crash", once=True), argon_structure(2), argon_potential)
    assert node.is_finished_ok, node.exit_message
    first, second = _calcjobs(node)
    assert first.exit_status == CODES.ERROR_INCOMPLETE_RUN.status
    assert second.is_finished_ok and "msd" in node.outputs


@pytest.mark.lammps
def test_nan_once_is_retried_with_half_timestep(fake_code, argon_structure, argon_potential):
    node = _run_md(fake_code("nan", once=True), argon_structure(2), argon_potential)
    assert node.is_finished_ok, node.exit_message
    first, second = _calcjobs(node)
    assert first.exit_status == CODES.ERROR_NAN_ENERGY.status
    assert second.inputs.parameters["timestep_fs"] == SHORT["timestep_fs"] / 2


@pytest.mark.lammps
def test_truncated_dump_fails_with_message(fake_code, argon_structure, argon_potential):
    node = _run_md(fake_code("truncated"), argon_structure(2), argon_potential)
    (calc,) = _calcjobs(node)  # not retried: a restart cannot fix it
    assert calc.exit_status == CODES.ERROR_TRAJECTORY_MISSING.status, calc.exit_message
    assert node.exit_status == LammpsMDBaseWorkChain.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.status
    assert "trajectory" in node.exit_message.lower()


@pytest.mark.lammps
def test_full_disk_fails_with_message(fake_code, argon_structure, argon_potential):
    node = _run_md(fake_code("disk_full"), argon_structure(2), argon_potential)
    (calc,) = _calcjobs(node)
    assert calc.exit_status == CODES.ERROR_DISK_FULL.status, calc.exit_message
    assert node.exit_status == LammpsMDBaseWorkChain.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.status
    assert "No space left on device" in node.exit_message


@pytest.mark.lammps
def test_diffusion_keeps_the_temperatures_that_finished(fake_code, argon_structure, argon_potential):
    """One of three temperatures hits a full disk: the other two are output and fitted, the exit code says which."""
    builder = DiffusionWorkChain.get_builder_from_protocol(
        fake_code("disk_full", once=True),
        argon_structure(3),
        protocol="fast",
        potential=argon_potential,
        temperatures=[94.4, 120.0, 150.0],
        overrides={"parameters": {k: v for k, v in SHORT.items() if k != "temperature"}},
        species="Ar",
        charge=0.0,
    )
    results, node = run_get_node(builder)
    assert node.exit_status == DiffusionWorkChain.exit_codes.ERROR_SOME_RUNS_FAILED.status, node.exit_message
    assert len(results["runs"]) == 2 and "arrhenius" in results
    failed = [n for n in node.called if isinstance(n, orm.WorkChainNode) and not n.is_finished_ok]
    assert len(failed) == 1 and "No space left on device" in failed[0].exit_message
