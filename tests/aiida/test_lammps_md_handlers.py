"""Each process handler of ``lps.lammps.md.base`` on its own: a failed CalcJob node built for the purpose, no LAMMPS.

The real runs through the same handlers are in ``test_lammps_md_failures.py``.
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory, WorkflowFactory

LammpsMDCalculation = CalculationFactory("lps.lammps.md")
LammpsMDBaseWorkChain = WorkflowFactory("lps.lammps.md.base")

PARAMETERS = {
    "temperature": 100.0,
    "timestep_fs": 2.0,
    "equilibration_steps": 50,
    "production_steps": 600,
    "dump_interval": 10,
    "thermo_interval": 10,
}


@pytest.fixture
def generate_workchain(aiida_localhost, argon_structure, argon_potential):
    """Return a set-up ``LammpsMDBaseWorkChain`` instance (not run) for the given inputs."""

    def factory():
        code = orm.InstalledCode(label="lmp-fake", computer=aiida_localhost, filepath_executable="/bin/true").store()
        inputs = {
            "lammps": {
                "code": code,
                "structure": argon_structure(2),
                "potential": argon_potential,
                "parameters": orm.Dict(PARAMETERS),
            }
        }
        process = instantiate_process(get_manager().get_runner(), LammpsMDBaseWorkChain, **inputs)
        process.setup()
        return process

    return factory


@pytest.fixture
def generate_failed_calcjob(aiida_localhost, tmp_path):
    """Return a stored, finished ``lps.lammps.md`` node with ``exit_code`` and a remote folder holding ``files``."""

    def factory(exit_code, files: tuple[str, ...] = ()):
        node = orm.CalcJobNode(computer=aiida_localhost, process_type="aiida.calculations:lps.lammps.md")
        node.set_process_label(LammpsMDCalculation.__name__)
        node.set_process_state(ProcessState.FINISHED)
        node.set_exit_status(exit_code.status)
        node.set_exit_message(exit_code.message)
        node.store()
        for name in files:
            (tmp_path / name).write_text("")
        remote = orm.RemoteData(remote_path=str(tmp_path), computer=aiida_localhost)
        remote.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label="remote_folder")
        remote.store()
        return node

    return factory


def _inspect(process, node):
    """Run the work chain's ``inspect_process`` on ``node`` as its latest child."""
    process.ctx.children = [node]
    process.ctx.iteration = 1
    return process.inspect_process()


@pytest.mark.parametrize(
    "name", ["ERROR_EXECUTABLE_NOT_FOUND", "ERROR_POTENTIAL", "ERROR_ANALYSIS", "ERROR_TRAJECTORY_MISSING"]
)
def test_handle_fatal(generate_workchain, generate_failed_calcjob, name):
    """A deterministic failure ends the work chain with ERROR_KNOWN_UNRECOVERABLE_FAILURE, not the base 402."""
    process = generate_workchain()
    result = _inspect(process, generate_failed_calcjob(LammpsMDCalculation.exit_codes[name].format(detail="x")))
    assert result.status == LammpsMDBaseWorkChain.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.status


@pytest.mark.parametrize("name", ["ERROR_LOST_ATOMS", "ERROR_NAN_ENERGY"])
def test_handle_unstable_dynamics_halves_timestep_once(generate_workchain, generate_failed_calcjob, name):
    """First unstable crash: restart with half the timestep and doubled step counts; second: ERROR_UNSTABLE_MD."""
    process = generate_workchain()
    code = LammpsMDCalculation.exit_codes[name].format(detail="x")
    assert _inspect(process, generate_failed_calcjob(code)).status == 0
    params = process.ctx.inputs.parameters.get_dict()
    assert params["timestep_fs"] == PARAMETERS["timestep_fs"] / 2
    assert params["production_steps"] == 2 * PARAMETERS["production_steps"]
    assert params["dump_interval"] == 2 * PARAMETERS["dump_interval"]
    assert "parent_folder" not in process.ctx.inputs
    result = _inspect(process, generate_failed_calcjob(code))
    assert result.status == LammpsMDBaseWorkChain.exit_codes.ERROR_UNSTABLE_MD.status


@pytest.mark.parametrize("name", ["ERROR_SCHEDULER_OUT_OF_WALLTIME", "ERROR_INCOMPLETE_RUN"])
def test_handle_out_of_walltime_continues_from_restart_file(generate_workchain, generate_failed_calcjob, name):
    """A stopped run with a restart file: continue from its remote folder, parameters unchanged."""
    process = generate_workchain()
    code = LammpsMDCalculation.exit_codes[name]
    node = generate_failed_calcjob(code.format(detail="x") if "{" in code.message else code, files=("restart.300",))
    assert _inspect(process, node).status == 0
    assert process.ctx.inputs.parent_folder.uuid == node.outputs.remote_folder.uuid
    assert process.ctx.inputs.parameters.get_dict() == PARAMETERS


def test_handle_out_of_walltime_without_restart_file(generate_workchain, generate_failed_calcjob):
    """Stopped before any restart file: start again once, then ERROR_WALLTIME_WITHOUT_RESTART_FILE."""
    process = generate_workchain()
    code = LammpsMDCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME
    assert _inspect(process, generate_failed_calcjob(code, files=("log.lammps",))).status == 0
    assert "parent_folder" not in process.ctx.inputs
    result = _inspect(process, generate_failed_calcjob(code, files=("log.lammps",)))
    assert result.status == LammpsMDBaseWorkChain.exit_codes.ERROR_WALLTIME_WITHOUT_RESTART_FILE.status


def test_unknown_lammps_error_is_left_to_the_base_class(generate_workchain, generate_failed_calcjob):
    """A LAMMPS error no handler knows ends with the base class's ERROR_UNHANDLED_FAILURE (402)."""
    process = generate_workchain()
    result = _inspect(process, generate_failed_calcjob(LammpsMDCalculation.exit_codes.ERROR_LAMMPS.format(detail="x")))
    assert result.status == LammpsMDBaseWorkChain.exit_codes.ERROR_UNHANDLED_FAILURE.status == 402
