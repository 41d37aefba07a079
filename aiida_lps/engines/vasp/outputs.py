"""Readers of VASP's OUTCAR and OSZICAR (plain, ``.bz2``, ``.gz`` or ``.xz``) through ASE and pymatgen; no AiiDA.

* ASE's ``vasp-out`` reader (``ase.io.read(..., index=":")``): energy(sigma→0) and TOTEN per ionic step, forces,
  positions, cell and stress (eV/Å³, ASE's sign convention σ = (1/V) ∂E/∂ε: a compressed cell has a negative
  diagonal; VASP prints the opposite sign in kB).
* pymatgen's ``Outcar.read_pattern`` (one pass over the file for every pattern at once): the INCAR echo (NELECT,
  NELM, NSW, IBRION, ...), POTCAR titles, VASP version, k-mesh, the kB stress line, the SCF loop markers
  (``Iteration``, ``aborting loop``) that neither library interprets, and with pymatgen's own patterns the Fermi
  energy, the energy without entropy and the timing footer. pymatgen's ``Outcar.__init__`` is not run: it makes
  some thirty passes over the file for quantities not used here (magnetisation and charge tables, NMR, DFPT, ...)
  and took more time than everything else together (see :func:`outcar_reader`).
* pymatgen's ``Oszicar``: the ionic steps of an OSZICAR.

Units: energies eV, forces eV/Å, positions and cell Å, stress eV/Å³.
"""

from __future__ import annotations

import bz2
import contextlib
import functools
import gzip
import lzma
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np
from ase.units import GPa

__all__ = (
    "outcar_reader",
    "find_output",
    "open_text",
    "read_oszicar",
    "read_outcar",
    "read_vasp_outputs",
    "stress_from_kb",
)

_COMPRESSED = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_FLOAT = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[EeDd][-+]?\d+)?"
#: ``Outcar.read_pattern`` patterns of what pymatgen's ``Outcar`` does not read itself.
_PATTERNS = {
    "version": r"vasp\.(\d+(?:\.\d+)*)",
    "titel": r"TITEL\s*=\s*(.*\S)",
    "kpoint_mesh": r"generate k-points for:\s+(\d+)\s+(\d+)\s+(\d+)",
    "stress_kb": r"^\s*in kB" + (r"\s+(" + _FLOAT + ")") * 6,
    "iteration": r"-\s*Iteration\s+(\d+)\s*\(\s*(\d+)\)",
    "aborting": r"aborting loop(.*)",
    "accuracy": r"(reached required accuracy)",
    "nions": r"NIONS\s*=\s*(\d+)",
    "nelect": r"NELECT\s*=\s*(" + _FLOAT + ")",
    "nelm": r"NELM\s*=\s*(\d+)",
    "nsw": r"NSW\s*=\s*(\d+)",
    "ibrion": r"IBRION\s*=\s*(-?\d+)",
    "isif": r"ISIF\s*=\s*(\d+)",
    "ispin": r"ISPIN\s*=\s*(\d+)",
    "encut": r"ENCUT\s*=\s*(" + _FLOAT + ")",
    "ediff": r"EDIFF\s*=\s*(" + _FLOAT + ")",
    "ediffg": r"EDIFFG\s*=\s*(" + _FLOAT + ")",
    "nkpts": r"NKPTS\s*=\s*(\d+)",
}
#: pymatgen's ``Outcar.__init__`` patterns of what is used here (it keeps the last match of each).
_PYMATGEN_PATTERNS = {
    "efermi": r"E-fermi\s*:\s*(\S+)",
    "energy_wo_entrp": r"energy  without entropy\s*=\s+([\d\-\.]+)",
    "elapsed": r"(Elapsed time \(sec\))",
}
_INTEGERS = ("nions", "nelm", "nsw", "ibrion", "isif", "ispin", "nkpts")
_FLOATS = ("nelect", "encut", "ediff", "ediffg")


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


@contextlib.contextmanager
def _plain_file(source: str | os.PathLike | IO[str] | IO[bytes]) -> Iterator[pathlib.Path]:
    """A plain (uncompressed) file with the content of ``source`` (a path, possibly compressed, or an open file)."""
    if not hasattr(source, "read") and pathlib.Path(source).suffix not in _COMPRESSED:
        yield pathlib.Path(source)
        return
    with tempfile.TemporaryDirectory(prefix="lps-vasp-") as directory:
        target = pathlib.Path(directory) / "OUTCAR"
        if hasattr(source, "read"):
            content = source.read()
            target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        else:
            with _COMPRESSED[pathlib.Path(source).suffix](source, "rb") as handle, target.open("wb") as out:
                shutil.copyfileobj(handle, out)
        yield target


def stress_from_kb(values: Sequence[float]) -> np.ndarray:
    """3×3 stress in eV/Å³ (ASE sign) from OUTCAR's ``in kB`` values ``xx yy zz xy yz zx``."""
    xx, yy, zz, xy, yz, zx = (float(v) for v in values)
    tensor = np.array([[xx, xy, zx], [xy, yy, yz], [zx, yz, zz]])
    return -0.1 * GPa * tensor


