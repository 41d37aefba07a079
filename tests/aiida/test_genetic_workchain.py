"""``lps.sampling.genetic`` for real: a 3-generation GA through LAMMPS, a GPAW re-relaxation, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.science.genetic import RemovalProblem
from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments
from aiida_lps.workflows.genetic import GeneticSamplingWorkChain


@pytest.fixture
def toy_potential():
    return InteratomicPotentialData(**lps_buck_morse_arguments())


@pytest.mark.lammps
def test_three_generations_through_lammps(aiida_profile_clean, lammps_code, toy_potential, reference_structure):
    parent = reference_structure("beta-Li3PS4")
    builder = GeneticSamplingWorkChain.get_builder_from_protocol(
        lammps_code,
        parent,
        protocol="fast",
        potential=toy_potential,
        overrides={"ga": {"population_size": 6, "max_generations": 3, "seeds": [0, 1]}, "n_candidates": 3},
        target_x=0.71,
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    summary = results["summary"].get_dict()
    assert summary["composition"] == {"n_li2s": 1, "n_p2s5": 0, "x": pytest.approx(10 / 14), "target_x": 0.71}
    assert summary["seeds"] == [0, 1] and summary["generations"] == 3
    # the progress the CLI's bar shows: generations done of max_generations
    assert node.base.extras.get("lps_progress") == {"done": 3, "total": 3, "unit": "generation"}

    # one batch job per generation with new arrangements; no arrangement relaxed twice
    jobs = [n for n in node.called if n.process_label == "BatchRelaxCalculation"]
    assert 1 <= len(jobs) <= 3 and all(job.is_finished_ok for job in jobs)
    problem = RemovalProblem.from_structure(parent.get_pymatgen_structure(), n_li2s=1)
    keys, energies = [], []
    for job in jobs:
        sites = job.inputs.removed_sites.get_array("sites")
        assert sites.shape[1] == 3
        keys += [problem.key(problem.mask(row)) for row in sites]
        energies += job.outputs.energies.get_array("energy").tolist()
    assert len(keys) == len(set(keys)) == summary["n_evaluations"]
    history = results["history"]
    assert history.get_array("n_evaluated").sum() == len(keys)
    assert list(history.get_array("generation")) == [0, 1, 2]
    best = history.get_array("best")
    assert np.all(np.diff(best) <= 1e-9)  # elitism: the best never gets worse
    assert history.get_array("best_per_seed").shape == (3, 2)

    # candidates: MLIP-relaxed, lowest first, the best is the lowest energy of all relaxations
    mlip = results["candidate_energies"].get_array("mlip")
    assert mlip[0] == pytest.approx(np.nanmin(energies)) == pytest.approx(best[-1])
    assert np.all(np.diff(mlip) >= 0) and 1 <= len(mlip) <= 3
    assert sorted(results["candidates"]) == [f"c{i}" for i in range(len(mlip))]
    assert results["candidates"]["c0"].get_composition() == {"Li": 10, "P": 4, "S": 15}
    assert "dft_structures" not in results or not results["dft_structures"]


@pytest.mark.gpaw
@pytest.mark.lammps
def test_gpaw_rerelaxation_of_one_candidate(aiida_profile_clean, lammps_code, gpaw_code, toy_potential):
    """Li2S primitive ×2 minus one Li2S unit: one tiny candidate relaxed by the toy potential, then by GPAW."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    li2s = load_structure("Li2S").get_primitive_structure()
    parent = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(li2s))
    builder = GeneticSamplingWorkChain.get_builder_from_protocol(
        lammps_code,
        parent,
        protocol="fast",
        potential=toy_potential,
        overrides={
            "ga": {"population_size": 2, "n_elite": 1, "max_generations": 1, "n_refine": 0},
            "n_candidates": 1,
            "dft": {
                "overrides": {
                    "calculator": {"mode": {"name": "pw", "ecut": 200}},
                    "kpoint_spacing": 1.0,
                    "relax": {"fmax": 2.0, "steps": 8},
                }
            },
        },
        dft_code=gpaw_code,
        supercell=[2, 1, 1],
        n_li2s=1,
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    energies = results["candidate_energies"]
    assert len(energies.get_array("dft")) == 1 and np.isfinite(energies.get_array("dft")[0])
    assert results["dft_structures"]["c0"].get_composition() == {"Li": 2, "S": 1}
    dft = [n for n in node.called if n.process_label == "DftWorkChain"]
    assert len(dft) == 1 and dft[0].outputs.energy.value == pytest.approx(energies.get_array("dft")[0])
    assert results["summary"]["candidates"][0]["dft_energy"] == pytest.approx(energies.get_array("dft")[0])


def test_bad_input_is_rejected_before_anything_runs(
    aiida_profile_clean, lammps_code, toy_potential, reference_structure
):
    parent = reference_structure("beta-Li3PS4")

    def build(potential=toy_potential, overrides=None, **kwargs):
        return GeneticSamplingWorkChain.get_builder_from_protocol(
            lammps_code, parent, protocol="fast", overrides=overrides, potential=potential, **kwargs
        )

    argon = InteratomicPotentialData(pair_style="lj/cut 5.0", pair_coeff=["* * 0.01 3.4"], elements=["Ar"], cutoff=5)
    cases = [
        (lambda: build(argon, n_li2s=1), "also contains \\['Li', 'P', 'S'\\]"),
        (lambda: build(target_x=0.95, x_tolerance=0.02), "unreachable"),
        (lambda: build(n_li2s=7), "parent holds only 12"),
        (lambda: build(), "not both or neither"),
        (lambda: build(overrides={"ga": {"population_size": 1}}, n_li2s=1), "population_size"),
        (lambda: build(overrides={"ga": {"mutation_rate": -0.1}}, n_li2s=1), "mutation_rate"),
        (lambda: build(overrides={"relax": {"ftol": -1.0}}, n_li2s=1), "ftol"),
        (lambda: build(overrides={"n_candidates": 50}, n_li2s=1), "n_candidates"),
    ]
    for make, message in cases:
        # port validators reject a value when it is set on the builder, the whole-input validator when launched
        with pytest.raises(ValueError, match=message):
            run_get_node(make())
    assert orm.QueryBuilder().append(orm.CalcJobNode).count() == 0
