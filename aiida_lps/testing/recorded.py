"""Replay of recorded VASP runs: run a CalcJob path end to end with a code that is not installed.

How it works
------------
A *registry* is any directory tree holding recorded runs, one folder per run with its inputs (``POSCAR``, and
``INCAR``/``KPOINTS`` when known) next to its outputs (``OUTCAR``, ``OSZICAR``, ``CONTCAR``, ``vasprun.xml``, ...;
any of them may be ``.bz2``/``.gz``/``.xz`` compressed). The layout of ``shared/reference-data/vasp-xch-Li7P3S11``
(``ground_state/``, ``site_1/`` ... ``site_11/``) is already a registry.

The replay executable (console script ``lps-replay``) runs in the
job's working directory in place of ``vasp_std``. It reads the ``POSCAR``, ``INCAR`` and ``KPOINTS`` that the
CalcJob wrote and looks for the one recorded run that matches:

* structure (always): same cell (within ``tolerance`` Å), same species blocks in the same order (element and
  count; kind names such as ``S_abs`` count as their element, so a core-hole absorber block is told apart), and the
  same positions block by block as sets (minimum-image distance below ``tolerance`` Å, any order inside a block);
* INCAR (when the run has one): the tags of ``incar_keys`` (default :data:`DEFAULT_INCAR_KEYS`) must agree (VASP's
  default stands in for a tag missing on one side; numbers compared to 1e-8 relative); ``incar_keys = ()`` switches
  this off;
* KPOINTS: if both sides describe a mesh (Γ-centred, Monkhorst–Pack or VASP's fully automatic R_k scheme, turned
  into a mesh with the recorded cell), the meshes and centring must agree.

It then copies every output file of the run into the working directory (decompressed), prints which run it used,
and exits 0. With no match it prints, for every candidate, why it was rejected, and exits 1 (the CalcJob's parser
then fails for missing outputs). Several calculations of one workflow (the XAS ground state and its 11 core-hole
sites) each find their own run, because their POSCARs (absorber first) or INCARs differ.

Configuration: ``LPS_REPLAY_REGISTRY`` (directories separated by ``os.pathsep``), ``LPS_REPLAY_INCAR_KEYS``
(comma-separated tags, ``none`` for no INCAR check), ``LPS_REPLAY_TOLERANCE`` (Å); :func:`replay_code` writes
them into a small wrapper script and returns an ``InstalledCode`` for it.

The POSCAR, INCAR and KPOINTS files are read with pymatgen (``pymatgen.io.vasp.inputs``).

Recorded runs of ``shared/`` have no ``vasprun.xml``; aiida-vasp's parser then needs
:data:`REPLAY_PARSER_SETTINGS` (under ``settings['parser_settings']``) to accept a run with only an OUTCAR.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import os
import pathlib
import shlex
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from aiida import orm

__all__ = (
    "DEFAULT_INCAR_KEYS",
    "ENV_INCAR_KEYS",
    "ENV_REGISTRY",
    "ENV_TOLERANCE",
    "REPLAY_PARSER_SETTINGS",
    "NoRecordingError",
    "Poscar",
    "fake_potcar_family",
    "find_recorded",
    "list_recorded",
    "main",
    "read_incar",
    "read_kpoints_mesh",
    "read_poscar",
    "replay",
    "replay_code",
)

ENV_REGISTRY = "LPS_REPLAY_REGISTRY"
ENV_INCAR_KEYS = "LPS_REPLAY_INCAR_KEYS"
ENV_TOLERANCE = "LPS_REPLAY_TOLERANCE"

#: INCAR tags compared by default: those that change the physics of the recorded result.
DEFAULT_INCAR_KEYS = (
    "encut",
    "prec",
    "ismear",
    "sigma",
    "ediff",
    "ispin",
    "nsw",
    "isif",
    "lreal",
    "algo",
    "gga",
    "metagga",
    "ivdw",
    "lhfcalc",
    "ldau",
    "nelect",
    "nbands",
    "icorelevel",
    "clnt",
    "cln",
    "cll",
    "clz",
)

#: VASP's defaults of the compared tags, used when one side does not set the tag.
_VASP_DEFAULTS: dict[str, Any] = {
    "prec": "normal",
    "ismear": 1,
    "sigma": 0.2,
    "ediff": 1e-4,
    "ispin": 1,
    "nsw": 0,
    "isif": 2,
    "lreal": False,
    "algo": "normal",
    "lhfcalc": False,
    "ldau": False,
    "ivdw": 0,
    "icorelevel": 0,
}

#: aiida-vasp parser settings for recorded runs without ``vasprun.xml`` (OUTCAR, CONTCAR and stdout are parsed).
REPLAY_PARSER_SETTINGS: dict[str, Any] = {"critical_objects": ["OUTCAR"], "check_completeness": False}

_INPUT_FILES = {"INCAR", "KPOINTS", "POSCAR", "POTCAR"}
_SKIPPED_PREFIXES = ("LICENSE", "LICENCE", "README", "NOTICE", "replay")
_DECOMPRESS = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}
_OUTCAR_NAMES = ("OUTCAR", "OUTCAR.bz2", "OUTCAR.gz", "OUTCAR.xz")


class NoRecordingError(LookupError):
    """No recorded run matches the inputs of the working directory."""


# ---------------------------------------------------------------------------------------------------- readers


@dataclass
class Poscar:
    """A POSCAR: ``cell`` (3, 3) Å as rows, species ``blocks`` [(label or None, count)], ``frac`` (n, 3)."""

    cell: np.ndarray
    blocks: list[tuple[str | None, int]]
    frac: np.ndarray


def _element(label: str | None) -> str | None:
    """Element of a POSCAR species label or kind name (``S_abs``, ``S_ch`` → ``S``; ``Li_sv`` → ``Li``)."""
    if label is None:
        return None
    from pymatgen.core.periodic_table import get_el_sp

    name = label.strip().split("_", 1)[0]
    try:
        return str(get_el_sp(name[:2].capitalize()))
    except ValueError:
        return str(get_el_sp(name[:1].upper()))


def read_poscar(path: str | os.PathLike) -> Poscar:
    """Read a VASP 4/5 POSCAR with pymatgen's ``Poscar`` (scale or volume, selective dynamics, Direct or Cartesian).

    A VASP 4 POSCAR without a species line gets ``None`` labels (pymatgen would invent element names).
    """
    from pymatgen.io.vasp.inputs import Poscar as PymatgenPoscar

    text = pathlib.Path(path).read_text()
    poscar = PymatgenPoscar.from_str(text)
    has_species = not all(token.lstrip("-").isdigit() for token in text.splitlines()[5].split())
    labels: list[str | None] = list(poscar.site_symbols) if has_species else [None] * len(poscar.natoms)
    return Poscar(
        cell=np.array(poscar.structure.lattice.matrix),
        blocks=list(zip(labels, (int(n) for n in poscar.natoms), strict=True)),
        frac=np.array(poscar.structure.frac_coords),
    )


def read_incar(path: str | os.PathLike) -> dict[str, Any]:
    """INCAR tags with lower-case names and pymatgen's typed values (``Incar.from_file``: bool, int, float, str)."""
    from pymatgen.io.vasp.inputs import Incar

    return {str(key).lower(): value for key, value in Incar.from_file(path).items()}


