"""γ monitoring of production MD: lps.diffusion with a learned potential flags temperatures that leave its
training domain and says which temperatures its Arrhenius fit used (real LAMMPS, SNAP fitted to LJ argon)."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_lps.engines.lammps.mlip.exploration import (
    GAMMA_MONITOR_FILENAME,
    extrapolation_summary,
    gamma_monitor_commands,
    read_gamma_monitor,
)


def test_extrapolation_summary_flags_break_and_fraction():
    """A run is out of the domain when a frame passes γ_break or too many frames pass γ_select."""
    inside = extrapolation_summary(np.array([0.5, 1.0, 1.5, 2.5]), 2.0, 10.0, 0.3)
    assert inside["max_gamma"] == 2.5 and inside["fraction_above_select"] == 0.25
    assert not inside["left_training_domain"] and inside["reason"] is None
    too_often = extrapolation_summary(np.array([0.5, 3.0, 2.5, 2.1]), 2.0, 10.0, 0.3)
    assert too_often["left_training_domain"] and "75 % of frames" in too_often["reason"]
    broke = extrapolation_summary(np.array([0.5, 0.5, 0.5, 11.0]), 2.0, 10.0, 0.3)
    assert broke["left_training_domain"] and "γ_break" in broke["reason"]
    assert broke["fraction_above_break"] == 0.25
    with pytest.raises(ValueError, match="no γ evaluation"):
        extrapolation_summary(np.array([]), 2.0, 10.0, 0.3)


def test_read_gamma_monitor_skips_comments_and_a_truncated_line():
    steps, gammas = read_gamma_monitor(["# step max_gamma\n", "10 1.5\n", "20 nan\n", "30 2"])
    assert steps.tolist() == [10, 20, 30] and gammas[0] == 1.5 and np.isinf(gammas[1]) and gammas[2] == 2.0
    steps, _ = read_gamma_monitor(["# step max_gamma\n", "10 1.5\n", "20"])
    assert steps.tolist() == [10]


def _argon_training_set(lammps_code, argon_potential, argon_structure, tmp_path):
    """LJ-argon labels of frames of the package's own MD (liquid at 94.4 and 120 K, 108 atoms)."""
    from aiida.plugins import CalculationFactory

    from aiida_lps.data.training_set import TrainingSetData, atoms_with_labels
    from aiida_lps.testing.lammps_labels import lammps_labels_many

    frames = []
    for temperature in (94.4, 120.0):
        parameters = {
            "temperature": temperature,
            "timestep_fs": 5.0,
            "equilibration_steps": 400,
            "production_steps": 1000,
            "dump_interval": 20,
            "initial_temperature": 400.0,
        }
        results, node = run_get_node(
            CalculationFactory("lps.lammps.md"),
            code=lammps_code,
            structure=argon_structure(3),
            potential=argon_potential,
            parameters=orm.Dict(parameters),
            analysis=orm.Dict({"species": ["Ar"], "charges": {"Ar": 0.0}, "trajectory_stride": 10}),
        )
        assert node.is_finished_ok, node.exit_message
        trajectory = results["trajectory"]
        frames += [trajectory.get_step_structure(i).get_ase() for i in range(1, trajectory.numsteps)]
    argon_potential.store()
    pair_commands = argon_potential.lammps_commands(["Ar"])
    labels = lammps_labels_many(pair_commands, frames, ["Ar"], tmp_path)
    return TrainingSetData([atoms_with_labels(atoms, *label) for atoms, label in zip(frames, labels, strict=True)])


