"""Chains of runs continued from a parent's remote folder (the LAMMPS MD CalcJob and its parser)."""

from __future__ import annotations

from aiida import orm

__all__ = ("continuation_parts",)


def continuation_parts(parent_folder: orm.RemoteData | None) -> int:
    """Number of earlier parts of a run continued from ``parent_folder`` (0 for a fresh run)."""
    count = 0
    while parent_folder is not None:
        count += 1
        creator = parent_folder.creator
        parent_folder = (
            creator.inputs.parent_folder if creator is not None and "parent_folder" in creator.inputs else None
        )
    return count
