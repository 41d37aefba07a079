"""Per-atom SNAP descriptors of whole structures through the LAMMPS Python module (``compute sna/atom``).

The rows are those of the MLIP code (:class:`~aiida_lps.engines.lammps.mlip.snap.SnapDescriptorCalculator`:
element-resolved bispectrum components, identical columns merged), without its constant column. No AiiDA import.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from aiida_lps.engines.lammps.mlip.snap import SnapDescriptorCalculator, SnapSettings

__all__ = ("DEFAULT_SETTINGS", "per_atom_descriptors")

#: element-resolved SNAP, 2J = 4, 4.8 Å cut-off: 246 distinct components per atom for Li–P–S
DEFAULT_SETTINGS = {"elements": ["Li", "P", "S"], "twojmax": 4, "rcutfac": 4.8, "chemflag": 1, "zbl": None}


def per_atom_descriptors(structures: Iterable, settings: SnapSettings | dict | None = None) -> list[np.ndarray]:
    """(N_atoms, F) descriptor rows of each structure (ASE ``Atoms`` or pymatgen ``Structure``), in atom order.

    All structures share one LAMMPS instance and one set of merged columns, so their rows are comparable.
    """
    from pymatgen.io.ase import AseAtomsAdaptor

    if settings is None or isinstance(settings, dict):
        settings = SnapSettings.from_dict({**DEFAULT_SETTINGS, **(settings or {})})
    rows = []
    with SnapDescriptorCalculator(settings) as calculator:
        for structure in structures:
            atoms = structure if hasattr(structure, "get_chemical_symbols") else AseAtomsAdaptor.get_atoms(structure)
            result = calculator.rows(atoms.numbers, atoms.positions, atoms.cell.array)
            rows.append(result.atom_rows[:, 1:])
    return rows
