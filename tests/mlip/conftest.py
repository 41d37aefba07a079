"""Fixtures of the MLIP tests: the `lmp` executable, a Python code that runs the fit script, the γ-monitored MD."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture
def lammps_executable() -> str:
    """Path of this environment's `lmp`."""
    from aiida_lps.cli.setup import find_lammps_executable

    return find_lammps_executable()


@pytest.fixture
def python_code(aiida_localhost):
    """This interpreter as an installed code (runs `fit_mlip.py` of `lps.mlip.train`)."""
    from aiida_lps.cli.setup import ensure_code

    aiida_localhost.set_minimum_job_poll_interval(0.0)
    code, _ = ensure_code("python-mlip", sys.executable, aiida_localhost)
    return code


@pytest.fixture
def gamma_md(lammps_executable):
    """Run the γ-monitored MD script of ``lps.mlip.explore`` at 300 K in a folder; returns (trajectory, log, script).

    Call as ``gamma_md(folder, settings, pair_commands, atoms, maps, columns, steps, gamma_break, interval)`` with
    ``pair_commands`` from the model's ``write_potential`` (SNAP or POD) and the per-element grade maps.
    """
    from aiida_lps.engines.lammps.inputs import write_data_file
    from aiida_lps.engines.lammps.mlip.exploration import GAMMA_DUMP_FILENAME, gamma_md_script, read_gamma_dump

    def run(folder, settings, pair_commands, atoms, maps, columns, steps, gamma_break, interval):
        (folder / "structure.data").write_text(write_data_file(atoms, settings.elements))
        script = gamma_md_script(
            settings,
            pair_commands,
            maps,
            columns,
            temperature=300.0,
            steps=steps,
            gamma_break=gamma_break,
            check_interval=interval,
            dump_interval=interval,
        )
        (folder / "in.lmp").write_text(script)
        process = subprocess.run(
            [lammps_executable, "-in", "in.lmp", "-log", "log.lammps"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert process.returncode == 0, process.stdout[-2000:]
        with open(folder / GAMMA_DUMP_FILENAME) as handle:
            trajectory = read_gamma_dump(handle)
        return trajectory, (folder / "log.lammps").read_text(), script

    return run
