#!/usr/bin/env python
"""Make a DFT-labelled Li-P-S data set for the MLIP benchmarks: MD frames of β-Li3PS4 labelled with GPAW.

Configurations come from cheap MD with the pair-potential teacher of ``bench_active_learning.py`` (it only has to
visit plausible, diverse structures); every configuration is then labelled by GPAW through the project's runner
(the script ``lps.gpaw`` executes), with the inputs the engine layer generates for ``--protocol`` (default
``lcao``: PBE, dzp basis, 0.5 Å⁻¹ k-spacing). Each label runs on one core; ``--workers`` labels run at once.

Conditions (temperature K, isotropic strain) per frame group, and the split written into ``info['subset']``:

* ``pool``: NVT MD at 300, 600, 900, 1200 K, strains -5/0/+5 % (the exploration pool of the benchmarks);
* ``test``: separate MD runs (other seeds) at 450, 750, 1050 K, strains -3/0/+3 % (held out).

Results are appended frame by frame to the output extended XYZ (energy eV, forces eV/Å, stress eV/Å³ when the mode
gives one), so an interrupted run resumes where it stopped.

    python benchmarks/make_gpaw_dataset.py [--protocol lcao] [--per-condition 6] [--workers 2] \
        [--output benchmarks/data/beta_li3ps4_gpaw_lcao.xyz]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import pathlib
import sys
import tempfile
import time

import ase.io
import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.stress import full_3x3_to_voigt_6_stress

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from bench_active_learning import teacher_md  # noqa: E402
from bench_gpaw_single_point import run_runner  # noqa: E402

from aiida_lps.engines.gpaw.settings import gpaw_parameters  # noqa: E402
from aiida_lps.protocols import protocol_inputs  # noqa: E402

POOL = {"temperatures": (300.0, 600.0, 900.0, 1200.0), "strains": (-0.05, 0.0, 0.05), "seed": 100}
TEST = {"temperatures": (450.0, 750.0, 1050.0), "strains": (-0.03, 0.0, 0.03), "seed": 900}


def frames(atoms, spec: dict, per_condition: int, workdir: pathlib.Path) -> list:
    """Teacher-MD frames (ase.Atoms) for every (temperature, strain) of ``spec``, with their conditions in info."""
    out = []
    for k, (temperature, strain) in enumerate((t, s) for t in spec["temperatures"] for s in spec["strains"]):
        strained = atoms.copy()
        strained.set_cell(atoms.cell[:] * (1 + strain), scale_atoms=True)
        for positions, cell in teacher_md(strained, temperature, per_condition, 100, spec["seed"] + k, workdir):
            frame = ase.Atoms(numbers=atoms.numbers, positions=positions, cell=cell, pbc=True)
            frame.info.update(temperature=temperature, strain=strain)
            out.append(frame)
    return out


def label(atoms: ase.Atoms, protocol: str, overrides: dict | None = None) -> tuple[ase.Atoms, float]:
    """GPAW single point of ``atoms`` with the project's runner on one core; returns labelled atoms and wall time.

    ``overrides``: calculator keywords replacing the protocol's (e.g. ``{"kpts": ..., "mode": ...}``).
    """
    inputs = protocol_inputs("gpaw", protocol)
    inputs = {**inputs, "calculator": {**inputs["calculator"], **(overrides or {})}}
    parameters = gpaw_parameters("single_point", atoms.cell[:], inputs)
    results, wall = run_runner(atoms, parameters)
    labelled = atoms.copy()
    stress = results.get("stress")
    labelled.calc = SinglePointCalculator(
        labelled,
        energy=results["energy"],
        forces=np.array(results["forces"]),
        stress=None if stress is None else full_3x3_to_voigt_6_stress(np.array(stress)),
    )
    labelled.info["scf_iterations"] = results.get("scf_iterations")
    labelled.info["label_seconds"] = round(wall, 2)
    return labelled, wall


def _flat(overrides: dict) -> dict:
    """Overrides as flat extxyz info entries (ecut eV, k-mesh)."""
    flat = {}
    if "mode" in overrides:
        flat["ecut"] = overrides["mode"]["ecut"]
    if "kpts" in overrides:
        flat["kmesh"] = "x".join(str(k) for k in overrides["kpts"]["size"])
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="lcao")
    parser.add_argument("--per-condition", type=int, default=6, help="pool frames per (T, strain); test gets half")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ecut", type=float, default=None, help="plane-wave cut-off (eV) instead of the protocol's")
    parser.add_argument("--kpts", type=int, nargs=3, default=None, help="Γ-centred k-mesh instead of the spacing")
    parser.add_argument("--limit", type=int, default=None, help="label at most this many frames (timing)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure

    overrides = {}
    if args.ecut:
        overrides["mode"] = {"name": "pw", "ecut": args.ecut}
    if args.kpts:
        overrides["kpts"] = {"size": args.kpts, "gamma": True}
    output = pathlib.Path(args.output or f"benchmarks/data/beta_li3ps4_gpaw_{args.protocol}.xyz")
    output.parent.mkdir(parents=True, exist_ok=True)
    atoms = AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="gpaw-dataset-"))
    todo = []
    for subset, spec, count in (("pool", POOL, args.per_condition), ("test", TEST, max(1, args.per_condition // 2))):
        for index, frame in enumerate(frames(atoms, spec, count, workdir)):
            frame.info.update(subset=subset, frame_id=f"{subset}-{index}", protocol=args.protocol, **_flat(overrides))
            todo.append(frame)
    done = set()
    if output.exists():
        done = {a.info["frame_id"] for a in ase.io.read(output, index=":", format="extxyz")}
    todo = [f for f in todo if f.info["frame_id"] not in done]
    # interleave pool and test frames (and conditions) so that a partial run still has both
    rng = np.random.default_rng(0)
    todo = [todo[i] for i in rng.permutation(len(todo))][: args.limit]
    print(f"{len(done)} frames already labelled, {len(todo)} to go ({args.workers} workers, protocol {args.protocol})")
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(label, frame, args.protocol, overrides): frame for frame in todo}
        for count, future in enumerate(concurrent.futures.as_completed(futures), 1):
            frame = futures[future]
            try:
                labelled, wall = future.result()
            except Exception as exception:  # record and go on: one failed label does not stop the set
                print(f"{frame.info['frame_id']}: failed ({exception})")
                continue
            ase.io.write(output, labelled, format="extxyz", append=True)
            print(f"{count}/{len(todo)} {frame.info['frame_id']}: {wall:.1f} s", flush=True)
    print(f"labelled {len(todo)} frames in {time.perf_counter() - start:.0f} s -> {output}")


if __name__ == "__main__":
    main()
