"""VASP excited-electron core-hole (XCH) inputs and outputs for K-edge XAS (no AiiDA import).

Settings of the LPS S K-edge database (Guo, Carbone et al. 2023, doi:10.1038/s41597-023-02262-4) and of its reference
inputs (``shared/reference-data/vasp-xch-Li7P3S11``): LDA (LDA POTCARs, GW variants ``Li_GW``/``P_GW``/``S_GW``), ENCUT
400 eV, NBANDS = occupied + 3 × occupied (NBANDS = 4·⌈N_val/2⌉, 704 for 352 valence electrons), Gaussian
smearing 0.05 eV, EDIFF 1e-5 eV, ISPIN 2, a Γ-centred mesh of spacing 0.25 Å⁻¹ (2π included), and the core hole:
``ICORELEVEL = 2`` (the excited electron goes into the conduction band, NELECT grows by one), ``CLNT = 1`` (the
absorber is the first species of the POSCAR), ``CLN = 1``, ``CLL = 0`` (1s, K edge), ``CLZ = 1.0`` (full hole),
``CH_LSPEC = .TRUE.`` (writes the spectrum), ``CH_SIGMA = 0.05`` eV.

The spectrum is the ``frequency dependent IMAGINARY DIELECTRIC FUNCTION`` block of the OUTCAR that follows the
``ZCORE= … ECORE= …`` line: energies (eV, on VASP's raw axis ε_c − ε_1s) and the tensor components
``X Y Z XY YZ ZX``; the raw onset (the XCH LUMO on that axis) is ``E_F − ECORE``. The block is read by pymatgen's
``Outcar.read_freq_dielectric`` (it covers the core-level block of these files; checked against VASP's own
``CORE_DIELECTRIC_IMAG.dat`` in the tests), ECORE by ``Outcar.read_pattern``: no hand-written block reader.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pymatgen.io.vasp.outputs import Outcar

from aiida_lps.engines.vasp.outputs import _plain_file, _read_outcar, outcar_reader

__all__ = (
    "CORE_HOLE_TAGS",
    "GROUND_STATE_INCAR",
    "MissingSpectrumError",
    "XCH_INCAR",
    "core_hole_incar",
    "read_core_energy",
    "read_xch_outcar",
    "read_xch_spectrum",
    "valence_electrons",
    "xch_nbands",
    "zval_from_potcar",
)

#: INCAR of the ground state and of every core-hole run (lower-case tags; Guo, Carbone et al. 2023).
GROUND_STATE_INCAR: dict[str, Any] = {
    "prec": "Accurate",
    "encut": 400,
    "ismear": 0,
    "sigma": 0.05,
    "ediff": 1.0e-5,
    "ispin": 2,
    "algo": "Fast",
    "lreal": "Auto",
    "nelm": 200,
    "lwave": False,
    "lcharg": False,
}

#: Core-hole tags of a 1s full hole on the first species.
CORE_HOLE_TAGS: dict[str, Any] = {
    "icorelevel": 2,
    "clnt": 1,
    "cln": 1,
    "cll": 0,
    "clz": 1.0,
    "ch_lspec": True,
    "ch_sigma": 0.05,
}

XCH_INCAR: dict[str, Any] = {**GROUND_STATE_INCAR, **CORE_HOLE_TAGS}

_SPECTRUM_HEADER = "frequency dependent IMAGINARY DIELECTRIC FUNCTION"
_ECORE = r"ECORE\s*=\s*([-+]?\d+(?:\.\d*)?(?:[EeDd][-+]?\d+)?)"
_ZVAL = re.compile(r"ZVAL\s*=\s*([-+]?\d+(?:\.\d*)?)")


class MissingSpectrumError(ValueError):
    """The OUTCAR holds no core-hole spectrum (CH_LSPEC block)."""


def zval_from_potcar(text: str | bytes) -> float:
    """Valence charge ZVAL of a POTCAR (its first ``ZVAL =`` entry)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    match = _ZVAL.search(text)
    if match is None:
        raise ValueError("no ZVAL in the POTCAR")
    return float(match.group(1))


def valence_electrons(species: Sequence[str], zval: Mapping[str, float]) -> float:
    """Number of valence electrons of the neutral ground state: Σ ZVAL over the sites' species (kinds)."""
    missing = sorted(set(species) - set(zval))
    if missing:
        raise ValueError(f"no ZVAL for {missing}")
    return float(sum(zval[name] for name in species))


def xch_nbands(n_valence: float, unoccupied_factor: float = 3.0) -> int:
    """NBANDS with ``unoccupied_factor`` times as many empty as occupied bands: (1 + f)·⌈N_val/2⌉."""
    if n_valence <= 0 or unoccupied_factor < 0:
        raise ValueError(f"need a positive electron count and factor, got {n_valence} and {unoccupied_factor}")
    occupied = math.ceil(n_valence / 2.0 - 1e-9)
    return int(round((1.0 + unoccupied_factor) * occupied))


