"""Structure fingerprints (moments of per-atom descriptors), PCA, S_P, k-means, and partial RDFs."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Structure

from aiida_lps.science.rdf import average_partial_rdf, coordination_number, partial_rdf
from aiida_lps.science.similarity import classify, kmeans_clusters, moment_fingerprint, project, similarity
from aiida_lps.structures.reference import load_structure


def test_moments_are_eq2_and_invariant_to_order_and_repetition():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(12, 5))
    symbols = ["Li"] * 6 + ["P"] * 2 + ["S"] * 4
    fp = moment_fingerprint(rows, moments=3)
    assert np.allclose(fp[:5], rows.mean(0))
    assert np.allclose(fp[5:10], rows.var(0))
    assert np.allclose(fp[10:], ((rows - rows.mean(0)) ** 3).mean(0))
    order = rng.permutation(12)
    per_element = moment_fingerprint(rows, symbols, ["Li", "P", "S"])
    assert np.allclose(moment_fingerprint(rows[order], np.array(symbols)[order], ["Li", "P", "S"]), per_element)
    assert np.allclose(moment_fingerprint(np.vstack([rows, rows]), symbols * 2, ["Li", "P", "S"]), per_element)
    li = moment_fingerprint(rows, symbols, ["Li"])
    assert np.allclose(li, np.concatenate([rows[:6].mean(0), rows[:6].var(0)]))
    with pytest.raises(ValueError, match="no P atoms"):
        moment_fingerprint(rows[:6], symbols[:6], ["P"])
    with pytest.raises(ValueError, match="NaN"):
        moment_fingerprint(np.full((2, 2), np.nan))


def test_pca_similarity_and_clusters_on_separated_groups():
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=5.0, size=(3, 40))
    data = np.vstack([c + rng.normal(scale=0.3, size=(8, 40)) for c in centres])
    labels = [f"s{i}" for i in range(24)]
    result = classify(data, labels, ["s0", "s8", "s16"], n_components=10, n_clusters=3)
    assert result.projection.scores.shape == (24, 10)
    assert np.allclose(np.diag(result.similarity[[0, 8, 16]]), 1.0)  # S_P of a reference to itself
    assert result.closest == ["s0"] * 8 + ["s8"] * 8 + ["s16"] * 8
    # clusters are the three groups (up to renaming)
    assert {tuple(result.clusters[k * 8 : (k + 1) * 8]) for k in range(3)} == {(c,) * 8 for c in range(3)}
    # projecting the data again gives the same scores
    assert np.allclose(result.projection.transform(data), result.projection.scores)
    assert project(data[:4]).scores.shape == (4, 3)  # n_components capped at n − 1
    with pytest.raises(ValueError, match="zero"):
        similarity(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_clusters(data[:3], 4)
    with pytest.raises(ValueError, match="unknown"):
        classify(data, labels, ["nope"])


@pytest.mark.lammps
def test_snap_fingerprints_of_crystals():
    """Real LAMMPS descriptors: supercell- and order-invariant fingerprints; the crystals are told apart."""
    from aiida_lps.engines.lammps.structure_descriptors import per_atom_descriptors

    names = ["beta-Li3PS4", "gamma-Li3PS4", "Li7P3S11", "LiPS3", "Li7PS6-LT"]
    crystals = [load_structure(n) for n in names]
    beta = crystals[0]
    shuffled = Structure.from_sites([beta[i] for i in np.random.default_rng(2).permutation(len(beta))])
    rows = per_atom_descriptors([*crystals, beta * (2, 1, 1), shuffled])
    symbols = [[site.specie.symbol for site in s] for s in [*crystals, beta * (2, 1, 1), shuffled]]
    for species in (None, ["Li"], ["Li", "P", "S"]):
        fps = np.array([moment_fingerprint(r, s, species) for r, s in zip(rows, symbols, strict=True)])
        assert np.allclose(fps[5], fps[0], atol=1e-9) and np.allclose(fps[6], fps[0], atol=1e-9)
        result = classify(fps[:5], names, names, n_components=10)
        assert np.allclose(np.diag(result.similarity), 1.0)
        assert result.closest == names
        off_diagonal = result.similarity[~np.eye(5, dtype=bool)]
        assert off_diagonal.max() < 0.99  # distinct crystals are not identical


def test_rdf_peaks_at_nearest_neighbour_and_counts_neighbours():
    beta = load_structure("beta-Li3PS4")
    rdf = partial_rdf(beta, ("P", "S"), r_max=6.0, bin_width=0.01)
    p = [i for i, s in enumerate(beta) if s.specie.symbol == "P"]
    s = [i for i, x in enumerate(beta) if x.specie.symbol == "S"]
    distances = beta.distance_matrix[np.ix_(p, s)]
    bonds = distances[distances < 2.5]  # the PS4 bonds (2.03–2.06 Å), well apart from the next S (> 3 Å)
    assert np.min(distances[distances >= 2.5]) > 3.0
    assert bonds.min() - rdf.bin_width <= rdf.r[np.argmax(rdf.g)] <= bonds.max() + rdf.bin_width
    assert coordination_number(rdf, 2.5) == pytest.approx(4.0)  # PS4 tetrahedra
    li2s = load_structure("Li2S")
    li_s = partial_rdf(li2s, ("Li", "S"), r_max=5.0, bin_width=0.01)
    li = [i for i, x in enumerate(li2s) if x.specie.symbol == "Li"]
    s2 = [i for i, x in enumerate(li2s) if x.specie.symbol == "S"]
    assert abs(li_s.r[np.argmax(li_s.g)] - li2s.distance_matrix[np.ix_(li, s2)].min()) <= li_s.bin_width
    assert coordination_number(li_s, 3.0) == pytest.approx(4.0)  # antifluorite: Li tetrahedrally coordinated
    # g_ab is symmetric (up to normalisation by the other density), supercell-invariant and → 1 far away
    s_p = partial_rdf(beta, ("S", "P"), r_max=6.0, bin_width=0.01)
    assert np.allclose(s_p.g, rdf.g)
    assert np.allclose(partial_rdf(beta * (1, 2, 1), ("P", "S"), r_max=6.0, bin_width=0.01).g, rdf.g)
    long = average_partial_rdf([beta * (2, 2, 2)], ("Li", "S"), r_max=12.0, bin_width=0.2, smearing=0.3)
    assert long.g[long.r > 9].mean() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="no P"):
        partial_rdf(li2s, ("P", "S"))
