"""``lps.mlip.active_learning`` for real: GPAW labels, SNAP/POD fits as CalcJobs, γ-monitored MD, two iterations."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node

from aiida_lps.calculations.mlip_exploration import GammaExplorationCalculation
from aiida_lps.calculations.mlip_training import MlipTrainingCalculation
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.workflows.active_learning import ActiveLearningWorkChain

SMALL_POD = {  # a small POD basis for 8-atom cells and a handful of labels
    "rcut": 4.0,
    "twobody_number_radial_basis_functions": 4,
    "threebody_number_radial_basis_functions": 3,
    "threebody_angular_degree": 2,
}
TINY_DFT = {"calculator": {"mode": {"name": "pw", "ecut": 200}, "convergence": {"energy": 1e-3}}, "kpoint_spacing": 1.5}

SMALL_RUN = {
    "max_iterations": 2,
    "max_labels_per_iteration": 2,
    "max_labels": 12,
    "gamma_break_schedule": [10.0, 5.0],
    "sampling": {
        "initial": {"count": 2, "rattle": 0.08, "strain": 0.03},
        "test": {"count": 1, "rattle": 0.08, "strain": 0.03},
    },
    "fitting": {
        "grid": [{"twojmax": 2, "rcutfac": 3.5}, {"twojmax": 2, "rcutfac": 4.0}, {"model": "pod", **SMALL_POD}],
        "ridge": 1e-3,
    },
    "exploration": {
        "temperatures": [500.0],
        "strains": [0.0],
        "steps": 200,
        "check_interval": 5,
        "dump_interval": 10,
    },
    "dft": {"protocol": "fast", "overrides": TINY_DFT},
}


def _li3ps4_like_cell() -> orm.StructureData:
    """An 8-atom Li3PS4 cell on a rock-salt lattice (not a real phase: a cheap Li-P-S configuration)."""
    from ase.build import bulk

    atoms = bulk("NaCl", "rocksalt", a=5.7, cubic=True)
    atoms.set_chemical_symbols(["Li", "S", "P", "S", "Li", "S", "Li", "S"])
    atoms.rattle(0.05, seed=3)
    return orm.StructureData(ase=atoms)


@pytest.mark.gpaw
@pytest.mark.lammps
def test_two_iterations_with_gpaw_labels(gpaw_code, lammps_code, python_code, reference_structure):
    """Label → grid search → 2 × {explore with γ, select-add, label, refit} → test errors; provenance is kept."""
    builder = ActiveLearningWorkChain.get_builder_from_protocol(
        gpaw_code,
        lammps_code,
        python_code,
        {"Li2S": reference_structure("Li2S", primitive=True)},
        dft_engine="gpaw",
        protocol="fast",
        overrides=SMALL_RUN,
    )
    builder.initial_configurations = {"li3ps4_like": _li3ps4_like_cell()}
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message

    metrics = results["metrics"].get_dict()
    print("iterations:", metrics["iterations"], "\ntest:", metrics["test_metrics"])
    potential = results["potential"]
    assert isinstance(potential, InteratomicPotentialData) and potential.elements == ["Li", "P", "S"]
    # SNAP and POD points competed on the validation split; the potential, the active set and every later fit use
    # the winner's model
    model = metrics["model"]
    assert model in ("snap", "pod") and metrics["grid"] and {e["model"] for e in metrics["grid"]} == {"snap", "pod"}
    assert potential.pair_style.endswith(model) and results["active_set"].base.attributes.get("model") == model
    assert ("lps.snapcoeff" if model == "snap" else "lps_coefficients.pod") in potential.filenames
    explored = [entry for entry in metrics["iterations"] if entry["iteration"] > 0]
    # the first fit is always explored; then either two full iterations ran, or the loop converged earlier
    assert explored and all(entry["runs_failed"] == 0 for entry in explored)
    assert metrics["n_iterations"] == 2 or metrics["converged"]
    explorations = [n for n in node.called if n.process_class is GammaExplorationCalculation]
    assert len(explorations) == len(explored)  # one temperature x one strain per iteration
    assert all(n.is_finished_ok and n.outputs.results["n_frames"] > 0 for n in explorations)
    assert all("max_gamma" in entry and "n_selected" in entry for entry in explored)
    # how far each run got before γ_break: the last step its parser read, under the run's call label
    runs = {
        link.link_label: link.node.outputs.results["last_step"]
        for link in node.base.links.get_outgoing(link_type=LinkType.CALL_CALC).all()
        if link.node.process_class is GammaExplorationCalculation
    }
    for entry in explored:
        assert entry["steps_requested"] == SMALL_RUN["exploration"]["steps"]
        assert entry["steps_reached"] and all(runs[label] == steps for label, steps in entry["steps_reached"].items())
    assert [entry["gamma_break"] for entry in explored] == [10.0, 5.0][: len(explored)]
    n_added = sum(entry.get("n_labelled", 0) for entry in explored)
    assert results["training_set"].n_configurations == 3 + n_added
    assert metrics["labels_used"] == 3 + sum(entry["n_selected"] for entry in explored)
    assert results["test_set"].n_configurations == 1
    assert set(metrics["test_metrics"]["force_mae_per_species_eV_per_A"]) == {"Li", "S"}
    parity = results["parity"]
    assert parity.get_array("test_force_reference").shape == parity.get_array("test_force_predicted").shape

    # provenance: every fit is a CalcJob whose training set was assembled from DFT outputs
    fits = [n for n in node.called if n.process_class is MlipTrainingCalculation]
    assert len(fits) == 1 + sum(1 for e in explored if e.get("n_labelled"))
    creator = results["training_set"].creator
    assert creator.process_label == "assemble_training_set"
    energies = [link.node for link in creator.base.links.get_incoming().all() if link.link_label.startswith("energy")]
    assert energies and all(e.creator is not None for e in energies)
    grades = results["active_set"].base.attributes.get("summary")
    assert all(info["max_training_gamma"] <= 1.0 + 1e-6 for info in grades.values())
    assert np.isfinite(metrics["iterations"][0]["train_force_mae_eV_per_A"])
    # every fit records the pairs along which its potential turns attractive below the data's shortest contacts
    by_pk = {fit.pk: fit for fit in fits}
    for entry in metrics["iterations"]:
        short_range = by_pk[entry["fit_pk"]].outputs.metrics["short_range"]
        assert "error" not in short_range and short_range["pairs"]
        assert entry["short_range_attractive"] == short_range["attractive"]


def _called(node) -> dict:
    """Call-link label → called process node."""
    from aiida.common.links import LinkType

    links = node.base.links.get_outgoing(link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)).all()
    return {link.link_label: link.node for link in links}


@pytest.mark.gpaw
@pytest.mark.lammps
def test_start_from_given_training_and_test_sets(gpaw_code, lammps_code, python_code, reference_structure):
    """A run started from a previous run's labelled sets (resume) labels none of them again, only what it needs."""
    from aiida_lps.common.mappings import recursive_merge

    def builder(**changes):
        return ActiveLearningWorkChain.get_builder_from_protocol(
            gpaw_code,
            lammps_code,
            python_code,
            {"Li2S": reference_structure("Li2S", primitive=True)},
            dft_engine="gpaw",
            protocol="fast",
            overrides=recursive_merge(SMALL_RUN, changes),
        )

    first = builder(max_iterations=0)  # initial labels and the first fit only
    first.initial_configurations = {"li3ps4_like": _li3ps4_like_cell()}
    first_results, first_node = run_get_node(first)
    assert first_node.is_finished_ok, first_node.exit_message
    training, test = first_results["training_set"], first_results["test_set"]
    assert (training.n_configurations, test.n_configurations) == (3, 1)

    # training set given, test set not: only the test copy of `sampling.test` is labelled; one iteration adds labels
    second = builder(max_iterations=1)
    second.training_set = training
    results, node = run_get_node(second)
    assert node.is_finished_ok, node.exit_message
    called = _called(node)
    assert not [k for k in called if k.startswith("label_init")]
    assert [k for k in called if k.startswith("label_test")] == ["label_test_0"]
    assert called["fit_0"].inputs.training_set.uuid == training.uuid  # the given node itself is the first fit's data
    metrics = results["metrics"].get_dict()
    selected = sum(entry.get("n_selected", 0) for entry in metrics["iterations"] if entry["iteration"] > 0)
    added = sum(entry.get("n_labelled", 0) for entry in metrics["iterations"] if entry["iteration"] > 0)
    assert metrics["given"] == {"training_set": 3} and metrics["labels_used"] == selected
    grown = results["training_set"].get_configurations()
    assert len(grown) == 3 + added
    for old, new in zip(training.get_configurations(), grown[:3], strict=True):
        assert np.allclose(old.positions, new.positions) and old.get_potential_energy() == new.get_potential_energy()
    assert results["test_set"].n_configurations == 1 and results["test_set"].uuid != test.uuid

    # both given: no DFT at all; the outputs are the given nodes
    third = builder(max_iterations=0)
    third.training_set, third.test_set = training, test
    results, node = run_get_node(third)
    assert node.is_finished_ok, node.exit_message
    assert not [k for k in _called(node) if k.startswith("label_")]
    assert results["training_set"].uuid == training.uuid and results["test_set"].uuid == test.uuid
    assert np.isfinite(results["metrics"]["test_metrics"]["force_mae_eV_per_A"])


def test_given_set_with_foreign_elements_is_refused(reference_structure, aiida_localhost):
    """A given training set with an element outside the fit's elements is refused when the work chain is built."""
    from ase.build import bulk

    from aiida_lps.data.training_set import TrainingSetData, atoms_with_labels

    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable="/bin/true")
    builder = ActiveLearningWorkChain.get_builder_from_protocol(
        code, code, code, {"Li2S": reference_structure("Li2S", primitive=True)}, protocol="fast"
    )
    nacl = bulk("NaCl", "rocksalt", a=5.6)
    builder.training_set = TrainingSetData([atoms_with_labels(nacl, -1.0, np.zeros((2, 3)))])
    with pytest.raises(ValueError, match="training_set contains"):
        run_get_node(builder)
