"""Calcfunctions that transform structures, so that every derived cell has provenance."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_lps.science.supercell import minimum_repetitions

__all__ = ("make_supercell",)


@calcfunction
def make_supercell(structure: orm.StructureData, min_width: orm.Float) -> orm.StructureData:
    """Repeat ``structure`` so that every distance between opposite cell faces is at least ``min_width`` (Å)."""
    repeats = minimum_repetitions(structure.cell, float(min_width.value))
    supercell = orm.StructureData(ase=structure.get_ase().repeat(repeats))
    return supercell