def core_hole_incar(
    base: Mapping[str, Any] | None = None,
    nbands: int | None = None,
    absorber_species: int = 1,
    n: int = 1,
    ell: int = 0,
    hole: float = 1.0,
) -> dict[str, Any]:
    """INCAR of a core-hole run: ``base`` (default :data:`GROUND_STATE_INCAR`) + the core-hole tags + NBANDS.

    :param absorber_species: CLNT, the 1-based species index of the absorber in the POSCAR.
    :param n: CLN, principal quantum number of the hole (1 for the K edge).
    :param ell: CLL, its angular momentum (0 for s).
    :param hole: CLZ, the electrons removed (1.0 full hole, 0.5 half hole).
    """
    incar = {str(k).lower(): v for k, v in (base if base is not None else GROUND_STATE_INCAR).items()}
    incar.update(CORE_HOLE_TAGS)
    incar.update(clnt=int(absorber_species), cln=int(n), cll=int(ell), clz=float(hole))
    if nbands is not None:
        incar["nbands"] = int(nbands)
    return incar


def _outcar(source: str | os.PathLike | Outcar) -> Outcar:
    """``source`` if it is a pymatgen ``Outcar``, else its reader (:func:`aiida_lps.engines.vasp.outputs.outcar_reader`:
    no pass over the file until a ``read_*`` method is called)."""
    return source if isinstance(source, Outcar) else outcar_reader(source)


def read_core_energy(source: str | os.PathLike | Outcar) -> float | None:
    """ECORE (eV) of the last ``ZCORE= … ECORE= …`` line, or ``None`` (pymatgen's ``Outcar.read_pattern``; an
    ``Outcar`` whose ``data`` already holds ``ecore`` matches is not read again)."""
    outcar = _outcar(source)
    if "ecore" not in outcar.data:
        outcar.read_pattern({"ecore": _ECORE})
    values = outcar.data.get("ecore") or []
    return float(values[-1][0].replace("D", "E")) if values else None


def read_xch_spectrum(source: str | os.PathLike | Outcar) -> tuple[np.ndarray, np.ndarray]:
    """The CH_LSPEC spectrum of an OUTCAR: energies (n,) eV and ε₂ components (n, 6) ``X Y Z XY YZ ZX``.

    Read by pymatgen's ``Outcar.read_freq_dielectric`` (the first ``IMAGINARY DIELECTRIC FUNCTION`` block: with
    CH_LSPEC the core-level one; VASP writes the same ε₂ trace to ``CORE_DIELECTRIC_IMAG.dat``).

    :raises MissingSpectrumError: if there is no such block or it is empty.
    """
    outcar = _outcar(source)
    outcar.read_freq_dielectric()
    energies = np.asarray(outcar.dielectric_energies, dtype=float)
    tensor = np.asarray(outcar.dielectric_tensor_function).imag
    if energies.size == 0 or tensor.shape != (energies.size, 3, 3):
        raise MissingSpectrumError(f"no '{_SPECTRUM_HEADER}' block in the OUTCAR (was CH_LSPEC = .TRUE. set?)")
    components = np.stack(
        [tensor[:, 0, 0], tensor[:, 1, 1], tensor[:, 2, 2], tensor[:, 0, 1], tensor[:, 1, 2], tensor[:, 0, 2]], axis=1
    )
    return energies, components


def read_xch_outcar(source: str | os.PathLike, spectrum: bool = True) -> dict[str, Any]:
    """Results of a VASP core-hole run: the :func:`~aiida_lps.engines.vasp.outputs.read_outcar` dictionary plus
    ``spectrum_energy`` (n,) eV, ``spectrum_components`` (n, 6), ``mu`` (n, 3) = the diagonal X, Y, Z, ``ecore``
    (eV) and ``raw_onset`` = E_F − ECORE (eV). Without a spectrum block (or with ``spectrum=False``) these are
    ``None`` and ``has_spectrum`` is ``False``: the caller decides whether that is an error.
    """
    with _plain_file(source) as path:  # one decompressed copy, one pattern pass (ECORE included), one block read
        result, outcar = _read_outcar(path, {"ecore": _ECORE} if spectrum else None)
        result.update(spectrum_energy=None, spectrum_components=None, mu=None, ecore=None, raw_onset=None)
        result["has_spectrum"] = False
        if not spectrum:
            return result
        try:
            energy, components = read_xch_spectrum(outcar)
        except MissingSpectrumError:
            return result
        ecore = read_core_energy(outcar)
    result.update(
        spectrum_energy=energy,
        spectrum_components=components,
        mu=components[:, :3].copy(),
        ecore=ecore,
        has_spectrum=True,
        raw_onset=(result["fermi_energy"] - ecore) if (ecore is not None and result["fermi_energy"] is not None)
        else None,
    )  # fmt: skip
    return result
