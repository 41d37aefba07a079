"""lps.diffusion end to end with LAMMPS for real (Lennard-Jones argon, seconds per run)."""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_lps.reference import lennard_jones
from aiida_lps.workflows.diffusion import DiffusionWorkChain

FAST_LJ = {
    "parameters": {
        "timestep_fs": 5.0,
        "equilibration_steps": 2000,
        "production_steps": 8000,
        "dump_interval": 20,
        "thermo_interval": 200,
        "initial_temperature": 400.0,
    },
    "analysis": {"drift": "com"},
}


@pytest.mark.lammps
def test_argon_diffusion_matches_rahman(lammps_code, argon_potential, argon_structure):
    """D of LJ argon at 94.4 K agrees with Rahman (1964), 2.43e-5 cm²/s, within the statistical error."""
    builder = DiffusionWorkChain.get_builder_from_protocol(
        lammps_code,
        argon_structure(6),
        argon_potential,
        temperatures=[lennard_jones.TEMPERATURE_K, 120.0],
        protocol="fast",
        overrides=FAST_LJ,
        species="Ar",
        charge=0.0,
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    run = results["runs"]["T94p4K"]["results"].get_dict()
    ar = run["species"]["Ar"]
    print(ar)
    assert ar["n_atoms"] == lennard_jones.N_ATOMS
    assert not ar["subdiffusive"]
    assert abs(ar["D"] - lennard_jones.D_REFERENCE_CM2_S) < 3 * ar["D_stderr"] + 0.05 * lennard_jones.D_REFERENCE_CM2_S
    assert "arrhenius" in results