def read_kpoints_mesh(path: str | os.PathLike, cell: np.ndarray) -> tuple[str, tuple[int, int, int]] | None:
    """``(centring, mesh)`` of a mesh KPOINTS file (``gamma`` or ``monkhorst``), ``None`` for explicit lists.

    Read with pymatgen's ``Kpoints``. VASP's fully automatic scheme (R_k) gives a Γ-centred mesh computed from
    ``cell`` (Å); a Monkhorst–Pack mesh of odd divisions without shift is reported as ``gamma`` (the same points).
    """
    from pymatgen.io.vasp.inputs import Kpoints, KpointsSupportedModes

    from aiida_lps.engines.vasp.settings import kpoint_mesh_from_length

    kpoints = Kpoints.from_file(path)
    if kpoints.num_kpts != 0:
        return None  # explicit list or line mode
    if kpoints.style == KpointsSupportedModes.Automatic:
        return "gamma", kpoint_mesh_from_length(cell, float(kpoints.kpts[0][0]))
    if kpoints.style not in (KpointsSupportedModes.Gamma, KpointsSupportedModes.Monkhorst):
        return None
    mesh = tuple(int(n) for n in kpoints.kpts[0])
    if any(float(x) for x in kpoints.kpts_shift):
        return None
    if kpoints.style == KpointsSupportedModes.Gamma or all(n % 2 == 1 for n in mesh):
        return "gamma", mesh  # type: ignore[return-value]
    return "monkhorst", mesh  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------- comparison


