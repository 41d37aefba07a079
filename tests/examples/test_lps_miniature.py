"""The main job's script (``examples/lps_miniature.py``): options and record metadata, checked without running it."""

from __future__ import annotations

import importlib.util
import pathlib

import ase.io
import pytest

from aiida_lps.export import load_metadata, validate_metadata

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "examples" / "lps_miniature.py"


@pytest.fixture(scope="module")
def miniature():
    spec = importlib.util.spec_from_file_location("lps_miniature", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_defaults(miniature):
    args = miniature.parse_args([])
    assert args.temperatures == [600.0, 800.0, 1000.0]
    assert args.metadata == SCRIPT.with_suffix(".yaml")
    assert args.population == 8 and args.generations == 3 and not args.no_hull


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--temperatures", "800", "1000"], "at least 3 distinct positive"),
        (["--temperatures", "800", "800", "1000"], "at least 3 distinct positive"),
        (["--temperatures", "-5", "800", "1000"], "at least 3 distinct positive"),
        (["--md-ps", "0"], "--md-ps must be positive"),
        (["--labels", "-1"], "--labels must be positive"),
    ],
)
def test_bad_options_are_refused(miniature, capsys, argv, message):
    with pytest.raises(SystemExit):
        miniature.parse_args(argv)
    assert message in capsys.readouterr().err


def test_metadata_yaml_is_a_valid_record(miniature):
    metadata = validate_metadata(load_metadata(miniature.METADATA))
    assert metadata["license"] == "CC-BY-4.0"
    assert all(reference.get("doi") for reference in metadata["references"])


def test_shipped_labels_have_both_subsets_and_the_label_settings(miniature):
    frames = ase.io.read(miniature.DATASET, index=":", format="extxyz")
    subsets = [a.info["subset"] for a in frames]
    assert subsets.count("pool") > 0 and subsets.count("test") > 0
    # the new labels of the example use the settings the shipped ones were made with
    calculator = miniature.LABEL_DFT["calculator"]
    assert {a.info["ecut"] for a in frames} == {calculator["mode"]["ecut"]}
    assert {a.info["kmesh"] for a in frames} == {"x".join(map(str, calculator["kpts"]["size"]))}
