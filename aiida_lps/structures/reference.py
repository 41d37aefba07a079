"""Reference crystals of the Li2S-P2S5 system shipped as package data (no AiiDA needed).

The CIFs live in ``aiida_lps/structures/data/`` together with ``SOURCES.md`` (provenance, attribution, caveats), the
licence texts the sources require, and ``index.yaml`` (one machine-readable row per structure).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import pathlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = (
    "DATA_DIR",
    "UnknownStructureError",
    "file_sha256",
    "get_entry",
    "list_structures",
    "load_structure",
    "structure_names",
    "structure_path",
)

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
INDEX_FILE = DATA_DIR / "index.yaml"


class UnknownStructureError(KeyError, ValueError):
    """Raised for a name that is neither a structure nor an alias in the index (a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, Any]]:
    """The parsed ``structures`` mapping of ``index.yaml`` (cached; callers get copies)."""
    import yaml

    with INDEX_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["structures"]


def structure_names() -> list[str]:
    """Names of the shipped structures, in index order."""
    return list(_index())


def _resolve(name: str) -> str:
    """Canonical name for ``name`` (exact name, else case-insensitive name or alias)."""
    index = _index()
    if name in index:
        return name
    wanted = str(name).casefold()
    for canonical, entry in index.items():
        if wanted == canonical.casefold() or wanted in (alias.casefold() for alias in entry.get("aliases") or ()):
            return canonical
    raise UnknownStructureError(
        f"unknown reference structure {name!r}; available: {', '.join(index)}"
        " (aliases: " + ", ".join(f"{a}->{n}" for n, e in index.items() for a in e.get("aliases") or ()) + ")"
    )


def get_entry(name: str) -> dict[str, Any]:
    """The index row of ``name`` (a copy, with ``name`` set to the canonical name)."""
    canonical = _resolve(name)
    return {"name": canonical, **copy.deepcopy(_index()[canonical])}


def list_structures() -> list[dict[str, Any]]:
    """All index rows (copies), each with its ``name``, in index order."""
    return [get_entry(name) for name in _index()]


def structure_path(name: str) -> pathlib.Path:
    """Path of the CIF of ``name``."""
    return DATA_DIR / _index()[_resolve(name)]["file"]


def file_sha256(name: str) -> str:
    """SHA-256 (hex) of the CIF bytes of ``name``."""
    return hashlib.sha256(structure_path(name).read_bytes()).hexdigest()


def load_structure(name: str) -> Structure:
    """The structure ``name`` as a :class:`pymatgen.core.Structure` (the cell exactly as stored in the CIF)."""
    import warnings

    from pymatgen.io.cif import CifParser

    path = structure_path(name)
    with warnings.catch_warnings():
        # pymatgen reports snapping coordinates within 1e-4 of ideal values (e.g. 1/3): expected for these files
        warnings.filterwarnings("ignore", message="Issues encountered while parsing CIF", category=UserWarning)
        structures = CifParser(path).parse_structures(primitive=False)
    if len(structures) != 1:
        raise ValueError(f"{path.name}: expected one structure, found {len(structures)}")
    return structures[0]
