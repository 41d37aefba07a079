"""POD in LAMMPS for real: rows consistent with pair_style pod, SNAP-vs-POD grid search in the fit script, γ on the fly
from compute pod/atom with fix halt, and clear messages for bad POD settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write
from ase.stress import full_3x3_to_voigt_6_stress

from aiida_lps.data.training_set import atoms_with_labels
from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.library import load_lammps
from aiida_lps.engines.lammps.mlip import fit as mlip_fit
from aiida_lps.engines.lammps.mlip.exploration import frame_gammas
from aiida_lps.engines.lammps.mlip.pod import (
    POD_COEFF_FILENAME,
    POD_PARAM_FILENAME,
    PodDescriptorCalculator,
    PodSettings,
    pair_arguments,
    write_potential,
)
from aiida_lps.engines.lammps.outputs import read_thermo_blocks
from aiida_lps.engines.lammps.potential import render_pair_lines
from aiida_lps.science.mlip.maxvol import build_active_set
from aiida_lps.testing.lammps_labels import lammps_labels

pytestmark = pytest.mark.lammps
ELEMENTS = ["Li", "P", "S"]
#: A small POD (2 + 3 body, 66 descriptors per element at three elements).
SMALL = {
    "rcut": 4.0,
    "twobody_number_radial_basis_functions": 4,
    "threebody_number_radial_basis_functions": 3,
    "threebody_angular_degree": 2,
}


def _cell(seed: int, rattle: float = 0.12, tilt: bool = False):
    atoms = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
    atoms.set_chemical_symbols(["Li", "S", "P", "S", "Li", "S", "Li", "S"])
    rng = np.random.default_rng(seed)
    eps = rng.uniform(-0.03, 0.03, (3, 3))
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
    if tilt:  # a triclinic cell: LAMMPS rotates it, the rows must rotate back
        atoms.set_cell(atoms.cell.array + [[0, 0, 0], [0.4, 0, 0], [0.2, 0.3, 0]], scale_atoms=True)
    atoms.positions += rng.normal(0, rattle, atoms.positions.shape)
    return atoms


def _pair_style_pod(settings: PodSettings, coefficients: np.ndarray, atoms, workdir):
    """Energy (eV), forces (eV/Å) and Voigt stress (eV/Å³, ASE sign) of ``pair_style pod`` with these coefficients."""
    energy, forces, stress = lammps_labels(write_potential(settings, coefficients, workdir), atoms, ELEMENTS, workdir)
    return energy, forces, full_3x3_to_voigt_6_stress(stress)


def test_pod_rows_reproduce_pair_style_pod(tmp_path):
    """Energy, force and (finite-difference) stress rows · coefficients equal pair_style pod (with ZBL, triclinic)."""
    settings = PodSettings(elements=ELEMENTS, zbl=[1.5, 3.0], **SMALL)
    atoms = _cell(3, tilt=True)
    with PodDescriptorCalculator(settings) as calc:
        assert calc.n_descriptors == 66 and calc.columns == list(range(66))
        rows = calc.rows(atoms.numbers, atoms.positions, atoms.cell.array)
        theta = np.random.default_rng(1).normal(size=3 * calc.n_features) * 0.01
        theta[:: calc.n_features] = [-1.9, -5.4, -4.1]
    assert rows.energy[:: 1 + 66].tolist() == [3, 1, 4]  # element counts in the constant columns
    assert rows.atom_rows.shape == (8, 67) and rows.reference_energy != 0.0
    energy, forces, stress = _pair_style_pod(settings, theta, atoms, tmp_path)
    assert rows.energy @ theta + rows.reference_energy == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(rows.forces @ theta + rows.reference_forces, forces.reshape(-1), atol=1e-9)
    np.testing.assert_allclose(rows.stress @ theta + rows.reference_stress, stress, atol=1e-8)
    # the per-atom rows sum to the energy row of each element
    for e in range(3):
        np.testing.assert_allclose(rows.atom_rows[rows.types == e].sum(axis=0), rows.energy[e * 67 : (e + 1) * 67])


def test_fit_script_grid_compares_snap_and_pod_on_the_validation_split(tmp_path, monkeypatch):
    """A POD teacher: the grid search keeps the POD point over the SNAP point by validation score, refits it to
    machine precision, writes a working pair_style pod potential and a POD active set with γ ≤ 1 on training."""
    teacher = PodSettings(elements=ELEMENTS, zbl=None, **SMALL)
    with PodDescriptorCalculator(teacher, stress=False) as calc:
        theta = np.random.default_rng(0).normal(size=3 * calc.n_features) * 0.002
        theta[:: calc.n_features] = [-1.9, -5.4, -4.1]
    configurations = []
    for seed in range(12):
        atoms = _cell(seed)
        energy, forces, stress = _pair_style_pod(teacher, theta, atoms, tmp_path)
        configurations.append(atoms_with_labels(atoms, energy, forces, stress))
    for atoms in configurations[:2]:
        atoms.info["origin"] = "contact"
    monkeypatch.chdir(tmp_path)
    write(mlip_fit.TRAINING, configurations, format="extxyz")
    test_atoms = _cell(50)
    test_energy, test_forces, _ = _pair_style_pod(teacher, theta, test_atoms, tmp_path)
    write(mlip_fit.TEST, [atoms_with_labels(test_atoms, test_energy, test_forces, None)], format="extxyz")
    grid = [{"twojmax": 2, "rcutfac": 4.0}, {"model": "pod", **SMALL}]
    settings = {"elements": ELEMENTS, "grid": grid, "ridge": 1e-12, "validation_fraction": 0.2, "pod": {"zbl": None}}
    settings["origin_weights"] = {"contact": 0.5, "contcat": 2.0}  # the second names no frame's origin
    (tmp_path / mlip_fit.SETTINGS).write_text(json.dumps(settings))
    assert mlip_fit.main() == 0
    results = json.loads((tmp_path / mlip_fit.RESULTS).read_text())
    # each origin weight is reported with the frames it applied to, so a misspelt origin shows as 0 frames
    assert results["origin_weights"] == {
        "contact": {"weight": 0.5, "n_frames": 2},
        "contcat": {"weight": 2.0, "n_frames": 0},
    }
    snap_entry, pod_entry = results["grid"]
    assert (snap_entry["model"], pod_entry["model"]) == ("snap", "pod")
    assert pod_entry["score"] < snap_entry["score"]
    assert results["model"] == "pod" and results["grid_point"] == grid[1]
    assert results["hyperparameters"]["rcut"] == 4.0 and results["n_descriptors"] == 66
    assert results["training_metrics"]["force_mae_eV_per_A"] < 1e-5
    assert results["training_metrics"]["stress_mae_GPa"] < 1e-3  # finite-difference stress rows are fitted too
    assert results["test_metrics"]["energy_mae_meV_per_atom"] < 0.1
    for element, info in results["active_set"].items():
        assert info["n_features"] == 67
        assert info["max_training_gamma"] <= 1.0 + 1e-6, element
    # the short-range check scanned the element pairs of the data with the written potential
    scanned = results["short_range"]["pairs"]
    assert {p["pair"] for p in scanned} <= {"Li-Li", "Li-P", "Li-S", "P-P", "P-S", "S-S"} and len(scanned) >= 3
    assert results["short_range"]["attractive"] == [p["pair"] for p in scanned if p["attractive"]]
    assert all(p["closest_A"] == pytest.approx(0.5 * p["shortest_in_data_A"]) for p in scanned)
    # the written files are a working pair_style pod potential reproducing the teacher on the test configuration
    assert POD_PARAM_FILENAME in {p.name for p in tmp_path.iterdir()}
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    (tmp_path / "test.data").write_text(write_data_file(test_atoms, ELEMENTS))
    pair = pair_arguments(PodSettings.from_dict({k: results["hyperparameters"][k] for k in teacher.to_dict()}))
    lmp.commands_list(
        ["units metal", "atom_style atomic", "read_data test.data"]
        + render_pair_lines(pair["pair_style"], pair["pair_coeff"], ELEMENTS, ELEMENTS)
        + ["thermo_style custom step pe", "run 0"]
    )
    assert lmp.get_thermo("pe") == pytest.approx(test_energy, abs=1e-3 * len(test_atoms))
    lmp.close()


def test_gamma_from_pod_atom_in_lammps_matches_numpy_and_fix_halt_stops_the_run(tmp_path, gamma_md):
    """compute pod/atom → atom-style variables → fix halt: LAMMPS's γ equals the NumPy grade of the dumped rows."""
    settings = PodSettings(elements=ELEMENTS, zbl=[1.0, 1.6], **SMALL)
    training = [_cell(seed, rattle=0.03) for seed in range(3)]
    with PodDescriptorCalculator(settings, stress=False) as calc:
        rows = [calc.rows(a.numbers, a.positions, a.cell.array) for a in training]
        coefficients = calc.expand(np.zeros(3 * calc.n_features))
        columns = calc.columns
    actives = {
        el: build_active_set(np.vstack([r.atom_rows[r.types == e] for r in rows]), 1e-6)
        for e, el in enumerate(ELEMENTS)
    }
    maps = [actives[el].grade_map for el in ELEMENTS]
    pair_commands = write_potential(settings, coefficients, tmp_path)
    trajectory, log, script = gamma_md(
        tmp_path, settings, pair_commands, _cell(99, rattle=0.0), maps, columns, 400, 20.0, 5
    )
    assert "compute pod all pod/atom" in script and '"" Li P S' in script
    assert trajectory.descriptors.shape[2] == 66
    assert "Fix halt condition" in log and trajectory.timesteps[-1] < 400
    gamma, grade_rows = frame_gammas(trajectory, maps, columns)
    frame_max = gamma.max(axis=1)
    assert len(frame_max) >= 3 and np.all(frame_max[:-1] <= 20.0) and frame_max[-1] > 20.0
    thermo = read_thermo_blocks("\n".join(x for x in log.splitlines() if not x.startswith("Fix halt")))[0].columns
    lammps_gamma = dict(zip(thermo["Step"].astype(int), thermo["v_gmax"], strict=True))
    for step, value in zip(trajectory.timesteps, frame_max, strict=True):
        assert lammps_gamma[int(step)] == pytest.approx(value, rel=1e-5)
    for e, element in enumerate(ELEMENTS):
        mask = trajectory.types == e + 1
        np.testing.assert_allclose(gamma[-1][mask], actives[element].grade(grade_rows[-1][mask]), rtol=1e-8)


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"model": "pod", "rcut": 4.0, "rin": 4.5}, "0 <= rin < rcut"),
        ({"model": "pod", "threebody_number_radial_basis_functions": 9}, "must not grow with the body order"),
        ({"model": "pod", "twobody_number_radial_basis_functions": 30}, "exceeds the 20 radial functions"),
        ({"model": "pod", "threebody_angular_degree": 2.5}, "threebody_angular_degree must be a non-negative"),
        ({"model": "pod", "twojmax": 4}, "unknown POD setting(s) ['twojmax']"),
        ({"model": "ace"}, "unknown model 'ace'"),
    ],
)
def test_bad_pod_grid_points_are_refused_with_a_clear_message(point, message):
    """The fit script and the lps.mlip.train validator name what is wrong with a POD grid point."""
    from aiida_lps.calculations.mlip_training import validate_fit_parameters

    with pytest.raises(ValueError) as info:
        mlip_fit.point_settings(point, {"elements": ELEMENTS})
    assert message in str(info.value)

    class _Params:  # the validator only calls get_dict(); no AiiDA profile needed
        @staticmethod
        def get_dict():
            return {"elements": ELEMENTS, "grid": [{"twojmax": 2}, point]}

    error = validate_fit_parameters(_Params(), None)
    assert error is not None and message in error and str(point) in error


