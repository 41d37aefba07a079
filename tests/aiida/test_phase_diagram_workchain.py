"""``lps.sampling.phase_diagram`` for real: 1 parent × 2 compositions through LAMMPS, the hull, the plot; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_lps import protocols
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.science import phase_diagram as pd
from aiida_lps.testing.toy_potentials import lps_buck_morse_arguments
from aiida_lps.workflows.phase_diagram import PhaseDiagramWorkChain

TINY = {"genetic": {"ga": {"population_size": 4, "max_generations": 2, "n_refine": 0}, "n_candidates": 2}}


@pytest.fixture
def toy_potential():
    return InteratomicPotentialData(**lps_buck_morse_arguments())


@pytest.mark.lammps
def test_scan_of_two_compositions_through_lammps(aiida_profile_clean, lammps_code, toy_potential, tmp_path):
    """β-Li3PS4 minus one Li2S (x = 5/7) and minus one P2S5 (x = 6/7): two GAs, three crystals relaxed, the hull;
    launched, shown and plotted through the CLI (``aiida-lps launch phase-diagram`` / ``show`` / ``plot``)."""
    import re

    import yaml
    from click.testing import CliRunner

    from aiida_lps.cli import cli
    from aiida_lps.cli.plot import write_plots

    toy_potential.store()
    overrides = tmp_path / "tiny.yaml"
    overrides.write_text(yaml.safe_dump(TINY))
    runner = CliRunner()
    args = ["launch", "phase-diagram", "-X", lammps_code.full_label, "-P", str(toy_potential.pk)]
    args += ["-c", "beta-Li3PS4:n_li2s=1", "-c", "beta-Li3PS4:n_p2s5=1", "--protocol", "fast"]
    launched = runner.invoke(cli, [*args, "--overrides", str(overrides)])
    assert launched.exit_code == 0, launched.output
    pk = int(re.search(r"PhaseDiagramWorkChain<(\d+)> finished: exit status 0", launched.output).group(1))
    node = orm.load_node(pk)
    results = node.outputs
    assert node.inputs.compositions.get_list() == [
        {"parent": "beta_Li3PS4", "n_li2s": 1},
        {"parent": "beta_Li3PS4", "n_p2s5": 1},
    ]
    assert node.inputs.genetic.ga["population_size"] == 4  # the overrides file reached the GA

    ga = [n for n in node.called if n.process_label == "GeneticSamplingWorkChain"]
    relax = [n for n in node.called if n.process_label == "BatchRelaxCalculation"]
    assert len(ga) == 2 and all(n.is_finished_ok for n in ga)
    assert sorted(n.inputs.structure.get_formula() for n in relax) == sorted(["Li8S4", "P8S20", "Li12P4S16"])
    # all children were launched in the same step, before any finished
    assert max(n.ctime for n in (*ga, *relax)) < min(n.mtime for n in (*ga, *relax) if n.is_terminated)

    diagram = results["phase_diagram"].get_dict()
    assert diagram["hull_energies"] == "mlip"
    entries = diagram["entries"]
    ga_labels = [k for k, e in entries.items() if e["kind"] == "ga"]
    assert {entries[k]["job"] for k in ga_labels} == {"beta_Li3PS4_1Li2S_0P2S5", "beta_Li3PS4_0Li2S_1P2S5"}
    assert diagram["kinds"]["beta_Li3PS4"] == diagram["kinds"]["Li2S"] == "crystal"
    assert all(diagram["kinds"][k] == "ga" for k in ga_labels)

    # formation energies and hull recomputed from the relaxations' own outputs
    energy = {n.inputs.structure.get_formula(): n.outputs.energies.get_array("energy")[0] for n in relax}
    e_li2s, e_p2s5 = energy["Li8S4"] / 4, energy["P8S20"] / 4
    structures = results["structures"]
    for label, entry in entries.items():
        composition = structures[label].get_composition()
        expected = pd.formation_energy_per_atom(composition, entry["total_energy"], e_li2s, e_p2s5)
        assert entry["formation_energy_per_atom"] == pytest.approx(expected, abs=1e-12)
        assert entry["atom_fraction"] == pytest.approx(pd.pseudo_binary_composition(composition).atom_fraction)
    for job in ga:  # the GA entries are each GA's MLIP candidates with their energies
        mlip = job.outputs.candidate_energies.get_array("mlip")
        label = next(j["label"] for j in diagram["jobs"] if j["n_li2s"] == job.inputs.n_li2s.value)
        assert [entries[f"{label}_c{i}"]["total_energy"] for i in range(len(mlip))] == pytest.approx(mlip)
    assert entries["Li2S"]["formation_energy_per_atom"] == pytest.approx(0, abs=1e-12)
    labels = sorted(entries)
    check = pd.phase_diagram(
        [structures[k].get_composition() for k in labels], [entries[k]["total_energy"] for k in labels], labels
    )
    assert np.allclose([entries[k]["e_above_hull_per_atom"] for k in labels], check.e_above_hull, atol=1e-9)
    assert {"Li2S", "P2S5"} <= set(diagram["vertices"])
    assert results["arrays"].base.attributes.get("labels") == labels

    # show: one row per GA job with its x and the lowest energy above the hull, then the hull table
    shown = runner.invoke(cli, ["show", str(pk)])
    assert shown.exit_code == 0, shown.output
    for job in diagram["jobs"]:
        lowest = min(e["e_above_hull_per_atom"] for e in entries.values() if e.get("job") == job["label"])
        assert re.search(rf"{job['label']}\s+{job['x']:.4f}\s+\d+\s+{lowest * 1000:.1f}", shown.output), shown.output
    assert (
        "convex hull:" in shown.output and f"{entries['Li2S']['formation_energy_per_atom'] * 1000:.1f}" in shown.output
    )

    plotted = runner.invoke(cli, ["plot", str(pk), "-o", str(tmp_path / "png")])
    assert plotted.exit_code == 0, plotted.output
    written = [tmp_path / "png" / f"phase_diagram_{pk}.png", *write_plots(node, tmp_path, "pdf")]
    assert [p.name for p in written] == [f"phase_diagram_{pk}.png", f"phase_diagram_{pk}.pdf"]
    assert all(p.stat().st_size > 1000 for p in written)


@pytest.mark.parametrize("protocol", sorted(protocols.available_protocols("phase_diagram")))
def test_every_protocol_builds_and_shares_the_genetic_protocol(aiida_profile_clean, aiida_code_installed, protocol):
    """Each protocol gives valid inputs whose `genetic` namespace is the same-named genetic protocol; overrides of
    the genetic protocol are checked by it."""
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    lammps, dft = (aiida_code_installed(label=label) for label in ("pd-lmp", "pd-dft"))
    potential = InteratomicPotentialData(**lps_buck_morse_arguments())
    compositions = [{"parent": "gamma_Li3PS4", "target_x": 0.7}, {"parent": "Li7P3S11", "n_li2s": 1}]
    builder = PhaseDiagramWorkChain.get_builder_from_protocol(
        lammps, ["gamma-Li3PS4", "Li7P3S11"], protocol, potential=potential, compositions=compositions, dft_code=dft
    )
    instantiate_process(get_manager().get_runner(), builder)  # raises on invalid inputs
    genetic = protocols.protocol_inputs("genetic", protocol)
    assert builder.genetic.ga.get_dict() == genetic["ga"]
    assert builder.genetic.dft.protocol.value == genetic["dft"]["protocol"]
    assert builder.hull_energies.value == "dft" and sorted(builder.parents) == ["Li7P3S11", "gamma_Li3PS4"]
    assert builder.references.P2S5.get_composition() == {"P": 8, "S": 20}
    with pytest.raises(ValueError, match="population"):
        PhaseDiagramWorkChain.get_builder_from_protocol(
            lammps, ["Li7P3S11"], protocol, {"genetic": {"ga": {"populations": 3}}}, potential=potential,
            compositions=compositions,
        )  # fmt: skip


def test_bad_input_is_rejected_before_anything_runs(aiida_profile_clean, lammps_code, toy_potential):
    def build(compositions, parents=("beta-Li3PS4",), **kwargs):
        return PhaseDiagramWorkChain.get_builder_from_protocol(
            lammps_code, list(parents), "fast", potential=toy_potential, compositions=compositions, **kwargs
        )

    beta = "beta_Li3PS4"
    argon = InteratomicPotentialData(pair_style="lj/cut 5.0", pair_coeff=["* * 0.01 3.4"], elements=["Ar"], cutoff=5)
    cases = [
        (lambda: build([]), "no compositions"),
        (lambda: build([{"parent": "gamma_Li3PS4", "n_li2s": 1}]), "unknown parent 'gamma_Li3PS4'"),
        (lambda: build([{"parent": beta, "target_x": 0.95, "x_tolerance": 0.02}]), "unreachable"),
        (lambda: build([{"parent": beta, "n_li2s": 7}]), "parent holds only"),
        (lambda: build([{"parent": beta, "n_li2s": 1, "colour": 2}]), "unknown key"),
        (lambda: build([{"parent": beta, "n_li2s": 1}, {"parent": beta, "n_li2s": 1}]), "same job"),
        (lambda: build([{"parent": beta, "n_li2s": 1, "supercell": [2, 0, 1]}]), "supercell"),
        (lambda: build([{"parent": beta, "n_li2s": 1}], known_energies={"LiPS3": -1.0}), "known_energies"),
        (lambda: build([{"parent": beta, "n_li2s": 1}], hull_energies="dft"), "needs the DFT engine"),
        (lambda: build([{"parent": "Li48P16S61", "n_li2s": 1}], parents=["Li48P16S61"]), "not on the Li2S–P2S5 line"),
        (lambda: build([{"parent": "Li2S", "n_li2s": 1}], parents=["Li2S"]), "end members' labels"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message):
            run_get_node(make())
    wrong = build([{"parent": beta, "n_li2s": 1}])
    wrong.references.Li2S = wrong.parents[beta]
    with pytest.raises(ValueError, match="references.Li2S.*contains P"):
        run_get_node(wrong)
    wrong = build([{"parent": beta, "n_li2s": 1}])
    wrong.genetic.potential = argon
    with pytest.raises(ValueError, match="also contains"):
        run_get_node(wrong)
    with pytest.raises(ValueError, match="unknown packaged|not found|Unknown|unknown"):
        build([{"parent": "beta_Li3PS4", "n_li2s": 1}], parents=["beta-Li3PS5"])
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == 0


@pytest.mark.gpaw
@pytest.mark.lammps
def test_dft_hull_with_gpaw(aiida_profile_clean, lammps_code, gpaw_code, toy_potential, reference_structure):
    """``hull_energies="dft"``: Li2S, P2S5, the parent and the one GA candidate all relaxed by GPAW (tiny settings).

    Parent: the 3-atom Li2S primitive cell, 2×1×1 minus one Li2S unit (one 3-atom candidate, as in the genetic
    work chain's GPAW test); the Li2S reference is the same cell, so the parent's formation energy is 0.
    """
    li2s = reference_structure("Li2S", primitive=True)
    tiny = {
        "calculator": {"mode": {"name": "pw", "ecut": 200}},
        "kpoint_spacing": 1.0,
        "relax": {"fmax": 2.0, "steps": 8},
    }
    overrides = {
        "genetic": {
            "ga": {"population_size": 2, "n_elite": 1, "max_generations": 1, "n_refine": 0},
            "n_candidates": 1,
            "dft": {"overrides": tiny},
        }
    }
    builder = PhaseDiagramWorkChain.get_builder_from_protocol(
        lammps_code,
        {"antifluorite": li2s},
        "fast",
        overrides,
        potential=toy_potential,
        compositions=[{"parent": "antifluorite", "supercell": [2, 1, 1], "n_li2s": 1}],
        dft_code=gpaw_code,
        references={"Li2S": li2s},
    )
    assert builder.hull_energies.value == "dft"
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    crystals = [n for n in node.called if n.process_label == "DftWorkChain"]
    assert sorted(n.inputs.structure.get_formula() for n in crystals) == ["Li2S", "Li2S", "P8S20"]
    assert all(n.is_finished_ok and n.inputs.task.value == "relax" for n in crystals)
    diagram = results["phase_diagram"].get_dict()
    entries = diagram["entries"]
    assert diagram["hull_energies"] == "dft" and sorted(entries) == sorted(
        ["Li2S", "P2S5", "antifluorite", "antifluorite_2x1x1_1Li2S_0P2S5_c0"]
    )
    (ga,) = [n for n in node.called if n.process_label == "GeneticSamplingWorkChain"]
    dft_energy = ga.outputs.candidate_energies.get_array("dft")[0]
    assert np.isfinite(dft_energy)
    assert entries["antifluorite_2x1x1_1Li2S_0P2S5_c0"]["total_energy"] == pytest.approx(dft_energy)
    energy = {
        n.inputs.structure.get_formula(): n.outputs.energy.value for n in crystals if len(n.inputs.structure.sites) > 3
    }
    e_p2s5 = energy["P8S20"] / 4
    assert entries["P2S5"]["total_energy"] == pytest.approx(4 * e_p2s5)
    assert entries["antifluorite"]["formation_energy_per_atom"] == pytest.approx(0.0, abs=1e-6)
    assert entries["Li2S"]["stability"] == entries["P2S5"]["stability"] == "stable"
