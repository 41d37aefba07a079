#!/usr/bin/env python
"""Li2S S K-edge with ``lps.xas`` and GPAW for supercells of growing distance between core-hole images.

The core hole and its excited electron are repeated with the supercell; their images interact, which moves the
peaks. This runs ``lps.xas`` (GPAW, LDA as the LPS S K-edge database, XCH, ``nbands: auto`` with converged empty
bands to 35 eV above the onset, no calibration) on n×n×n supercells of the primitive fcc Li2S cell (3n³ atoms,
nearest image of the absorber n·a/√2 = n·4.01 Å away) and of the conventional cubic cell (12 atoms, 5.67 Å),
and records per cell: atoms, image distance, plane spacing, bands, wall time of the ground state and the core-hole
run, their peak memory (max RSS of the GPAW process), the ΔSCF onset, how far the computed transitions reach, the
strongest peak (the white line) and the next two peaks above it, their spacings against the measured Li2S peaks of
seed 000 (Guo, Carbone et al. 2023, doi:10.1038/s41597-023-02262-4: 2474, 2476.5, 2484 eV, spacings 2.5 and 7.5 eV),
and the averaged spectrum. ``hnf20`` is the most compact supercell of 20 primitive cells
(``aiida_lps.science.supercell.compact_supercell``: 60 atoms, images 10.68 Å apart, where the 3×3×3 repetition
needs 81 atoms for 12.1 Å); it runs at the Γ point only (``CELL_KSPACING``: the 20-cell supercell samples the
primitive zone at 20 points, the 2×2×2 mesh of ``prim2`` at 64).

Every finished cell is written to ``data/xas_li2s_size_series.json`` at once, so a series stopped by the time or the
memory resumes where it stopped (cells already there are skipped); ``--plot`` only recomputes the derived numbers,
rewrites the file and redraws ``data/xas_li2s_size_series.png`` (spectra vs size; spacings vs 1/d, extrapolated
linearly to 1/d → 0 once three cells with d ≥ 5 Å are there).

    AIIDA_PATH=$PWD/.aiida-h-sci OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 5 \\
        python benchmarks/validation/xas_li2s_size_series.py [--cells prim1 conv prim2 hnf20] [--ecut 300] \\
        [--kspacing 0.5]
    python benchmarks/validation/xas_li2s_size_series.py --plot

Needs a loaded profile (created with ``verdi presto --no-broker`` in ``AIIDA_PATH`` if there is none); creates the
``localhost`` computer and the ``gpaw`` code if missing. One MPI process, one thread.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "validation" / "data"
RESULTS = DATA / "xas_li2s_size_series.json"
FIGURE = DATA / "xas_li2s_size_series.png"
MEASURED = (2474.0, 2476.5, 2484.0)  # eV, Li2S S K-edge peaks, seed 000 (Guo, Carbone et al. 2023)
#: name -> (input cell, repetitions along each axis, or the number of cells of the most compact supercell)
CELLS = {"prim1": ("primitive", 1), "conv": ("conventional", 1), "prim2": ("primitive", 2), "prim3": ("primitive", 3)}
CELLS["hnf20"] = ("primitive", "compact 20")
CELLS["prim2g"] = CELLS["prim2"]
#: k-point spacing (1/Å, 2π included) of a cell where it differs from ``--kspacing``: the Γ point for the 60- and
#: 81-atom cells, and for ``prim2g``, the 24-atom cell at Γ: the check of the Γ-point runs against ``prim2``'s 2×2×2
CELL_KSPACING = {"hnf20": 0.75, "prim3": 0.75, "prim2g": 1.0}


def _structure(kind: str):
    from aiida import orm
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from aiida_lps.structures.reference import load_structure

    structure = load_structure("Li2S")
    if kind == "primitive":
        structure = SpacegroupAnalyzer(structure).get_primitive_standard_structure()
    return orm.StructureData(ase=AseAtomsAdaptor.get_atoms(structure))


def run_cell(code, name: str, ecut: float, kspacing: float) -> dict:
    """Run ``lps.xas`` on one cell of the series and return its record."""
    from aiida.common.links import LinkType
    from aiida.engine import run_get_node

    from aiida_lps.science.supercell import image_distance, plane_spacings
    from aiida_lps.workflows.xas import XasWorkChain

    kind, repeat = CELLS[name]
    structure = _structure(kind)
    if isinstance(repeat, str):  # the most compact supercell of n cells, simulated as given
        from ase.build import make_supercell

        from aiida_lps.science.supercell import compact_supercell

        matrix, _ = compact_supercell(np.array(structure.cell), int(repeat.split()[1]))
        structure = type(structure)(ase=make_supercell(structure.get_ase(), matrix))
        width = min(plane_spacings(np.array(structure.cell))) - 1e-3
    else:
        spacing = min(plane_spacings(np.array(structure.cell)))
        width = repeat * spacing - 1e-3  # n repetitions of the input cell along each axis
    xch = {"calculator": {"mode": {"name": "pw", "ecut": ecut}, "convergence": {"energy": 1e-4, "density": 1e-4}},
           "kpoint_spacing": kspacing}  # fmt: skip
    builder = XasWorkChain.get_builder_from_protocol(
        code, structure, protocol="fast", engine="gpaw",
        overrides={"parameters": {"supercell_min_width": width}, "engines": {"gpaw": {"xch": xch}}},
    )  # fmt: skip
    start = time.perf_counter()
    results, node = run_get_node(builder)
    wall = time.perf_counter() - start
    record: dict = {"cell": name, "ecut_eV": ecut, "kpoint_spacing": kspacing, "pk": node.pk, "uuid": node.uuid,
                    "exit_status": node.exit_status, "exit_message": node.exit_message, "wall_s": wall}  # fmt: skip
    calls = {link.link_label: link.node for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
    for label, child in calls.items():
        calculations = [c for c in child.called_descendants if c.process_label == "GpawCalculation"]
        if not calculations:
            continue
        last = max(calculations, key=lambda c: c.ctime)
        properties = last.outputs.properties.get_dict() if "properties" in last.outputs else {}
        calculator = last.inputs.parameters.get_dict()["calculator"]
        record[label] = {
            "wall_s": properties.get("wall_time_s"),
            "max_rss_mib": properties.get("max_rss_mib"),
            "scf_iterations": properties.get("scf_iterations"),
            "nbands": calculator.get("nbands"),
            "converged_bands": (calculator.get("convergence") or {}).get("bands"),
            "kpts": calculator.get("kpts"),
        }
    if not node.is_finished_ok:
        return record
    table = results["site_table"].get_dict()
    site_structure = calls["xch_site_1"].inputs.gpaw.structure
    alignment = results["alignment"].get_dict()["sites"]["site_1"]
    energy, mu = results["spectrum"].get_array("energy"), results["spectrum"].get_array("mu_average")
    record.update(
        {
            "n_atoms": table["n_atoms_supercell"],
            "repetitions": table["repetitions"],
            "image_distance_A": image_distance(np.array(site_structure.cell)),  # absorber to its nearest image
            "plane_spacing_A": min(table["plane_spacings_supercell"]),
            "onset_eV": alignment["aligned_onset"],
            "spectrum_top_above_onset_eV": results["raw"]["properties_site_1"].get_dict()["spectrum_top_above_onset"],
            "energy_eV": energy.tolist(),
            "mu_average": mu.tolist(),
        }
    )
    return _with_peaks(record)


def _with_peaks(record: dict) -> dict:
    """``record`` with the peaks, spacings and offset derived from its spectrum (recomputed when a file is read)."""
    from aiida_lps.science.xas import spectrum_peaks

    if record.get("exit_status") != 0:
        return record
    energy, mu = np.array(record["energy_eV"]), np.array(record["mu_average"])
    for key in ("offset_first_peak_eV",):  # older records
        record.pop(key, None)
    peaks = main_peaks(energy, mu)
    record["all_peaks_eV"] = spectrum_peaks(energy, mu).tolist()
    record["peaks_eV"] = peaks.tolist()
    record["spacings_eV"] = np.diff(peaks).tolist()
    record["offset_main_peak_eV"] = MEASURED[0] - float(peaks[0])
    return record


def main_peaks(energy: np.ndarray, mu: np.ndarray, n: int = 3) -> np.ndarray:
    """The strongest peak (the white line, measured at 2474 eV in Li2S) and the next ``n`` − 1 peaks above it with a
    prominence of at least 3 % of the maximum (eV). Pre-edge shoulders below the white line are not counted."""
    from aiida_lps.science.xas import spectrum_peaks

    found = spectrum_peaks(energy, mu)
    main = float(np.asarray(energy)[int(np.argmax(mu))])
    return np.array([main, *[e for e in found if e > main + 0.1]][:n])


def _load() -> list[dict]:
    return [_with_peaks(c) for c in json.loads(RESULTS.read_text())["cells"]] if RESULTS.is_file() else []


def _save(cells: list[dict], meta: dict) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**meta, "cells": cells}, indent=1))


def summary(cells: list[dict]) -> None:
    """Print the table of the finished cells."""
    print(f"{'cell':6s} {'atoms':>5s} {'d_img/Å':>8s} {'k':>5s} {'bands':>11s} {'GS s':>7s} {'XCH s':>7s} "
          f"{'XCH MiB':>8s} {'onset':>8s} {'top':>5s} {'peaks (eV)':28s} spacings (meas. 2.5, 7.5)")  # fmt: skip
    for c in cells:
        if c.get("exit_status") != 0:
            print(f"{c['cell']:6s} failed: {c.get('exit_message')}")
            continue
        xch, gs = c.get("xch_site_1", {}), c.get("ground_state", {})
        bands = f"{xch.get('converged_bands')}/{xch.get('nbands')}"
        mesh = "x".join(map(str, (xch.get("kpts") or {}).get("size", ["?"])))
        print(f"{c['cell']:6s} {c['n_atoms']:5d} {c['image_distance_A']:8.2f} {mesh:>5s} {bands:>11s} "
              f"{gs.get('wall_s', 0):7.0f} {xch.get('wall_s', 0):7.0f} {xch.get('max_rss_mib') or 0:8.0f} "
              f"{c['onset_eV']:8.2f} "
              f"{c['spectrum_top_above_onset_eV']:5.1f} {str(np.round(c['peaks_eV'][:3], 2).tolist()):28s} "
              f"{np.round(c['spacings_eV'], 2).tolist()}")  # fmt: skip


def extrapolate(cells: list[dict]) -> dict | None:
    """Linear fit of each peak spacing against 1/d (d: image distance) over the finished cells with d ≥ 5 Å (the
    3-atom cell, 4 Å, is only a smoke test) run at one k-point spacing (the higher features move with the k-mesh:
    ``prim2`` against ``prim2g``); value at 1/d → 0. ``None`` without three such cells at one spacing: two points
    fix a line but not whether the spacings have reached the asymptotic 1/d regime."""
    done = [c for c in cells if c.get("exit_status") == 0 and len(c.get("spacings_eV", [])) == 2]
    done = [c for c in done if c["image_distance_A"] >= 5.0]
    groups: dict = {}
    for cell in done:
        groups.setdefault(cell.get("kpoint_spacing"), []).append(cell)
    done = max(groups.values(), key=len, default=[])
    if len(done) < 3:
        return None
    inverse = np.array([1 / c["image_distance_A"] for c in done])
    result = {"cells": [c["cell"] for c in done], "fit": "spacing = a + b / d"}
    for index in (0, 1):
        values = np.array([c["spacings_eV"][index] for c in done])
        slope, intercept = np.polyfit(inverse, values, 1)
        result[f"spacing_{index + 1}_at_infinite_d_eV"] = float(intercept)
        result[f"spacing_{index + 1}_slope_eV_A"] = float(slope)
    return result


def plot(cells: list[dict]) -> None:
    """Spectra vs size (each shifted so that its strongest peak sits at 2474 eV) and spacings vs 1/d."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = sorted((c for c in cells if c.get("exit_status") == 0), key=lambda c: c["image_distance_A"])
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for offset, c in enumerate(done):
        energy, mu = np.array(c["energy_eV"]), np.array(c["mu_average"])
        shift = c["offset_main_peak_eV"]
        left.plot(energy + shift, mu / mu.max() + 0.6 * offset, label=f"{c['cell']}: {c['n_atoms']} atoms, "
                  f"d = {c['image_distance_A']:.1f} Å")  # fmt: skip
    for e in MEASURED:
        left.axvline(e, color="0.5", ls=":", lw=1)
    left.set_xlim(MEASURED[0] - 8, MEASURED[0] + 30)
    left.set_xlabel("energy (eV; strongest peak aligned on 2474 eV)")
    left.set_ylabel("μ (normalised, offset)")
    left.legend(fontsize=7, loc="upper right")
    inverse = [1 / c["image_distance_A"] for c in done]
    for index, measured in enumerate(np.diff(MEASURED)):
        values = [c["spacings_eV"][index] if len(c["spacings_eV"]) > index else np.nan for c in done]
        right.plot(inverse, values, "o-", label=f"spacing {index + 1} (measured {measured:g} eV)")
        right.axhline(measured, ls=":", color=f"C{index}")
    fit = extrapolate(cells)
    if fit:
        x = np.linspace(0, max(inverse), 10)
        for index in (0, 1):
            a, b = fit[f"spacing_{index + 1}_at_infinite_d_eV"], fit[f"spacing_{index + 1}_slope_eV_A"]
            right.plot(x, a + b * x, "--", color=f"C{index}", lw=0.8)
    right.set_xlabel("1 / image distance (1/Å)")
    right.set_ylabel("peak spacing (eV)")
    right.set_xlim(left=0)
    right.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(FIGURE, dpi=130)
    print(f"wrote {FIGURE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--ecut", type=float, default=300.0, help="plane-wave cut-off (eV); fast protocol: 300")
    parser.add_argument("--kspacing", type=float, default=0.5, help="k-point spacing (1/Å, 2π included)")
    parser.add_argument("--plot", action="store_true", help="only print the table and redraw the figure")
    args = parser.parse_args()
    cells = _load()
    if not args.plot:
        import resource

        from aiida import load_profile

        from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_gpaw_executable

        load_profile()
        code, _ = ensure_code("gpaw", find_gpaw_executable(), ensure_localhost()[0])
        meta = {"description": __doc__.split("\n\n")[0], "measured_peaks_eV": MEASURED,
                "units": {"energy": "eV", "distance": "Å", "memory": "MiB", "time": "s"}}  # fmt: skip
        for name in args.cells:
            if any(c["cell"] == name and c.get("exit_status") == 0 for c in cells):
                print(f"{name}: already in {RESULTS.name}, skipped")
                continue
            record = run_cell(code, name, args.ecut, CELL_KSPACING.get(name, args.kspacing))
            record["driver_max_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            cells = [c for c in cells if c["cell"] != name] + [record]
            meta["extrapolation"] = extrapolate(cells)
            _save(cells, meta)
            summary([record])
    elif cells:
        stored = json.loads(RESULTS.read_text())
        _save(cells, {**{k: v for k, v in stored.items() if k != "cells"}, "extrapolation": extrapolate(cells)})
    summary(cells)
    fit = extrapolate(cells)
    if fit:
        print(f"extrapolated to 1/d → 0 ({fit['cells']}): spacings {fit['spacing_1_at_infinite_d_eV']:.2f}, "
              f"{fit['spacing_2_at_infinite_d_eV']:.2f} eV (measured 2.5, 7.5)")  # fmt: skip
    else:
        print("no extrapolation to 1/d → 0: fewer than three cells with image distances >= 5 Å at one k-point spacing")
    if cells:
        plot(cells)


if __name__ == "__main__":
    main()
