"""A failed child's exit code and message, down to the calculation that caused it, reach the parent's report."""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType
from plumpy import ProcessState

from aiida_lps.utils.failures import describe_failure


def _failed(node, status: int, message: str, label: str):
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(status)
    node.set_exit_message(message)
    node.set_process_label(label)
    return node


def test_describe_failure_walks_down_to_the_calculation(aiida_profile_clean, aiida_localhost):
    top = _failed(orm.WorkflowNode(), 402, "The process failed for an unknown reason, twice in a row.", "LammpsMD")
    top.store()
    calc = _failed(orm.CalcJobNode(computer=aiida_localhost), 305, "LAMMPS: ERROR: Lost atoms", "LammpsMDCalculation")
    calc.base.links.add_incoming(top, LinkType.CALL_CALC, "iteration_01")
    calc.store()
    ok = orm.CalcJobNode(computer=aiida_localhost)
    ok.set_process_state(ProcessState.FINISHED)
    ok.set_exit_status(0)
    ok.base.links.add_incoming(top, LinkType.CALL_CALC, "iteration_00")
    ok.store()
    text = describe_failure(top)
    assert text.startswith(f"LammpsMD<{top.pk}> [402]")
    assert f"<- LammpsMDCalculation<{calc.pk}> [305] LAMMPS: ERROR: Lost atoms" in text
