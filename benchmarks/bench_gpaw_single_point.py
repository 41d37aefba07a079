#!/usr/bin/env python
"""Benchmark: GPAW single point of the 32-atom β-Li3PS4 cell with a GPAW protocol (default ``fast``).

    python benchmarks/bench_gpaw_single_point.py [--protocol fast] [--structure beta-Li3PS4] [--cores 1]

Runs the project's GPAW runner (the script ``lps.gpaw`` executes) on the same inputs the engine layer generates,
in a temporary folder, without AiiDA, and prints the wall time, SCF iterations, plane-wave cut-off and k-mesh.
With ``--cores N > 1`` it runs under ``mpiexec -n N`` (needs a GPAW built with MPI).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import ase.io
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.engines.gpaw import runner
from aiida_lps.engines.gpaw.settings import gpaw_parameters, is_lcao
from aiida_lps.protocols import protocol_inputs
from aiida_lps.structures.reference import load_structure


def run_runner(atoms, parameters: dict, cores: int = 1) -> tuple[dict, float]:
    """Run the project's GPAW runner (what ``lps.gpaw`` executes) on ``atoms`` in a temporary folder.

    PAW datasets (and dzp basis files in LCAO mode) come from gpaw-data; one BLAS/OpenMP thread per process, under
    ``mpiexec -n cores`` when ``cores > 1``. Returns ``results.json`` and the wall time (s); raises on a GPAW error.
    """
    import gpaw_data

    xc = parameters["calculator"]["xc"]
    source = pathlib.Path(gpaw_data.__file__).parent / "setups"
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        (folder / "setups").mkdir()
        for element in sorted(set(atoms.get_chemical_symbols())):
            names = [f"{element}.{xc}"] + ([f"{element}.dzp.basis"] if is_lcao(parameters["calculator"]) else [])
            for name in names:
                (folder / "setups" / name).write_bytes(gzip.decompress((source / f"{name}.gz").read_bytes()))
        ase.io.write(folder / "structure.json", atoms)
        (folder / "parameters.json").write_text(json.dumps(parameters))
        shutil.copy(runner.__file__, folder / "run_gpaw.py")
        command = [str(pathlib.Path(sys.prefix) / "bin" / "gpaw"), "python", "run_gpaw.py"]
        if cores > 1:
            command = ["mpiexec", "-n", str(cores), *command]
        start = time.perf_counter()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}  # one core per MPI process
        subprocess.run(command, cwd=folder, check=True, stdout=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - start
        results = json.loads((folder / "results.json").read_text())
    if results.get("error"):
        raise RuntimeError(f"GPAW failed: {results['error']}: {results.get('message')}")
    return results, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", default="fast")
    parser.add_argument("--structure", default="beta-Li3PS4")
    parser.add_argument("--cores", type=int, default=1)
    args = parser.parse_args()

    atoms = AseAtomsAdaptor.get_atoms(load_structure(args.structure))
    parameters = gpaw_parameters("single_point", atoms.cell[:], protocol_inputs("gpaw", args.protocol))
    try:
        results, wall = run_runner(atoms, parameters, args.cores)
    except RuntimeError as error:
        raise SystemExit(str(error)) from None
    calc = parameters["calculator"]
    print(f"structure      : {args.structure} ({len(atoms)} atoms)")
    mode = f"ecut {calc['mode'].get('ecut')} eV" if not is_lcao(calc) else "LCAO dzp"
    print(f"protocol       : {args.protocol} ({mode}, k-mesh {calc['kpts']['size']}, {calc['xc']})")
    print(f"SCF iterations : {results['scf_iterations']}")
    print(f"energy         : {results['energy']:.4f} eV")
    print(f"wall time      : {wall:.1f} s on {args.cores} core(s) (GPAW {results['gpaw_version']})")


if __name__ == "__main__":
    main()
