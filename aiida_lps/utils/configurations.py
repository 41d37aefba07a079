"""Configurations of a batch relaxation (``lps.lammps.relax_batch``): from a trajectory or parent − removed sites."""

from __future__ import annotations

import ase
import numpy as np
from aiida import orm

from aiida_lps.utils.structures import atoms_from_structure

__all__ = ("configurations_of", "removed_sites_array")


def removed_sites_array(node: orm.ArrayData) -> np.ndarray:
    """The (n_configurations, n_removed) site indices of a ``removed_sites`` node."""
    return np.asarray(node.get_array("sites"), dtype=int)


def configurations_of(inputs) -> list[ase.Atoms]:
    """The configurations a job relaxes, in order: frames of ``configurations`` or ``structure`` − ``removed_sites``."""
    if "configurations" in inputs:
        trajectory = inputs["configurations"]  # arrays read once, not once per frame
        positions, cells, symbols = trajectory.get_positions(), trajectory.get_cells(), trajectory.symbols
        return [
            ase.Atoms(symbols=symbols, positions=p, cell=c, pbc=True) for p, c in zip(positions, cells, strict=True)
        ]
    parent = atoms_from_structure(inputs["structure"])
    out = []
    for row in removed_sites_array(inputs["removed_sites"]):
        keep = np.ones(len(parent), dtype=bool)
        keep[row] = False
        out.append(parent[keep])
    return out
