#!/usr/bin/env python
"""Benchmark: wall time of ``lps.diffusion`` (one temperature) against the same LAMMPS input run by hand.

    python benchmarks/bench_workflow_overhead.py [--repeat 10] [--steps 20000] [--pairs 3]

Needs a loaded profile (``AIIDA_PATH`` as set by scripts/run-main.sh) with the ``lmp@localhost`` code. The
MD is Lennard-Jones argon (4·repeat³ atoms); both runs use the identical script (binary dump) and data file written
by the LAMMPS adapter. ``--pairs`` pairs of runs, interleaved, with the order alternating (hand first, then workflow
first, …) so that drifts of the shared machine hit both alike. Prints every pair, the medians and the ratio of the
medians (goal: <= 1.10 for a ~1-minute MD).
"""

from __future__ import annotations

import argparse
import pathlib
import re
import statistics
import subprocess
import tempfile
import time

from aiida import load_profile, orm
from aiida.engine import run_get_node

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import BINARY_DUMP_FILENAME, DATA_FILENAME, MDSettings, md_script, write_data_file
from aiida_lps.reference import lennard_jones
from aiida_lps.workflows.diffusion import DiffusionWorkChain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--code", default="lmp@localhost")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved (hand, workflow) pairs, order alternating")
    args = parser.parse_args()
    load_profile()
    code = orm.load_code(args.code)
    atoms = lennard_jones.argon_fcc(args.repeat)
    potential = InteratomicPotentialData(**lennard_jones.potential_arguments())
    md = {
        "timestep_fs": 5.0,
        "equilibration_steps": args.steps // 5,
        "production_steps": args.steps,
        "dump_interval": 100,
        "thermo_interval": 1000,
        "initial_temperature": 400.0,
    }
    settings = MDSettings(temperature=94.4, **md)

    builder = DiffusionWorkChain.get_builder_from_protocol(
        code,
        orm.StructureData(ase=atoms),
        potential=potential,
        temperatures=[94.4],
        protocol="fast",
        overrides={"parameters": md},
        species="Ar",
        charge=0.0,
    )

    loops = {"by_hand": [], "workflow": []}  # LAMMPS's own `Loop time` (s) of each run

    def loop_time(log: str) -> float:
        return sum(float(x) for x in re.findall(r"^Loop time of ([0-9.eE+-]+) on", log, re.MULTILINE))

    def by_hand() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp)
            (folder / DATA_FILENAME).write_text(write_data_file(atoms, potential.elements))
            # the script `lps.lammps.md` writes (binary dump)
            script = md_script(settings, potential.lammps_commands(), BINARY_DUMP_FILENAME)
            (folder / "input.in").write_text(script)
            start = time.perf_counter()
            # the code's prepend text too (the compiled `lmp` of `aiida-lps setup` needs its MPI library path)
            command = f"{code.prepend_text}\n'{code.filepath_executable}' -in input.in -log log.lammps"
            subprocess.run(["bash", "-c", command], cwd=folder, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            loops["by_hand"].append(loop_time((folder / "log.lammps").read_text()))
            return wall

    def workflow() -> float:
        start = time.perf_counter()
        _, node = run_get_node(builder)
        wall = time.perf_counter() - start
        assert node.is_finished_ok, node.exit_message
        (calcjob,) = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
        loops["workflow"].append(loop_time(calcjob.outputs.retrieved.base.repository.get_object_content("log.lammps")))
        return wall

    print(f"atoms: {len(atoms)}, MD steps: {settings.equilibration_steps + settings.production_steps}")
    hand_times, workflow_times = [], []
    for pair in range(args.pairs):
        order = (by_hand, workflow) if pair % 2 == 0 else (workflow, by_hand)
        walls = {run.__name__: run() for run in order}
        hand_times.append(walls["by_hand"])
        workflow_times.append(walls["workflow"])
        print(
            f"pair {pair + 1} ({order[0].__name__} first): by hand {walls['by_hand']:8.2f} s, "
            f"lps.diffusion {walls['workflow']:8.2f} s, ratio {walls['workflow'] / walls['by_hand']:.3f}; LAMMPS loop "
            f"time by hand {loops['by_hand'][-1]:.2f} s, in the work chain {loops['workflow'][-1]:.2f} s"
        )
    hand, flow = statistics.median(hand_times), statistics.median(workflow_times)
    print(f"LAMMPS by hand      : median {hand:8.2f} s (min {min(hand_times):.2f}, max {max(hand_times):.2f})")
    print(f"lps.diffusion (1 T) : median {flow:8.2f} s (min {min(workflow_times):.2f}, max {max(workflow_times):.2f})")
    print(f"ratio of medians    : {flow / hand:8.3f}")
    hand_loop, flow_loop = statistics.median(loops["by_hand"]), statistics.median(loops["workflow"])
    print(
        f"LAMMPS loop time    : median by hand {hand_loop:.2f} s, in the work chain {flow_loop:.2f} s; "
        "the work chain's "
        f"time outside its LAMMPS loop minus the same by hand: {(flow - flow_loop) - (hand - hand_loop):.2f} s"
    )


if __name__ == "__main__":
    main()
