"""Trajectory reduction where it was written: LAMMPS binary dumps and ``python -m aiida_lps.engines.lammps.reduce``."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import ase.build
import numpy as np
import pytest

from aiida_lps.cli.setup import find_lammps_executable
from aiida_lps.engines.lammps.inputs import (
    BINARY_DUMP_FILENAME,
    DUMP_FILENAME,
    MDSettings,
    md_script,
    write_data_file,
)
from aiida_lps.engines.lammps.outputs import read_binary_dump, read_dump, read_dump_files
from aiida_lps.engines.lammps.potential import render_pair_lines
from aiida_lps.engines.lammps.reduce import REDUCED_FILENAME, load_reduced, reduce_trajectory, run
from aiida_lps.reference import lennard_jones

SETTINGS = MDSettings(
    temperature=120.0, timestep_fs=5.0, equilibration_steps=50, production_steps=600, dump_interval=10
)
ANALYSIS = {
    "species": ["Ar"],
    "charges": {},
    "regions": {"axis": 2, "boundaries": [[0.0, 0.5], [0.5, 1.0]]},
    "window": [0.1, 0.5],
    "n_blocks": 3,
    "drift": "com",
    "subdiffusive_threshold": 0.9,
    "trajectory_stride": 20,
}


def _lammps(folder, atoms, dump_filename: str) -> None:
    """Run the package's MD script with the real LAMMPS executable, writing ``dump_filename`` in ``folder``."""
    potential = lennard_jones.potential_arguments()
    pair = render_pair_lines(potential["pair_style"], potential["pair_coeff"], ["Ar"], ["Ar"])
    (folder / "structure.data").write_text(write_data_file(atoms, ["Ar"]))
    (folder / "in.lammps").write_text(md_script(SETTINGS, pair, dump_filename))
    lmp = find_lammps_executable()
    subprocess.run([lmp, "-in", "in.lammps", "-log", "log.lammps"], cwd=folder, check=True, capture_output=True)


@pytest.fixture(scope="module", params=["cubic", "triclinic"])
def dumps(request, tmp_path_factory):
    """The same seeded LJ argon run twice with the real LAMMPS, once with a text dump and once with a binary dump."""
    atoms = lennard_jones.argon_fcc(2)
    if request.param == "triclinic":  # a sheared cell: the box tilts of both formats
        atoms = ase.build.bulk("Ar", "fcc", a=5.26).repeat((3, 3, 3))
        atoms.set_cell(atoms.cell[:] + [[0, 0, 0], [0.6, 0, 0], [0.3, 0.4, 0]], scale_atoms=True)
    folder = tmp_path_factory.mktemp(request.param)
    text, binary = folder / "text", folder / "binary"
    for sub, name in ((text, DUMP_FILENAME), (binary, BINARY_DUMP_FILENAME)):
        sub.mkdir()
        _lammps(sub, atoms, name)
    return text / DUMP_FILENAME, binary / BINARY_DUMP_FILENAME


def test_binary_dump_reads_as_the_text_dump(dumps):
    """LAMMPS's binary dump gives the text dump's frames, steps, types and cells; positions to its 1e-6 Å rounding."""
    text_path, binary_path = dumps
    with open(text_path) as handle:
        text = read_dump(handle)
    with open(binary_path, "rb") as handle:
        binary = read_binary_dump(handle, expected_frames=61)
    assert binary.positions.shape == text.positions.shape == (61, text.types.size, 3)
    np.testing.assert_array_equal(binary.timesteps, text.timesteps)
    np.testing.assert_array_equal(binary.types, text.types)
    np.testing.assert_allclose(binary.cells, text.cells, atol=1e-6)
    np.testing.assert_allclose(binary.positions, text.positions, rtol=0, atol=5.1e-7)
    assert np.abs(binary.positions - text.positions).max() > 0  # full precision, not the text's rounding
    # the memory-mapped reader (a file) and the frame-by-frame reader (a stream) agree bit for bit
    streamed = read_binary_dump(io.BytesIO(binary_path.read_bytes()), stride=7)
    np.testing.assert_array_equal(streamed.positions, binary.positions[::7])
    np.testing.assert_array_equal(streamed.cells, binary.cells[::7])
    np.testing.assert_array_equal(streamed.timesteps, binary.timesteps[::7])
    np.testing.assert_array_equal(streamed.types, binary.types)
    with open(binary_path, "rb") as handle:
        np.testing.assert_array_equal(read_binary_dump(handle, stride=7).positions, streamed.positions)


