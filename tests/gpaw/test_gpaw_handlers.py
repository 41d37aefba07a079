"""Each handler of ``lps.gpaw.base`` on its own, on a failed ``lps.gpaw`` node built for the purpose (no GPAW run)."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ExitCode, ProcessHandlerReport
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory, WorkflowFactory
from plumpy import ProcessState

from aiida_lps.dft import get_engine

GpawCalculation = CalculationFactory("lps.gpaw")
GpawBaseWorkChain = WorkflowFactory("lps.gpaw.base")


@pytest.fixture
def failed_calculation(aiida_localhost):
    """A finished ``lps.gpaw`` node with ``exit_code``, the given output nodes (link label -> node) and, optionally,
    the work chain that called it."""

    def factory(
        exit_code: ExitCode, outputs: dict[str, orm.Data] | None = None, caller: orm.WorkChainNode | None = None
    ) -> orm.CalcJobNode:
        node = orm.CalcJobNode(computer=aiida_localhost, process_type="aiida.calculations:lps.gpaw")
        if caller is not None:
            node.base.links.add_incoming(caller, LinkType.CALL_CALC, f"iteration_{len(caller.called) + 1:02d}")
        node.set_option("resources", {"num_machines": 1, "num_mpiprocs_per_machine": 1})
        node.set_process_state(ProcessState.FINISHED)
        node.set_exit_status(exit_code.status)
        node.set_exit_message(exit_code.message)
        node.store()
        for label, output in (outputs or {}).items():
            output.base.links.add_incoming(node, LinkType.CREATE, label)
            output.store()
        return node

    return factory


@pytest.fixture
def workchain(aiida_localhost, reference_structure):
    """An ``lps.gpaw.base`` instance after ``setup``, whose last child is the given node."""
    code = orm.InstalledCode(label="gpaw-unused", computer=aiida_localhost, filepath_executable="/bin/true").store()

    def factory(task: str, child: orm.CalcJobNode):
        builder = get_engine("gpaw").get_builder(task, reference_structure("Li2S", primitive=True), code, "fast")
        process = instantiate_process(get_manager().get_runner(), builder)
        process.setup()
        process.ctx.iteration = 1
        process.ctx.children = [child]
        return process

    return factory


def _moved(structure: orm.StructureData) -> orm.StructureData:
    moved = structure.clone()
    positions = np.array([site.position for site in moved.sites]) + [0.05, 0.0, 0.0]
    moved.reset_sites_positions(positions.tolist())
    return moved


@pytest.mark.parametrize("exit_code", ["ERROR_SCHEDULER_OUT_OF_WALLTIME", "ERROR_INCOMPLETE_RUN"])
def test_interrupted_relaxation_continues_from_last_structure(
    workchain, failed_calculation, reference_structure, exit_code
):
    """Walltime (aiida-core's 120) or a run killed before its final record (350): the next relaxation starts from
    the last structure the killed one reached."""
    last = _moved(reference_structure("Li2S", primitive=True))
    node = failed_calculation(getattr(GpawCalculation.exit_codes, exit_code), {"structure": last})
    process = workchain("relax", node)
    parameters = process.ctx.inputs.parameters.get_dict()
    result = process.handle_interrupted(node)
    assert isinstance(result, ProcessHandlerReport) and result.do_break and result.exit_code.status == 0
    assert process.ctx.inputs.structure.uuid == last.uuid
    assert process.ctx.inputs.parameters.get_dict() == parameters  # nothing else changes
    assert process.inspect_process().status == 0  # dispatched to this handler: the work chain runs again


def test_interrupted_single_point_runs_again(workchain, failed_calculation):
    """A single point stopped by the walltime has no partial result: it runs again on the same inputs."""
    node = failed_calculation(GpawCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME)
    process = workchain("single_point", node)
    structure = process.ctx.inputs.structure
    result = process.handle_interrupted(node)
    assert result.do_break and result.exit_code.status == 0
    assert process.ctx.inputs.structure.uuid == structure.uuid


def test_scf_retried_once_with_safer_mixing(workchain, failed_calculation):
    node = failed_calculation(GpawCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED)
    process = workchain("single_point", node)
    assert "mixer" not in process.ctx.inputs.parameters["calculator"]
    result = process.handle_scf(node)
    assert result.do_break and result.exit_code.status == 0
    assert process.ctx.inputs.parameters["calculator"]["mixer"]["beta"] == 0.02
    # a second unconverged SCF ends the work chain with its own code (not the base class's 401/402)
    result = process.handle_scf(node)
    assert result.exit_code.status == GpawBaseWorkChain.exit_codes.ERROR_SCF_NOT_CONVERGED.status == 410


def test_relax_out_of_steps_continues_once(workchain, failed_calculation, reference_structure):
    last = _moved(reference_structure("Li2S", primitive=True))
    node = failed_calculation(GpawCalculation.exit_codes.ERROR_RELAX_NOT_CONVERGED, {"structure": last})
    process = workchain("relax", node)
    result = process.handle_relax(node)
    assert result.do_break and result.exit_code.status == 0
    assert process.ctx.inputs.structure.uuid == last.uuid
    result = process.handle_relax(node)
    assert result.exit_code.status == GpawBaseWorkChain.exit_codes.ERROR_RELAX_NOT_CONVERGED.status


@pytest.mark.parametrize("exit_code", ["ERROR_EXECUTABLE_NOT_FOUND", "ERROR_OUTPUT_MALFORMED", "ERROR_GPAW"])
def test_known_unrecoverable_stops_at_once(workchain, failed_calculation, exit_code):
    node = failed_calculation(getattr(GpawCalculation.exit_codes, exit_code))
    process = workchain("single_point", node)
    result = process.inspect_process()
    assert result.status == GpawBaseWorkChain.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.status == 310


def test_exit_codes_do_not_shadow_the_base_class():
    """401/402 keep aiida-core's meaning; the work chain's own outcomes have codes of their own."""
    from aiida.engine import BaseRestartWorkChain

    base = {code.status: name for name, code in BaseRestartWorkChain.exit_codes.items()}
    own = {code.status: name for name, code in GpawBaseWorkChain.exit_codes.items()}
    assert all(own[status] == name for status, name in base.items())
    assert own[401] == "ERROR_MAXIMUM_ITERATIONS_EXCEEDED" and own[402] == "ERROR_UNHANDLED_FAILURE"


def _workchain_node(exit_status: int, children: list[ExitCode], failed_calculation) -> orm.WorkChainNode:
    node = orm.WorkChainNode(process_type="aiida.workflows:lps.gpaw.base")
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(exit_status)
    node.store()
    for exit_code in children:
        failed_calculation(exit_code, caller=node)
    return node


def test_failure_kind_reads_the_real_cause(failed_calculation):
    """``failure_kind`` calls a work chain that hit the maximum iterations (401) SCF-unconverged only when its last
    calculation failed in the SCF."""
    engine = get_engine("gpaw")
    codes = GpawCalculation.exit_codes
    own = GpawBaseWorkChain.exit_codes
    maximum = own.ERROR_MAXIMUM_ITERATIONS_EXCEEDED.status
    walltime = [codes.ERROR_SCHEDULER_OUT_OF_WALLTIME] * 3
    assert engine.failure_kind(_workchain_node(maximum, walltime, failed_calculation)) == "failed"
    scf_last = [codes.ERROR_INCOMPLETE_RUN, codes.ERROR_SCF_NOT_CONVERGED]
    assert engine.failure_kind(_workchain_node(maximum, scf_last, failed_calculation)) == "scf_not_converged"
    scf_first = [codes.ERROR_SCF_NOT_CONVERGED, codes.ERROR_SCHEDULER_OUT_OF_WALLTIME]
    assert engine.failure_kind(_workchain_node(maximum, scf_first, failed_calculation)) == "failed"
    scf = own.ERROR_SCF_NOT_CONVERGED.status
    assert engine.failure_kind(_workchain_node(scf, [], failed_calculation)) == "scf_not_converged"
    relax = own.ERROR_RELAX_NOT_CONVERGED.status
    assert engine.failure_kind(_workchain_node(relax, [], failed_calculation)) == "failed"
