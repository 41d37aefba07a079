"""lps.structure_similarity (real LAMMPS descriptors) and lps.partial_rdf on crystals and structures derived from
them by removing one Li2S unit and rattling; plots; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.plugins import CalculationFactory
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.calcfunctions.similarity import partial_rdf, rdf_curves, structure_similarity
from aiida_lps.plotting_phase_diagram import plot_rdfs, plot_similarity
from aiida_lps.structures.reference import load_structure

CRYSTALS = {"beta": "beta-Li3PS4", "gamma": "gamma-Li3PS4", "Li7P3S11": "Li7P3S11", "LiPS3": "LiPS3", "Li2S": "Li2S"}
PARENTS = {"beta": (1, 1, 2), "gamma": (2, 2, 1), "Li7P3S11": (1, 1, 1)}


def derived(name: str, repeat, seed: int) -> orm.StructureData:
    """Supercell of a packaged crystal with one Li2S unit (2 Li + 1 S) removed at random, rattled by 0.1 Å."""
    structure = load_structure(CRYSTALS[name]) * repeat
    rng = np.random.default_rng(seed)
    li = [i for i, s in enumerate(structure) if s.specie.symbol == "Li"]
    sulfur = [i for i, s in enumerate(structure) if s.specie.symbol == "S"]
    structure.remove_sites([*rng.choice(li, 2, replace=False), rng.choice(sulfur)])
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.rattle(0.1, seed=seed)
    return orm.StructureData(ase=atoms)


@pytest.fixture(scope="module")
def structure_set():
    structures = {k: orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure(v))) for k, v in CRYSTALS.items()}
    for name, repeat in PARENTS.items():
        structures[f"{name}_gc"] = derived(name, repeat, seed=1)
    return structures


def test_entry_points():
    assert CalculationFactory("lps.structure_similarity") is structure_similarity
    assert CalculationFactory("lps.partial_rdf") is partial_rdf


@pytest.mark.lammps
@pytest.mark.parametrize("species", [None, ["Li"]])
def test_derived_structures_resemble_their_parents(structure_set, species, tmp_path):
    parameters = {"references": list(CRYSTALS), "species": species, "n_clusters": len(CRYSTALS)}
    outputs, node = structure_similarity.run_get_node(parameters=orm.Dict(parameters), **structure_set)
    assert node.is_finished_ok, node.exit_message
    result = outputs["result"].get_dict()
    rows = result["structures"]
    for name in CRYSTALS:
        assert rows[name]["similarity"][name] == pytest.approx(1.0)
    for name in PARENTS:
        assert rows[f"{name}_gc"]["closest_reference"] == name
        assert rows[f"{name}_gc"]["cluster"] == rows[name]["cluster"]
    assert len({rows[name]["cluster"] for name in CRYSTALS}) == len(CRYSTALS)
    arrays = outputs["arrays"]
    assert arrays.get_array("pca").shape == (len(structure_set), result["n_components"])
    assert arrays.base.attributes.get("labels") == sorted(structure_set)
    assert {link.link_label for link in node.base.links.get_incoming().all()} == {"parameters", *structure_set}
    fig = plot_similarity(result)
    fig.savefig(tmp_path / "pca.png")
    assert (tmp_path / "pca.png").stat().st_size > 10_000


def test_partial_rdf_groups_and_plot(structure_set, tmp_path):
    groups = {"beta_gc": ["beta_gc"], "Li7P3S11_gc": ["Li7P3S11_gc"], "beta": ["beta"], "Li7P3S11": ["Li7P3S11"]}
    parameters = {"pairs": [["Li", "S"], ["P", "S"]], "r_max": 6.0, "bin_width": 0.02, "groups": groups}
    arrays, node = partial_rdf.run_get_node(parameters=orm.Dict(parameters), **structure_set)
    assert node.is_finished_ok, node.exit_message
    r, curves = rdf_curves(arrays, ("P", "S"))
    for name in groups:  # every group has its PS4 bond peak near 2.05 Å
        assert 1.95 < r[np.argmax(curves[name])] < 2.15
    # the derived structure's P–S RDF is that of its parent, broadened by the rattling
    assert np.sum(curves["beta_gc"] * 0.02) == pytest.approx(np.sum(curves["beta"] * 0.02), rel=0.1)
    r, li_s = rdf_curves(arrays, ("Li", "S"))
    fig = plot_rdfs(
        r,
        {k: li_s[k] for k in ("beta_gc", "Li7P3S11_gc")},
        parents={"beta_gc": li_s["beta"], "Li7P3S11_gc": li_s["Li7P3S11"]},
    )
    fig.savefig(tmp_path / "rdf.png")
    assert (tmp_path / "rdf.png").stat().st_size > 10_000


def test_bad_input_gives_exit_code_300(structure_set, reference_structure):
    p2s5 = reference_structure("P2S5")
    params = orm.Dict({"references": ["beta"], "species": ["Li"]})
    _, node = structure_similarity.run_get_node(parameters=params, beta=structure_set["beta"], P2S5=p2s5)
    assert node.exit_status == 300 and "'P2S5'" in node.exit_message and "no Li atoms" in node.exit_message
    _, node = structure_similarity.run_get_node(parameters=orm.Dict({"refs": ["beta"]}), beta=structure_set["beta"])
    assert node.exit_status == 300 and "unknown parameter(s) ['refs']" in node.exit_message
    _, node = partial_rdf.run_get_node(parameters=orm.Dict({"pairs": [["P", "S"]]}), Li2S=structure_set["Li2S"])
    assert node.exit_status == 300 and "no P atoms" in node.exit_message
    _, node = partial_rdf.run_get_node(parameters=orm.Dict({"groups": {"g": ["missing"]}}), beta=structure_set["beta"])
    assert node.exit_status == 300 and "['missing']" in node.exit_message
