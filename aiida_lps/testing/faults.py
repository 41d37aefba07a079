"""Fake LAMMPS executables that inject one fault deterministically, for fault-handling tests.

Each fake is a small Python script called like ``lmp -in <input> -log <log>``: it runs the real LAMMPS (or not) and
then damages what it wrote. With ``once=True`` only the first call misbehaves (a marker file next to the script
remembers it), so a restart can be seen to recover.
"""

from __future__ import annotations

import pathlib
import stat
import sys
import textwrap

__all__ = ("FAULTS", "make_fake_lammps")

FAULTS = {
    "crash": "run LAMMPS, then cut its log at 40 % and die like a segfault (exit 139)",
    "nan": "run LAMMPS, then write `nan` into the first thermo row of the production",
    "truncated": "run LAMMPS, then cut the (binary) trajectory dump in the middle of a frame",
    "disk_full": "write the start of a log, fail writing the dump with ENOSPC (exit 1)",
    "hang": "sleep far past any wall time",
}

_SCRIPT = '''#!{python}
"""aiida-lps fake LAMMPS: fault {fault!r} (once={once})."""
import os, pathlib, subprocess, sys, time

args = sys.argv[1:]
log = pathlib.Path(args[args.index("-log") + 1]) if "-log" in args else pathlib.Path("log.lammps")
marker = pathlib.Path({marker!r})
fault = {fault!r}
if {once}:
    try:  # atomic: of several concurrent calls exactly one misbehaves
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        fault = None  # the fault happened already: behave
if fault == "hang":
    time.sleep(100000)
if fault == "disk_full":
    log.write_text("LAMMPS (fake)\\nRead data file ...\\n")
    sys.stderr.write("ERROR: Cannot open dump file trajectory.bin: No space left on device\\n")
    sys.exit(1)
done = subprocess.run([{lmp!r}, *args])
if fault == "crash":
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[: int(0.4 * len(lines))]))
    sys.stderr.write("Segmentation fault (core dumped)\\n")
    sys.exit(139)
if fault == "nan":
    lines = log.read_text().splitlines(keepends=True)
    heads = [i for i, line in enumerate(lines) if line.split()[:1] == ["Step"]]
    row = heads[-1] + 1
    fields = lines[row].split()
    fields[-1] = "nan"
    lines[row] = " ".join(fields) + "\\n"
    log.write_text("".join(lines))
if fault == "truncated":
    dump = pathlib.Path("trajectory.bin")
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2 + 7])
sys.exit(done.returncode)
'''


def make_fake_lammps(directory: pathlib.Path, fault: str, lmp: str, once: bool = False) -> pathlib.Path:
    """Write an executable fake LAMMPS with ``fault`` (a key of :data:`FAULTS`) into ``directory``; return its path.

    :param lmp: the real LAMMPS executable the fake calls.
    """
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose from {sorted(FAULTS)}")
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"lmp-{fault}{'-once' if once else ''}"
    marker = directory / f".{path.name}.happened"
    marker.unlink(missing_ok=True)
    text = _SCRIPT.format(python=sys.executable, fault=fault, once=once, marker=str(marker), lmp=lmp)
    path.write_text(textwrap.dedent(text))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
