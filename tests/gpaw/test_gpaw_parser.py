"""The GPAW parser on crafted outputs: malformed and missing results give their exit codes."""

from __future__ import annotations

import io
import json

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.plugins import CalculationFactory, ParserFactory

GpawCalculation = CalculationFactory("lps.gpaw")
GpawParser = ParserFactory("lps.gpaw")


def _node(computer, files: dict[str, bytes]) -> orm.CalcJobNode:
    node = orm.CalcJobNode(computer=computer, process_type="aiida.calculations:lps.gpaw")
    node.set_option("resources", {"num_machines": 1, "num_mpiprocs_per_machine": 1})
    node.store()
    retrieved = orm.FolderData()
    for name, content in files.items():
        retrieved.base.repository.put_object_from_filelike(io.BytesIO(content), name)
    retrieved.base.links.add_incoming(node, LinkType.CREATE, "retrieved")
    retrieved.store()
    return node


@pytest.mark.parametrize(
    ("files", "exit_code"),
    [
        ({"results.json": b'{"task": "single_point", "energy": '}, "ERROR_OUTPUT_MALFORMED"),
        ({"gpaw.txt": b"started\n"}, "ERROR_OUTPUT_MISSING"),
        (
            {"results.json": json.dumps({"task": "single_point", "error": "RuntimeError", "message": "boom"}).encode()},
            "ERROR_GPAW",
        ),
    ],
)
def test_parser_failures(aiida_localhost, files, exit_code):
    _, calcfunction = GpawParser.parse_from_node(_node(aiida_localhost, files), store_provenance=False)
    assert calcfunction.exit_status == getattr(GpawCalculation.exit_codes, exit_code).status


def test_scf_failure_keeps_properties(aiida_localhost):
    content = {
        "task": "single_point",
        "error": "scf_not_converged",
        "message": "Did not converge!",
        "scf_converged": False,
    }
    outputs, calcfunction = GpawParser.parse_from_node(
        _node(aiida_localhost, {"results.json": json.dumps(content).encode()}), store_provenance=False
    )
    assert calcfunction.exit_status == GpawCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED.status
    assert outputs["properties"]["converged_electronic"] is False