def read_outcar(source: str | os.PathLike | IO[str] | IO[bytes]) -> dict[str, Any]:
    """Read the results of an OUTCAR (path, possibly compressed, or an open file) with ASE and pymatgen.

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
    with _plain_file(source) as path:
        return _read_outcar(path)[0]


def outcar_reader(path: str | os.PathLike) -> Any:
    """pymatgen's ``Outcar`` of ``path`` without running its ``__init__``: its ``read_pattern`` and
    ``read_freq_dielectric`` readers, each one pass over the file (``read_pattern`` through monty's ``regrep``, the
    path pymatgen takes for a subclass that skips its ``__init__``). The attributes set by ``__init__`` (``efermi``,
    ``final_energy``, ``run_stats``, ...) are absent: read what is needed with ``read_pattern``."""
    return _outcar_reader_class()(path)


@functools.cache
def _outcar_reader_class() -> type:
    from pymatgen.io.vasp.outputs import Outcar

    class _OutcarReader(Outcar):
        __doc__ = outcar_reader.__doc__

        def __init__(self, filename: str | os.PathLike) -> None:  # noqa: D107 (skips Outcar.__init__ on purpose)
            self.filename = str(filename)
            self.data = {}

    return _OutcarReader


def _last_float(matches: list) -> float | None:
    """The last match of a one-group pattern as a float (``None`` if absent or not a number, e.g. ``********``)."""
    if not matches:
        return None
    try:
        return float(matches[-1][0])
    except ValueError:
        return None


def _read_outcar(path: pathlib.Path, patterns: dict[str, str] | None = None) -> tuple[dict[str, Any], Any]:
    """:func:`read_outcar` of a plain file, and the pymatgen :func:`outcar_reader` it made (for further ``read_*``
    calls); ``patterns`` are read in the same pass and left in ``outcar.data``."""
    import ase.io

    outcar = outcar_reader(path)
    outcar.read_pattern({**_PATTERNS, **_PYMATGEN_PATTERNS, **(patterns or {})})
    try:
        images = ase.io.read(path, format="vasp-out", index=":")
    except (ValueError, IndexError, StopIteration):  # no completed ionic step
        images = []
    data = outcar.data
    first = {key: data[key][0] if data.get(key) else None for key in _PATTERNS}
    result: dict[str, Any] = {key: None if first[key] is None else int(first[key][0]) for key in _INTEGERS}
    result.update({key: None if first[key] is None else float(first[key][0]) for key in _FLOATS})
    result["vasp_version"] = first["version"][0] if first["version"] else None
    result["potcars"] = [match[0] for match in data.get("titel", [])]
    result["kpoint_mesh"] = [int(v) for v in first["kpoint_mesh"]] if first["kpoint_mesh"] else None
    result["fermi_energy"] = _last_float(data["efermi"])
    result["energy_without_entropy"] = _last_float(data["energy_wo_entrp"]) if images else None

    energies = [float(atoms.get_potential_energy()) for atoms in images]
    result["energies"] = energies
    result["energy"] = energies[-1] if energies else None
    result.update(stress_kb=None, stress=None, forces=None, positions=None, cell=None, energy_free=None)
    if images:
        last = images[-1]
        result["energy_free"] = float(last.calc.results["free_energy"])
        result["forces"] = np.array(last.get_forces())
        result["positions"] = np.array(last.positions)
        result["cell"] = np.array(last.cell[:])
        if "stress" in last.calc.results:
            result["stress"] = np.array(last.get_stress(voigt=False))
    if data.get("stress_kb"):
        result["stress_kb"] = [float(v) for v in data["stress_kb"][-1]]
    result["n_ionic_steps"] = len(energies)

    iterations = [int(ionic) for ionic, _ in data.get("iteration", [])]
    last_step = iterations[-1] if iterations else None
    result["n_electronic_steps"] = iterations.count(last_step) if last_step is not None else 0
    loops = [match[0] for match in data.get("aborting", [])]  # one per ionic step that ended its SCF loop
    if last_step is None:
        converged_electronic = False
    elif len(loops) >= last_step:
        converged_electronic = "EDIFF is reached" in loops[last_step - 1] and "not reached" not in loops[-1]
    else:
        converged_electronic = result["nelm"] is not None and result["n_electronic_steps"] < result["nelm"]
    result["converged_electronic"] = bool(converged_electronic)

    finished = bool(data["elapsed"])
    nsw, ibrion = result["nsw"] or 0, result["ibrion"]
    if nsw == 0 or ibrion == -1:
        converged_ionic = len(energies) >= 1
    elif ibrion in (1, 2, 3):
        converged_ionic = bool(data.get("accuracy"))
    elif ibrion == 0:
        converged_ionic = len(energies) >= nsw
    else:
        converged_ionic = finished
    result["converged_ionic"] = bool(converged_ionic)
    result["finished"] = finished
    return result, outcar


def read_oszicar(source: str | os.PathLike | IO[str] | IO[bytes]) -> list[dict[str, float]]:
    """Ionic steps of an OSZICAR (pymatgen's ``Oszicar``): ``step``, ``F`` (eV), ``E0`` (energy(sigma→0), eV),
    ``dE``, ``mag`` (μB) where printed (MD lines add ``T`` K, ``E``, ``EK``, ...), and ``n_electronic`` (SCF steps
    of that ionic step)."""
    from pymatgen.io.vasp.outputs import Oszicar

    with _plain_file(source) as path:
        oszicar = Oszicar(str(path))
    steps = []
    for number, (ionic, electronic) in enumerate(zip(oszicar.ionic_steps, oszicar.electronic_steps, strict=False)):
        steps.append({"step": number + 1, **{k: float(v) for k, v in ionic.items()}, "n_electronic": len(electronic)})
    return steps


def read_vasp_outputs(folder: str | os.PathLike) -> dict[str, Any]:
    """Read OUTCAR (required) and OSZICAR (optional, under ``oszicar``) of a run folder; compressed files work."""
    result = read_outcar(find_output(folder, "OUTCAR"))
    try:
        result["oszicar"] = read_oszicar(find_output(folder, "OSZICAR"))
    except FileNotFoundError:
        result["oszicar"] = None
    return result
