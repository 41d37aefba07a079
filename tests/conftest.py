"""Shared fixtures: a temporary AiiDA profile (aiida-core's pytest fixtures), the LAMMPS code, reference models."""

from __future__ import annotations

import pathlib

import pytest

pytest_plugins = ["aiida.tools.pytest_fixtures"]

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"
DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture
def lammps_code(aiida_localhost):
    """The `lmp` executable of this environment as an installed code on a fast-polling localhost."""
    from aiida_lps.cli.setup import ensure_code, find_lammps_executable

    aiida_localhost.set_minimum_job_poll_interval(0.0)
    code, _ = ensure_code("lmp", find_lammps_executable(), aiida_localhost)
    return code


@pytest.fixture
def argon_potential():
    """Rahman's Lennard-Jones argon as a potential node (unstored)."""
    from aiida_lps.data.potential import InteratomicPotentialData
    from aiida_lps.reference import lennard_jones

    return InteratomicPotentialData(**lennard_jones.potential_arguments())


@pytest.fixture
def argon_structure():
    """Factory of fcc argon at Rahman's density (melted by the MD)."""
    from aiida import orm

    from aiida_lps.reference import lennard_jones

    def factory(repeat: int = 6):
        return orm.StructureData(ase=lennard_jones.argon_fcc(repeat))

    return factory
