"""Core-hole (XCH) K-edge XAS: absorber sites, supercells, ΔSCF alignment, broadening, site averaging.

Pure NumPy/pymatgen (no AiiDA import). Energies in eV, lengths in Å, intensities in arbitrary units (the raw
spectrum of each engine: VASP's ε₂(ω) from ``CH_LSPEC``, GPAW's squared 1s dipole matrix elements).

Alignment (see ``docs/xas.md``)
-------------------------------
Each site's spectrum is put on an absolute (up to one site-independent constant) energy axis by its ΔSCF
excitation onset:

    E = E_raw − E_raw,onset + ΔE + C,     ΔE = (E_XCH + R_XCH) − (N_XCH / N_GS)·(E_GS + R_GS)

with E_raw,onset the raw-axis energy of the first transition (the XCH LUMO: VASP ``E_F − ECORE`` of the core-hole
run; GPAW the lowest empty eigenvalue of the core-hole spin channel), E_XCH and E_GS the total energies of the
core-hole supercell and of the ground state, N their atom counts (a ground state of a smaller cell is scaled to
the supercell), R the engine's reference energies (GPAW's all-electron atomic references, 0 for VASP) and C an
optional calibration shift. :func:`xas_tools_energies` is the formula of atomisticnet/xas-tools for comparison
(``E = E_raw + E_XCH − (N_XCH/N_GS)·E_GS``, which keeps the raw onset and so adds the site's onset twice).

Broadening (Guo, Carbone et al. 2023, doi:10.1038/s41597-023-02262-4): Gaussian of FWHM 0.5 eV (instrument) and a
Lorentzian of FWHM Γ(E) = Γ₀ + a·(E − E_cbm) for E > E_cbm (Γ₀ = 0.59 eV, the S 1s core-hole width; a fitted), where E
is the transition energy of the broadened state and E_cbm the site's aligned onset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from pymatgen.core import Element, Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

__all__ = (
    "FWHM_TO_SIGMA",
    "align_energies",
    "broaden",
    "common_grid",
    "delta_scf",
    "energy_calibration",
    "first_transition",
    "has_core_1s",
    "inequivalent_sites",
    "interpolate",
    "local_environment",
    "lorentzian_fwhm",
    "spectrum_peaks",
    "site_average_arrays",
    "site_table",
    "standard_orientation",
    "supercell_with_absorber",
    "weighted_average",
    "xas_tools_energies",
)

#: σ = FWHM / (2 √(2 ln 2)) for a Gaussian.
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


# ------------------------------------------------------------------------------------------------- sites


MAX_GRID_POINTS = 200_000  # common-grid size guard (0.05 eV steps over 10 keV)


def has_core_1s(element: str) -> bool:
    """Whether ``element`` has a 1s level below its valence shell (Z ≥ 3), i.e. a K edge from a core level."""
    try:
        return Element(element).Z >= 3
    except ValueError:
        return False


def check_tolerances(symprec: float, angle_tolerance: float) -> None:
    """``ValueError`` unless 0 < symprec (Å) <= 1 and 0 < angle_tolerance (°) <= 45: spglib crashes on negatives."""
    for name, value, top in (("symprec", symprec, 1.0), ("angle_tolerance", angle_tolerance, 45.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= top:
            raise ValueError(f"{name} must be a number in (0, {top:g}], got {value!r}")


def inequivalent_sites(structure: Structure, element: str, symprec: float, angle_tolerance: float) -> list[list[int]]:
    """Groups of symmetry-equivalent sites of ``element`` (indices into ``structure``), ordered by first index.

    Uses pymatgen's :class:`SpacegroupAnalyzer` (spglib) with ``symprec`` (Å) and ``angle_tolerance`` (°): the
    equivalent indices of the symmetrized structure, kept in the order in which the first site of each group
    appears (the order of the published database's ``site_1`` … ``site_N``).
    """
    check_tolerances(symprec, angle_tolerance)
    symmetrized = SpacegroupAnalyzer(
        structure, symprec=symprec, angle_tolerance=angle_tolerance
    ).get_symmetrized_structure()
    groups = [sorted(int(i) for i in group) for group in symmetrized.equivalent_indices]
    groups = [group for group in groups if structure[group[0]].specie.symbol == element]
    return sorted(groups, key=lambda group: group[0])


def local_environment(structure: Structure, index: int, neighbours: Sequence[str], cutoff: float) -> dict[str, Any]:
    """Nearest neighbours of site ``index`` per element: distance of the nearest (Å) and count within ``cutoff``.

    :returns: ``{element: {"nearest": Å or None, "count": int, "distances": [Å, ...] within cutoff}}``.
    """
    search = max(cutoff, 6.0)
    found = structure.get_neighbors(structure[index], search)
    summary: dict[str, Any] = {}
    for element in neighbours:
        distances = sorted(float(n.nn_distance) for n in found if n.specie.symbol == element)
        within = [round(d, 4) for d in distances if d <= cutoff]
        summary[element] = {
            "nearest": round(distances[0], 4) if distances else None,
            "count": len(within),
            "distances": within,
        }
    return summary


def site_table(
    structure: Structure,
    element: str,
    *,
    symprec: float,
    angle_tolerance: float,
    sites: Sequence[int] | Mapping[int, int] | None = None,
    neighbours: Sequence[str],
    cutoff: float,
) -> list[dict[str, Any]]:
    """One row per inequivalent absorber: ``label``, ``index``, ``multiplicity``, ``equivalent_indices``, env.

    The settings have no defaults here; those of ``lps.xas`` are in ``aiida_lps/protocols/xas.yaml`` (``symprec``
    Å, ``angle_tolerance`` °) and :data:`aiida_lps.calcfunctions.xas.SITE_DEFAULTS` (``neighbours``,
    ``neighbour_cutoff`` Å).

    :param symprec: symmetry tolerance (Å) and ``angle_tolerance`` (°) of :func:`inequivalent_sites`.
    :param neighbours: elements of the environment summary and ``cutoff`` (Å), see :func:`local_environment`.
    :param sites: user-given absorber indices (multiplicity 1 each) or ``{index: multiplicity}``; bypasses the
        symmetry analysis.
    :raises ValueError: if ``structure`` has no ``element`` or a user site is not an ``element`` atom.
    """
    indices = [i for i, site in enumerate(structure) if site.specie.symbol == element]
    if not indices:
        raise ValueError(f"the structure ({structure.composition.reduced_formula}) has no {element} atom")
    if sites is not None:
        weights = dict(sites) if isinstance(sites, Mapping) else {int(i): 1 for i in sites}
        for index in weights:
            if index not in indices:
                raise ValueError(f"site {index} is not a {element} atom of the structure")
        equivalent = [[int(index)] for index in weights]
        multiplicities = [int(weights[index]) for index in weights]
        method = "user"
    else:
        equivalent = inequivalent_sites(structure, element, symprec, angle_tolerance)
        multiplicities = [len(g) for g in equivalent]
        method = "symmetry"
    rows = []
    for number, (group, multiplicity) in enumerate(zip(equivalent, multiplicities, strict=True), start=1):
        rows.append(
            {
                "label": f"site_{number}",
                "index": int(group[0]),
                "multiplicity": int(multiplicity),
                "equivalent_indices": [int(i) for i in group],
                "frac_coords": [round(float(x), 8) for x in structure[group[0]].frac_coords],
                "environment": local_environment(structure, group[0], neighbours, cutoff),
                "method": method,
            }
        )
    return rows


def standard_orientation(cell: np.ndarray) -> np.ndarray:
    """The same lattice rotated so that a ∥ x and b lies in the xy plane (lower-triangular rows, Å).

    This is the orientation of the published database's supercells (and of ASE's ``cellpar_to_cell``).
    """
    lattice = Lattice(np.asarray(cell, dtype=float))
    a, b, c = lattice.abc
    alpha, beta, gamma = np.radians(lattice.angles)
    bx, by = b * math.cos(gamma), b * math.sin(gamma)
    cx = c * math.cos(beta)
    cy = c * (math.cos(alpha) - math.cos(beta) * math.cos(gamma)) / math.sin(gamma)
    cz = math.sqrt(max(c * c - cx * cx - cy * cy, 0.0))
    return np.array([[a, 0.0, 0.0], [bx, by, 0.0], [cx, cy, cz]])


def supercell_with_absorber(
    structure: Structure, repetitions: Sequence[int], absorber: int | None, orient: bool = True
) -> tuple[Structure, int | None]:
    """Supercell of ``structure`` with the image of site ``absorber`` in the origin cell moved to the front.

    Sites keep pymatgen's order (each unit-cell site followed by its images, so species blocks stay contiguous).
    The absorber gets the site property ``absorber = True`` (all others ``False``).

    :param repetitions: (n1, n2, n3).
    :param absorber: index of the absorber in ``structure``, or ``None`` for the ground-state supercell.
    :param orient: rotate the cell into :func:`standard_orientation` (fractional coordinates unchanged).
    :returns: the supercell and the index the absorber had in it before it was moved (``None`` without one).
    """
    supercell = structure.copy()
    if "absorber" in supercell.site_properties:
        supercell.remove_site_property("absorber")
    supercell.make_supercell([int(n) for n in repetitions])
    n_images = int(np.prod(repetitions))
    if orient:
        supercell = Structure(
            Lattice(standard_orientation(supercell.lattice.matrix)),
            supercell.species,
            supercell.frac_coords,
            site_properties=supercell.site_properties or None,
        )
    flags = [False] * len(supercell)
    if absorber is None:
        supercell.add_site_property("absorber", flags)
        return supercell, None
    original = int(absorber) * n_images
    order = [original] + [i for i in range(len(supercell)) if i != original]
    moved = Structure.from_sites([supercell[i] for i in order])
    flags[0] = True
    moved.add_site_property("absorber", flags)
    return moved, original


# ------------------------------------------------------------------------------------------------- alignment


def delta_scf(
    energy_xch: float,
    energy_gs: float,
    n_atoms_xch: int,
    n_atoms_gs: int,
    reference_xch: float = 0.0,
    reference_gs: float = 0.0,
) -> float:
    """ΔSCF excitation energy (eV): ``(E_XCH + R_XCH) − (N_XCH/N_GS)·(E_GS + R_GS)``.

    A ground state computed in a smaller cell (an exact N_XCH/N_GS-fold repetition of it) is scaled to the
    supercell. R are reference energies (GPAW's all-electron atomic energies; 0 for VASP, whose ΔE then lacks the
    core energy and carries any constant from a different cut-off or POTCAR of the ground state).
    """
    if n_atoms_xch <= 0 or n_atoms_gs <= 0:
        raise ValueError(f"atom counts must be positive, got {n_atoms_xch} and {n_atoms_gs}")
    ratio = n_atoms_xch / n_atoms_gs
    if abs(ratio - round(ratio)) > 1e-9:
        raise ValueError(f"the core-hole cell ({n_atoms_xch} atoms) is not a repetition of the ground state's "
                         f"({n_atoms_gs} atoms)")  # fmt: skip
    return (energy_xch + reference_xch) - ratio * (energy_gs + reference_gs)


def align_energies(energy_raw: np.ndarray, raw_onset: float, delta_e: float, calibration: float = 0.0) -> np.ndarray:
    """Aligned energies (eV): ``E_raw − raw_onset + ΔE + calibration`` (the first transition lands on ΔE + C)."""
    return np.asarray(energy_raw, dtype=float) - float(raw_onset) + float(delta_e) + float(calibration)


def xas_tools_energies(
    energy_raw: np.ndarray, energy_xch: float, energy_gs: float, n_atoms_xch: int, n_atoms_gs: int
) -> np.ndarray:
    """The alignment of atomisticnet/xas-tools, for comparison: ``E_raw + E0_XCH − (N_XCH/N_GS)·E0_GS`` (eV)."""
    return np.asarray(energy_raw, dtype=float) + delta_scf(energy_xch, energy_gs, n_atoms_xch, n_atoms_gs)


def first_transition(energy: np.ndarray, mu: np.ndarray, fraction: float = 1e-3) -> float:
    """Energy (eV) of the first point whose intensity exceeds ``fraction`` of the maximum (a data-based onset)."""
    mu = np.asarray(mu, dtype=float)
    if mu.ndim > 1:
        mu = mu.mean(axis=1)
    if not np.any(mu > 0):
        raise ValueError("the spectrum has no positive intensity")
    return float(np.asarray(energy)[np.argmax(mu > fraction * mu.max())])


# ------------------------------------------------------------------------------------------------- broadening


def lorentzian_fwhm(energy: np.ndarray, e_cbm: float, gamma0: float, slope: float = 0.0) -> np.ndarray:
    """Lorentzian FWHM Γ(E) = Γ₀ + a·max(E − E_cbm, 0) (eV) (Guo, Carbone et al. 2023); ``slope`` a is dimensionless."""
    if gamma0 < 0 or slope < 0:
        raise ValueError(f"Γ₀ and a must be non-negative, got {gamma0} and {slope}")
    return gamma0 + slope * np.clip(np.asarray(energy, dtype=float) - e_cbm, 0.0, None)


def _bin_edges(grid: np.ndarray) -> np.ndarray:
    mid = 0.5 * (grid[1:] + grid[:-1])
    return np.concatenate([[grid[0] - (mid[0] - grid[0])], mid, [grid[-1] + (grid[-1] - mid[-1])]])


def _source_weights(energy: np.ndarray) -> np.ndarray:
    """Integration weights of the raw grid (trapezoid), so that Σ y·w is the area of the raw spectrum."""
    if len(energy) == 1:
        return np.ones(1)
    widths = np.diff(energy)
    weights = np.zeros_like(energy)
    weights[:-1] += 0.5 * widths
    weights[1:] += 0.5 * widths
    return weights


def broaden(
    energy: np.ndarray,
    intensity: np.ndarray,
    grid: np.ndarray,
    gaussian_fwhm: float,
    lorentzian_fwhm0: float,
    slope: float = 0.0,
    e_cbm: float | None = None,
    sticks: bool = False,
) -> np.ndarray:
    """Broaden a raw spectrum onto ``grid`` with a Gaussian ⊗ energy-dependent Lorentzian (area conserving).

    Every raw point (or stick) at energy E_j spreads its area y_j·w_j over ``grid`` with a Voigt-like kernel:
    the Lorentzian of FWHM Γ(E_j) (:func:`lorentzian_fwhm`), averaged over each output bin (exact arctan
    integrals, so coarse grids lose no area), then a Gaussian of FWHM ``gaussian_fwhm``. Only area that falls
    outside the grid is lost (a Lorentzian's tail beyond ±W holds ≈ Γ/(πW) of it).

    :param energy: raw energies (eV), any order: a decreasing axis is sorted (with its intensities) before the
        integration weights are taken (or stick positions with ``sticks=True``).
    :raises ValueError: for NaN/inf values, mismatched shapes or negative widths.
    :param intensity: raw intensities, shape (n,) or (n, k) for k components.
    :param grid: uniform output grid (eV).
    :param e_cbm: energy where Γ starts to grow (eV; default the first raw energy with intensity).
    :param sticks: ``intensity`` are stick areas (no integration weights).
    :returns: broadened intensities on ``grid``, shape (len(grid),) or (len(grid), k); units of y per eV.
    """
    energy = np.asarray(energy, dtype=float)
    values = np.asarray(intensity, dtype=float)
    squeeze = values.ndim == 1
    if squeeze:
        values = values[:, None]
    if energy.ndim != 1 or values.ndim != 2 or len(energy) != len(values) or len(energy) == 0:
        raise ValueError(
            f"energy (shape {energy.shape}) and intensity (shape {values.shape}) must have the same length"
        )
    if not (np.all(np.isfinite(energy)) and np.all(np.isfinite(values))):
        raise ValueError("the spectrum has NaN or infinite energies or intensities")
    for name, value in (("gaussian_fwhm", gaussian_fwhm), ("lorentzian_fwhm0", lorentzian_fwhm0), ("slope", slope)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative finite number, got {value}")
    if np.any(np.diff(energy) < 0):  # a decreasing (or unordered) axis: sort it, so that areas keep their sign
        order = np.argsort(energy, kind="stable")
        energy, values = energy[order], values[order]
    grid = np.asarray(grid, dtype=float)
    if len(grid) < 2:
        raise ValueError("the output grid needs at least two points")
    step = grid[1] - grid[0]
    if not np.allclose(np.diff(grid), step, rtol=1e-6, atol=1e-9):
        raise ValueError("the output grid must be uniform")
    areas = values * (1.0 if sticks else _source_weights(energy)[:, None])
    keep = np.any(areas != 0.0, axis=1)
    energy, areas = energy[keep], areas[keep]
    result = np.zeros((len(grid), values.shape[1]))
    if len(energy) == 0:
        return result[:, 0] if squeeze else result
    if e_cbm is None:
        e_cbm = float(energy[0])
    edges = _bin_edges(grid)
    if lorentzian_fwhm0 > 0 or slope > 0:
        half = 0.5 * lorentzian_fwhm(energy, e_cbm, lorentzian_fwhm0, slope)  # (m,)
        half = np.maximum(half, 1e-6)
        cumulative = np.arctan((edges[None, :] - energy[:, None]) / half[:, None]) / np.pi  # (m, n+1)
        kernel = np.diff(cumulative, axis=1) / step  # (m, n): bin-averaged density
    else:
        kernel = np.zeros((len(energy), len(grid)))
        index = np.clip(np.searchsorted(edges, energy) - 1, 0, len(grid) - 1)
        inside = (energy >= edges[0]) & (energy <= edges[-1])
        kernel[np.arange(len(energy))[inside], index[inside]] = 1.0 / step
    result = kernel.T @ areas
    if gaussian_fwhm > 0:
        sigma = gaussian_fwhm * FWHM_TO_SIGMA
        half_width = int(math.ceil(6.0 * sigma / step))
        offsets = np.arange(-half_width, half_width + 1) * step
        cumulative = 0.5 * (1.0 + _erf((offsets[:, None] + np.array([-0.5, 0.5]) * step) / (sigma * math.sqrt(2.0))))
        gauss = cumulative[:, 1] - cumulative[:, 0]
        gauss /= gauss.sum()
        result = np.stack([np.convolve(result[:, k], gauss, mode="same") for k in range(result.shape[1])], axis=1)
    return result[:, 0] if squeeze else result


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(x)


# ------------------------------------------------------------------------------------------------- averaging


def common_grid(onsets: Iterable[float], step: float, below: float, above: float) -> np.ndarray:
    """Uniform grid (eV) from ``below`` eV under the lowest onset to ``above`` eV over the highest one."""
    onsets = [float(x) for x in onsets]
    if not onsets:
        raise ValueError("no onsets given")
    if not all(math.isfinite(x) for x in [*onsets, step, below, above]):
        raise ValueError(f"onsets, step, below and above must be finite, got {onsets}, {step}, {below}, {above}")
    if step <= 0 or below < 0 or above <= 0:
        raise ValueError(f"step, below and above must be positive, got {step}, {below}, {above}")
    if max(abs(x) for x in onsets) > 1e6:
        raise ValueError(f"onsets {onsets} eV are not energies of a K edge (|E| > 1e6 eV)")
    points = (max(onsets) + above - min(onsets) + below) / step  # in floating point first: may be huge or inf
    if not points <= MAX_GRID_POINTS:
        raise ValueError(
            f"the grid would have {points:.3g} points (> {MAX_GRID_POINTS}): raise `step` or narrow below/above"
        )
    start = math.floor((min(onsets) - below) / step) * step
    stop = max(onsets) + above
    n = int(math.ceil((stop - start) / step)) + 1
    if n < 2 or n > MAX_GRID_POINTS:
        raise ValueError(f"the grid would have {n} points (> {MAX_GRID_POINTS}): raise `step` or narrow below/above")
    return start + step * np.arange(n)


def interpolate(energy: np.ndarray, mu: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``mu`` (shape (n,) or (n, k)) onto ``grid``; zero outside the data's range."""
    energy = np.asarray(energy, dtype=float)
    mu = np.asarray(mu, dtype=float)
    order = np.argsort(energy)
    energy = energy[order]
    mu = mu[order]
    if mu.ndim == 1:
        return np.interp(grid, energy, mu, left=0.0, right=0.0)
    return np.stack([np.interp(grid, energy, mu[:, k], left=0.0, right=0.0) for k in range(mu.shape[1])], axis=1)


def weighted_average(spectra: Sequence[np.ndarray], multiplicities: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i w_i·μ_i with w_i = m_i / Σ m (spectra on one common grid); returns (average, weights)."""
    if len(spectra) != len(multiplicities) or not spectra:
        raise ValueError(f"{len(spectra)} spectra but {len(multiplicities)} multiplicities")
    m = np.asarray(multiplicities, dtype=float)
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"multiplicities must be positive, got {list(m)}")
    weights = m / m.sum()
    stack = np.stack([np.asarray(s, dtype=float) for s in spectra])
    if not np.all(np.isfinite(stack)):
        raise ValueError("a site spectrum has NaN or infinite values: it cannot be averaged")
    return np.tensordot(weights, stack, axes=1), weights


def site_average_arrays(
    spectra: dict[str, dict[str, np.ndarray]],
    energies: dict[str, float],
    properties: dict[str, dict[str, Any]],
    ground_state_energy: float,
    ground_state_properties: dict[str, Any],
    multiplicities: dict[str, float],
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """Align, broaden and average per-site spectra (the body of the calcfunction ``lps.site_average``).

    :param spectra: per site label: ``energy`` (raw axis, eV), ``mu`` (n, 3), optional ``stick_energy`` and
        ``stick_mu`` (then the sticks are broadened instead of the raw curve).
    :param energies: per site: total energy of the core-hole run (eV).
    :param properties: per site: ``raw_onset`` (eV), ``n_atoms``, ``reference_energy`` (eV).
    :param parameters: complete settings (the caller merges the protocol defaults, ``XAS_DEFAULTS`` of
        :mod:`aiida_lps.calcfunctions.xas`): ``broadening`` {``gaussian_fwhm``, ``lorentzian_fwhm``,
        ``lorentzian_slope``}, ``grid`` {``step``, ``below``, ``above``} (eV) and ``calibration_shift`` (eV).
    :returns: ``grid``, ``average`` (n, 3), ``sites`` {label: (n, 3)}, ``weights`` {label: w}, ``alignment``.
    """
    broadening = dict(parameters["broadening"])
    grid_settings = dict(parameters["grid"])
    calibration = float(parameters["calibration_shift"])
    e_gs = float(ground_state_energy)
    n_gs = int(ground_state_properties["n_atoms"])
    r_gs = float(ground_state_properties.get("reference_energy") or 0.0)
    labels = sorted(spectra, key=lambda label: int(label.rsplit("_", 1)[-1]) if label[-1].isdigit() else label)
    alignment: dict[str, Any] = {}
    for label in labels:
        props = properties[label]
        delta = delta_scf(
            energies[label], e_gs, int(props["n_atoms"]), n_gs, float(props.get("reference_energy") or 0.0), r_gs
        )
        onset = delta + calibration
        raw_onset = float(props["raw_onset"])
        xas_tools_onset = raw_onset + delta_scf(energies[label], e_gs, int(props["n_atoms"]), n_gs)
        alignment[label] = {
            "delta_scf": delta,
            "raw_onset": raw_onset,
            "shift": onset - raw_onset,
            "aligned_onset": onset,
            "xas_tools_onset": xas_tools_onset + calibration,
        }
    grid = common_grid([a["aligned_onset"] for a in alignment.values()], **grid_settings)
    site_spectra: dict[str, np.ndarray] = {}
    for label in labels:
        shift = alignment[label]["shift"]
        data = spectra[label]
        if "stick_energy" in data:
            energy, mu, sticks = np.asarray(data["stick_energy"]) + shift, np.asarray(data["stick_mu"]), True
        else:
            energy, mu, sticks = np.asarray(data["energy"]) + shift, np.asarray(data["mu"]), False
        site_spectra[label] = broaden(
            energy,
            mu,
            grid,
            gaussian_fwhm=float(broadening["gaussian_fwhm"]),
            lorentzian_fwhm0=float(broadening["lorentzian_fwhm"]),
            slope=float(broadening["lorentzian_slope"]),
            e_cbm=alignment[label]["aligned_onset"],
            sticks=sticks,
        )
    average, weights = weighted_average([site_spectra[k] for k in labels], [multiplicities[k] for k in labels])
    return {
        "grid": grid,
        "average": average,
        "sites": site_spectra,
        "weights": dict(zip(labels, (float(w) for w in weights), strict=True)),
        "alignment": alignment,
        "broadening": broadening,
        "grid_settings": grid_settings,
        "calibration_shift": calibration,
    }


# ------------------------------------------------------------------------------------------------- calibration

#: Keys of an energy calibration (``lps.xas`` input ``calibration``); ``feature``, ``source`` are optional text.
CALIBRATION_KEYS = ("reference", "feature", "measured_eV", "computed_eV", "source")


def spectrum_peaks(energy: np.ndarray, mu: np.ndarray, prominence: float = 0.03) -> np.ndarray:
    """Energies (eV, ascending) of the local maxima of ``mu`` with a prominence of at least ``prominence`` × max μ."""
    from scipy.signal import find_peaks

    mu = np.asarray(mu, dtype=float)
    found, _ = find_peaks(mu, prominence=prominence * float(mu.max()))
    return np.asarray(energy, dtype=float)[found]


def energy_calibration(
    reference: str, measured_eV: float, computed_eV: float, feature: str = "first peak", source: str = ""
) -> dict[str, Any]:
    """A calibration constant of the energy axis from one reference compound, as XAS databases do.

    The shift C = ``measured_eV`` − ``computed_eV`` puts the computed ``feature`` of ``reference`` (e.g. the first
    peak of Li2S, computed with the same engine, functional and settings) on its measured energy; C is then added to
    every spectrum computed with those settings. Returns the record with ``shift_eV``.

    :raises ValueError: for a missing reference name or non-finite energies.
    """
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("the calibration needs the name of its reference compound (`reference`)")
    for name, value in (("measured_eV", measured_eV), ("computed_eV", computed_eV)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"calibration `{name}` must be a finite energy (eV), got {value!r}")
    return {
        "reference": reference,
        "feature": feature,
        "measured_eV": float(measured_eV),
        "computed_eV": float(computed_eV),
        "source": source,
        "shift_eV": float(measured_eV) - float(computed_eV),
    }
