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

from aiida_lps.dft.protocol_file import protocol_inputs
from aiida_lps.engines.gpaw import runner
from aiida_lps.engines.gpaw.settings import gpaw_parameters
from aiida_lps.structures.reference import load_structure


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", default="fast")
    parser.add_argument("--structure", default="beta-Li3PS4")
    parser.add_argument("--cores", type=int, default=1)
    args = parser.parse_args()

    import gpaw_data

    atoms = AseAtomsAdaptor.get_atoms(load_structure(args.structure))
    parameters = gpaw_parameters("single_point", atoms.cell[:], protocol_inputs("gpaw", args.protocol))
    xc = parameters["calculator"]["xc"]
    gpaw = pathlib.Path(sys.prefix) / "bin" / "gpaw"
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        (folder / "setups").mkdir()
        for element in sorted(set(atoms.get_chemical_symbols())):
            source = pathlib.Path(gpaw_data.__file__).parent / "setups" / f"{element}.{xc}.gz"
            (folder / "setups" / f"{element}.{xc}").write_bytes(gzip.decompress(source.read_bytes()))
        ase.io.write(folder / "structure.json", atoms)
        (folder / "parameters.json").write_text(json.dumps(parameters))
        shutil.copy(runner.__file__, folder / "run_gpaw.py")
        command = [str(gpaw), "python", "run_gpaw.py"]
        if args.cores > 1:
            command = ["mpiexec", "-n", str(args.cores), *command]
        start = time.perf_counter()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}  # one core per MPI process
        subprocess.run(command, cwd=folder, check=True, stdout=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - start
        results = json.loads((folder / "results.json").read_text())
    if results.get("error"):
        raise SystemExit(f"GPAW failed: {results['error']}: {results.get('message')}")
    calc = parameters["calculator"]
    print(f"structure      : {args.structure} ({len(atoms)} atoms)")
    print(f"protocol       : {args.protocol} (ecut {calc['mode'].get('ecut')} eV, k-mesh {calc['kpts']['size']}, {xc})")
    print(f"SCF iterations : {results['scf_iterations']}")
    print(f"energy         : {results['energy']:.4f} eV")
    print(f"wall time      : {wall:.1f} s on {args.cores} core(s) (GPAW {results['gpaw_version']})")


if __name__ == "__main__":
    main()
