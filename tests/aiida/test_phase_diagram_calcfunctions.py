"""lps.formation_energy and lps.convex_hull on the packaged crystals: provenance, values, plot and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.plugins import CalculationFactory
from pymatgen.analysis.phase_diagram import CompoundPhaseDiagram, PDEntry
from pymatgen.core import Composition

from aiida_lps.calcfunctions.phase_diagram import convex_hull, formation_energy
from aiida_lps.plotting_phase_diagram import plot_phase_diagram

#: synthetic energies per atom (eV/atom) of the packaged crystals, GGA-like magnitudes
PER_ATOM = {
    "Li2S": -4.10,
    "P2S5": -4.40,
    "beta-Li3PS4": -4.4000,
    "gamma-Li3PS4": -4.4035,
    "Li7P3S11": -4.3700,
    "LiPS3": -4.3600,
    "Li7PS6-LT": -4.2900,
}


@pytest.fixture
def crystals(reference_structure):
    structures = {name: reference_structure(name) for name in PER_ATOM}
    energies = {name: orm.Float(PER_ATOM[name] * len(s.sites)) for name, s in structures.items()}
    return structures, energies


def test_entry_points():
    assert CalculationFactory("lps.formation_energy") is formation_energy
    assert CalculationFactory("lps.convex_hull") is convex_hull


def test_formation_energies_and_hull_match_pymatgen(crystals, tmp_path):
    structures, energies = crystals
    refs = {
        "li2s_structure": structures["Li2S"],
        "li2s_energy": energies["Li2S"],
        "p2s5_structure": structures["P2S5"],
        "p2s5_energy": energies["P2S5"],
    }
    formation = {}
    for name in PER_ATOM:
        result, node = formation_energy.run_get_node(structure=structures[name], energy=energies[name], **refs)
        assert node.is_finished_ok, node.exit_message
        assert {link.link_label for link in node.base.links.get_incoming().all()} == {"structure", "energy", *refs}
        formation[name.replace("-", "_")] = result
    beta = formation["beta_Li3PS4"].get_dict()
    assert (beta["x"], beta["atom_fraction"], beta["natoms"]) == (0.75, 0.5625, 32)
    # per-atom energies: E_f = E/N − Σ (atom share of each end member × its per-atom energy)
    y = 0.5625
    assert beta["formation_energy_per_atom"] == pytest.approx(-4.40 - (y * -4.10 + (1 - y) * -4.40), abs=1e-12)
    assert formation["Li2S"]["formation_energy_per_atom"] == pytest.approx(0.0, abs=1e-12)

    outputs, node = convex_hull.run_get_node(**formation)
    assert node.is_finished_ok, node.exit_message
    hull = outputs["result"].get_dict()
    # cross-check with pymatgen on the same total energies
    entries = {k: PDEntry(Composition(structures[k].get_composition()), energies[k].value) for k in PER_ATOM}
    diagram = CompoundPhaseDiagram(
        list(entries.values()), [Composition("Li2S"), Composition("P2S5")], normalize_terminal_compositions=True
    )
    by_original = {id(e.original_entry): e for e in diagram.all_entries}
    for name, entry in entries.items():
        expected = diagram.get_e_above_hull(by_original[id(entry)])
        assert hull["entries"][name.replace("-", "_")]["e_above_hull_per_atom"] == pytest.approx(expected, abs=1e-6)
    assert hull["entries"]["gamma_Li3PS4"]["stability"] == "stable"
    assert hull["entries"]["beta_Li3PS4"]["stability"] == "metastable"
    assert hull["entries"]["beta_Li3PS4"]["e_above_hull_per_atom"] == pytest.approx(0.0035, abs=1e-9)
    arrays = outputs["arrays"]
    labels = arrays.base.attributes.get("labels")
    assert np.allclose(
        arrays.get_array("e_above_hull_per_atom"), [hull["entries"][k]["e_above_hull_per_atom"] for k in labels]
    )
    assert set(hull["vertices"]) == {k for k in labels if hull["entries"][k]["stability"] == "stable"}

    kinds = {k: "crystal" for k in labels}
    for axis in ("atom_fraction", "x"):
        fig = plot_phase_diagram(hull, kinds, axis=axis)
        path = tmp_path / f"hull_{axis}.png"
        fig.savefig(path)
        assert path.stat().st_size > 10_000


def test_bad_input_gives_exit_code_300(crystals, reference_structure):
    structures, energies = crystals
    refs = {
        "li2s_structure": structures["Li2S"],
        "li2s_energy": energies["Li2S"],
        "p2s5_structure": structures["P2S5"],
        "p2s5_energy": energies["P2S5"],
    }
    off_line = reference_structure("Li48P16S61")  # S-deficient: 3 S too few for the Li2S–P2S5 line
    _, node = formation_energy.run_get_node(structure=off_line, energy=orm.Float(-500.0), **refs)
    assert node.exit_status == 300 and "3 S too few" in node.exit_message
    # (a NaN Float cannot be stored, so NaN energies are caught in the science layer: tests/science)
    swapped = {**refs, "li2s_structure": structures["P2S5"], "li2s_energy": energies["P2S5"]}
    _, node = formation_energy.run_get_node(
        structure=structures["beta-Li3PS4"], energy=energies["beta-Li3PS4"], **swapped
    )
    assert node.exit_status == 300 and "must be pure Li2S" in node.exit_message
    _, node = convex_hull.run_get_node(a=orm.Dict({"atom_fraction": 0.5}))
    assert node.exit_status == 300 and "lack" in node.exit_message
    _, node = convex_hull.run_get_node(a=orm.Dict({"atom_fraction": 0.5, "formation_energy_per_atom": None}))
    assert node.exit_status == 300 and "not finite" in node.exit_message
