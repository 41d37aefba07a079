"""``lps.lammps.relax_batch`` with real LAMMPS: many configurations in one run, per-configuration failures."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.calculations.relax_batch import BatchRelaxCalculation
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.relax import RelaxSettings, relax_batch_script
from aiida_lps.structures.reference import load_structure
from aiida_lps.testing.lammps_labels import lammps_labels_many
from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments


@pytest.fixture
def toy_potential():
    return InteratomicPotentialData(**lps_buck_morse_arguments())


@pytest.fixture
def beta():
    return load_structure("beta-Li3PS4")


def _removed(structure, rng, n):
    symbols = np.array([s.specie.symbol for s in structure])
    li, s = np.nonzero(symbols == "Li")[0], np.nonzero(symbols == "S")[0]
    return np.array([sorted([*rng.choice(li, 2, replace=False), rng.choice(s)]) for _ in range(n)])


@pytest.mark.parametrize("cell_relax", [False, True])
def test_batch_relaxation_from_removed_sites(
    aiida_profile_clean, lammps_code, toy_potential, beta, cell_relax, tmp_path
):
    sites = _removed(beta, np.random.default_rng(0), 3)
    removed = orm.ArrayData()
    removed.set_array("sites", sites)
    parent = orm.StructureData(pymatgen=beta)
    results, node = run_get_node(
        BatchRelaxCalculation,
        code=lammps_code,
        structure=parent,
        removed_sites=removed,
        potential=toy_potential,
        parameters=orm.Dict({"cell_relax": cell_relax, "ftol": 1e-3}),
    )
    assert node.is_finished_ok, node.exit_message
    assert sorted(results["relaxed"]) == ["c0", "c1", "c2"]
    energies = results["energies"]
    assert energies.get_array("success").all()
    assert results["results"]["failures"] == []
    # every relaxed structure has the parent minus its removed sites, and the reported energy is its energy
    labels = lammps_labels_many(
        toy_potential.lammps_commands(),
        [results["relaxed"][f"c{i}"].get_ase() for i in range(3)],
        toy_potential.elements,
        tmp_path,
    )
    for index in range(3):
        relaxed = results["relaxed"][f"c{index}"]
        assert len(relaxed.sites) == len(beta) - 3
        assert relaxed.get_composition() == {"Li": 10, "P": 4, "S": 15}
        assert labels[index][0] == pytest.approx(energies.get_array("energy")[index], abs=1e-5)
        assert np.abs(labels[index][1]).max() < 0.5  # relaxed (the toy potential is not smooth at its cut-off)
    volumes = energies.get_array("volume")
    assert np.allclose(volumes, beta.volume) != cell_relax  # the cell changes only with cell_relax
    # the energy fell from the unrelaxed configurations
    unrelaxed = lammps_labels_many(
        toy_potential.lammps_commands(),
        [_without(beta, row) for row in sites],
        toy_potential.elements,
        tmp_path,
    )
    assert all(energies.get_array("energy")[i] < unrelaxed[i][0] for i in range(3))


def _relax_good_bad_good(code, good, bad, pair_coeff: list[str], parameters: dict):
    """One job relaxing ``good``, ``bad``, ``good`` under Lennard-Jones (``lj/cut 5.0``, ``pair_coeff`` lines)."""
    trajectory = orm.TrajectoryData()
    trajectory.set_trajectory(
        symbols=good.get_chemical_symbols(),
        positions=np.stack([good.positions, bad.positions, good.positions]),
        cells=np.stack([good.cell[:]] * 3),
    )
    lj = InteratomicPotentialData(pair_style="lj/cut 5.0", pair_coeff=pair_coeff, elements=["Li", "P", "S"], cutoff=5.0)
    return run_get_node(
        BatchRelaxCalculation, code=code, configurations=trajectory, potential=lj, parameters=orm.Dict(parameters)
    )


def _without(structure, row):
    atoms = AseAtomsAdaptor.get_atoms(structure)
    keep = np.ones(len(atoms), dtype=bool)
    keep[row] = False
    return atoms[keep]


def test_failed_configuration_is_recorded_and_the_rest_kept(aiida_profile_clean, lammps_code, toy_potential, beta):
    """An impossible configuration (two atoms on one spot under Lennard-Jones) fails alone; the job finishes ok."""
    good = _without(beta, [0, 1, 20])
    bad = good.copy()
    bad.positions[1] = bad.positions[0]
    results, node = _relax_good_bad_good(lammps_code, good, bad, ["* * 0.01 2.5"], {"maxiter": 200})
    assert node.is_finished_ok, node.exit_message
    failures = results["results"]["failures"]
    assert failures == [{"index": 1, "reason": "non-finite energy"}]
    assert sorted(results["relaxed"]) == ["c0", "c2"]  # the run went on after the failed configuration
    assert np.isnan(results["energies"].get_array("energy")[1])
    assert not results["energies"].get_array("success")[1]


@pytest.mark.parametrize("cell_relax", [False, True])
def test_diverging_relaxation_is_stopped_and_recorded(aiida_profile_clean, lammps_code, beta, cell_relax):
    """A potential without a short-range barrier (Li–P Lennard-Jones with ε < 0 inside 1.6 Å, like a learned
    potential far from its data) lets a Li atom placed 0.9 Å from a P atom collapse onto it: the energy runs away
    and the minimiser once spun for ever. The guard stops that configuration, records it as diverged, and the
    others relax."""
    good = _without(beta, [0, 1, 20])
    symbols = np.array(good.get_chemical_symbols())
    li, p = np.nonzero(symbols == "Li")[0][0], np.nonzero(symbols == "P")[0][0]
    bad = good.copy()
    bad.positions[li] = bad.positions[p] + [0.9, 0.0, 0.0]
    parameters = {"maxiter": 200, "fmax_break": 500.0, "cell_relax": cell_relax}
    results, node = _relax_good_bad_good(lammps_code, good, bad, ["* * 0.01 2.5", "1 2 -0.5 1.0 1.6"], parameters)
    assert node.is_finished_ok, node.exit_message
    failures = results["results"]["failures"]
    assert [f["index"] for f in failures] == [1]
    assert failures[0]["reason"].startswith("diverged:") and "fmax_break 500 eV/Å" in failures[0]["reason"]
    assert sorted(results["relaxed"]) == ["c0", "c2"]
    energies = results["energies"].get_array("energy")
    assert np.isnan(energies[1]) and np.isfinite(energies[[0, 2]]).all()
    log = node.outputs.retrieved.base.repository.get_object_content("log.lammps")
    assert "Fix halt condition for fix-id lps_guard met" in log


def test_bad_inputs_are_rejected(aiida_profile_clean, lammps_code, toy_potential, beta):
    removed = orm.ArrayData()
    removed.set_array("sites", np.array([[0, 1, 999]]))
    with pytest.raises(ValueError, match="outside the 32 sites"):
        run_get_node(
            BatchRelaxCalculation,
            code=lammps_code,
            structure=orm.StructureData(pymatgen=beta),
            removed_sites=removed,
            potential=toy_potential,
            parameters=orm.Dict({}),
        )
    removed.set_array("sites", np.array([[0, 1, 20]]))
    with pytest.raises(ValueError, match="unknown relaxation setting"):
        run_get_node(
            BatchRelaxCalculation,
            code=lammps_code,
            structure=orm.StructureData(pymatgen=beta),
            removed_sites=removed,
            potential=toy_potential,
            parameters=orm.Dict({"ftoll": 1e-3}),
        )
    argon = InteratomicPotentialData(pair_style="lj/cut 5.0", pair_coeff=["* * 0.01 3.4"], elements=["Ar"], cutoff=5)
    with pytest.raises(ValueError, match="also contain"):
        run_get_node(
            BatchRelaxCalculation,
            code=lammps_code,
            structure=orm.StructureData(pymatgen=beta),
            removed_sites=removed,
            potential=argon,
            parameters=orm.Dict({}),
        )


def test_script_and_settings():
    script = relax_batch_script(RelaxSettings(cell_relax=True), ["pair_style zero 3.0", "pair_coeff * *"], 2)
    assert script.count("clear") == 2 and script.count("fix relax all box/relax aniso 0.0") == 2
    assert script.count("minimize") == 4  # box/relax pass + fixed-cell pass per configuration
    with pytest.raises(ValueError, match="ftol must be"):
        RelaxSettings(ftol=-1.0)
    with pytest.raises(ValueError, match="min_style cg or sd"):
        RelaxSettings(cell_relax=True, min_style="fire")
    assert script.count("fix lps_guard all halt 1 v_lps_sane == 0 error continue") == 2
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fmax_break must be a positive number"):
            RelaxSettings(fmax_break=bad)
