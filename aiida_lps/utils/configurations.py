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
        trajectory = inputs["configurations"]
        return [_trajectory_atoms(trajectory, i) for i in range(trajectory.numsteps)]
    parent = atoms_from_structure(inputs["structure"])
    out = []
    for row in removed_sites_array(inputs["removed_sites"]):
        keep = np.ones(len(parent), dtype=bool)
        keep[row] = False
        out.append(parent[keep])
    return out


def _trajectory_atoms(trajectory: orm.TrajectoryData, index: int) -> ase.Atoms:
    positions = trajectory.get_positions()[index]
    cells = trajectory.get_cells()
    return ase.Atoms(symbols=trajectory.symbols, positions=positions, cell=cells[index], pbc=True)
