"""Production-scale trajectory reduction of ``lps.lammps.md``: a 12 000-atom x 8 000-frame run, reduced in the job.

Builds a synthetic trajectory of production size on disk in LAMMPS's binary dump format (the format the production
path makes LAMMPS write; the reader is checked against LAMMPS's own binary dumps in
``tests/engines/test_lammps_reduce.py``): a Li3PS4-like composition (3/8 Li random walkers with D = 1e-5 cm²/s,
the P/S framework vibrating by 0.1 Å around fixed sites), 0.1 ps between frames. Then runs what the job script of
``lps.lammps.md`` runs after LAMMPS when ``reduce_code`` is set,

    python -m aiida_lps.engines.lammps.reduce reduce.json

in a fresh process, copies the ``.npz`` it writes (the only trajectory file retrieved) and loads it as the parser
does. Prints: dump size, reducer time (read + analysis), its peak memory, retrieved bytes, load time, and D.
For comparison the fallback path (text dump retrieved and parsed by ``read_dump``) is measured on the first
``--text-frames`` frames written as text and extrapolated to the full length.

The dump's pages are dropped from the page cache after writing (``posix_fadvise DONTNEED``; ``--warm`` keeps
them), so the reducer reads from the disk as on a cluster node whose memory did not keep the file.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/bench_production_reduction.py
    .venv/bin/python benchmarks/bench_production_reduction.py --atoms 1200 --frames 2000   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

D_TRUE = 1e-5  # cm²/s
TIMESTEP_FS = 1.0
DUMP_INTERVAL = 100  # steps: 0.1 ps between frames
COLUMNS = b"id type xu yu zu"


def _frame_header(step: int, n_atoms: int, box: float) -> bytes:
    """Header of one frame of a LAMMPS binary ``dump custom`` (format revision 2, orthogonal box, one chunk)."""
    return b"".join(
        [
            struct.pack("q", -10),
            b"DUMPCUSTOM",
            struct.pack("ii", 1, 2),  # endianness, format revision
            struct.pack("qqi", step, n_atoms, 0),  # step, atoms, not triclinic
            struct.pack("6i", *([0] * 6)),  # periodic boundaries
            struct.pack("6d", 0.0, box, 0.0, box, 0.0, box),
            struct.pack("i", 5),  # values per atom
            struct.pack("i", 0),  # no unit style
            struct.pack("b", 0),  # no time
            struct.pack("i", len(COLUMNS)),
            COLUMNS,
            struct.pack("ii", 1, 5 * n_atoms),  # one chunk of 5 n values
        ]
    )


def write_dumps(folder: pathlib.Path, n_atoms: int, n_frames: int, text_frames: int, seed: int) -> dict:
    """Write ``trajectory.bin`` (all frames) and ``trajectory.dump`` (the first ``text_frames``, same positions)."""
    rng = np.random.default_rng(seed)
    n_li = 3 * n_atoms // 8
    n_p = (n_atoms - n_li) // 5
    types = np.array([1] * n_li + [2] * n_p + [3] * (n_atoms - n_li - n_p), dtype=np.float64)
    box = (25.0 * n_atoms) ** (1.0 / 3.0)  # ~25 Å³ per atom
    sites = rng.uniform(0.0, box, size=(n_atoms, 3))
    li = sites[:n_li].copy()
    step_sigma = np.sqrt(2.0 * D_TRUE * 1e4 * DUMP_INTERVAL * TIMESTEP_FS * 1e-3)  # Å per frame and axis
    table = np.empty((n_atoms, 5))
    table[:, 0] = np.arange(1, n_atoms + 1)
    table[:, 1] = types
    start = time.perf_counter()
    with open(folder / "trajectory.bin", "wb") as binary, open(folder / "trajectory.dump", "w") as text:
        for frame in range(n_frames):
            if frame:
                li += rng.normal(scale=step_sigma, size=li.shape)
            table[:n_li, 2:] = li
            table[n_li:, 2:] = sites[n_li:] + rng.normal(scale=0.1, size=(n_atoms - n_li, 3))
            step = frame * DUMP_INTERVAL
            binary.write(_frame_header(step, n_atoms, box))
            binary.write(table.tobytes())
            if frame < text_frames:
                text.write(
                    f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{n_atoms}\nITEM: BOX BOUNDS pp pp pp\n"
                    f"0 {box}\n0 {box}\n0 {box}\nITEM: ATOMS id type xu yu zu\n"
                )
                np.savetxt(text, table, fmt="%d %d %.6f %.6f %.6f")
        binary.flush()
        os.fsync(binary.fileno())
    return {"write_s": round(time.perf_counter() - start, 1), "n_li": n_li, "box_A": box}


def _drop_from_page_cache(path: pathlib.Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atoms", type=int, default=12000)
    parser.add_argument("--frames", type=int, default=8000)
    parser.add_argument("--text-frames", type=int, default=100, help="frames also written as text (fallback path)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a new one under $TMPDIR)")
    parser.add_argument("--warm", action="store_true", help="leave the dump in the page cache")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--reuse", action="store_true", help="reuse the dumps of a kept --workdir (same sizes)")
    args = parser.parse_args(argv)
    if args.frames < 100:
        parser.error("--frames must be at least 100")
    folder = pathlib.Path(args.workdir or tempfile.mkdtemp(prefix="lps-bench-prod-"))
    folder.mkdir(parents=True, exist_ok=True)
    summary: dict = {"settings": vars(args), "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    try:
        binary = folder / "trajectory.bin"
        if args.reuse and binary.is_file():
            n_li = 3 * args.atoms // 8
            summary["dumps"] = {"write_s": 0.0, "n_li": n_li, "box_A": (25.0 * args.atoms) ** (1.0 / 3.0)}
        else:
            text_frames = min(args.text_frames, args.frames)
            summary["dumps"] = write_dumps(folder, args.atoms, args.frames, text_frames, args.seed)
        summary["dumps"]["binary_bytes"] = binary.stat().st_size
        if not args.warm:
            _drop_from_page_cache(binary)
        print(
            f"wrote {binary.stat().st_size / 2**30:.2f} GiB binary dump in {summary['dumps']['write_s']} s", flush=True
        )

        production_steps = (args.frames - 1) * DUMP_INTERVAL
        settings = {
            "dumps": ["trajectory.bin"],
            "type_elements": ["Li", "P", "S"],
            "timestep_fs": TIMESTEP_FS,
            "production_steps": production_steps,
            "expected_frames": args.frames,
            "analysis": {
                "species": ["Li"],
                "charges": {"Li": 1.0},
                "regions": None,
                "window": [0.1, 0.5],
                "n_blocks": 5,
                "drift": "com",
                "subdiffusive_threshold": 0.9,
                "trajectory_stride": 0,
            },
            "delete_dumps": False,
        }
        (folder / "reduce.json").write_text(json.dumps(settings))
        # the reducer as the job script runs it: its own interpreter, in the folder of the dump
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "aiida_lps.engines.lammps.reduce", "reduce.json"],
            cwd=folder,
            check=True,
            capture_output=True,
            text=True,
        )
        reduce_wall = time.perf_counter() - start
        reducer = json.loads(done.stdout)
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        summary["reduce"] = {**reducer, "wall_s": round(reduce_wall, 1), "peak_rss_mib": round(child_rss, 1)}

        # "retrieve": the only trajectory file that leaves the remote folder
        retrieved = folder / "retrieved"
        retrieved.mkdir()
        start = time.perf_counter()
        shutil.copy(folder / "trajectory_msd.npz", retrieved / "trajectory_msd.npz")
        copy_s = time.perf_counter() - start
        from aiida_lps.engines.lammps.reduce import load_reduced
        from aiida_lps.science.diffusion import nernst_einstein_conductivity, number_density

        start = time.perf_counter()
        reduced = load_reduced(retrieved / "trajectory_msd.npz")
        li = reduced.species["Li"]
        sigma = nernst_einstein_conductivity(
            li["D"], number_density(summary["dumps"]["n_li"], summary["dumps"]["box_A"] ** 3), 800.0, 1.0
        )
        parse_s = time.perf_counter() - start
        summary["retrieve_parse"] = {
            "retrieved_bytes": (retrieved / "trajectory_msd.npz").stat().st_size,
            "copy_s": round(copy_s, 3),
            "load_s": round(parse_s, 3),
            "D_cm2_s": li["D"],
            "D_stderr_cm2_s": li["D_stderr"],
            "D_true_cm2_s": D_TRUE,
            "sigma_S_cm_at_800K": sigma,
        }

        # fallback path: the text dump parsed by read_dump (measured on the first frames, extrapolated)
        from aiida_lps.engines.lammps.outputs import read_dump

        text = folder / "trajectory.dump"
        text_frames = min(args.text_frames, args.frames)
        start = time.perf_counter()
        with open(text) as handle:
            read_dump(handle, expected_frames=text_frames)
        text_s = time.perf_counter() - start
        text_bytes = text.stat().st_size
        summary["text_fallback"] = {
            "frames_measured": text_frames,
            "parse_MiB_s": round(text_bytes / 2**20 / text_s, 1),
            "projected_dump_bytes": int(text_bytes * args.frames / text_frames),
            "projected_parse_s": round(text_s * args.frames / text_frames, 1),
        }
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    summary["load_average_after"] = os.getloadavg()
    r, rp, fb = summary["reduce"], summary["retrieve_parse"], summary["text_fallback"]
    total = r["wall_s"] + rp["copy_s"] + rp["load_s"]
    print(
        f"{args.atoms} atoms x {args.frames} frames, binary dump {summary['dumps']['binary_bytes'] / 2**30:.2f} GiB "
        f"({'warm' if args.warm else 'cold'} page cache), load average {summary['load_average'][0]:.1f} on "
        f"{summary['cpus']} CPUs\n"
        f"reduce in the job: {r['wall_s']} s wall (read {r['read_s']} s + analysis {r['analysis_s']} s), "
        f"{r['cpu_s']} s CPU, peak RSS {r['peak_rss_mib'] / 1024:.2f} GiB\n"
        f"retrieved: {rp['retrieved_bytes'] / 1e6:.2f} MB (the .npz), copy {rp['copy_s']} s, "
        f"load {rp['load_s']} s\n"
        f"total reduce + retrieve + parse: {total:.1f} s; D(Li) = {rp['D_cm2_s']:.3e} +- {rp['D_stderr_cm2_s']:.1e} "
        f"cm2/s (true {D_TRUE:.0e})\n"
        f"fallback (text dump retrieved and parsed): {fb['projected_dump_bytes'] / 1e9:.2f} GB to copy, parse "
        f"{fb['parse_MiB_s']} MiB/s -> {fb['projected_parse_s']} s projected from {fb['frames_measured']} frames",
        flush=True,
    )
    print(json.dumps(summary, default=str))
    return summary


if __name__ == "__main__":
    main()
