#!/usr/bin/env python
"""Benchmark: ``lps.xas`` end to end with GPAW on β-Li3PS4 (three inequivalent S) and Li2S (one), with timings.

    AIIDA_PATH=$PWD/.aiida python benchmarks/bench_xas_beta_li3ps4_gpaw.py [--ecut 250] [--kspacing 0.8] [--nbands 200%]
        [--width-li3ps4 6] [--width-li2s 5] [--output run-output]

Needs a loaded profile (``verdi presto`` or scripts/run-main.sh's); creates the ``localhost`` computer and the
``gpaw`` code if missing. Prints, per structure, the site table, the wall time of every step (site analysis,
1s-hole dataset, ground state, core-hole runs, averaging), the ΔSCF onsets, and for Li2S the positions and
spacings of the first peaks of the averaged spectrum against experiment (Guo, Carbone et al. 2023: 2474, 2476.5
and 2484 eV, i.e. spacings 2.5 and 7.5 eV). Writes the plots to ``--output``.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np
from aiida import load_profile, orm
from aiida.engine import run_get_node
from pymatgen.io.ase import AseAtomsAdaptor
from scipy.signal import find_peaks

from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_gpaw_executable
from aiida_lps.plotting import plot_xas
from aiida_lps.structures.reference import load_structure
from aiida_lps.workflows.xas import XasWorkChain

EXPERIMENT_LI2S = (2474.0, 2476.5, 2484.0)  # eV, Guo, Carbone et al. (2023), doi:10.1038/s41597-023-02262-4


def run(
    code, name: str, width: float, ecut: float, kspacing: float, nbands: str
) -> tuple[dict, orm.WorkflowNode, float]:
    structure = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure(name)))
    xch = {"calculator": {"mode": {"name": "pw", "ecut": ecut}, "convergence": {"energy": 1e-4, "density": 1e-4}},
           "kpoint_spacing": kspacing, "nbands": nbands}  # fmt: skip
    builder = XasWorkChain.get_builder_from_protocol(
        code, structure, protocol="fast", engine="gpaw",
        overrides={"parameters": {"supercell_min_width": width}, "engines": {"gpaw": {"xch": xch}}},
    )  # fmt: skip
    start = time.perf_counter()
    results, node = run_get_node(builder)
    return results, node, time.perf_counter() - start


def timings(node: orm.WorkflowNode) -> list[tuple[str, float]]:
    """Wall time (s) of every process called by the work chain, by call link label."""
    rows = []
    for link in node.base.links.get_outgoing().all():
        child = link.node
        if isinstance(child, orm.ProcessNode):
            label = child.process_label if link.link_label == "CALL" else link.link_label
            rows.append((label, (child.mtime - child.ctime).total_seconds()))
    return sorted(rows, key=lambda row: row[0])


def peaks(energy: np.ndarray, mu: np.ndarray, n: int = 3) -> np.ndarray:
    """Energies (eV) of the first ``n`` peaks with a prominence of at least 3 % of the maximum."""
    found, _ = find_peaks(mu, prominence=0.03 * mu.max())
    return energy[found][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ecut", type=float, default=250.0, help="plane-wave cut-off (eV)")
    parser.add_argument("--kspacing", type=float, default=0.8, help="k-point spacing (1/Å, 2π included)")
    parser.add_argument("--nbands", default="200%", help="GPAW nbands of the core-hole runs (protocol: 400%%)")
    parser.add_argument("--width-li3ps4", type=float, default=6.0, help="min. face distance of the supercell (Å)")
    parser.add_argument("--width-li2s", type=float, default=5.0, help="min. face distance of the supercell (Å)")
    parser.add_argument("--only", choices=("beta-Li3PS4", "Li2S"), default=None)
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("run-output"))
    args = parser.parse_args()
    load_profile()
    computer, _ = ensure_localhost()
    code, _ = ensure_code("gpaw", find_gpaw_executable(), computer)
    args.output.mkdir(parents=True, exist_ok=True)
    cases = [("beta-Li3PS4", args.width_li3ps4), ("Li2S", args.width_li2s)]
    for name, width in cases:
        if args.only and name != args.only:
            continue
        results, node, wall = run(code, name, width, args.ecut, args.kspacing, args.nbands)
        print(f"\n=== {name}: lps.xas<{node.pk}> exit {node.exit_status}, {wall:.1f} s wall "
              f"(ecut {args.ecut:g} eV, k-spacing {args.kspacing:g} 1/Å, nbands {args.nbands}, "
              f"faces >= {width:g} Å)")  # fmt: skip
        table = results["site_table"].get_dict()
        print(f"supercell {table['repetitions']} = {table['n_atoms_supercell']} atoms; sites:")
        for row in table["sites"]:
            env = row["environment"]
            print(f"  {row['label']}: atom {row['index']} x{row['multiplicity']}, nearest P {env['P']['nearest']} Å, "
                  f"{env['Li']['count']} Li within 3.2 Å (nearest {env['Li']['nearest']} Å)")  # fmt: skip
        for label, seconds in timings(node):
            print(f"  {label:24s} {seconds:8.1f} s")
        if not node.is_finished_ok:
            print(f"  FAILED: {node.exit_message}")
            continue
        alignment = results["alignment"].get_dict()["sites"]
        for label, entry in alignment.items():
            print(f"  {label}: ΔSCF onset {entry['aligned_onset']:.2f} eV (raw onset {entry['raw_onset']:.2f} eV)")
        spectrum = results["spectrum"]
        energy, mu = spectrum.get_array("energy"), spectrum.get_array("mu_average")
        sites = {label: results["aligned"][label].get_array("mu_average") for label in alignment}
        weights = results["weights"].get_dict()["weights"]
        experiment = EXPERIMENT_LI2S if name == "Li2S" else None
        figure = plot_xas(energy, mu, sites, weights, experiment=experiment)
        figure.savefig(args.output / f"xas_{name}_gpaw.png", dpi=150)
        found = peaks(energy, mu)
        print(f"  peaks of the average (eV): {np.round(found, 2).tolist()}")
        if name == "Li2S" and len(found) >= 2:
            spacings = np.diff(found)
            reference = np.diff(EXPERIMENT_LI2S)
            print(f"  peak spacings {np.round(spacings, 2).tolist()} eV vs experiment {reference.tolist()} eV "
                  f"(differences {np.round(spacings - reference[: len(spacings)], 2).tolist()} eV); first peak "
                  f"{found[0]:.1f} eV vs 2474 eV (absolute ΔKS, no calibration shift)")  # fmt: skip


if __name__ == "__main__":
    main()
