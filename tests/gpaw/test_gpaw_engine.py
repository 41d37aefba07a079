"""GPAW through the engine layer, for real on tiny settings: relaxation of Li2S, single point of β-Li3PS4."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory, WorkflowFactory

from aiida_lps.calculations.gpaw import setup_xc
from aiida_lps.dft import get_engine
from aiida_lps.workflows.dft import DftWorkChain

GpawCalculation = CalculationFactory("lps.gpaw")
GpawBaseWorkChain = WorkflowFactory("lps.gpaw.base")

TINY = {"calculator": {"mode": {"name": "pw", "ecut": 200}}, "kpoint_spacing": 1.0}


@pytest.mark.gpaw
def test_relax_li2s(gpaw_code, reference_structure):
    """A rattled primitive Li2S relaxes back to zero forces; outputs carry the common names and units."""
    structure = reference_structure("Li2S", primitive=True)
    atoms = structure.get_ase()
    atoms.positions[0] += [0.1, -0.06, 0.04]
    structure = orm.StructureData(ase=atoms)
    overrides = {**TINY, "relax": {"fmax": 0.1, "steps": 30}}
    results, node = run_get_node(
        DftWorkChain, engine=orm.Str("gpaw"), task=orm.Str("relax"), structure=structure, code=gpaw_code,
        protocol=orm.Str("fast"), overrides=orm.Dict(overrides),
    )  # fmt: skip
    assert node.is_finished_ok, node.exit_message
    forces = results["forces"].get_array("forces")
    assert forces.shape == (3, 3) and np.abs(forces).max() < 0.1
    assert results["energy"].value < 0
    assert results["stress"].get_array("stress").shape == (3, 3)
    props = results["properties"].get_dict()
    assert props["engine"] == "gpaw" and props["converged_electronic"] and props["converged_ionic"]
    assert props["units"]["stress"] == "eV/Å^3"
    moved = np.linalg.norm(results["structure"].get_ase().positions[0] - atoms.positions[0])
    assert moved > 0.03  # the rattled atom went back towards its site
    # the PAW datasets used are recorded as input nodes of the calculation
    calc = [n for n in node.called_descendants if n.process_type == "aiida.calculations:lps.gpaw"][0]
    labels = {link.link_label for link in calc.base.links.get_incoming().all()}
    assert {"setups__Li", "setups__S"} <= labels


@pytest.mark.gpaw
def test_single_point_beta_li3ps4(gpaw_code, reference_structure):
    """The 32-atom β-Li3PS4 cell: a Γ-point single point returns energy, forces and stress."""
    structure = reference_structure("beta-Li3PS4")
    assert len(structure.sites) == 32
    overrides = {"calculator": {"mode": {"name": "pw", "ecut": 200}, "convergence": {"energy": 1e-3}},
                 "kpoint_spacing": 1.0}  # fmt: skip
    results, node = run_get_node(
        DftWorkChain, engine=orm.Str("gpaw"), task=orm.Str("single_point"), structure=structure, code=gpaw_code,
        protocol=orm.Str("fast"), overrides=orm.Dict(overrides),
    )  # fmt: skip
    assert node.is_finished_ok, node.exit_message
    assert results["forces"].get_array("forces").shape == (32, 3)
    assert results["structure"].uuid == structure.uuid
    # forces on a relaxed crystal sum to ~0 (translation invariance)
    assert np.abs(results["forces"].get_array("forces").sum(axis=0)).max() < 0.05


@pytest.mark.gpaw
def test_scf_failure_retried_with_safer_mixing(gpaw_code, reference_structure):
    """An SCF capped at 3 iterations fails (410); the restart work chain converges it with safer mixing."""
    engine = get_engine("gpaw")
    structure = reference_structure("Li2S", primitive=True)
    builder = engine.get_builder(
        "single_point", structure, gpaw_code, "fast", overrides={**TINY, "calculator": {"maxiter": 3}}
    )
    _, node = run_get_node(builder)
    calcs = sorted(node.called, key=lambda n: n.ctime)
    assert calcs[0].exit_status == GpawCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED.status
    assert node.is_finished_ok, node.exit_message
    assert calcs[1].inputs.parameters["calculator"]["mixer"]["beta"] == 0.02


def test_bad_inputs_are_named(gpaw_code, reference_structure):
    engine = get_engine("gpaw")
    structure = reference_structure("Li2S", primitive=True)
    with pytest.raises(ValueError, match="unknown DFT task 'md'"):
        engine.get_builder("md", structure, gpaw_code)
    with pytest.raises(ValueError, match="unknown gpaw protocol 'ultra'"):
        engine.get_builder("relax", structure, gpaw_code, "ultra")
    with pytest.raises(ValueError, match="unknown DFT engine 'abinit'"):
        get_engine("abinit")
    # LDA datasets of gpaw-data (tagged "PW") are accepted for xc LDA, and a mismatch is refused before running
    lda = engine.get_builder("single_point", structure, gpaw_code, overrides={"calculator": {"xc": "LDA"}})
    assert {setup_xc(node) for node in lda.gpaw.setups.values()} == {"LDA"}
    pbe = engine.get_builder("single_point", structure, gpaw_code)
    with pytest.raises(ValueError, match="generated for 'PBE', the calculation uses 'LDA'"):
        run_get_node(
            GpawCalculation, structure=structure, code=gpaw_code, parameters=lda.gpaw.parameters,
            setups=pbe.gpaw.setups,
        )  # fmt: skip


@pytest.mark.gpaw
def test_lcao_protocol_single_point(gpaw_code, reference_structure):
    """The cheap LCAO protocol runs with gpaw-data's dzp basis (stored as input nodes); forces but no stress."""
    structure = reference_structure("Li2S", primitive=True)
    results, node = run_get_node(
        DftWorkChain, engine=orm.Str("gpaw"), task=orm.Str("single_point"), structure=structure, code=gpaw_code,
        protocol=orm.Str("lcao"), overrides=orm.Dict({"kpoint_spacing": 1.0}),
    )  # fmt: skip
    assert node.is_finished_ok, node.exit_message
    assert results["forces"].get_array("forces").shape == (3, 3)
    calc = [n for n in node.called_descendants if n.process_type == "aiida.calculations:lps.gpaw"][0]
    assert {"basis__Li", "basis__S"} <= {link.link_label for link in calc.base.links.get_incoming().all()}
    assert calc.inputs.parameters["calculator"]["basis"] == "dzp"


