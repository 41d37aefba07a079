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


DIFFUSION_SCRIPT = ROOT / "benchmarks" / "validation" / "beta_li3ps4_diffusion.py"
DIFFUSION = ROOT / "benchmarks" / "validation" / "data" / "beta_li3ps4_diffusion.json"


def test_diffusion_record_is_consistent_and_printed():
    """The committed production-MD record: its all-temperature Arrhenius fit is what the science module gives for its
    own per-temperature D (with errors), and ``--summary`` prints every temperature and both fits from it."""
    from aiida_lps.science.arrhenius import fit_arrhenius

    record = json.loads(DIFFUSION.read_text())
    runs = record["diffusion"]["runs"]
    assert len(runs) >= 2
    temps = [run["temperature_K"] for run in runs.values()]
    fit = fit_arrhenius(
        temps, [run["D_cm2_s"] for run in runs.values()], [run["D_stderr_cm2_s"] for run in runs.values()]
    )
    recorded = record["diffusion"]["arrhenius_all_temperatures"]["diffusivity"]
    assert abs(fit.activation_energy - recorded["activation_energy"]) < 1e-9
    assert abs(fit.activation_energy_stderr - recorded["activation_energy_stderr"]) < 1e-9

    process = subprocess.run(
        [sys.executable, str(DIFFUSION_SCRIPT), "--summary"], capture_output=True, text=True, cwd=ROOT
    )
    assert process.returncode == 0, process.stderr
    for label, run in runs.items():
        assert f"{label:>10} {run['D_cm2_s']:12.3e}" in process.stdout, process.stdout
    assert (
        f"Ea(D) = {recorded['activation_energy']:.3f} ± {recorded['activation_energy_stderr']:.3f} eV" in process.stdout
    )


ENUMERATION_SCRIPT = ROOT / "benchmarks" / "bench_genetic_enumeration.py"
ENUMERATION = ROOT / "benchmarks" / "validation" / "data" / "enumeration_beta_1x1x1_2li2s_pod91_contacts.json"


def test_ga_finds_the_enumerated_minimum_of_the_committed_table():
    """The GA with the work chain's default settings on the committed enumeration (7591 relaxed arrangements of
    β-Li3PS4 − 2 Li2S, learned POD potential): the printed figure is the fraction of 10 seeds that find the true
    minimum within 10 % of the enumeration, the issue's goal being at least 9 of 10."""
    command = [sys.executable, str(ENUMERATION_SCRIPT), "--supercell", "1", "1", "1", "--n-li2s", "2"]
    command += ["--table", str(ENUMERATION), "--schemes", "default"]
    process = subprocess.run(command, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    table = json.loads(ENUMERATION.read_text())["energies"]
    minimum = min(e for e in table.values() if e is not None)
    assert f"true minimum {minimum:.5f} eV" in process.stdout
    line = next(line for line in process.stdout.splitlines() if line.startswith("GA default"))
    within = int(line.split("relaxations) in ")[1].split("/10")[0])
    assert within >= 9, line
