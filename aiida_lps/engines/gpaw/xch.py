"""GPAW excited-electron core-hole (XCH) helpers: core-hole datasets, run parameters, spectra (no AiiDA import).

GPAW has no "XCH" dataset. XCH = a PAW dataset with a full 1s hole (generated with GPAW's setup generator, the
Python form of ``gpaw-setup -f LDA S --name=S_ch --core-hole=1s,1.0``) plus one extra electron (``charge = -1``
relative to the hole: a neutral cell), spin polarised with a magnetic moment of 1 on the absorber, as GPAW's own
test ``gpaw/test/corehole/test_sh2.py``. The spectrum comes from ``gpaw.xas.XAS(calc, relative_index_lumo=-1)``
(legacy GPAW), whose matrix elements the runner writes to ``xas.npz``: ``eps_kn`` (eV, the empty states of the
core-hole spin channel from the excited electron's state on) and ``sigma_cmkn`` (1s dipole matrix elements per
Cartesian direction c, core magnetic quantum number m, k-point and band, √(k-point weight) included).

Raw spectrum of a site: sticks at ε_kn with strengths Σ_m |σ_cmkn|² per direction; the raw onset is min ε_kn.
"""

from __future__ import annotations

import copy
import io
import math
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from aiida_lps.science.xas import broaden

__all__ = (
    "RAW_WIDTH",
    "core_hole_command",
    "free_electron_bands",
    "paw_valence",
    "xch_band_counts",
    "gpaw_has_core_1s",
    "generate_core_hole_dataset",
    "raw_spectrum",
    "read_xas_npz",
    "sticks",
    "xch_parameters",
)

#: Lorentzian FWHM (eV) of the raw site spectrum made from the sticks (as VASP's CH_SIGMA of the reference runs).
RAW_WIDTH = 0.05

_SHELLS = {"s": 0, "p": 1, "d": 2, "f": 3}

#: ħ²/2mₑ in eV Å².
_HBAR2_2M = 3.80998212
#: Extra bands over those to converge: the highest bands of an iterative eigensolver converge last.
_BAND_MARGIN = 0.2


def paw_valence(xml: str | bytes) -> float:
    """Valence electrons of a PAW-XML dataset (``valence`` of its ``<atom symbol= Z= core= valence=/>`` line, GPAW's
    ``Nv``; a 1s-hole dataset keeps the valence of the element and carries the hole as a charge Z − core − valence =
    +1, which the XCH run's ``charge = -1`` balances); gzip-compressed content is accepted."""
    import gzip
    import re

    if isinstance(xml, bytes):
        xml = (gzip.decompress(xml) if xml[:2] == b"\x1f\x8b" else xml).decode()
    match = re.search(r"<atom\b([^>]*)/?>", xml)
    attributes = dict(re.findall(r"(\w+)\s*=\s*[\"']([^\"']*)[\"']", match.group(1))) if match else {}
    try:
        return float(attributes["valence"])
    except (KeyError, ValueError):
        raise ValueError("no <atom valence=...> line in the PAW dataset") from None


def free_electron_bands(volume: float, n_electrons: float, energy_above_fermi: float) -> int:
    """Bands (per spin) of a free-electron gas of ``n_electrons`` in ``volume`` (Å³) up to E_F + ``energy_above_fermi``.

    With ħ²/2m = 3.810 eV Å²: k_F = (3π² N/V)^(1/3), E_F = (ħ²/2m) k_F², and the number of states per spin below E is
    V k(E)³ / (6π²). An estimate: real bands have gaps and flat parts (on the 12-atom Li2S cell, 66 bands reached
    ~20 eV above the onset, the free-electron count predicts 17 eV); the normaliser records the energy reached.
    """
    if not (volume > 0 and n_electrons > 0 and energy_above_fermi >= 0):
        raise ValueError(
            f"need volume > 0, n_electrons > 0, energy >= 0; got {volume}, {n_electrons}, {energy_above_fermi}"
        )
    k_fermi = (3 * math.pi**2 * n_electrons / volume) ** (1 / 3)
    energy = _HBAR2_2M * k_fermi**2 + energy_above_fermi
    k = math.sqrt(energy / _HBAR2_2M)
    return int(math.ceil(volume * k**3 / (6 * math.pi**2) - 1e-9))  # (an exact count is not rounded up)


def xch_band_counts(volume: float, n_valence: float, energy_range: float) -> tuple[int, int]:
    """``(nbands, converged bands)`` of an XCH run whose converged empty states reach ``energy_range`` eV above the
    onset: the free-electron count of the ``n_valence + 1`` electrons (the excited one included) up to that energy
    (:func:`free_electron_bands`) is converged; 20 % more bands are computed."""
    converge = free_electron_bands(volume, n_valence + 1.0, energy_range)
    return int(math.ceil((1 + _BAND_MARGIN) * converge)), converge


def _hole(hole: str) -> tuple[int, int]:
    """``"1s"`` → (1, 0)."""
    try:
        return int(hole[:-1]), _SHELLS[hole[-1]]
    except (KeyError, ValueError):
        raise ValueError(f"core hole {hole!r} is not like '1s' or '2p'") from None


def core_hole_command(element: str, xc: str, name: str, hole: str = "1s", fraction: float = 1.0) -> list[str]:
    """The equivalent ``gpaw-setup`` command line (for the record; the calcfunction uses the Python API)."""
    return ["gpaw-setup", "-f", xc, element, f"--name={name}", f"--core-hole={hole},{fraction}"]