def test_truncated_binary_dump_drops_the_last_frame(dumps, tmp_path):
    _, binary_path = dumps
    data = binary_path.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[: len(data) - 100])
    trajectory = read_dump_files([cut])
    assert trajectory.timesteps.size == 60 and trajectory.timesteps[-1] == 590
    cut.write_bytes(b"\x01" * 40)
    with pytest.raises(ValueError, match="no complete frame|truncated"):
        read_dump_files([cut])


def test_reducer_command_equals_the_parser_reduction(dumps, tmp_path):
    """`python -m aiida_lps.engines.lammps.reduce` on a text dump writes exactly what the parser computes from it;
    on the binary dump of the same run, the same D within the text dump's rounding."""
    text_path, binary_path = dumps
    with open(text_path) as handle:
        in_process = reduce_trajectory(read_dump(handle), SETTINGS.timestep_fs, ["Ar"], ANALYSIS)
    assert in_process.analysis_error is None
    results = {}
    for path in (text_path, binary_path):
        settings = {
            "dumps": [path.name],
            "type_elements": ["Ar"],
            "timestep_fs": SETTINGS.timestep_fs,
            "production_steps": SETTINGS.production_steps,
            "expected_frames": 61,
            "analysis": ANALYSIS,
        }
        (path.parent / "reduce.json").write_text(json.dumps(settings))
        command = [sys.executable, "-m", "aiida_lps.engines.lammps.reduce", "reduce.json"]
        done = subprocess.run(command, cwd=path.parent, check=True, capture_output=True, text=True)
        summary = json.loads(done.stdout)
        assert summary["n_frames"] == 61 and summary["output_bytes"] < 200_000
        results[path.suffix] = load_reduced(path.parent / REDUCED_FILENAME)
    text, binary = results[".dump"], results[".bin"]
    assert text.species == in_process.species  # bit for bit: same dump, same code
    np.testing.assert_array_equal(text.msd["Ar"], in_process.msd["Ar"])
    np.testing.assert_array_equal(text.time_ps, in_process.time_ps)
    np.testing.assert_array_equal(text.sampled_positions, in_process.sampled_positions)
    np.testing.assert_array_equal(text.last_positions, in_process.last_positions)
    assert len(text.species["Ar"]["regions"]) == 2
    np.testing.assert_allclose(binary.msd["Ar"], text.msd["Ar"], rtol=1e-5, atol=1e-9)
    assert binary.species["Ar"]["D"] == pytest.approx(text.species["Ar"]["D"], rel=1e-5)
    assert binary.species["Ar"]["D_stderr"] == pytest.approx(text.species["Ar"]["D_stderr"], rel=1e-4)


def test_reducer_records_errors_and_deletes_only_complete_dumps(dumps, tmp_path):
    _, binary_path = dumps
    settings = {
        "dumps": ["missing.bin"],
        "type_elements": ["Ar"],
        "timestep_fs": SETTINGS.timestep_fs,
        "production_steps": SETTINGS.production_steps,
        "analysis": ANALYSIS,
        "delete_dumps": True,
    }
    summary = run(settings, tmp_path)
    assert "missing.bin" in summary["trajectory_error"]
    with pytest.raises(ValueError, match="missing.bin"):
        load_reduced(tmp_path / REDUCED_FILENAME)

    data = binary_path.read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[: len(data) - 100])  # a run that stopped: the dump is kept
    summary = run({**settings, "dumps": ["cut.bin"]}, tmp_path)
    assert summary["complete"] is False and "deleted" not in summary and (tmp_path / "cut.bin").is_file()

    (tmp_path / "run.bin").write_bytes(data)
    summary = run({**settings, "dumps": ["run.bin"], "analysis": {**ANALYSIS, "n_blocks": 100}}, tmp_path)
    assert "too few frames" in summary["analysis_error"] and (tmp_path / "run.bin").is_file()
    assert "too few frames" in load_reduced(tmp_path / REDUCED_FILENAME).analysis_error

    summary = run({**settings, "dumps": ["run.bin"]}, tmp_path)
    assert summary["deleted"] and not (tmp_path / "run.bin").exists()
