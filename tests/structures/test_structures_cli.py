"""``aiida-lps structures list/show/import`` on a clean test profile."""

from __future__ import annotations

import re

from aiida import orm
from click.testing import CliRunner

from aiida_lps.cli import cli
from aiida_lps.structures import file_sha256, list_structures


def _pk(output: str) -> int:
    match = re.search(r"\(pk (\d+)\)", output)
    assert match, output
    return int(match.group(1))


def test_list_shows_all_names(aiida_profile_clean):
    result = CliRunner().invoke(cli, ["structures", "list"])
    assert result.exit_code == 0, result.output
    for row in list_structures():
        assert row["name"] in result.output
    assert "MPL-2.0" in result.output and "CC-BY-4.0" in result.output


def test_show_beta_li3ps4(aiida_profile_clean):
    result = CliRunner().invoke(cli, ["structures", "show", "beta-Li3PS4"])
    assert result.exit_code == 0, result.output
    assert "Pnma" in result.output
    assert "inequivalent S sites: 3 (expected 3" in result.output
    assert "mp-985583" in result.output and "CC-BY-4.0" in result.output


def test_show_unknown_name_lists_available(aiida_profile_clean):
    result = CliRunner().invoke(cli, ["structures", "show", "Li4P2S7"])
    assert result.exit_code != 0
    assert "Li4P2S7" in result.output and "beta-Li3PS4" in result.output


def test_import_supercell_is_idempotent(aiida_profile_clean):
    runner = CliRunner()
    # Li2S.cif holds the 12-atom conventional antifluorite cell (Li8 S4), so 2x2x2 gives 96 atoms.
    first = runner.invoke(cli, ["structures", "import", "Li2S", "--supercell", "2", "2", "2"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("created")
    node = orm.load_node(_pk(first.output))
    assert isinstance(node, orm.StructureData) and node.is_stored
    assert len(node.sites) == 96 and node.get_formula() == "Li64S32"
    assert node.label == "Li2S 2x2x2" and "mp-1153" in node.description
    extras = node.base.extras.get("lps_reference")
    assert extras["sha256"] == file_sha256("Li2S") and extras["supercell"] == [2, 2, 2]
    assert extras["license"] == "CC-BY-4.0" and extras["doi"] and "mp-1153" in extras["source"]

    second = runner.invoke(cli, ["structures", "import", "Li2S", "--supercell", "2", "2", "2"])
    assert second.exit_code == 0, second.output
    assert second.output.startswith("found") and _pk(second.output) == node.pk

    other = runner.invoke(cli, ["structures", "import", "Li2S", "--label", "unit cell"])
    assert other.exit_code == 0, other.output
    unit = orm.load_node(_pk(other.output))
    assert unit.pk != node.pk and len(unit.sites) == 12 and unit.label == "unit cell"
    assert orm.QueryBuilder().append(orm.StructureData).count() == 2


def test_import_refuses_a_huge_supercell_unless_asked(aiida_profile_clean):
    from aiida import orm

    runner = CliRunner()
    huge = runner.invoke(cli, ["structures", "import", "Li2S", "--supercell", "40", "40", "40"])
    assert huge.exit_code != 0 and "above the guard of 20000" in huge.output
    assert not orm.StructureData.collection.find()
    bigger = runner.invoke(
        cli, ["structures", "import", "Li2S", "--supercell", "10", "10", "10", "--max-atoms", "20000"]
    )
    assert bigger.exit_code == 0, bigger.output
