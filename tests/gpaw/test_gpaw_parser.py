"""The GPAW parser on crafted outputs: malformed and missing results give their exit codes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.plugins import CalculationFactory, ParserFactory

GpawCalculation = CalculationFactory("lps.gpaw")
GpawParser = ParserFactory("lps.gpaw")


def _node(
    computer, files: dict[str, bytes], structure: orm.StructureData | None = None, exit_status: int | None = None
) -> orm.CalcJobNode:
    node = orm.CalcJobNode(computer=computer, process_type="aiida.calculations:lps.gpaw")
    node.set_option("resources", {"num_machines": 1, "num_mpiprocs_per_machine": 1})
    if structure is not None:
        node.base.links.add_incoming(structure.store(), LinkType.INPUT_CALC, "structure")
    if exit_status is not None:  # what aiida-core's scheduler output parser set before the parser runs
        node.set_exit_status(exit_status)
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


def _progress(structure: orm.StructureData, steps: int) -> bytes:
    positions = [[x + 0.1, y, z] for x, y, z in (site.position for site in structure.sites)]
    record = {"task": "relax", "started": True, "relax_steps": steps,
              "structure": {"positions": positions, "cell": structure.cell}}  # fmt: skip
    return json.dumps(record).encode()


@pytest.mark.parametrize("scheduler_status", [None, 120])
def test_interrupted_relaxation_keeps_last_structure(aiida_localhost, reference_structure, scheduler_status):
    """A relaxation killed before ``results.json``: the last structure of ``progress.json`` is an output, with 350,
    or with the scheduler's 120 (out of walltime) when the scheduler said so."""
    structure = reference_structure("Li2S", primitive=True)
    files = {"progress.json": _progress(structure, 4), "gpaw.txt": b"started\n"}
    outputs, calcfunction = GpawParser.parse_from_node(
        _node(aiida_localhost, files, structure, scheduler_status), store_provenance=False
    )
    expected = scheduler_status or GpawCalculation.exit_codes.ERROR_INCOMPLETE_RUN.status
    assert calcfunction.exit_status == expected
    moved = [[x + 0.1, y, z] for x, y, z in (site.position for site in structure.sites)]
    np.testing.assert_allclose([site.position for site in outputs["structure"].sites], moved)
    assert [site.kind_name for site in outputs["structure"].sites] == [site.kind_name for site in structure.sites]


def test_interrupted_single_point(aiida_localhost):
    """A single point killed before its final record: 350, and nothing to output."""
    files = {"progress.json": json.dumps({"task": "single_point", "started": True, "relax_steps": 0}).encode()}
    outputs, calcfunction = GpawParser.parse_from_node(_node(aiida_localhost, files), store_provenance=False)
    assert calcfunction.exit_status == GpawCalculation.exit_codes.ERROR_INCOMPLETE_RUN.status
    assert "structure" not in outputs
