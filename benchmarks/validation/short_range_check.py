#!/usr/bin/env python
"""Short-range check of learned β-Li3PS4 potentials: energy along close contacts below the labels' shortest ones.

For each element pair, one atom of a 32-atom training frame is moved towards a neighbour from the shortest contact
of that pair in the training labels (without the close-contact frames, ``origin`` ``contact``) down to half of it
(:mod:`aiida_lps.engines.lammps.mlip.short_range`); the printed energy is relative to the frame at the shortest
contact. A sound potential rises there; a pair marked *attractive* falls by more than 0.1 eV somewhere, and
relaxations or hot MD with that potential can collapse (as the enumeration of docs/genetic.md and the MD of
docs/validation.md did with the 35-frame potential).

    python benchmarks/validation/short_range_check.py [--potential DIR ...] [--refit]

``--potential``: folders of ``aiida-lps potential export`` (default: the committed ``data/beta_li3ps4_pod35``);
``--refit``: also the POD fit of the work chain's ``moderate`` grid on the committed labels with and without the
close-contact frames (rc and ridge as the grid chose them), with its held-out errors. Seconds per potential; the
refits about a minute each on one core.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE / "data"
LABELS = DATA / "beta_li3ps4_labels.xyz"
ELEMENTS = ["Li", "P", "S"]


def _scan_rows(pair_lines: list[str], frames: list) -> list[dict]:
    from aiida_lps.engines.lammps.mlip.short_range import reference_frames, shortest_contacts, worst_scans

    train = [f for f in frames if f.info.get("subset") == "train"]
    thermal = [f for f in train if f.info.get("origin") != "contact"]
    scans = worst_scans(pair_lines, reference_frames(thermal), ELEMENTS, shortest_contacts(thermal))
    return [s.to_dict() for s in scans]


def exported_pair_lines(folder: pathlib.Path) -> list[str]:
    """The pair commands of an exported potential (``potential.json`` templates), its files' paths made absolute."""
    from aiida_lps.engines.lammps.mlip.settings import pair_lines

    description = json.loads((folder / "potential.json").read_text())
    return pair_lines(description, description["elements"], description["files"], folder)


def refit(frames: list, with_contacts: bool) -> tuple[dict, list[str]]:
    """The report's refit (the work chain's ``moderate`` grid) with or without the contact frames; returns (results,
    pair lines of the fitted potential)."""
    from beta_li3ps4_report import refit as report_refit

    from aiida_lps.engines.lammps.mlip import models

    chosen = [f for f in frames if with_contacts or f.info.get("origin") != "contact"]
    results, _ = report_refit(chosen)
    settings = models.model_settings(results["model"], results["hyperparameters"], drop_unknown=True)
    return results, models.pair_lines(results["model"], settings, results["folder"])


def print_rows(name: str, rows: list[dict]) -> None:
    print(f"{name}:")
    for row in rows:
        low = row["lowest_energy_eV"]
        verdict = "ATTRACTIVE" if row["attractive"] else "repulsive"
        print(
            f"  {row['pair']:6s} data ≥ {row['shortest_in_data_A']:.2f} Å | at {row['closest_A']:.2f} Å "
            f"{_fmt(row['energy_at_closest_eV'])} eV | lowest {_fmt(low)} eV at {row['lowest_at_A']:.2f} Å | "
            f"wall {row['barrier_eV']:.1f} eV | {verdict}"
        )


def _fmt(value) -> str:
    return "   nan" if value is None else f"{value:10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--potential", type=pathlib.Path, nargs="*", default=[DATA / "beta_li3ps4_pod35"])
    parser.add_argument("--refit", action="store_true", help="also refit on the labels with/without contact frames")
    args = parser.parse_args()
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    from benchlib import one_thread

    one_thread()
    import ase.io

    frames = ase.io.read(LABELS, index=":", format="extxyz")
    for folder in args.potential:
        print_rows(f"{folder.name} (exported potential)", _scan_rows(exported_pair_lines(folder), frames))
    if args.refit:
        n_contacts = sum(f.info.get("origin") == "contact" for f in frames)
        for with_contacts in (False, True) if n_contacts else (False,):
            results, lines = refit(frames, with_contacts)
            test = results["test_metrics"]
            name = (
                f"refit {results['grid_point']} on {results['n_training']} frames "
                f"({'with' if with_contacts else 'without'} the {n_contacts} contact frames): held-out "
                f"{test['energy_mae_meV_per_atom']:.1f} meV/atom, {test['force_mae_eV_per_A']:.3f} eV/Å"
            )
            print_rows(name, _scan_rows(lines, frames))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
