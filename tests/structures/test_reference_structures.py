"""The shipped reference crystals load, match their index, keep their provenance and licences."""

from __future__ import annotations

import pytest
from pymatgen.core import Composition
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from aiida_lps.structures import (
    DATA_DIR,
    UnknownStructureError,
    file_sha256,
    list_structures,
    load_structure,
    structure_path,
)

# Symmetry-inequivalent S sites per file, as listed in aiida_lps/structures/data/SOURCES.md (copied from
# shared/reference-data/structures/SOURCES.md: "Symmetry-inequivalent S sites (pymatgen, symprec 0.1): Li2S 1,
# P4S10 10, LiPS3 3, Li4P2S6 1, Li7P3S11 11, beta-Li3PS4 3, gamma-Li3PS4 3, Li7PS6 6, Li48P16S61 37").
SOURCES_MD_S_SITES = {
    "Li2S.cif": 1,
    "P4S10.cif": 10,
    "LiPS3.cif": 3,
    "Li4P2S6.cif": 1,
    "Li7P3S11.cif": 11,
    "beta-Li3PS4.cif": 3,
    "gamma-Li3PS4.cif": 3,
    "Li7PS6_LT.cif": 6,
    "Li48P16S61.cif": 37,
}
EXPECTED_NAMES = {
    "Li2S",
    "P2S5",
    "beta-Li3PS4",
    "gamma-Li3PS4",
    "Li7P3S11",
    "Li4P2S6",
    "LiPS3",
    "Li7PS6-LT",
    "Li48P16S61",
}
ROWS = list_structures()
REQUIRED_FIELDS = (
    "file",
    "formula",
    "cell_formula",
    "natoms",
    "space_group",
    "space_group_number",
    "relaxation",
    "inequivalent_s_sites",
    "source",
    "doi",
    "url",
    "license",
    "license_file",
    "sha256",
)


def test_index_names_and_fields():
    assert {row["name"] for row in ROWS} == EXPECTED_NAMES
    for row in ROWS:
        missing = [field for field in REQUIRED_FIELDS if field not in row]
        assert not missing, (row["name"], missing)
        assert row["relaxation"] in {"r2SCAN", "GGA", "LDA", "experimental"}
        assert row["doi"] or row["url"]
    assert structure_path("P2S5").name == "P4S10.cif"  # the name users want, the file keeps the honest formula


def test_every_cif_in_the_folder_is_indexed():
    assert {path.name for path in DATA_DIR.glob("*.cif")} == {row["file"] for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[row["name"] for row in ROWS])
def test_entry_loads_and_matches_index(row):
    path = structure_path(row["name"])
    assert path.is_file()
    assert file_sha256(row["name"]) == row["sha256"], "CIF changed: update index.yaml (and SOURCES.md) on purpose"
    assert path.read_text(encoding="utf-8").startswith("# "), "provenance header lost"

    structure = load_structure(row["name"])
    assert structure.is_ordered
    assert len(structure) == row["natoms"]
    assert structure.composition == Composition(row["cell_formula"])
    assert structure.composition.reduced_formula == Composition(row["formula"]).reduced_formula

    analyzer = SpacegroupAnalyzer(structure, symprec=0.1)
    assert analyzer.get_space_group_symbol() == row["space_group"]
    assert analyzer.get_space_group_number() == row["space_group_number"]
    equivalent = analyzer.get_symmetrized_structure().equivalent_indices
    s_sites = sum(1 for indices in equivalent if structure[indices[0]].species_string == "S")
    assert s_sites == SOURCES_MD_S_SITES[row["file"]] == row["inequivalent_s_sites"]


def test_licences():
    for row in ROWS:
        assert row["license"] in {"CC-BY-4.0", "MPL-2.0"}, row["name"]
        if row["license"] == "MPL-2.0":
            licence = structure_path(row["name"]).parent / "LICENSE.MPL-2.0"
            assert row["license_file"] == "LICENSE.MPL-2.0"
            assert licence.is_file() and "Mozilla Public License Version 2.0" in licence.read_text(encoding="utf-8")
        if row["license_file"]:
            assert (DATA_DIR / row["license_file"]).is_file()
        header = structure_path(row["name"]).read_text(encoding="utf-8").split("data_", 1)[0]
        assert "License" in header, row["name"]
    assert any(row["license"] == "MPL-2.0" for row in ROWS)  # gamma-Li3PS4
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in sources and "MPL-2.0" in sources


def test_missing_phases_are_documented_not_invented():
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    assert "alpha-Li3PS4" in sources and "Li4P2S7" in sources
    names = {row["name"].casefold() for row in ROWS}
    assert "alpha-li3ps4" not in names and "li4p2s7" not in names


def test_aliases_and_case():
    assert structure_path("P4S10") == structure_path("P2S5") == structure_path("p2s5")
    assert load_structure("li7ps6").composition.reduced_formula == "Li7PS6"


@pytest.mark.parametrize("function", [load_structure, structure_path, file_sha256])
def test_unknown_name_lists_available(function):
    with pytest.raises(KeyError) as excinfo:
        function("alpha-Li3PS4")
    message = str(excinfo.value)
    assert "alpha-Li3PS4" in message
    assert all(name in message for name in EXPECTED_NAMES)
    assert isinstance(excinfo.value, ValueError) and isinstance(excinfo.value, UnknownStructureError)
