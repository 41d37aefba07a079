"""Partial radial distribution functions g_ab(r) of periodic structures and their averages. No AiiDA import.

g_ab(r) = V / (N_a N_b) · n_ab(r, r + Δr) / (4/3 π [(r + Δr)³ − r³]), with n_ab the number of ordered pairs
(i of element a, j ≠ i of element b, any periodic image) at distance in the shell. For a ≠ b, g_ab = g_ba; far from
an atom g → 1 (for a = b, → 1 − 1/N_a). Distances in Å. Guo et al., Chem. Mater. 2022 (Fig. 6) average the Li–S
and P–S RDFs of the ten lowest-energy structures of a composition and compare them with the parent crystal's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ("RDF", "partial_rdf", "average_partial_rdf", "coordination_number")


@dataclasses.dataclass
class RDF:
    """g(r) on bin centres ``r`` (Å) of width ``bin_width``; ``pair`` = (a, b); ``density_b`` = N_b / V (Å⁻³)."""

    pair: tuple[str, str]
    r: np.ndarray
    g: np.ndarray
    bin_width: float
    density_b: float


def _atoms(structure):
    if hasattr(structure, "get_chemical_symbols"):
        return structure
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_atoms(structure)


def _edges(r_max: float, bin_width: float) -> np.ndarray:
    if not (r_max > 0 and bin_width > 0 and bin_width < r_max):
        raise ValueError(f"need 0 < bin_width < r_max (Å), got bin_width={bin_width}, r_max={r_max}")
    n = int(round(r_max / bin_width))
    return np.linspace(0.0, n * bin_width, n + 1)


def partial_rdf(structure, pair: Sequence[str], r_max: float = 8.0, bin_width: float = 0.02) -> RDF:
    """g_ab(r) of one periodic structure (ASE ``Atoms`` or pymatgen ``Structure``); ``pair`` = (a, b).

    :raises ValueError: when the structure lacks element a or b, or for bad bins.
    """
    from ase.neighborlist import neighbor_list

    atoms = _atoms(structure)
    a, b = (str(p) for p in pair)
    edges = _edges(r_max, bin_width)
    symbols = np.array(atoms.get_chemical_symbols())
    n_a, n_b = int(np.sum(symbols == a)), int(np.sum(symbols == b))
    missing = [e for e, n in ((a, n_a), (b, n_b)) if n == 0]
    if missing:
        raise ValueError(f"{atoms.get_chemical_formula()} has no {' or '.join(missing)} atoms for the {a}–{b} RDF")
    i, j, d = neighbor_list("ijd", atoms, float(edges[-1]))
    keep = (symbols[i] == a) & (symbols[j] == b)
    counts, _ = np.histogram(d[keep], bins=edges)
    volume = atoms.get_volume()
    shells = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = counts * volume / (n_a * n_b * shells)
    return RDF((a, b), 0.5 * (edges[1:] + edges[:-1]), g, float(edges[1] - edges[0]), n_b / volume)


def average_partial_rdf(
    structures: Iterable, pair: Sequence[str], r_max: float = 8.0, bin_width: float = 0.02, smearing: float = 0.0
) -> RDF:
    """Mean g_ab(r) of several structures (each weighted equally), optionally Gaussian-smoothed.

    :param smearing: standard deviation (Å) of a Gaussian convolution of the averaged histogram (0: none).
    """
    rdfs = [partial_rdf(s, pair, r_max, bin_width) for s in structures]
    if not rdfs:
        raise ValueError("no structures to average")
    if smearing < 0:
        raise ValueError(f"smearing must be non-negative (Å), got {smearing}")
    g = np.mean([x.g for x in rdfs], axis=0)
    if smearing > 0:
        from scipy.ndimage import gaussian_filter1d

        g = gaussian_filter1d(g, smearing / rdfs[0].bin_width, mode="nearest")
    density = float(np.mean([x.density_b for x in rdfs]))
    return RDF(rdfs[0].pair, rdfs[0].r, g, rdfs[0].bin_width, density)


def coordination_number(rdf: RDF, r_cut: float) -> float:
    """Mean number of b neighbours of an a atom within ``r_cut`` (Å): ρ_b ∫ g(r) 4πr² dr (exact on the bins)."""
    lower = rdf.r - rdf.bin_width / 2
    upper = rdf.r + rdf.bin_width / 2
    inside = upper <= r_cut + 1e-12
    shells = 4.0 / 3.0 * np.pi * (upper**3 - lower**3)
    return float(rdf.density_b * np.sum(rdf.g[inside] * shells[inside]))
