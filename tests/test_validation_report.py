"""The validation report script re-creates its inventory and cost figures from the committed data alone."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import ase.io

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "validation" / "beta_li3ps4_report.py"
LABELS = ROOT / "benchmarks" / "validation" / "data" / "beta_li3ps4_labels.xyz"


def test_report_inventory_matches_the_committed_labels(tmp_path):
    process = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-fit", "--output", str(tmp_path)], capture_output=True, text=True
    )
    assert process.returncode == 0, process.stderr
    report = json.loads((tmp_path / "beta_li3ps4_report.json").read_text())
    frames = ase.io.read(LABELS, index=":", format="extxyz")
    labels = report["labels"]
    assert labels["n_labels"] == len(frames)
    assert labels["n_train"] + labels["n_test"] == len(frames)
    assert sum(row["n"] for row in labels["per_origin"]) == len(frames)
    seconds = sum(float(f.info["label_seconds"]) for f in frames)
    assert abs(labels["dft_cpu_hours"] - seconds / 3600) < 1e-9
    assert report["aimd_estimate"]["cpu_hours"] > labels["dft_cpu_hours"]
    assert "fit" not in report
