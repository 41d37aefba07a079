#!/usr/bin/env python
"""Example: the S K-edge of Li2S with ``lps.xas`` and GPAW (XCH: full 1s hole + excited electron), a few minutes.

    AIIDA_PATH=$PWD/.aiida python examples/xas_li2s_gpaw.py [--protocol fast] [--width 5] [--output run-output]

Needs a loaded profile; creates ``localhost`` and the ``gpaw`` code if missing. Prints the site table, the ΔSCF onset,
the first peaks next to experiment (2474, 2476.5, 2484 eV; Guo, Carbone et al. 2023, doi:10.1038/s41597-023-02262-4),
the absolute offset (measured − computed first peak) as the ``calibration`` record that puts spectra computed with the
same settings on the experimental axis (docs/xas.md), and writes ``xas_Li2S.png``.
For VASP use ``engine="vasp"`` with a VASP code and an LDA POTCAR family
(``overrides={"engines": {"vasp": {"xch": {"potential_family": "LDA.54"}}}}``).
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
from aiida import load_profile, orm
from aiida.engine import run_get_node
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_gpaw_executable
from aiida_lps.plotting import plot_xas
from aiida_lps.science.xas import energy_calibration, spectrum_peaks
from aiida_lps.structures.reference import load_structure
from aiida_lps.workflows.xas import XasWorkChain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="fast", choices=("fast", "moderate", "precise"))
    parser.add_argument("--width", type=float, default=5.0, help="min. distance between supercell faces (Å)")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("run-output"))
    args = parser.parse_args()
    load_profile()
    code, _ = ensure_code("gpaw", find_gpaw_executable(), ensure_localhost()[0])
    structure = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("Li2S")))  # 12-atom cubic cell
    builder = XasWorkChain.get_builder_from_protocol(
        code,
        structure,
        protocol=args.protocol,
        overrides={"parameters": {"supercell_min_width": args.width}},
        engine="gpaw",
    )
    results, node = run_get_node(builder)
    print(f"lps.xas<{node.pk}>: exit {node.exit_status} {node.exit_message or ''}")
    if not node.is_finished_ok:
        return
    for row in results["site_table"]["sites"]:
        print(f"{row['label']}: S atom {row['index']}, multiplicity {row['multiplicity']}, {row['environment']}")
    onset = results["alignment"]["sites"]["site_1"]["aligned_onset"]
    energy, mu = results["spectrum"].get_array("energy"), results["spectrum"].get_array("mu_average")
    print(f"ΔSCF onset {onset:.2f} eV; maximum of the averaged spectrum at {energy[np.argmax(mu)]:.2f} eV")
    top = results["raw"]["properties_site_1"].get_dict().get("spectrum_top_above_onset")
    print(f"computed transitions reach {top:.1f} eV above the onset; grid ends at {energy[-1] - onset:.1f} eV")
    peaks = spectrum_peaks(energy, mu)[:3]
    measured = (2474.0, 2476.5, 2484.0)
    print(f"peaks {np.round(peaks, 2).tolist()} eV, spacings {np.round(np.diff(peaks), 2).tolist()} eV "
          f"(measured {measured}: spacings 2.5, 7.5 eV)")  # fmt: skip
    record = energy_calibration("Li2S", measured[0], float(peaks[0]), "first peak", "doi:10.1038/s41597-023-02262-4")
    print(f"absolute offset {record['shift_eV']:+.2f} eV; calibration for these settings: {record}")
    args.output.mkdir(parents=True, exist_ok=True)
    sites = {"site_1": results["aligned"]["site_1"].get_array("mu_average")}
    figure = plot_xas(energy, mu, sites, results["weights"]["weights"], experiment=(2474.0, 2476.5, 2484.0))
    figure.savefig(args.output / "xas_Li2S.png", dpi=150)
    print(f"wrote {args.output / 'xas_Li2S.png'}")


if __name__ == "__main__":
    main()
