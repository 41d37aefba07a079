"""SNAP in LAMMPS for real: rows consistent with pair_style snap, the fit script, γ on the fly with fix halt."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write

from aiida_lps.data.training_set import atoms_with_labels
from aiida_lps.engines.lammps.mlip import fit as mlip_fit
from aiida_lps.engines.lammps.mlip.exploration import frame_gammas
from aiida_lps.engines.lammps.mlip.snap import SnapDescriptorCalculator, SnapSettings, write_potential
from aiida_lps.engines.lammps.outputs import read_thermo_blocks
from aiida_lps.science.mlip.maxvol import build_active_set
from aiida_lps.testing.lammps_labels import lammps_labels

pytestmark = pytest.mark.lammps
ELEMENTS = ["Li", "P", "S"]


def _cell(seed: int, rattle: float = 0.12):
    atoms = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
    atoms.set_chemical_symbols(["Li", "S", "P", "S", "Li", "S", "Li", "S"])
    rng = np.random.default_rng(seed)
    eps = rng.uniform(-0.03, 0.03, (3, 3))
    atoms.set_cell(atoms.cell.array @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
    atoms.positions += rng.normal(0, rattle, atoms.positions.shape)
    return atoms


def test_fit_script_recovers_a_snap_teacher_and_grades_training_rows(tmp_path, monkeypatch):
    """Labels from a SNAP potential are fitted back to machine precision; γ ≤ 1 on the training rows."""
    settings = SnapSettings(elements=ELEMENTS, twojmax=2, rcutfac=4.0)
    with SnapDescriptorCalculator(settings) as calc:
        assert calc.n_features - 1 < settings.n_bispectrum  # identical chem-resolved columns are merged
        theta = np.random.default_rng(0).normal(size=3 * calc.n_features) * 0.01
        theta[:: calc.n_features] = [-1.9, -5.4, -4.1]
        full = calc.expand(theta)
    configurations = []
    for seed in range(12):
        atoms = _cell(seed)
        energy, forces, stress = lammps_labels(write_potential(settings, full, tmp_path), atoms, ELEMENTS, tmp_path)
        configurations.append(atoms_with_labels(atoms, energy, forces, stress))
    # the rows reproduce LAMMPS's own energies, forces and stresses for these coefficients
    with SnapDescriptorCalculator(settings) as calc:
        rows = calc.rows(configurations[0].numbers, configurations[0].positions, configurations[0].cell.array)
    np.testing.assert_allclose(
        rows.forces @ theta + rows.reference_forces, configurations[0].get_forces().reshape(-1), atol=1e-9
    )
    np.testing.assert_allclose(rows.stress @ theta + rows.reference_stress, configurations[0].get_stress(), atol=1e-9)

    monkeypatch.chdir(tmp_path)
    write(mlip_fit.TRAINING, configurations, format="extxyz")
    write(mlip_fit.TEST, [configurations[0]], format="extxyz")
    grid = [{"twojmax": 2, "rcutfac": 3.6}, {"twojmax": 2, "rcutfac": 4.0}]
    # 12 rock-salt-like cells do not determine every coefficient: plain least squares is refused ...
    (tmp_path / mlip_fit.SETTINGS).write_text(json.dumps({"elements": ELEMENTS, "grid": grid[1:], "ridge": 0.0}))
    assert mlip_fit.main() == 2
    refused = json.loads((tmp_path / mlip_fit.RESULTS).read_text())
    assert refused["error"] == "underdetermined" and "allow a ridge penalty" in refused["message"]
    # ... and a tiny ridge gives the minimum-norm solution, which reproduces the teacher on its data
    (tmp_path / mlip_fit.SETTINGS).write_text(
        json.dumps({"elements": ELEMENTS, "grid": grid, "ridge": 1e-12, "validation_fraction": 0.2})
    )
    assert mlip_fit.main() == 0
    results = json.loads((tmp_path / mlip_fit.RESULTS).read_text())
    assert results["hyperparameters"]["rcutfac"] == 4.0  # the grid search finds the teacher's cut-off
    assert results["fit"]["regularised"]
    assert results["training_metrics"]["force_mae_eV_per_A"] < 1e-4
    assert results["test_metrics"]["energy_mae_meV_per_atom"] < 1e-2
    for element, info in results["active_set"].items():
        assert info["max_training_gamma"] <= 1.0 + 1e-6, element
    # ridge scanned per grid point: on exact teacher labels the tiny ridge wins over a huge one, and the two points
    # share their descriptors (computed once)
    ridge_grid = [{"twojmax": 2, "rcutfac": 4.0, "ridge": 1e3}, {"twojmax": 2, "rcutfac": 4.0, "ridge": 1e-12}]
    (tmp_path / mlip_fit.SETTINGS).write_text(
        json.dumps({"elements": ELEMENTS, "grid": ridge_grid, "validation_fraction": 0.2})
    )
    assert mlip_fit.main() == 0
    results = json.loads((tmp_path / mlip_fit.RESULTS).read_text())
    assert results["ridge"] == 1e-12 and results["grid_point"]["ridge"] == 1e-12
    huge, tiny = results["grid"]
    assert tiny["score"] < huge["score"] and tiny["descriptor_time_s"] < 0.1 * huge["descriptor_time_s"]
    with pytest.raises(ValueError, match="ridge must be non-negative"):
        mlip_fit.point_ridge_of({"twojmax": 2, "ridge": -1.0}, 1e-6)


def test_gamma_in_lammps_matches_numpy_and_fix_halt_stops_the_run(tmp_path, gamma_md):
    """The atom-style variables give the NumPy grade; the run stops at γ_break with earlier frames intact."""
    settings = SnapSettings(elements=ELEMENTS, twojmax=2, rcutfac=4.0, zbl=[1.0, 1.6])
    training = [_cell(seed, rattle=0.03) for seed in range(3)]
    with SnapDescriptorCalculator(settings) as calc:
        rows = [calc.rows(a.numbers, a.positions, a.cell.array) for a in training]
        theta = np.zeros(3 * calc.n_features)
        full = calc.expand(theta)
        columns = calc.columns
    maps, actives = [], {}
    for e, element in enumerate(ELEMENTS):
        actives[element] = build_active_set(np.vstack([r.atom_rows[r.types == e] for r in rows]))
        maps.append(actives[element].grade_map)
    pair_commands = write_potential(settings, full, tmp_path)
    trajectory, log, _ = gamma_md(tmp_path, settings, pair_commands, _cell(99, rattle=0.0), maps, columns, 400, 20.0, 5)
    # the zero potential leaves the atoms free: at 3000 K they leave the training neighbourhoods quickly
    assert "Fix halt condition" in log
    assert trajectory.timesteps[-1] < 400
    gamma, rows = frame_gammas(trajectory, maps, columns)
    frame_max = gamma.max(axis=1)
    assert len(frame_max) >= 3 and np.all(frame_max[:-1] <= 20.0) and frame_max[-1] > 20.0
    # LAMMPS's own γ (thermo column v_gmax, what fix halt tests) equals the NumPy grade of the dumped rows
    thermo = read_thermo_blocks("\n".join(x for x in log.splitlines() if not x.startswith("Fix halt")))[0].columns
    lammps_gamma = dict(zip(thermo["Step"].astype(int), thermo["v_gmax"], strict=True))
    for step, value in zip(trajectory.timesteps, frame_max, strict=True):
        assert lammps_gamma[int(step)] == pytest.approx(value, rel=1e-5)
    for e, element in enumerate(ELEMENTS):
        mask = trajectory.types == e + 1
        np.testing.assert_allclose(gamma[-1][mask], actives[element].grade(rows[-1][mask]), rtol=1e-8)


def test_grain_boundary_extrapolates_from_a_bulk_active_set_in_lammps(tmp_path, gamma_md):
    """A Li2S Σ5 twist bicrystal, explored with γ on the fly in LAMMPS, extrapolates (γ > γ_select = 2) from an
    active set of rattled bulk cells, while a rattled bulk cell does not: the GB frames are what active learning
    adds. LAMMPS's γ of the first frame equals the NumPy grade (the GB cell goes through the data-file rotation)."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.science.grain_boundary import build_grain_boundary
    from aiida_lps.structures.reference import load_structure

    elements = ["Li", "S"]
    settings = SnapSettings(elements=elements, twojmax=2, rcutfac=4.0, zbl=[1.0, 1.6])
    structure = load_structure("Li2S")
    bulk_cell = AseAtomsAdaptor.get_atoms(structure).repeat((2, 2, 2))
    rng = np.random.default_rng(0)

    def rattled(seed: int):
        atoms = bulk_cell.copy()
        atoms.positions += np.random.default_rng(seed).normal(0, 0.05, atoms.positions.shape)
        return atoms

    gb_structure, record = build_grain_boundary(structure, [0, 0, 1], sigma=5, expand_times=1)
    gb = AseAtomsAdaptor.get_atoms(gb_structure)
    gb.positions += rng.normal(0, 0.02, gb.positions.shape)
    with SnapDescriptorCalculator(settings) as calc:
        training = [calc.rows(a.numbers, a.positions, a.cell.array) for a in map(rattled, range(4))]
        bulk = rattled(99)
        bulk_test = calc.rows(bulk.numbers, bulk.positions, bulk.cell.array)
        gb_rows = calc.rows(gb.numbers, gb.positions, gb.cell.array)
        full = calc.expand(np.zeros(len(elements) * calc.n_features))
        columns = calc.columns
    actives = {
        el: build_active_set(np.vstack([r.atom_rows[r.types == e] for r in training])) for e, el in enumerate(elements)
    }

    def max_gamma(rows) -> float:
        return max(actives[el].grade(rows.atom_rows[rows.types == e]).max() for e, el in enumerate(elements))

    assert max_gamma(bulk_test) < 2.0
    assert max_gamma(gb_rows) > 2.0, record.as_dict()

    maps = [actives[el].grade_map for el in elements]
    pair_commands = write_potential(settings, full, tmp_path)
    trajectory, _, _ = gamma_md(tmp_path, settings, pair_commands, gb, maps, columns, 20, 1e6, 10)
    gamma, _ = frame_gammas(trajectory, maps, columns)
    assert len(trajectory.timesteps) == 3 and trajectory.timesteps[0] == 0
    assert gamma[0].max() == pytest.approx(max_gamma(gb_rows), rel=1e-6)
