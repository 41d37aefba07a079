"""Reference crystals of the Li2S-P2S5 system with provenance (see ``data/SOURCES.md``)."""

from aiida_lps.structures.reference import (
    DATA_DIR,
    UnknownStructureError,
    file_sha256,
    get_entry,
    list_structures,
    load_structure,
    structure_names,
    structure_path,
)

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