def _compare_structures(job: Poscar, recorded: Poscar, tolerance: float) -> str | None:
    if not np.allclose(job.cell, recorded.cell, atol=tolerance, rtol=0):
        return "different cell"
    if [count for _, count in job.blocks] != [count for _, count in recorded.blocks]:
        return f"different species blocks {job.blocks} vs {recorded.blocks}"
    for (label_a, _), (label_b, _) in zip(job.blocks, recorded.blocks, strict=True):
        if label_a is not None and label_b is not None and _element(label_a) != _element(label_b):
            return f"different species {[b[0] for b in job.blocks]} vs {[b[0] for b in recorded.blocks]}"
    start = 0
    for _, count in job.blocks:
        diff = job.frac[start : start + count, None, :] - recorded.frac[None, start : start + count, :]
        diff -= np.round(diff)
        distances = np.linalg.norm(diff @ recorded.cell, axis=-1)
        used: set[int] = set()
        for row in distances:
            for j in np.argsort(row):
                if row[j] > tolerance:
                    return f"positions differ by more than {tolerance} Å (block starting at atom {start + 1})"
                if j not in used:
                    used.add(int(j))
                    break
        start += count
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(np.isclose(float(a), float(b), rtol=1e-8, atol=1e-12))
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False


def _compare_incar(job: Mapping[str, Any], recorded: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        key = key.lower()
        if key not in job and key not in recorded:
            continue
        a = job.get(key, _VASP_DEFAULTS.get(key))
        b = recorded.get(key, _VASP_DEFAULTS.get(key))
        if a is None or b is None or not _same(a, b):
            return f"INCAR {key.upper()}: job {job.get(key, '(unset)')!r} vs recorded {recorded.get(key, '(unset)')!r}"
    return None


# --------------------------------------------------------------------------------------------------- registry


def list_recorded(registries: Iterable[str | os.PathLike]) -> list[pathlib.Path]:
    """Folders under ``registries`` that hold a recorded run (a POSCAR next to an OUTCAR, possibly compressed)."""
    found: list[pathlib.Path] = []
    for registry in registries:
        root = pathlib.Path(registry)
        if not root.is_dir():
            raise NotADirectoryError(f"replay registry {root} is not a directory")
        for poscar in sorted(root.rglob("POSCAR")):
            if any((poscar.parent / name).is_file() for name in _OUTCAR_NAMES):
                found.append(poscar.parent)
    return found


def find_recorded(
    workdir: str | os.PathLike,
    registries: Iterable[str | os.PathLike],
    incar_keys: Sequence[str] = DEFAULT_INCAR_KEYS,
    tolerance: float = 1e-4,
) -> pathlib.Path:
    """The one recorded run that matches the inputs in ``workdir`` (see the module docstring).

    :raises NoRecordingError: with the reason of every rejection, if none or several match.
    """
    workdir = pathlib.Path(workdir)
    job = read_poscar(workdir / "POSCAR")
    job_incar = read_incar(workdir / "INCAR") if (workdir / "INCAR").is_file() else {}
    job_kpoints = read_kpoints_mesh(workdir / "KPOINTS", job.cell) if (workdir / "KPOINTS").is_file() else None
    candidates = list_recorded(registries)
    matches: list[pathlib.Path] = []
    reasons: list[str] = []
    for folder in candidates:
        recorded = read_poscar(folder / "POSCAR")
        reason = _compare_structures(job, recorded, tolerance)
        if reason is None and incar_keys and (folder / "INCAR").is_file():
            reason = _compare_incar(job_incar, read_incar(folder / "INCAR"), incar_keys)
        if reason is None and job_kpoints is not None and (folder / "KPOINTS").is_file():
            recorded_kpoints = read_kpoints_mesh(folder / "KPOINTS", recorded.cell)
            if recorded_kpoints is not None and recorded_kpoints != job_kpoints:
                reason = f"k-points {job_kpoints} vs recorded {recorded_kpoints}"
        if reason is None:
            matches.append(folder)
        else:
            reasons.append(f"  {folder}: {reason}")
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise NoRecordingError(f"{len(matches)} recorded runs match the inputs: {[str(m) for m in matches]}")
    listing = "\n".join(reasons) if reasons else "  (no recorded runs found)"
    raise NoRecordingError(f"no recorded run matches the inputs in {workdir}:\n{listing}")


def _output_files(folder: pathlib.Path) -> list[pathlib.Path]:
    files = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(_SKIPPED_PREFIXES):
            continue
        stem = path.stem if path.suffix in _DECOMPRESS else path.name
        if stem in _INPUT_FILES:
            continue
        if path.suffix in _DECOMPRESS and (folder / stem).is_file():
            continue  # the plain copy wins
        files.append(path)
    return files


def replay(
    workdir: str | os.PathLike,
    registries: Iterable[str | os.PathLike],
    incar_keys: Sequence[str] = DEFAULT_INCAR_KEYS,
    tolerance: float = 1e-4,
) -> pathlib.Path:
    """Copy the outputs of the recorded run matching ``workdir``'s inputs into ``workdir``; return the run's folder."""
    workdir = pathlib.Path(workdir)
    folder = find_recorded(workdir, registries, incar_keys, tolerance)
    for path in _output_files(folder):
        opener = _DECOMPRESS.get(path.suffix)
        if opener is None:
            shutil.copyfile(path, workdir / path.name)
        else:
            with opener(path, "rb") as source, (workdir / path.stem).open("wb") as target:
                shutil.copyfileobj(source, target)
    return folder


def _keys_from_env(value: str | None) -> tuple[str, ...]:
    if value is None or value.strip() == "":
        return DEFAULT_INCAR_KEYS
    if value.strip().lower() == "none":
        return ()
    return tuple(key.strip().lower() for key in value.split(",") if key.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point ``lps-replay``: replay into the current directory (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="lps-replay", description="Replay a recorded VASP run into this folder.")
    parser.add_argument("--registry", action="append", help=f"registry directory (default: ${ENV_REGISTRY})")
    parser.add_argument("--incar-keys", default=os.environ.get(ENV_INCAR_KEYS), help="comma-separated, or 'none'")
    parser.add_argument("--tolerance", type=float, default=float(os.environ.get(ENV_TOLERANCE, "1e-4")))
    args, _ = parser.parse_known_args(argv)
    registries = args.registry or [p for p in os.environ.get(ENV_REGISTRY, "").split(os.pathsep) if p]
    if not registries:
        print(f"lps-replay: no registry given (--registry or ${ENV_REGISTRY})", file=sys.stderr)
        return 2
    try:
        folder = replay(pathlib.Path.cwd(), registries, _keys_from_env(args.incar_keys), args.tolerance)
    except (NoRecordingError, OSError, ValueError, IndexError) as error:
        print(f"lps-replay: {error}", file=sys.stderr)
        return 1
    print(f"lps-replay: replayed recorded run {folder}")
    return 0


# ------------------------------------------------------------------------------------------- AiiDA helpers


def replay_code(
    computer: orm.Computer,
    registries: Sequence[str | os.PathLike],
    *,
    label: str = "vasp-replay",
    directory: str | os.PathLike | None = None,
    incar_keys: Sequence[str] | None = None,
    tolerance: float | None = None,
) -> orm.InstalledCode:
    """A stored ``InstalledCode`` (plugin ``vasp.vasp``) on ``computer`` that replays runs of ``registries``.

    It writes a wrapper script into ``directory`` (a new temporary directory by default) that exports the replay
    configuration and runs this module with the current Python interpreter.
    """
    from aiida import orm

    directory = pathlib.Path(directory or tempfile.mkdtemp(prefix="lps-replay-"))
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "#!/bin/sh",
        f"export {ENV_REGISTRY}={shlex.quote(os.pathsep.join(str(pathlib.Path(r).resolve()) for r in registries))}",
    ]
    if incar_keys is not None:
        lines.append(f"export {ENV_INCAR_KEYS}={shlex.quote(','.join(incar_keys) or 'none')}")
    if tolerance is not None:
        lines.append(f"export {ENV_TOLERANCE}={float(tolerance)!r}")
    runner = "import sys; from aiida_lps.testing.recorded import main; sys.exit(main(sys.argv[1:]))"
    lines.append(f'exec {shlex.quote(sys.executable)} -c {shlex.quote(runner)} "$@"')
    script = directory / "lps-replay"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    code = orm.InstalledCode(
        label=label,
        computer=computer,
        filepath_executable=str(script),
        default_calc_job_plugin="vasp.vasp",
        description=f"replays recorded VASP runs from {', '.join(map(str, registries))}",
    )
    return code.store()


def fake_potcar_family(
    label: str,
    potcars: Mapping[str, Mapping[str, Any]],
    directory: str | os.PathLike | None = None,
    description: str = "FAKE POTCARs for tests (headers only, no VASP data)",
) -> str:
    """Upload a POTCAR family of header-only fake POTCARs (never a licensed VASP file) and return its label.

    :param potcars: ``{symbol: {"titel": "PAW_PBE Li_sv 10Sep2004", "zval": 3.0, "lexch": "PE", "pomass": 6.9,
        "enmax": 499.0}}``; only ``titel`` is required. The symbol becomes the POTCAR's full name in the family.
    """
    from aiida_vasp.data.potcar import PotcarData

    root = pathlib.Path(directory or tempfile.mkdtemp(prefix="lps-fake-potcars-")) / label
    for symbol, meta in potcars.items():
        folder = root / symbol
        folder.mkdir(parents=True, exist_ok=True)
        element = meta["titel"].split()[1].split("_")[0]
        text = f"""  {meta["titel"]}  FAKE for tests: not a VASP PAW dataset ({label})
 {float(meta.get("zval", 1.0)):.10f}
 parameters from PSCTR are:
   VRHFIN ={element}: fake
   LEXCH  = {meta.get("lexch", "PE")}
   TITEL  = {meta["titel"]}
   POMASS = {float(meta.get("pomass", 1.0)):9.3f}; ZVAL   = {float(meta.get("zval", 1.0)):9.3f}    mass and valenz
   ENMAX  = {float(meta.get("enmax", 400.0)):9.3f}; ENMIN  = {0.75 * float(meta.get("enmax", 400.0)):9.3f} eV
 END of PSCTR-controll parameters
 End of Dataset
"""
        (folder / "POTCAR").write_text(text)
    PotcarData.upload_potcar_family(str(root), label, description, stop_if_existing=False)
    return label


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
