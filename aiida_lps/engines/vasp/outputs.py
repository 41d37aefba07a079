"""Readers of VASP's OUTCAR and OSZICAR (plain, ``.bz2``, ``.gz`` or ``.xz``), no AiiDA import.

Units of :func:`read_outcar`: energies eV, forces eV/Å, positions and cell Å, stress eV/Å³ with ASE's sign
convention (σ = (1/V) ∂E/∂ε: a compressed cell has a negative diagonal). VASP prints the stress in kB as
``xx yy zz xy yz zx`` with the opposite sign (a pressure), so ``stress = -0.1 GPa × (kB values)`` as in ASE's
VASP reader.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pathlib
import re
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
from ase.units import GPa

__all__ = (
    "find_output",
    "open_text",
    "read_oszicar",
    "read_outcar",
    "read_vasp_outputs",
    "stress_from_kb",
)

_COMPRESSED = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_FLOAT = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[EeDd][-+]?\d+)?"
_FLOAT_RE = re.compile(_FLOAT)
_ITERATION = re.compile(r"-+\s*Iteration\s+(\d+)\s*\(\s*(\d+)\)")
_VERSION = re.compile(r"vasp\.(\d+(?:\.\d+)*)")
_PARAMETERS = {
    "nions": re.compile(r"NIONS\s*=\s*(\d+)"),
    "nelect": re.compile(r"NELECT\s*=\s*(" + _FLOAT + ")"),
    "nelm": re.compile(r"\bNELM\s*=\s*(\d+)"),
    "nsw": re.compile(r"\bNSW\s*=\s*(\d+)"),
    "ibrion": re.compile(r"\bIBRION\s*=\s*(-?\d+)"),
    "isif": re.compile(r"\bISIF\s*=\s*(\d+)"),
    "ispin": re.compile(r"\bISPIN\s*=\s*(\d+)"),
    "encut": re.compile(r"\bENCUT\s*=\s*(" + _FLOAT + ")"),
    "ediff": re.compile(r"\bEDIFF\s*=\s*(" + _FLOAT + ")"),
    "ediffg": re.compile(r"\bEDIFFG\s*=\s*(" + _FLOAT + ")"),
    "nkpts": re.compile(r"\bNKPTS\s*=\s*(\d+)"),
}
_INTEGER_PARAMETERS = {"nions", "nelm", "nsw", "ibrion", "isif", "ispin", "nkpts"}


def find_output(folder: str | os.PathLike, name: str) -> pathlib.Path:
    """Path of ``name`` in ``folder``, or of its compressed copy (``name.bz2``, ``.gz``, ``.xz``).

    :raises FileNotFoundError: if none exists.
    """
    folder = pathlib.Path(folder)
    for candidate in [folder / name] + [folder / f"{name}{suffix}" for suffix in _COMPRESSED]:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no {name} (plain or compressed) in {folder}")


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a text file for reading, decompressing ``.bz2``, ``.gz`` and ``.xz`` files on the fly."""
    path = pathlib.Path(path)
    opener = _COMPRESSED.get(path.suffix)
    if opener is not None:
        return opener(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def _read(source: str | os.PathLike | IO[str] | IO[bytes]) -> str:
    if hasattr(source, "read"):
        content = source.read()
        return content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    with open_text(source) as handle:
        return handle.read()


def _floats(line: str) -> list[float]:
    return [float(token.replace("D", "E").replace("d", "e")) for token in _FLOAT_RE.findall(line)]


def stress_from_kb(values: Sequence[float]) -> np.ndarray:
    """3×3 stress in eV/Å³ (ASE sign) from OUTCAR's ``in kB`` values ``xx yy zz xy yz zx``."""
    xx, yy, zz, xy, yz, zx = (float(v) for v in values)
    tensor = np.array([[xx, xy, zx], [xy, yy, yz], [zx, yz, zz]])
    return -0.1 * GPa * tensor


def read_outcar(source: str | os.PathLike | IO[str] | IO[bytes]) -> dict[str, Any]:
    """Read the results of an OUTCAR (path, possibly compressed, or an open file).

    Returns a dictionary with ``energy`` (energy(sigma→0) of the last ionic step, eV), ``energy_free`` (TOTEN),
    ``energy_without_entropy``, ``energies`` (energy(sigma→0) per ionic step), ``forces`` (n, 3) eV/Å,
    ``positions`` (n, 3) Å and ``cell`` (3, 3) Å of the last step, ``stress`` (3, 3) eV/Å³ ASE sign and
    ``stress_kb`` (the six kB values as printed) or ``None``, ``fermi_energy`` (eV), ``nelect``, ``nions``,
    ``nelm``, ``nsw``, ``ibrion``, ``isif``, ``ispin``, ``encut`` (eV), ``ediff``, ``ediffg``, ``kpoint_mesh``
    (from the fully automatic scheme) and ``nkpts``, ``potcars`` (TITEL lines), ``vasp_version``,
    ``n_ionic_steps``, ``n_electronic_steps`` (of the last ionic step), ``converged_electronic`` (the last ionic
    step's SCF reached EDIFF within NELM), ``converged_ionic`` (see below) and ``finished`` (timing footer present).

    ``converged_ionic`` is ``True`` for a run without ionic loop (NSW = 0 or IBRION = -1) that completed its step,
    for a relaxation (IBRION 1–3) that printed "reached required accuracy", and for MD (IBRION 0) that ran NSW steps.
    """
    text = _read(source)
    lines = text.splitlines()
    result: dict[str, Any] = {
        "vasp_version": None,
        "potcars": [],
        "kpoint_mesh": None,
        "fermi_energy": None,
        "stress_kb": None,
        "stress": None,
        "forces": None,
        "positions": None,
        "cell": None,
    }
    for key in _PARAMETERS:
        result[key] = None
    energies: list[float] = []
    free_energies: list[float] = []
    without_entropy: list[float] = []
    electronic_steps: dict[int, int] = {}
    scf_status: dict[int, bool] = {}
    ionic = 0
    in_energy_block = False
    relaxation_converged = False
    finished = False

    index = 0
    n_lines = len(lines)
    while index < n_lines:
        line = lines[index]
        if result["vasp_version"] is None and "vasp." in line:
            match = _VERSION.search(line)
            if match:
                result["vasp_version"] = match.group(1)
                result["vasp_version_line"] = line.strip()
        if "Iteration" in line:
            match = _ITERATION.search(line)
            if match:
                ionic = int(match.group(1))
                electronic_steps[ionic] = electronic_steps.get(ionic, 0) + 1
        elif "aborting loop" in line:
            scf_status[ionic] = "EDIFF is reached" in line and "not reached" not in line
        elif "TITEL" in line:
            result["potcars"].append(line.split("=", 1)[1].strip())
        elif "=" in line and any(key.upper() in line for key in _PARAMETERS):
            for key, pattern in _PARAMETERS.items():
                if result[key] is None:
                    match = pattern.search(line)
                    if match:
                        value = match.group(1)
                        result[key] = int(value) if key in _INTEGER_PARAMETERS else float(value)
        if "generate k-points for:" in line:
            result["kpoint_mesh"] = [int(v) for v in line.split(":", 1)[1].split()[:3]]
        elif "E-fermi" in line:
            values = _floats(line.split(":", 1)[1])
            if values:
                result["fermi_energy"] = values[0]
        elif line.lstrip().startswith("in kB"):
            result["stress_kb"] = _floats(line.split("kB", 1)[1])[:6]
        elif "direct lattice vectors" in line:
            result["cell"] = np.array([_floats(lines[index + j])[:3] for j in (1, 2, 3)])
        elif "TOTAL-FORCE (eV/Angst)" in line:
            nions = result["nions"]
            block = [_floats(lines[index + 2 + j]) for j in range(nions)]
            array = np.array([row[:6] for row in block])
            result["positions"] = array[:, :3]
            result["forces"] = array[:, 3:6]
            index += 2 + nions
        elif "FREE ENERGIE OF THE ION-ELECTRON SYSTEM" in line:
            in_energy_block = True
        elif in_energy_block and "TOTEN" in line:
            free_energies.append(_floats(line.split("=", 1)[1])[0])
        elif in_energy_block and "energy(sigma->0)" in line:
            energies.append(float(line.rsplit("=", 1)[1].split()[0]))
            without_entropy.append(_floats(line.split("=", 1)[1])[0])
            in_energy_block = False
        elif "reached required accuracy" in line:
            relaxation_converged = True
        elif "General timing and accounting" in line:
            finished = True
        index += 1

    result["energies"] = energies
    result["energy"] = energies[-1] if energies else None
    result["energy_free"] = free_energies[-1] if free_energies else None
    result["energy_without_entropy"] = without_entropy[-1] if without_entropy else None
    if result["stress_kb"] is not None and len(result["stress_kb"]) == 6:
        result["stress"] = stress_from_kb(result["stress_kb"])
    result["n_ionic_steps"] = len(energies)
    last = max(electronic_steps) if electronic_steps else None
    result["n_electronic_steps"] = electronic_steps.get(last, 0) if last is not None else 0
    if last is None:
        converged_electronic = False
    elif last in scf_status:
        converged_electronic = scf_status[last]
    else:
        converged_electronic = result["nelm"] is not None and electronic_steps[last] < result["nelm"]
    result["converged_electronic"] = bool(converged_electronic)

    nsw, ibrion = result["nsw"] or 0, result["ibrion"]
    if nsw == 0 or ibrion == -1:
        converged_ionic = len(energies) >= 1
    elif ibrion in (1, 2, 3):
        converged_ionic = relaxation_converged
    elif ibrion == 0:
        converged_ionic = len(energies) >= nsw
    else:
        converged_ionic = finished
    result["converged_ionic"] = bool(converged_ionic)
    result["finished"] = finished
    return result


_OSZICAR_VALUE = re.compile(r"(?:^|\s)(F|E0|d E|mag|T|E|EK|SP|SK)\s*=\s*(" + _FLOAT + ")")
_OSZICAR_SCF = re.compile(r"^\s*(DAV|RMM|CG|SDA|DIA|EDD)\s*:\s*\d+")
_OSZICAR_KEYS = {"d E": "dE"}  # other keys keep their OSZICAR name


def read_oszicar(source: str | os.PathLike | IO[str] | IO[bytes]) -> list[dict[str, float]]:
    """Ionic steps of an OSZICAR: ``step``, ``F`` (eV), ``E0`` (energy(sigma→0), eV), ``dE``, ``mag`` (μB) where
    printed (MD lines add ``T`` K, ``E``, ``EK``, ...), and ``n_electronic`` (SCF steps of that ionic step)."""
    steps: list[dict[str, float]] = []
    n_scf = 0
    for line in io.StringIO(_read(source)):
        if _OSZICAR_SCF.match(line):
            n_scf += 1
            continue
        tokens = line.split()
        if tokens and tokens[0].isdigit() and "F=" in line:
            entry: dict[str, float] = {"step": int(tokens[0])}
            for key, value in _OSZICAR_VALUE.findall(line):
                entry[_OSZICAR_KEYS.get(key, key)] = float(value)
            entry["n_electronic"] = n_scf
            steps.append(entry)
            n_scf = 0
    return steps


def read_vasp_outputs(folder: str | os.PathLike) -> dict[str, Any]:
    """Read OUTCAR (required) and OSZICAR (optional, under ``oszicar``) of a run folder; compressed files work."""
    result = read_outcar(find_output(folder, "OUTCAR"))
    try:
        result["oszicar"] = read_oszicar(find_output(folder, "OSZICAR"))
    except FileNotFoundError:
        result["oszicar"] = None
    return result
