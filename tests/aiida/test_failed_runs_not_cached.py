"""With caching on, a CalcJob that crashed (or was interrupted) is never reused: its exit code invalidates the cache.

Failures that follow from the inputs (no SCF convergence, unstable dynamics, a refused fit) stay cacheable: a rerun
of the same inputs would fail the same way, and the restart work chains change the inputs before trying again.
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.plugins import CalculationFactory
from plumpy import ProcessState

#: entry point -> (exit codes whose runs must never be reused, exit codes that stay cacheable)
EXPECTED = {
    "lps.gpaw": ((301, 302, 303, 320, 350), (410, 500)),
    "lps.lammps.md": ((301, 302, 304, 305, 306, 312, 313, 320, 400), (410, 411)),
    "lps.lammps.relax_batch": ((302, 312, 320), ()),
    "lps.mlip.explore": ((300, 312), ()),
    "lps.mlip.train": ((300, 311, 312), (310,)),
}


def _finished_node(computer, entry_point: str, status: int) -> orm.CalcJobNode:
    node = orm.CalcJobNode(computer=computer, process_type=f"aiida.calculations:{entry_point}")
    node.set_option("resources", {"num_machines": 1, "num_mpiprocs_per_machine": 1})
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(status)
    node.store()
    node.seal()
    return node


@pytest.mark.parametrize("entry_point", sorted(EXPECTED))
def test_crashed_runs_invalidate_the_cache(aiida_localhost, entry_point):
    process = CalculationFactory(entry_point)
    invalid, valid = EXPECTED[entry_point]
    inherited = {code.status for code in process.__mro__[1].exit_codes.values()}  # aiida-core's, aiida-lammps's
    own = {code.status for code in process.exit_codes.values()} - inherited
    assert own == set(invalid) | set(valid), "every failure code the class defines is classified here"
    for status in invalid:
        assert process.exit_codes(status).invalidates_cache, (entry_point, status)
        assert not _finished_node(aiida_localhost, entry_point, status).base.caching.is_valid_cache, status
    for status in valid:
        assert not process.exit_codes(status).invalidates_cache, (entry_point, status)
        assert _finished_node(aiida_localhost, entry_point, status).base.caching.is_valid_cache, status
    assert _finished_node(aiida_localhost, entry_point, 0).base.caching.is_valid_cache