@pytest.mark.lammps
def test_diffusion_records_gamma_and_excludes_extrapolating_temperatures(
    lammps_code, python_code, argon_potential, argon_structure, tmp_path
):
    """A SNAP fitted (lps.mlip.train) to liquid argon at 94-120 K: lps.diffusion finds its active set from the
    potential, records γ of every stored frame at each temperature, flags the hot run that leaves the training
    domain, and fits Ea on the others only (saying so in `arrhenius`)."""
    from aiida_lps.calculations.mlip_training import MlipTrainingCalculation
    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    training_set = _argon_training_set(lammps_code, argon_potential, argon_structure, tmp_path)
    parameters = {"elements": ["Ar"], "grid": [{"twojmax": 4, "rcutfac": 6.0}], "ridge": 1e-6, "snap": {"zbl": None}}
    trained, node = run_get_node(
        MlipTrainingCalculation, code=python_code, training_set=training_set, parameters=orm.Dict(parameters)
    )
    assert node.is_finished_ok, node.exit_message
    potential = trained["potential"]

    overrides = {
        "parameters": {
            "timestep_fs": 5.0,
            "equilibration_steps": 400,
            "production_steps": 1000,
            "dump_interval": 10,
            "initial_temperature": 400.0,
        },
        "analysis": {
            "drift": "com",
            "gamma_select": 2.0,
            "gamma_break": 50.0,
            "max_extrapolating_fraction": 0.05,
            "gamma_interval": 10,
        },
        "supercell_min_width": 12.0,
    }
    temperatures = [94.4, 120.0, 600.0]
    builder = DiffusionWorkChain.get_builder_from_protocol(
        lammps_code,
        argon_structure(3),
        potential=potential,
        temperatures=temperatures,
        protocol="fast",
        overrides=overrides,
        species="Ar",
        charge=0.0,
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message

    flagged = {}
    for temperature in temperatures:
        label = "T" + f"{temperature:g}".replace(".", "p") + "K"
        run = results["runs"][label]["results"].get_dict()
        summary = run["extrapolation"]
        calc = [c for c in node.called_descendants if c.process_label == "LammpsMDCalculation"]
        assert calc
        # γ every gamma_interval = 10 production steps (step 0 included), its summary consistent with the record
        thermo = [c for c in calc if c.inputs.parameters["temperature"] == temperature][0].outputs.thermo
        steps, gamma_max = thermo.get_array("gamma_step"), thermo.get_array("gamma_max")
        assert steps.tolist() == list(range(0, 1001, 10))
        assert summary["n_evaluations"] == 101 and summary["max_gamma"] == pytest.approx(gamma_max.max())
        assert summary["fraction_above_select"] == pytest.approx(np.mean(gamma_max > 2.0))
        assert np.all(gamma_max > 0)
        flagged[temperature] = summary["left_training_domain"]
        print(temperature, summary)
    # the training temperatures stay inside, the hot supercritical fluid leaves the domain
    assert flagged == {94.4: False, 120.0: False, 600.0: True}
    arrhenius = results["arrhenius"].get_dict()
    assert arrhenius["temperatures_K"] == [94.4, 120.0]
    assert list(arrhenius["excluded_temperatures"]) == ["T600K"]
    assert "γ" in arrhenius["excluded_temperatures"]["T600K"]["reason"]
    reports = "\n".join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert "left the training domain" in reports and "excluded, outside the training domain: [600.0] K" in reports

    # the same MD CalcJob input: γ commands of the exploration, written to the monitor file during production
    script = calc[0].base.repository.get_object_content("input.in")
    assert f"file {GAMMA_MONITOR_FILENAME}" in script and "compute sna all sna/atom" in script
    assert script.index("gamma_monitor") > script.index("# production")

    # without exclusion the hot run is fitted too, with a warning (the MD calculations come from the cache)
    from aiida.manage.caching import enable_caching

    builder.exclude_extrapolating = orm.Bool(False)
    with enable_caching(identifier="aiida.calculations:lps.lammps.md"):
        results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert results["arrhenius"]["temperatures_K"] == temperatures
    assert results["arrhenius"]["excluded_temperatures"] == {}
    reports = "\n".join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert "WARNING fitting temperatures that left the training domain (['T600K'])" in reports


def test_gamma_monitor_commands_reuse_the_exploration_variables():
    """The monitor is the exploration's compute + γ variables plus a fix print every `interval` steps."""
    from aiida_lps.engines.lammps.mlip.snap import SnapSettings

    settings = SnapSettings(elements=["Ar"], twojmax=2, rcutfac=4.0)
    grade_map = np.zeros((1 + 2, 2))
    grade_map[0] = [1.0, 0.5]
    lines = gamma_monitor_commands(settings, [grade_map], [0, 1], 25)
    assert lines[0].startswith(f"compute {settings.compute_id} all sna/atom")
    assert lines[-1].startswith("fix gamma_monitor all print 25 ") and GAMMA_MONITOR_FILENAME in lines[-1]
    assert "variable gmax equal max(c_gred)" in lines
