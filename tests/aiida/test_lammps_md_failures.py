"""LAMMPS failures end with specific exit codes, for real runs on tiny systems."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory, WorkflowFactory

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.outputs import read_binary_dump, read_thermo_blocks

LammpsMDCalculation = CalculationFactory("lps.lammps.md")
LammpsMDBaseWorkChain = WorkflowFactory("lps.lammps.md.base")

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


def test_missing_potential_file():
    """A pair_coeff that names a file the potential does not carry is refused when the potential is made."""
    with pytest.raises(ValueError, match=r"names file\(s\) \['missing.snapcoeff', 'missing.snapparam'\]"):
        InteratomicPotentialData(
            pair_style="snap",
            pair_coeff=["* * missing.snapcoeff missing.snapparam {elements}"],
            elements=["Ar"],
            cutoff=5.0,
        )


@pytest.mark.lammps
def test_missing_executable(aiida_localhost, argon_structure, argon_potential):
    """A code whose executable does not exist: ERROR_EXECUTABLE_NOT_FOUND (or refused before running)."""
    code = orm.InstalledCode(label="no-lmp", computer=aiida_localhost, filepath_executable="/nonexistent/bin/lmp")
    code.store()
    _, node = run_get_node(LammpsMDCalculation, **_inputs(code, argon_structure(2), argon_potential))
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_EXECUTABLE_NOT_FOUND.status, node.exit_message


@pytest.mark.lammps
def test_restart_halves_timestep_once(lammps_code, argon_structure, argon_potential):
    """The restart work chain retries an unstable MD once with half the timestep, then ends with ERROR_UNSTABLE_MD."""
    inputs = _inputs(lammps_code, argon_structure(2), argon_potential, timestep_fs=400.0, initial_temperature=5000.0)
    _, node = run_get_node(LammpsMDBaseWorkChain, lammps=inputs)
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
    _, node = run_get_node(LammpsMDBaseWorkChain, lammps=inputs)
    calcs = sorted(node.called, key=lambda n: n.ctime)
    unstable = {LammpsMDCalculation.exit_codes[n].status for n in ("ERROR_LOST_ATOMS", "ERROR_NAN_ENERGY")}
    assert calcs[0].exit_status in unstable
    assert node.is_finished_ok, node.exit_message
    assert len(calcs) == 2


@pytest.mark.lammps
def test_fatal_failure_is_not_retried(lammps_code, argon_structure):
    """A rejected potential ends the work chain at once (ERROR_KNOWN_UNRECOVERABLE_FAILURE), with one LAMMPS run."""
    potential = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * bad.snapcoeff bad.snapparam {elements}"],
        elements=["Ar"],
        cutoff=5.0,
        files={"bad.snapcoeff": "this is not a SNAP file\n", "bad.snapparam": "rcutfac 4.0\ntwojmax 6\n"},
    )
    _, node = run_get_node(LammpsMDBaseWorkChain, lammps=_inputs(lammps_code, argon_structure(2), potential))
    assert node.exit_status == LammpsMDBaseWorkChain.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.status
    assert len(node.called) == 1


_KILL_WRAPPER = '''#!{python}
"""`lmp` that emulates wall-time kills: a fresh run stops at production step 350 (restart files up to 300 kept;
its whole dump and log are saved as the uninterrupted reference), its continuation from 300 at step 470 (up to 420
kept); the continuation from 420 runs to the end."""
import glob, io, os, shutil, subprocess, sys

from aiida_lps.engines.lammps.outputs import _binary_frames

latest = max((int(name.split(".")[1]) for name in glob.glob("restart.*")), default=0)
stop = {{0: 350, 300: 470}}.get(latest)
if stop is None:
    os.execv("{lmp}", ["{lmp}", *sys.argv[1:]])
subprocess.run(["{lmp}", *sys.argv[1:]], check=True)
if latest == 0:
    shutil.copy("trajectory.bin", "{reference}.bin")
    shutil.copy("log.lammps", "{reference}.log")
for name in glob.glob("restart.*"):
    if int(name.split(".")[1]) > stop - 50:
        os.remove(name)
os.remove("final.data")
data = open("trajectory.bin", "rb").read()
handle = io.BytesIO(data)
frames, start = _binary_frames(handle), 0
while next(frames)[0] != stop:  # the byte where the frame of step `stop` begins
    start = handle.tell()
open("trajectory.bin", "wb").write(data[: start + 40])  # a frame cut in its header
lines = open("log.lammps").read().splitlines()
end = [i for i, line in enumerate(lines) if line.split()[:1] == ["Step"]][-1] + 1  # the production block
while lines[end].split()[0].isdigit() and int(lines[end].split()[0]) < stop:
    end += 1
open("log.lammps", "w").write("\\n".join(lines[:end]) + "\\n")
sys.exit(137)
'''


@pytest.mark.lammps
def test_walltime_continuation_matches_uninterrupted_run(
    lammps_code, aiida_localhost, argon_structure, argon_potential, tmp_path
):
    """A run stopped twice (steps 350, 470) continues from restart.300, then restart.420; joined = the full run.

    The MSD analysis of the joined trajectory is then that of the uninterrupted run (same frames, same positions).
    """
    import sys

    wrapper = tmp_path / "lmp-killed"
    lmp, reference = lammps_code.filepath_executable, tmp_path / "full"
    wrapper.write_text(_KILL_WRAPPER.format(python=sys.executable, lmp=lmp, reference=reference))
    wrapper.chmod(0o755)
    killed = orm.InstalledCode(label="lmp-killed", computer=aiida_localhost, filepath_executable=str(wrapper)).store()
    analysis = {"species": ["Ar"], "charges": {}, "trajectory_stride": 1}
    inputs = {**_inputs(killed, argon_structure(2), argon_potential), "analysis": orm.Dict(analysis)}
    _, node = run_get_node(LammpsMDBaseWorkChain, lammps=inputs)
    assert node.is_finished_ok, node.exit_message
    calcs = sorted(node.called, key=lambda n: n.ctime)
    assert [c.exit_status for c in calcs] == [LammpsMDCalculation.exit_codes.ERROR_INCOMPLETE_RUN.status] * 2 + [0]
    for parent, child in zip(calcs, calcs[1:], strict=False):
        assert child.inputs.parent_folder.uuid == parent.outputs.remote_folder.uuid

    with open(tmp_path / "full.bin", "rb") as handle:
        full = read_binary_dump(handle)
    joined = node.outputs.trajectory
    np.testing.assert_array_equal(joined.get_stepids(), full.timesteps)
    np.testing.assert_array_equal(joined.get_stepids(), np.arange(0, 601, 10))
    np.testing.assert_allclose(joined.get_positions(), full.positions, atol=1e-4)
    production = read_thermo_blocks((tmp_path / "full.log").read_text())[1]
    np.testing.assert_array_equal(node.outputs.thermo.get_array("Step"), production.columns["Step"])
    np.testing.assert_allclose(node.outputs.thermo.get_array("Temp"), production.columns["Temp"], rtol=1e-6)
