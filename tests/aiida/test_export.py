"""aiida-lps export: a record folder from real processes (lps.arrhenius, a tiny lps.diffusion on LJ argon), its check,
the metadata validation and a round trip export → import into an empty profile → export."""

from __future__ import annotations

import csv
import json
import pathlib
import re

import numpy as np
import pytest
import yaml
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_lps.calcfunctions.arrhenius import arrhenius_fit
from aiida_lps.cli import cli
from aiida_lps.export.metadata import MetadataError, parse_creator, validate_metadata
from aiida_lps.export.record import read_manifest, write_manifest
from aiida_lps.reference import lennard_jones
from aiida_lps.science.constants import K_B_EV

DOCS = pathlib.Path(__file__).parents[2] / "docs" / "publishing.md"

#: Seconds, not physics: 108 atoms, 1200 steps per temperature.
TINY_LJ = {
    "parameters": {
        "timestep_fs": 5.0,
        "equilibration_steps": 200,
        "production_steps": 1000,
        "dump_interval": 20,
        "thermo_interval": 200,
        "initial_temperature": 200.0,
    },
    "analysis": {"drift": "com"},
    "supercell_min_width": 10.0,
}


def docs_metadata() -> dict:
    """The example metadata YAML of docs/publishing.md (its first ```yaml block)."""
    block = re.search(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    return yaml.safe_load(block.group(1))


@pytest.fixture
def metadata_file(tmp_path):
    path = tmp_path / "metadata.yaml"
    path.write_text(yaml.safe_dump(docs_metadata()), encoding="utf-8")
    return path


def run_arrhenius() -> orm.ProcessNode:
    temps = [600.0, 800.0, 1000.0]
    d = [2e-3 * np.exp(-0.25 / (K_B_EV * t)) for t in temps]
    _, node = arrhenius_fit.run_get_node(
        temperatures=orm.List(temps),
        diffusivities=orm.List(d),
        diffusivity_errors=orm.List([0.05 * x for x in d]),
    )
    return node


def run_diffusion(code, potential, structure) -> orm.ProcessNode:
    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    builder = DiffusionWorkChain.get_builder_from_protocol(
        code,
        structure(3),
        protocol="fast",
        potential=potential,
        temperatures=[lennard_jones.TEMPERATURE_K, 120.0],
        overrides=TINY_LJ,
        species="Ar",
        charge=0.0,
    )
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return node


def export(args: list[str]):
    result = CliRunner().invoke(cli, ["export", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def processed_hashes(folder: pathlib.Path) -> dict[str, str]:
    return {k: v for k, v in read_manifest(folder).items() if k.startswith("processed/")}


def test_metadata_errors_are_listed_together():
    with pytest.raises(MetadataError) as info:
        validate_metadata({"title": "lower case title", "keywords": ["a", "A"], "references": [{"doi": "nope"}]})
    errors = "\n".join(info.value.errors)
    for expected in (
        "title: start with a capital letter",
        "description: missing",
        "creators: missing",
        "license: missing",
        "keywords: 1 distinct keyword(s), at least 3",
        "references[1].type",
        "references[1].doi: 'nope' is not a DOI",
    ):
        assert expected in errors
    assert len(info.value.errors) == 7
    assert parse_creator("Curie, Marie (Sorbonne; ESPCI)") == {
        "familyname": "Curie",
        "givennames": "Marie",
        "affiliations": ["Sorbonne", "ESPCI"],
    }


def test_docs_metadata_example_is_valid():
    metadata = validate_metadata(docs_metadata())
    assert metadata["license_name"].startswith("Creative Commons") and len(metadata["keywords"]) >= 3


def test_cli_rejects_incomplete_metadata(aiida_profile_clean, tmp_path):
    node = run_arrhenius()
    result = export([str(node.pk), "-o", str(tmp_path / "rec"), "--title", "A record", "-k", "one"])
    assert result.exit_code == 2, result.output
    for field in ("description: missing", "creators: missing", "license: missing", "keywords:", "references: missing"):
        assert field in result.output
    assert not (tmp_path / "rec").exists()


def test_size_limit_and_empty_selection(aiida_profile_clean, tmp_path, metadata_file):
    node = run_arrhenius()
    result = export([str(node.pk), "-o", str(tmp_path / "rec"), "-m", str(metadata_file), "--max-size", "1e-6"])
    assert result.exit_code != 0
    assert "above the Materials Cloud Archive limit of 1e-06 GB per record" in result.output
    empty = export(["-E", "lps.xas", "-o", str(tmp_path / "none"), "-m", str(metadata_file)])
    assert empty.exit_code != 0 and "nothing to export" in empty.output


@pytest.mark.lammps
def test_export_record_check_and_tamper(aiida_profile_clean, tmp_path, metadata_file, lammps_code, argon_potential,
                                        argon_structure):  # fmt: skip
    """A diffusion work chain and a lone Arrhenius fit, exported from a group; an unsealed process is skipped."""
    diffusion = run_diffusion(lammps_code, argon_potential, argon_structure)
    fit = run_arrhenius()
    running = orm.WorkflowNode()
    running.set_process_type("aiida.workflows:lps.diffusion")
    running.store()  # never sealed: stands for a process that is still running
    group = orm.Group("lps-export-test").store()
    group.add_nodes([diffusion, fit])
    record = tmp_path / "record"
    result = export([str(running.pk), "-G", group.label, "-o", str(record), "-m", str(metadata_file)])
    assert result.exit_code == 0, result.output
    assert f"skipping process {running.pk}: not sealed" in result.output
    assert "group 'lps-export-test'" not in result.output  # the running process is not in the group
    assert "e-mail" in result.output and orm.User.collection.get_default().email in result.output

    files = {p.relative_to(record).as_posix() for p in record.rglob("*") if p.is_file()}
    label = f"processed/DiffusionWorkChain-{diffusion.uuid[:8]}"
    for name in ("arrhenius.csv", "arrhenius_fit.json", "arrhenius.png", "arrhenius.pdf", "msd_T120K.csv"):
        assert f"{label}/{name}" in files
    assert f"processed/arrhenius_fit-{fit.uuid[:8]}/arrhenius_fit.json" in files
    assert {"record.aiida", "metadata.json", "README.md", "provenance.json", "MANIFEST.sha256"} <= files
    raw = sorted(f for f in files if f.startswith("raw/"))
    assert any(f.endswith("outputs/log.lammps") for f in raw)
    assert any(
        f.startswith(f"raw/DiffusionWorkChain-{diffusion.uuid[:8]}/") and f.endswith("inputs/input.in") for f in raw
    ), "\n".join(raw)
    assert set(read_manifest(record)) == files - {"MANIFEST.sha256"}

    # the Arrhenius table is the work chain's own numbers, readable without AiiDA
    with (record / label / "arrhenius.csv").open() as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    species = diffusion.outputs.runs.T120K.results.get_dict()["species"]["Ar"]
    assert [float(r["T_K"]) for r in rows] == [lennard_jones.TEMPERATURE_K, 120.0]
    assert float(rows[1]["D_cm2_s"]) == species["D"]
    assert "D in cm^2/s" in (record / label / "arrhenius.csv").read_text().splitlines()[1]
    fit_json = json.loads((record / label / "arrhenius_fit.json").read_text())
    assert fit_json == diffusion.outputs.arrhenius.get_dict()

    provenance = json.loads((record / "provenance.json").read_text())
    assert running.uuid not in provenance["uuids"] and diffusion.uuid in provenance["uuids"]
    assert [g["label"] for g in provenance["groups"]] == ["lps-export-test"]
    readme = (record / "README.md").read_text()
    assert diffusion.uuid in readme and "verdi archive import record.aiida" in readme

    check = export(["--check", str(record)])
    assert check.exit_code == 0, check.output
    table = record / label / "arrhenius.csv"
    original = table.read_bytes()
    table.write_bytes(original.replace(b"94.4", b"95.4"))
    (record / "stray.txt").write_text("not in the manifest")
    bad = export(["--check", str(record)])
    assert bad.exit_code == 1
    assert f"{label}/arrhenius.csv: SHA-256 differs" in bad.output
    assert "stray.txt: not listed" in bad.output
    # a consistent forgery (manifest updated too) still differs from the numbers in the archive
    (record / "stray.txt").unlink()
    write_manifest(record)
    forged = export(["--check", str(record)])
    assert forged.exit_code == 1
    assert f"{label}/arrhenius.csv: differs from the data in the archive" in forged.output
    assert "SHA-256 differs" not in forged.output


def docs_commands() -> list[list[str]]:
    """The ``$`` command lines of docs/publishing.md, in order, split like a shell."""
    import shlex

    blocks = re.findall(r"```console\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    return [shlex.split(line[2:]) for block in blocks for line in block.splitlines() if line.startswith("$ ")]


@pytest.mark.lammps
def test_docs_commands_and_round_trip(aiida_profile_clean, tmp_path, monkeypatch, lammps_code, argon_potential,
                                      argon_structure):  # fmt: skip
    """docs/publishing.md's commands as written; then export → import into an emptied profile → export gives the
    same node UUIDs, links and processed-file hashes."""
    from aiida.cmdline.commands.cmd_verdi import verdi

    diffusion = run_diffusion(lammps_code, argon_potential, argon_structure)
    uuid = diffusion.uuid
    orm.Group("my-lps-results").store().add_nodes(diffusion)
    monkeypatch.chdir(tmp_path)
    pathlib.Path("metadata.yaml").write_text(yaml.safe_dump(docs_metadata()), encoding="utf-8")
    commands = docs_commands()
    assert [c[0] for c in commands].count("aiida-lps") >= 3 and [
        "verdi",
        "archive",
        "import",
        "record.aiida",
    ] in commands
    for command in commands:
        if command[0] == "cd":
            monkeypatch.chdir(command[1])
            continue
        if command[0] == "verdi":
            aiida_profile_clean.reset_storage()  # the reader's profile: empty
            assert orm.QueryBuilder().append(orm.Node).count() == 0
        result = CliRunner().invoke(cli if command[0] == "aiida-lps" else verdi, command[1:])
        assert result.exit_code == 0, f"{command}: {result.output}"
    assert orm.load_node(uuid).is_finished_ok  # imported
    assert orm.load_group("my-lps-results").count() == 1

    first, second = tmp_path / "record", tmp_path / "second"
    result = export([uuid, "-o", str(second), "-m", str(tmp_path / "metadata.yaml")])
    assert result.exit_code == 0, result.output
    one, two = (json.loads((f / "provenance.json").read_text()) for f in (first, second))
    assert one["uuids"] == two["uuids"] and one["links"] == two["links"]
    assert processed_hashes(first) == processed_hashes(second) != {}
    assert export(["--check", str(second)]).exit_code == 0
