#!/usr/bin/env python
"""Convergence of GPAW PBE forces (and energies, stresses) of β-Li3PS4 with plane-wave cut-off and k-mesh.

Two frames of ``benchmarks/data/beta_li3ps4_gpaw_pbe.xyz`` (a hot, compressed exploration-pool frame and a held-out
test frame) are relabelled by the project's GPAW runner (what ``lps.gpaw`` executes; same inputs as the ``fast``
protocol of ``lps.dft``, one core) at

* cut-offs 250, 350, 450 eV and the 550 eV reference, Γ-centred 2×1×1 k-mesh fixed;
* then, at the cheapest cut-off whose forces are within the tolerance of the 550 eV ones, the k-meshes 2×1×1,
  3×2×1 (and 4×3×2 if 3×2×1 is needed);
* then the rest of the cut-off series (for the record).

A setting passes when the mean absolute force-component difference to the tighter setting is ≤ ``--tolerance``
(0.05 eV/Å) on both frames; the maximum difference is reported too. Every finished single point is appended to
``benchmarks/validation/data/gpaw_convergence.json`` at once, so an interrupted run resumes where it stopped;
``--summary`` only prints the table of what is there. Each single point waits for the campaign's CPU lock
(``.campaign/cpu.lock``, see ``beta_li3ps4_campaign.py``) so that the two never run DFT at the same time.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 10 python benchmarks/validation/gpaw_convergence.py [--summary]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import pathlib
import resource
import sys

import ase.io
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_gpaw_dataset import label  # noqa: E402

DATASET = ROOT / "benchmarks" / "data" / "beta_li3ps4_gpaw_pbe.xyz"
OUTPUT = ROOT / "benchmarks" / "validation" / "data" / "gpaw_convergence.json"
FRAMES = ("pool-49", "test-12")  # 1200 K at -5 % strain (largest forces of the pool); 1050 K at -3 % (held out)
CUTOFFS = (550, 250, 350, 450)  # reference first, then the candidates (eV)
KMESHES = ((2, 1, 1), (3, 2, 1), (4, 3, 2))
LOCK = ROOT / ".campaign" / "cpu.lock"  # shared with benchmarks/validation/beta_li3ps4_campaign.py: one DFT at a time
PROTOCOL = "fast"  # SCF tolerances and smearing of the labels (1e-4 eV/electron, density 1e-3, Fermi-Dirac 0.1 eV)


def _key(frame_id: str, ecut: float, kmesh) -> str:
    return f"{frame_id}|{ecut:g}|{'x'.join(map(str, kmesh))}"


def load() -> dict:
    """Finished single points by key ``frame|ecut|kmesh``."""
    if not OUTPUT.exists():
        return {}
    return {_key(r["frame_id"], r["ecut"], r["kmesh"]): r for r in json.loads(OUTPUT.read_text())["results"]}


def save(results: dict) -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "description": "GPAW PBE single points of two beta-Li3PS4 frames at several cut-offs and k-meshes",
        "made_by": "benchmarks/validation/gpaw_convergence.py",
        "protocol": PROTOCOL,
        "units": {
            "energy": "eV",
            "forces": "eV/Angstrom",
            "stress": "eV/Angstrom^3",
            "seconds": "s (wall, 1 process on the shared 2-core machine)",
            "cpu_seconds": "s (CPU time of the GPAW process)",
        },
    }
    OUTPUT.write_text(json.dumps({**meta, "results": list(results.values())}, indent=1))


@contextlib.contextmanager
def _campaign_lock():
    """Wait for the campaign's CPU lock (if the campaign folder exists), so that the two never run DFT at once."""
    if not LOCK.parent.is_dir():
        yield
        return
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run(results: dict, atoms: ase.Atoms, ecut: float, kmesh) -> dict:
    key = _key(atoms.info["frame_id"], ecut, kmesh)
    if key in results:
        return results[key]
    overrides = {"mode": {"name": "pw", "ecut": float(ecut)}, "kpts": {"size": list(kmesh), "gamma": True}}
    with _campaign_lock():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        labelled, wall = label(atoms, PROTOCOL, overrides)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    results[key] = {
        "frame_id": atoms.info["frame_id"],
        "ecut": float(ecut),
        "kmesh": list(kmesh),
        "energy": labelled.get_potential_energy(),
        "forces": labelled.get_forces().round(6).tolist(),
        "stress": labelled.get_stress(voigt=False).round(9).tolist(),
        "scf_iterations": labelled.info["scf_iterations"],
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),  # of the GPAW process: the cost on a free core (wall time includes waiting)
    }
    save(results)
    print(f"{key}: {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    return results[key]


def compare(a: dict, b: dict) -> dict:
    """Differences of ``a`` from the tighter ``b``: force MAE/max (eV/Å), energy (meV/atom), stress max (GPa)."""
    df = np.abs(np.array(a["forces"]) - np.array(b["forces"]))
    natoms = len(a["forces"])
    return {
        "force_mae": float(df.mean()),
        "force_max": float(df.max()),
        "energy_mev_atom": 1000 * (a["energy"] - b["energy"]) / natoms,
        "stress_max_gpa": float(np.abs(np.array(a["stress"]) - np.array(b["stress"])).max() * 160.21766),
    }


def passes(results: dict, frames, setting, reference, tolerance: float) -> bool | None:
    rows = [(results.get(_key(f, *setting)), results.get(_key(f, *reference))) for f in frames]
    if any(a is None or b is None for a, b in rows):
        return None
    return all(compare(a, b)["force_mae"] <= tolerance for a, b in rows)


def _time(r: dict) -> str:
    cpu = r.get("cpu_seconds")
    return f"{cpu:.0f} ({r['seconds']:.0f})" if cpu is not None else f"- ({r['seconds']:.0f})"


def summary(results: dict, tolerance: float) -> None:
    """Print every cut-off against the highest cut-off (same k-mesh) and every k-mesh against the next denser one."""
    print("frame     setting      | vs           | F MAE   F max (eV/Å) | dE (meV/atom) | dσ max (GPa) | CPU (wall) s")
    rows = sorted(results.values(), key=lambda r: (r["frame_id"], np.prod(r["kmesh"]), r["ecut"]))
    for r in rows:
        same_k = [x for x in rows if x["frame_id"] == r["frame_id"] and x["kmesh"] == r["kmesh"]]
        same_e = [x for x in rows if x["frame_id"] == r["frame_id"] and x["ecut"] == r["ecut"]]
        refs = [max(same_k, key=lambda x: x["ecut"])]
        denser = [x for x in same_e if np.prod(x["kmesh"]) > np.prod(r["kmesh"])]
        if denser:
            refs.append(min(denser, key=lambda x: np.prod(x["kmesh"])))
        setting = f"{r['ecut']:.0f} eV {'x'.join(map(str, r['kmesh']))}"
        compared = [ref for ref in refs if ref is not r]
        if not compared:
            print(f"{r['frame_id']:9s} {setting:12s} | (reference)  |{'':52s}| {_time(r):>12s}")
        for ref in compared:
            c = compare(r, ref)
            versus = f"{ref['ecut']:.0f} eV {'x'.join(map(str, ref['kmesh']))}"
            print(
                f"{r['frame_id']:9s} {setting:12s} | {versus:12s} | {c['force_mae']:.4f} {c['force_max']:.4f}"
                f"        | {c['energy_mev_atom']:8.2f}      | {c['stress_max_gpa']:7.3f}      | {_time(r):>12s}"
            )
    print(f"tolerance: force MAE <= {tolerance} eV/Å on both frames")
    # what a fit sees of the energies: the energy difference between the two frames (meV/atom) per setting
    first, second = FRAMES
    for kmesh in sorted({tuple(r["kmesh"]) for r in results.values()}):
        pairs = {
            r["ecut"]: (results[_key(first, r["ecut"], kmesh)], r)
            for r in results.values()
            if r["frame_id"] == second and tuple(r["kmesh"]) == kmesh and _key(first, r["ecut"], kmesh) in results
        }
        if len(pairs) < 2:
            continue
        natoms = len(next(iter(pairs.values()))[0]["forces"])
        relative = {e: 1000 * (b["energy"] - a["energy"]) / natoms for e, (a, b) in sorted(pairs.items())}
        reference = relative[max(relative)]
        text = ", ".join(f"{e:.0f} eV: {v - reference:+.2f}" for e, v in relative.items())
        print(
            f"E({second}) - E({first}) at {'x'.join(map(str, kmesh))}, minus its value at {max(relative):.0f} eV "
            f"(meV/atom): {text}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=0.05, help="eV/Å, mean absolute force component")
    parser.add_argument("--summary", action="store_true", help="print the table of the finished points only")
    args = parser.parse_args()
    results = load()
    if args.summary:
        summary(results, args.tolerance)
        return
    frames = {a.info["frame_id"]: a for a in ase.io.read(DATASET, index=":", format="extxyz")}
    frames = [frames[f] for f in FRAMES]
    for atoms in frames:  # cut-offs: 550 reference and 250 first on both frames, so the main answer comes early
        for ecut in CUTOFFS[:2]:
            run(results, atoms, ecut, KMESHES[0])
    chosen = CUTOFFS[0]
    for ecut in sorted(CUTOFFS[1:]):  # the cheapest cut-off within the tolerance of the reference
        for atoms in frames:
            run(results, atoms, ecut, KMESHES[0])
        if passes(results, FRAMES, (ecut, KMESHES[0]), (CUTOFFS[0], KMESHES[0]), args.tolerance):
            chosen = ecut
            break
    print(f"cut-off chosen: {chosen} eV", flush=True)
    for previous, denser in zip(KMESHES, KMESHES[1:], strict=False):
        for atoms in frames:
            run(results, atoms, chosen, previous)
            run(results, atoms, chosen, denser)
        if passes(results, FRAMES, (chosen, previous), (chosen, denser), args.tolerance):
            print(f"k-mesh chosen: {'x'.join(map(str, previous))}", flush=True)
            break
    for ecut in CUTOFFS:  # the rest of the cut-off series, for the record
        for atoms in frames:
            run(results, atoms, ecut, KMESHES[0])
    summary(results, args.tolerance)


if __name__ == "__main__":
    main()
