"""lps.diffusion end to end with LAMMPS for real (Lennard-Jones argon, seconds per run)."""

from __future__ import annotations

import numpy as np
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
        potential=argon_potential,
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


@pytest.mark.lammps
def test_md_calculation_regions_trajectory_and_npt(lammps_code, argon_potential, argon_structure):
    """One MD CalcJob with NPT equilibration, region-resolved D and a down-sampled stored trajectory."""
    from aiida.plugins import CalculationFactory

    calculation = CalculationFactory("lps.lammps.md")
    parameters = {
        "temperature": 94.4,
        "timestep_fs": 5.0,
        "equilibration_steps": 500,
        "equilibration_ensemble": "npt",
        "production_steps": 1500,
        "ensemble": "nvt",
        "dump_interval": 10,
        "initial_temperature": 400.0,
        "pressure_bar": 1.0,
    }
    analysis = {
        "species": ["Ar"],
        "charges": {"Ar": 1.0},
        "trajectory_stride": 15,
        "regions": {"axis": 2, "boundaries": [[0.0, 0.5], [0.5, 1.0]]},
    }
    results, node = run_get_node(
        calculation,
        code=lammps_code,
        structure=argon_structure(3),
        potential=argon_potential,
        parameters=orm.Dict(parameters),
        analysis=orm.Dict(analysis),
    )
    assert node.is_finished_ok, node.exit_message
    ar = results["results"]["species"]["Ar"]
    regions = ar["regions"]
    assert len(regions) == 2 and sum(r["n_atoms"] for r in regions) == 108
    assert all(r["D"] > 0 for r in regions)
    assert ar["conductivity_S_cm"] > 0 and ar["isotropy"] > 0
    trajectory = results["trajectory"]
    assert trajectory.numsteps == 11 and trajectory.get_positions().shape == (11, 108, 3)
    msd = results["msd"]
    assert msd.get_array("msd_Ar").shape == (151, 3) and msd.get_array("time_ps")[1] == pytest.approx(0.05)
    assert set(results["thermo"].get_arraynames()) >= {"Temp", "Press", "Volume", "PotEng"}
    assert len(results["structure"].sites) == 108
    # the final structure (from the dump's last frame) is LAMMPS's own final configuration (write_data)
    import io

    from ase.io.lammpsdata import read_lammps_data

    final = read_lammps_data(
        io.StringIO(node.outputs.retrieved.base.repository.get_object_content("final.data")),
        Z_of_type={1: 18},
        atom_style="atomic",
        units="metal",
    )
    ours = results["structure"].get_ase()
    np.testing.assert_allclose(ours.cell[:], final.cell[:], atol=1e-5)
    delta = ours.get_scaled_positions() - final.get_scaled_positions()
    np.testing.assert_allclose(delta - np.round(delta), 0.0, atol=1e-5)
    # the full trajectory was only retrieved temporarily
    assert "trajectory.bin" not in node.outputs.retrieved.base.repository.list_object_names()
