"""LAMMPS failures end with specific exit codes, for real runs on tiny systems."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory, WorkflowFactory

from aiida_lps.data.potential import InteratomicPotentialData

LammpsMDCalculation = CalculationFactory("lps.lammps.md")
LammpsMDBaseWorkChain = WorkflowFactory("lps.lammps.md")

SHORT = {
    "temperature": 100.0,
    "timestep_fs": 2.0,
    "equilibration_steps": 50,
    "production_steps": 600,
    "dump_interval": 10,
    "thermo_interval": 10,
}


def _inputs(code, structure, potential, **parameters):
    return {
        "code": code,
        "structure": structure,
        "potential": potential,
        "parameters": orm.Dict({**SHORT, **parameters}),
        "analysis": orm.Dict({"species": ["Ar"], "charges": {}}),
    }


@pytest.mark.lammps
def test_lost_atoms(lammps_code, argon_structure, argon_potential):
    """A timestep far too large for a hot start loses atoms: ERROR_LOST_ATOMS."""
    inputs = _inputs(lammps_code, argon_structure(2), argon_potential, timestep_fs=200.0, initial_temperature=5000.0)
    _, node = run_get_node(LammpsMDCalculation, **inputs)
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_LOST_ATOMS.status, node.exit_message
    assert "Lost atoms" in node.exit_message


@pytest.mark.lammps
def test_overlapping_atoms_give_non_finite_energy(lammps_code, argon_structure, argon_potential):
    """Two atoms on one site make the LJ energy infinite: ERROR_NAN_ENERGY."""
    atoms = argon_structure(2).get_ase()
    atoms.positions[1] = atoms.positions[0]
    inputs = _inputs(lammps_code, orm.StructureData(ase=atoms), argon_potential)
    _, node = run_get_node(LammpsMDCalculation, **inputs)
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_NAN_ENERGY.status, node.exit_message


@pytest.mark.lammps
def test_malformed_potential_file(lammps_code, argon_structure):
    """A SNAP coefficient file that LAMMPS cannot read: ERROR_POTENTIAL, with LAMMPS's own message."""
    potential = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * bad.snapcoeff bad.snapparam {elements}"],
        elements=["Ar"],
        cutoff=5.0,
        files={"bad.snapcoeff": "this is not a SNAP file\n", "bad.snapparam": "rcutfac 4.0\ntwojmax 6\n"},
    )
    _, node = run_get_node(LammpsMDCalculation, **_inputs(lammps_code, argon_structure(2), potential))
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_POTENTIAL.status, node.exit_message


@pytest.mark.lammps
def test_missing_potential_file(lammps_code, argon_structure):
    """A pair_coeff that names a file the potential does not carry: ERROR_POTENTIAL."""
    potential = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * missing.snapcoeff missing.snapparam {elements}"],
        elements=["Ar"],
        cutoff=5.0,
    )
    _, node = run_get_node(LammpsMDCalculation, **_inputs(lammps_code, argon_structure(2), potential))
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_POTENTIAL.status, node.exit_message


@pytest.mark.lammps
def test_missing_executable(aiida_localhost, argon_structure, argon_potential):
    """A code whose executable does not exist: ERROR_EXECUTABLE_NOT_FOUND (or refused before running)."""
    code = orm.InstalledCode(label="no-lmp", computer=aiida_localhost, filepath_executable="/nonexistent/bin/lmp")
    code.store()
    _, node = run_get_node(LammpsMDCalculation, **_inputs(code, argon_structure(2), argon_potential))
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_EXECUTABLE_NOT_FOUND.status, node.exit_message


@pytest.mark.lammps
def test_restart_halves_timestep_once(lammps_code, argon_structure, argon_potential):
    """The restart work chain retries an unstable MD once with half the timestep, then gives up with 401."""
    inputs = _inputs(lammps_code, argon_structure(2), argon_potential, timestep_fs=400.0, initial_temperature=5000.0)
    _, node = run_get_node(LammpsMDBaseWorkChain, md=inputs)
    assert node.exit_status == LammpsMDBaseWorkChain.exit_codes.ERROR_UNSTABLE_MD.status
    calcs = sorted(node.called, key=lambda n: n.ctime)
    assert len(calcs) == 2
    first, second = (c.inputs.parameters.get_dict() for c in calcs)
    assert second["timestep_fs"] == pytest.approx(first["timestep_fs"] / 2)
    assert second["production_steps"] == 2 * first["production_steps"]
    assert np.isclose(second["thermostat_damping"] * second["timestep_fs"], 100.0 * first["timestep_fs"])


@pytest.mark.lammps
def test_restart_recovers_with_half_timestep(lammps_code, argon_structure, argon_potential):
    """A run unstable at the first timestep but stable at half of it finishes after one retry."""
    inputs = _inputs(lammps_code, argon_structure(2), argon_potential, timestep_fs=60.0, initial_temperature=600.0)
    _, node = run_get_node(LammpsMDBaseWorkChain, md=inputs)
    calcs = sorted(node.called, key=lambda n: n.ctime)
    assert [c.exit_status for c in calcs][0] in (310, 311)
    assert node.is_finished_ok, node.exit_message
    assert len(calcs) == 2


@pytest.mark.lammps
def test_fatal_failure_is_not_retried(lammps_code, argon_structure):
    """A rejected potential fails the restart work chain at once (402), without a second LAMMPS run."""
    potential = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * missing.snapcoeff missing.snapparam {elements}"],
        elements=["Ar"],
        cutoff=5.0,
    )
    _, node = run_get_node(LammpsMDBaseWorkChain, md=_inputs(lammps_code, argon_structure(2), potential))
    assert node.exit_status == LammpsMDBaseWorkChain.exit_codes.ERROR_UNRECOVERABLE.status
    assert len(node.called) == 1