def gpaw_has_core_1s(element: str) -> str | None:
    """``None`` if GPAW's generator has a frozen core that contains the 1s level of ``element``, else why not."""
    try:
        from gpaw.atom.configurations import parameters
    except ImportError:  # pragma: no cover - GPAW is an optional dependency
        return "GPAW is not installed"
    if element not in parameters:
        return f"GPAW's setup generator has no parameters for {element}"
    if not parameters[element].get("core"):
        return f"{element} has no frozen core in GPAW's datasets: its 1s level is a valence state"
    return None


def generate_core_hole_dataset(
    element: str, xc: str, name: str, directory: str | os.PathLike, hole: str = "1s", fraction: float = 1.0
) -> pathlib.Path:
    """Generate a core-hole PAW dataset with GPAW's generator and return the path of the XML file it wrote.

    Uses ``gpaw.atom.generator.Generator(element, xc, scalarrel=True, corehole=(n, l, fraction))`` with GPAW's
    default generation parameters of the element (``gpaw.atom.configurations.parameters``). Takes ~2 s.

    :raises ValueError: if GPAW has no frozen core with that level for ``element``.
    """
    reason = gpaw_has_core_1s(element)
    if reason:
        raise ValueError(reason)
    from gpaw.atom.configurations import parameters
    from gpaw.atom.generator import Generator

    n, ell = _hole(hole)
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cwd = pathlib.Path.cwd()
    os.chdir(directory)
    try:
        generator = Generator(element, xc, scalarrel=True, corehole=(n, ell, float(fraction)), txt=None)
        generator.run(name=name, write_xml=True, **parameters[element])
    finally:
        os.chdir(cwd)
    path = directory / f"{element}.{name}.{xc}"
    if not path.is_file():
        raise RuntimeError(f"GPAW's generator wrote no {path.name} in {directory}")
    return path


def xch_parameters(
    parameters: Mapping[str, Any],
    absorber: int,
    n_atoms: int,
    nbands: str | int,
    fix_magmom: bool = True,
    converge_bands: int | None = None,
) -> dict[str, Any]:
    """Runner parameters of an XCH run from those of a single point (see :mod:`aiida_lps.engines.gpaw.runner`).

    Adds ``charge = -1`` (the excited electron), spin polarisation with magnetic moment 1 on the absorber, ``nbands``
    (GPAW's syntax, e.g. ``"400%"`` = occupied + 3 × occupied as Guo, Carbone et al. 2023, or a count from
    :func:`xch_band_counts`, which ``lps.xas`` uses by default: ``nbands: auto`` of ``protocols/xas.yaml``) and
    ``xas`` (the runner then builds a legacy GPAW calculator and writes ``xas.npz``). ``fix_magmom`` keeps the total
    moment at 1 (Fermi-Dirac with
    ``fixmagmom``): with smearing, the excited electron otherwise drifts between the spin channels and the SCF of a
    solid can fail to converge (seen for β-Li3PS4). ``converge_bands``: the SCF also converges that many bands
    (GPAW's ``convergence["bands"]``; by default GPAW converges only the occupied ones, and the empty states of the
    spectrum are then those of an unconverged eigensolver).
    """
    result = copy.deepcopy(dict(parameters))
    calculator = result.setdefault("calculator", {})
    calculator["charge"] = -1
    calculator["spinpol"] = True
    calculator["nbands"] = nbands
    if converge_bands is not None:
        calculator["convergence"] = {**(calculator.get("convergence") or {}), "bands": int(converge_bands)}
    magmoms = [0.0] * int(n_atoms)
    magmoms[int(absorber)] = 1.0
    result["magmoms"] = magmoms
    result["xas"] = {"absorber": int(absorber), "relative_index_lumo": -1, "fixmagmom": bool(fix_magmom)}
    return result


def read_xas_npz(content: bytes | str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``eps_kn`` (eV) and ``sigma_cmkn`` of a file written by ``gpaw.xas.XAS.write``."""
    source = io.BytesIO(content) if isinstance(content, bytes) else content
    with np.load(source) as data:
        return np.asarray(data["eps_kn"], dtype=float), np.asarray(data["sigma_cmkn"])


def sticks(eps_kn: np.ndarray, sigma_cmkn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stick energies (eV, sorted) and strengths (·, 3) = Σ_m |σ_cmkn|² for x, y, z."""
    strengths = (np.abs(np.asarray(sigma_cmkn)) ** 2).sum(axis=1)  # (3, k, n)
    energies = np.asarray(eps_kn, dtype=float).reshape(-1)
    values = strengths.reshape(3, -1).T
    order = np.argsort(energies, kind="stable")
    return energies[order], values[order]


def raw_spectrum(
    energies: np.ndarray, strengths: np.ndarray, step: float = 0.02, width: float = RAW_WIDTH, margin: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Sticks on a uniform grid (eV) with a narrow Lorentzian of FWHM ``width``: energy (n,), μ (n, 3)."""
    energies = np.asarray(energies, dtype=float)
    if energies.size == 0:
        raise ValueError("no transitions: the XAS file holds no empty states")
    start, stop = energies.min() - margin, energies.max() + margin
    grid = start + step * np.arange(int(np.ceil((stop - start) / step)) + 1)
    mu = broaden(energies, strengths, grid, gaussian_fwhm=0.0, lorentzian_fwhm0=width, slope=0.0, sticks=True)
    return grid, mu
