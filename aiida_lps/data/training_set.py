"""``lps.training_set``: labelled configurations (extended XYZ with energies, forces, stresses) for MLIP fitting."""

from __future__ import annotations

import io
from collections.abc import Sequence

from aiida import orm

__all__ = ("TrainingSetData", "atoms_with_labels")

FILENAME = "training.xyz"


def atoms_with_labels(atoms, energy: float, forces, stress=None, info: dict | None = None):
    """A copy of ``atoms`` carrying the labels (eV, eV/Å, eV/Å³ in ASE's sign) as a single-point calculator."""
    import numpy as np
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.stress import full_3x3_to_voigt_6_stress

    atoms = atoms.copy()
    atoms.info.update(info or {})
    results = {"energy": float(energy), "forces": np.asarray(forces, dtype=float)}
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (3, 3):
            stress = full_3x3_to_voigt_6_stress(stress)
        results["stress"] = stress
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


class TrainingSetData(orm.SinglefileData):
    """Labelled configurations stored as one extended-XYZ file (energy eV, forces eV/Å, stress eV/Å³ ASE sign).

    Each configuration's ``info`` holds ``source`` (UUID of the node its labels came from, or a free tag) so that a
    configuration can be traced back even when the node was created by a calcfunction from many label outputs.
    """

    def __init__(self, configurations: Sequence = (), **kwargs):
        """Create from a list of ASE ``Atoms`` with single-point calculators (see :func:`atoms_with_labels`)."""
        from ase.io import write

        configurations = list(configurations)
        for index, atoms in enumerate(configurations):
            if atoms.calc is None or "energy" not in atoms.calc.results or "forces" not in atoms.calc.results:
                raise ValueError(f"configuration {index} has no energy and forces labels")
        buffer = io.StringIO()
        if configurations:
            write(buffer, configurations, format="extxyz")
        super().__init__(io.BytesIO(buffer.getvalue().encode()), filename=FILENAME, **kwargs)
        elements = sorted({s for atoms in configurations for s in atoms.get_chemical_symbols()})
        self.base.attributes.set("n_configurations", len(configurations))
        self.base.attributes.set("n_atoms", int(sum(len(a) for a in configurations)))
        self.base.attributes.set("elements", elements)
        self.base.attributes.set("has_stress", all("stress" in a.calc.results for a in configurations))
        self.base.attributes.set("units", {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3 (ASE sign)"})

    @property
    def n_configurations(self) -> int:
        """Number of configurations."""
        return self.base.attributes.get("n_configurations")

    @property
    def elements(self) -> list[str]:
        """Elements present."""
        return list(self.base.attributes.get("elements"))

    def get_configurations(self) -> list:
        """The configurations as ASE ``Atoms`` with single-point calculators."""
        from ase.io import read

        if not self.n_configurations:
            return []
        with self.open(mode="r") as handle:
            return read(io.StringIO(handle.read()), index=":", format="extxyz")

    def get_text(self) -> str:
        """The extended-XYZ text."""
        with self.open(mode="r") as handle:
            return handle.read()
