"""Fitting rows of the linear MLIPs (SNAP, POD) and the LAMMPS frame rotation; no AiiDA import.

Units are LAMMPS ``metal``: Å, eV, ps, bar. A descriptor calculator (SNAP:
:class:`~aiida_lps.engines.lammps.mlip.snap.SnapDescriptorCalculator`, POD:
:class:`~aiida_lps.engines.lammps.mlip.pod.PodDescriptorCalculator`) returns per configuration a
:class:`ConfigurationRows`: one energy row, 3N force rows and 6 stress rows, plus the per-atom rows of the extrapolation
grade. LAMMPS rotates a triclinic cell into its own frame; :func:`lammps_rotation` and :func:`rotate_voigt` turn
forces and stresses back into the input frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = ("ConfigurationRows", "lammps_rotation", "rotate_voigt")


@dataclasses.dataclass
class ConfigurationRows:
    """Fitting rows of one configuration.

    Columns: per element [β₀, one per group of identical bispectrum components] (see
    :meth:`~aiida_lps.engines.lammps.mlip.snap.SnapDescriptorCalculator.expand`).

    :ivar energy: (n_coeff,) energy row: counts of each element in the β₀ columns, summed B in the others.
    :ivar forces: (3N, n_coeff) force rows (eV/Å per unit coefficient), atom-major x, y, z.
    :ivar stress: (6, n_coeff) stress rows (eV/Å³, ASE sign, Voigt xx yy zz yz xz xy).
    :ivar reference_energy: energy of the reference potential (eV).
    :ivar reference_forces: (3N,) reference forces (eV/Å).
    :ivar reference_stress: (6,) reference stress (eV/Å³).
    :ivar atom_rows: (N, 1 + n_groups) per-atom rows [1, B_i] (one column per group) for the grade.
    :ivar types: (N,) 0-based element index of each atom.
    """

    energy: np.ndarray
    forces: np.ndarray
    stress: np.ndarray
    reference_energy: float
    reference_forces: np.ndarray
    reference_stress: np.ndarray
    atom_rows: np.ndarray
    types: np.ndarray

    def labelled(self, energy: float, forces: np.ndarray, stress: np.ndarray | None, species: Sequence[str]):
        """The fit input of this configuration: rows with DFT targets minus the reference potential.

        :param energy: eV; :param forces: (N, 3) or (3N,) eV/Å; :param stress: Voigt (6,) eV/Å³ (ASE sign) or
            ``None`` when the label has no stress.
        :returns: :class:`~aiida_lps.science.mlip.linear.ConfigurationData`.
        """
        from aiida_lps.science.mlip.linear import ConfigurationData

        return ConfigurationData(
            energy_row=self.energy,
            force_rows=self.forces,
            stress_rows=self.stress,
            energy=float(energy) - self.reference_energy,
            forces=np.asarray(forces, dtype=float).reshape(-1) - self.reference_forces,
            stress=None if stress is None else np.asarray(stress, dtype=float) - self.reference_stress,
            species=list(species),
            reference_energy=self.reference_energy,
            reference_forces=self.reference_forces,
        )


def lammps_rotation(cell: np.ndarray) -> np.ndarray:
    """Rotation R with LAMMPS-frame vector = R @ input-frame vector (ASE's ``Prism`` convention)."""
    from ase.calculators.lammps.coordinatetransform import Prism

    prism = Prism(cell)
    return np.asarray(prism.rot_mat).T


def rotate_voigt(virial: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate Voigt rows (xx yy zz yz xz xy) from the LAMMPS frame back to the input frame; ``virial`` is (6, k)."""
    k = virial.shape[1]
    tensor = np.zeros((3, 3, k))
    for index, (a, b) in enumerate(((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))):
        tensor[a, b] = tensor[b, a] = virial[index]
    back = np.einsum("ia,jb,abk->ijk", rotation.T, rotation.T, tensor)
    return np.stack([back[0, 0], back[1, 1], back[2, 2], back[1, 2], back[0, 2], back[0, 1]])
