"""Benchmark: CPU time of one VASP OUTCAR read (the recorded Li7P3S11 runs of ``tests/data``).

* ``read_xch_outcar`` of a core-hole OUTCAR (84 atoms, CH_LSPEC spectrum; what the calcfunction
  ``normalise_vasp_xch`` does once per run), from the plain file and from the ``.bz2`` copy;
* ``read_outcar`` of the ground-state OUTCAR (what ``normalise_vasp_outputs`` does once per plain DFT run).

CPU time (``time.process_time``, median of ``--repeat`` calls after one warm-up) rather than wall time, so that
the figure means something on a loaded machine. On 2026-12-02 (load average ~18 on 2 cores) the reader that
ran pymatgen's ``Outcar.__init__`` and a second pass for ECORE took 0.58 s (plain), 0.72 s (``.bz2``) and
0.11 s (ground state, read twice by ``VaspEngine.normalise``); the one-pass reader 0.27, 0.46 and 0.05 s (once).

Run from the repository root::

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_outcar_read.py --repeat 5
"""

from __future__ import annotations

import argparse
import bz2
import pathlib
import statistics
import tempfile
import time

from aiida_lps.engines.vasp.outputs import read_outcar
from aiida_lps.engines.vasp.xch import read_xch_outcar

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
SITE = DATA / "xas" / "vasp-xch-Li7P3S11-sites" / "site_1" / "OUTCAR.bz2"
GROUND = DATA / "vasp" / "vasp-xch-Li7P3S11" / "ground_state" / "OUTCAR.bz2"


def _cpu(call, repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per case (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        site, ground = pathlib.Path(directory) / "site", pathlib.Path(directory) / "ground"
        site.write_bytes(bz2.open(SITE).read())
        ground.write_bytes(bz2.open(GROUND).read())
        cases = {
            "read_xch_outcar, plain core-hole OUTCAR": lambda: read_xch_outcar(site),
            "read_xch_outcar, .bz2 core-hole OUTCAR": lambda: read_xch_outcar(SITE),
            "read_outcar, plain ground-state OUTCAR": lambda: read_outcar(ground),
        }
        for name, call in cases.items():
            print(f"{name}: {_cpu(call, args.repeat):.3f} s CPU (median of {args.repeat})")


if __name__ == "__main__":
    main()
