"""Shared fixtures: a temporary AiiDA profile (aiida-core's pytest fixtures), the LAMMPS code, reference models."""

from __future__ import annotations

import pytest

pytest_plugins = ["aiida.tools.pytest_fixtures"]


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


@pytest.fixture
def gpaw_code(aiida_localhost):
    """GPAW's `gpaw` command of this environment as an installed code."""
    from aiida_lps.cli.setup import ensure_code, find_gpaw_executable

    aiida_localhost.set_minimum_job_poll_interval(0.0)
    executable = find_gpaw_executable()
    assert executable is not None, "GPAW must be installed (scripts/bootstrap.sh installs it)"
    code, _ = ensure_code("gpaw", executable, aiida_localhost)
    return code


@pytest.fixture
def reference_structure():
    """Factory: a packaged reference crystal as StructureData, optionally the primitive cell."""
    from aiida import orm
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    def factory(name: str, primitive: bool = False):
        structure = load_structure(name)
        if primitive:
            structure = structure.get_primitive_structure()
        return orm.StructureData(ase=AseAtomsAdaptor.get_atoms(structure))

    return factory