@pytest.mark.parametrize("origin_weights", [{"contact": 0.0}, {"contact": -1}, {"contact": True}, ["contact", 0.1]])
def test_bad_origin_weights_are_refused(origin_weights):
    from aiida_lps.calculations.mlip_training import validate_fit_parameters

    class _Params:
        @staticmethod
        def get_dict():
            return {"elements": ELEMENTS, "grid": [{"twojmax": 2}], "origin_weights": origin_weights}

    error = validate_fit_parameters(_Params(), None)
    assert error is not None and "`origin_weights` must map frame origins to positive weights" in error


def test_train_and_explore_calcjobs_with_a_pod_winner(python_code, lammps_code, tmp_path):
    """lps.mlip.train with a POD-only grid gives a pair_style pod potential node and a POD active set
    (``model``/``pod_settings``); lps.mlip.explore runs γ from compute pod/atom with them, and lps.lammps.md runs
    the potential node."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_lps.calculations.mlip_exploration import GammaExplorationCalculation
    from aiida_lps.calculations.mlip_training import MlipTrainingCalculation
    from aiida_lps.data.training_set import TrainingSetData

    teacher = PodSettings(elements=ELEMENTS, zbl=None, **SMALL)
    with PodDescriptorCalculator(teacher, stress=False) as calc:
        theta = np.random.default_rng(2).normal(size=3 * calc.n_features) * 0.002
        theta[:: calc.n_features] = [-1.9, -5.4, -4.1]
    configurations = [
        atoms_with_labels(atoms, *_pair_style_pod(teacher, theta, atoms, tmp_path))
        for atoms in (_cell(seed, rattle=0.05) for seed in range(4))
    ]
    parameters = {"elements": ELEMENTS, "grid": [{"model": "pod", **SMALL, "zbl": [1.0, 1.6]}], "ridge": 1e-6}
    results, node = run_get_node(
        MlipTrainingCalculation,
        code=python_code,
        training_set=TrainingSetData(configurations),
        parameters=orm.Dict(parameters),
    )
    assert node.is_finished_ok, node.exit_message
    potential, active = results["potential"], results["active_set"]
    assert potential.pair_style == "hybrid/overlay zbl 1 1.6 pod"
    assert set(potential.filenames) == {POD_PARAM_FILENAME, POD_COEFF_FILENAME}
    assert active.base.attributes.get("model") == "pod"
    assert active.base.attributes.get("pod_settings")["rcut"] == 4.0
    assert results["metrics"]["model"] == "pod"

    explore = {"temperature": 300.0, "steps": 40, "check_interval": 5, "dump_interval": 10, "gamma_break": 1e6}
    results, node = run_get_node(
        GammaExplorationCalculation,
        code=lammps_code,
        structure=orm.StructureData(ase=_cell(7, rattle=0.05)),
        potential=potential,
        active_set=active,
        parameters=orm.Dict(explore),
    )
    assert node.is_finished_ok, node.exit_message
    summary = results["results"].get_dict()
    assert summary["n_frames"] == 5 and summary["lammps_error"] is None
    assert np.isfinite(summary["max_gamma"]) and summary["max_gamma"] > 0

    # γ_break below the start structure's γ: the run halts before any frame lies between γ_select and γ_break, and
    # the break frame is kept as the one candidate (a halted run must never look like "nothing new to label")
    start_gamma = summary["gamma_max_per_frame"][0]
    tight = {**explore, "gamma_break": 0.5 * start_gamma, "gamma_select": 0.25 * start_gamma}
    results, node = run_get_node(
        GammaExplorationCalculation,
        code=lammps_code,
        structure=orm.StructureData(ase=_cell(7, rattle=0.05)),
        potential=potential,
        active_set=active,
        parameters=orm.Dict(tight),
    )
    assert node.is_finished_ok, node.exit_message
    halted = results["results"].get_dict()
    assert halted["halted_at_gamma_break"] and halted["n_usable_frames"] == 0
    assert halted["n_candidates"] == 1 and results["candidates"].get_array("gamma_max")[0] > tight["gamma_break"]

    # the same potential node runs in lps.lammps.md, the MD CalcJob of lps.diffusion (cold and short: the teacher's
    # random coefficients make no physical potential)
    from aiida.plugins import CalculationFactory

    md = {"temperature": 30.0, "timestep_fs": 0.5, "equilibration_steps": 20, "production_steps": 250}
    results, node = run_get_node(
        CalculationFactory("lps.lammps.md"),
        code=lammps_code,
        structure=orm.StructureData(ase=_cell(8, rattle=0.02).repeat((2, 1, 1))),
        potential=potential,
        parameters=orm.Dict({**md, "dump_interval": 5}),
        analysis=orm.Dict({"species": ["Li"], "charges": {"Li": 1.0}}),
    )
    assert node.is_finished_ok, node.exit_message
    assert "pair_style hybrid/overlay zbl 1 1.6 pod" in node.base.repository.get_object_content("input.in")
    assert results["results"]["species"]["Li"]["n_atoms"] == 6