@pytest.mark.gpaw
def test_relax_out_of_steps_continues_from_last_structure(gpaw_code, reference_structure):
    """A relaxation stopped after one step (500) continues once from its last structure, then reports 500."""
    structure = reference_structure("Li2S", primitive=True)
    atoms = structure.get_ase()
    atoms.positions[0] += [0.15, -0.1, 0.05]
    engine = get_engine("gpaw")
    overrides = {**TINY, "relax": {"fmax": 0.001, "steps": 1}}
    _, node = run_get_node(engine.get_builder("relax", orm.StructureData(ase=atoms), gpaw_code, "fast", overrides))
    calcs = sorted(node.called, key=lambda n: n.ctime)
    relax_failed = GpawCalculation.exit_codes.ERROR_RELAX_NOT_CONVERGED.status
    assert [c.exit_status for c in calcs] == [relax_failed, relax_failed]
    assert node.exit_status == GpawBaseWorkChain.exit_codes.ERROR_RELAX_NOT_CONVERGED.status
    assert calcs[1].inputs.structure.uuid == calcs[0].outputs.structure.uuid
    assert "energy" in calcs[1].outputs  # what was computed is kept


def test_missing_gpaw_executable(aiida_localhost, reference_structure):
    """A gpaw code whose executable does not exist: 301, and the restart work chain does not retry it (310)."""
    code = orm.InstalledCode(label="no-gpaw", computer=aiida_localhost, filepath_executable="/nonexistent/bin/gpaw")
    builder = get_engine("gpaw").get_builder("single_point", reference_structure("Li2S", primitive=True), code.store())
    _, node = run_get_node(builder)
    assert [c.exit_status for c in node.called] == [GpawCalculation.exit_codes.ERROR_EXECUTABLE_NOT_FOUND.status]
    assert node.exit_status == GpawBaseWorkChain.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.status


_KILL_FIRST_RUN = """#!/bin/bash
# Stands in for a scheduler that kills the job at its walltime: the first run is killed (SIGKILL) as soon as the
# runner has recorded one relaxation step; later runs go through.
if [ -e "{marker}" ]; then exec "{gpaw}" "$@"; fi
touch "{marker}"
"{gpaw}" "$@" &
pid=$!
for _ in $(seq 1200); do
    if grep -qs '"relax_steps": [1-9]' progress.json; then kill -9 $pid; exit 137; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
wait $pid
"""


@pytest.mark.gpaw
def test_killed_relaxation_continues_from_last_structure(aiida_localhost, gpaw_code, reference_structure, tmp_path):
    """A relaxation killed mid-run (no results.json): its progress record is retrieved and parsed (350, with the
    last structure), and the restart work chain continues from that structure to a converged relaxation."""
    script = tmp_path / "gpaw-killed-once"
    script.write_text(_KILL_FIRST_RUN.format(marker=tmp_path / "killed", gpaw=gpaw_code.filepath_executable))
    script.chmod(0o755)
    code = orm.InstalledCode(label="gpaw-killed-once", computer=aiida_localhost, filepath_executable=str(script))
    structure = reference_structure("Li2S", primitive=True)
    atoms = structure.get_ase()
    atoms.positions[0] += [0.1, -0.06, 0.04]
    overrides = {**TINY, "relax": {"fmax": 0.25, "steps": 30}}  # loose: a few steps in all
    builder = get_engine("gpaw").get_builder("relax", orm.StructureData(ase=atoms), code.store(), "fast", overrides)
    _, node = run_get_node(builder)
    calcs = sorted(node.called, key=lambda n: n.ctime)
    assert calcs[0].exit_status == GpawCalculation.exit_codes.ERROR_INCOMPLETE_RUN.status
    assert "results.json" not in calcs[0].outputs.retrieved.base.repository.list_object_names()
    assert calcs[1].inputs.structure.uuid == calcs[0].outputs.structure.uuid
    moved = np.linalg.norm(calcs[0].outputs.structure.get_ase().positions[0] - atoms.positions[0])
    assert moved > 1e-3  # the killed run got somewhere, and the second run starts there
    assert node.is_finished_ok, node.exit_message
    assert len(calcs) == 2 and np.abs(node.outputs.forces.get_array("forces")).max() < 0.25
