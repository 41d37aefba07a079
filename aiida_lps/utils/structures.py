"""Fast conversions between ``StructureData`` and arrays/ASE for large cells (thousands of atoms).

``StructureData(ase=...)`` and ``StructureData.get_ase()`` go site by site through Python objects (about 1 s and
0.3 s for 4000 atoms); these helpers build the same attributes (``cell``, ``pbc``, ``kinds``, ``sites``) from
arrays in one step. Only plain kinds (one element, weight 1, kind named by its element) take the fast path.
"""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np
from aiida import orm
from aiida.orm.nodes.data.structure import Kind

__all__ = ("atoms_from_structure", "n_sites", "structure_attributes", "structure_from_arrays", "structure_symbols")


def structure_from_arrays(
    symbols: Sequence[str], positions: np.ndarray, cell: np.ndarray, pbc: Sequence[bool] = (True, True, True)
) -> orm.StructureData:
    """A ``StructureData`` with one kind per element (named by the element); positions and cell in Å."""
    positions = np.asarray(positions, dtype=float)
    if positions.shape != (len(symbols), 3):
        raise ValueError(f"positions have shape {positions.shape}, expected ({len(symbols)}, 3)")
    structure = orm.StructureData(cell=np.asarray(cell, dtype=float).tolist(), pbc=tuple(bool(p) for p in pbc))
    for element in dict.fromkeys(symbols):
        structure.append_kind(Kind(symbols=element, name=element))
    sites = [{"kind_name": element, "position": row} for element, row in zip(symbols, positions.tolist(), strict=True)]
    structure.base.attributes.set("sites", sites)
    return structure


def structure_attributes(structure: orm.StructureData) -> dict:
    """The attributes of ``structure`` (``cell``, ``pbc1``-``pbc3``, ``kinds``, ``sites``) in one read; do not mutate.

    Every ``attributes.get`` of a stored node reloads the node's whole attribute column (one JSON decode of all
    sites) and returns a deep copy of the value (0.1-0.2 s for 4000 sites); ``attributes.items()`` does one reload
    and no copy.
    """
    return dict(structure.base.attributes.items())


def n_sites(structure: orm.StructureData) -> int:
    """Number of sites, without a ``Site`` object per atom (``len(structure.sites)``) or a deep copy of them."""
    return len(structure_attributes(structure).get("sites", []))


def structure_symbols(structure: orm.StructureData) -> set[str]:
    """The chemical symbols of ``structure``'s kinds (``get_symbols_set()`` in one attribute read)."""
    return {symbol for kind in structure_attributes(structure).get("kinds", []) for symbol in kind["symbols"]}


def atoms_from_structure(structure: orm.StructureData) -> ase.Atoms:
    """``structure`` as ASE atoms; array-based for plain kinds, ``get_ase()`` otherwise (alloys, vacancies, tags)."""
    attributes = structure_attributes(structure)
    plain = all(
        len(kind["symbols"]) == 1 and kind["name"] == kind["symbols"][0] and tuple(kind["weights"]) == (1.0,)
        for kind in attributes["kinds"]
    )
    if not plain:
        return structure.get_ase()
    sites = attributes["sites"]
    return ase.Atoms(
        symbols=[site["kind_name"] for site in sites],
        positions=np.array([site["position"] for site in sites], dtype=float).reshape(-1, 3),
        cell=attributes["cell"],
        pbc=[attributes[f"pbc{axis}"] for axis in (1, 2, 3)],
    )
