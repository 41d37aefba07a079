"""Structure fingerprints, similarity to reference crystals and k-means classes. No AiiDA import.

Following Guo, Wang, Urban, Artrith, Chem. Mater. 2022 (doi:10.1021/acs.chemmater.2c00267), "Structure similarity
and classification":

* A structure's fingerprint F is the concatenation of the first K moments of the distribution of its atoms'
  descriptor vectors f_i (eq. 2): the mean ⟨f⟩ and, for k ≥ 2, the central moments (1/N) Σ_i (f_i − ⟨f⟩)^k
  (component-wise; k = 2 is the variance). K = 2 by default. Restricting the atoms to one species (``species=["Li"]``)
  gives the Li-environment fingerprint; several species give one block per species.
* The fingerprints of a data set are standardised (zero mean, unit variance per component) and projected on their
  first 10 principal components (scikit-learn ``StandardScaler`` + ``PCA``).
* Similarity of two structures (eq. 3): S_P = F₁·F₂ / (‖F₁‖ ‖F₂‖) of the projected fingerprints (1 for identical
  structures). Structures with S_P below 0.3 for every reference crystal are "similar to none".
* k-means clustering of the projected fingerprints (scikit-learn ``KMeans``).

The descriptors themselves are any per-atom rows (here LAMMPS ``compute sna/atom`` SNAP bispectra, see
:func:`aiida_lps.engines.lammps.structure_descriptors.per_atom_descriptors`); these functions take plain arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = (
    "moment_fingerprint",
    "Projection",
    "project",
    "similarity",
    "kmeans_clusters",
    "SimilarityResult",
    "classify",
)

#: S_P below which a structure counts as similar to none of the references (Guo et al. 2022)
SIMILARITY_THRESHOLD = 0.3


def moment_fingerprint(
    descriptors: np.ndarray,
    symbols: Sequence[str] | None = None,
    species: Sequence[str] | None = None,
    moments: int = 2,
) -> np.ndarray:
    """Fingerprint of one structure from its per-atom descriptors (Guo et al. 2022, eq. 2).

    :param descriptors: (N, F) one row per atom.
    :param symbols: (N,) element of each atom; needed when ``species`` is given.
    :param species: ``None`` pools all atoms; otherwise one block of moments per listed element, over that
        element's atoms only (``["Li"]``: the Li-environment fingerprint).
    :param moments: K ≥ 1: mean, then central moments 2..K.
    :returns: (len(blocks)·K·F,) vector, invariant to the order of the atoms and to supercell repetition.
    :raises ValueError: for non-finite descriptors, a missing element or inconsistent shapes.
    """
    rows = np.asarray(descriptors, dtype=float)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise ValueError(f"descriptors must be a non-empty (atoms, features) array, got shape {rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise ValueError("descriptors contain NaN or infinite values")
    if int(moments) != moments or moments < 1:
        raise ValueError(f"moments must be a positive integer, got {moments}")
    if species is None:
        blocks = [rows]
    else:
        if symbols is None or len(symbols) != rows.shape[0]:
            raise ValueError("symbols must give the element of every descriptor row when species are selected")
        symbols = np.asarray(symbols)
        blocks = []
        for element in species:
            mask = symbols == element
            if not mask.any():
                raise ValueError(f"the structure has no {element} atoms for the {element} block of the fingerprint")
            blocks.append(rows[mask])
    parts = []
    for block in blocks:
        mean = block.mean(axis=0)
        parts.append(mean)
        for k in range(2, int(moments) + 1):
            parts.append(((block - mean) ** k).mean(axis=0))
    return np.concatenate(parts)


@dataclasses.dataclass
class Projection:
    """Standardised fingerprints projected on their principal components.

    :ivar scores: (n_structures, n_components). :ivar explained_variance_ratio: (n_components,).
    :ivar mean, scale: of the standardisation; :ivar components: (n_components, n_features) PCA axes.
    """

    scores: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    components: np.ndarray

    def transform(self, fingerprints: np.ndarray) -> np.ndarray:
        """Project new fingerprints with the same standardisation and axes."""
        return ((np.atleast_2d(fingerprints) - self.mean) / self.scale) @ self.components.T


def project(fingerprints: np.ndarray, n_components: int = 10) -> Projection:
    """Standardise (scikit-learn ``StandardScaler``) and project on the first principal components (``PCA``).

    ``n_components`` is lowered to min(n_structures − 1, n_features) when the data set is smaller (a centred set of
    n points spans at most n − 1 dimensions); :attr:`Projection.scores` tells how many were kept.
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    data = np.asarray(fingerprints, dtype=float)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError(f"need fingerprints of at least 2 structures as a 2-D array, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("fingerprints contain NaN or infinite values")
    if int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components}")
    scaler = StandardScaler().fit(data)
    standard = scaler.transform(data)
    keep = int(min(n_components, data.shape[0] - 1, data.shape[1]))
    pca = PCA(n_components=keep, svd_solver="full").fit(standard)
    return Projection(
        scores=pca.transform(standard),
        explained_variance_ratio=pca.explained_variance_ratio_,
        mean=scaler.mean_,
        scale=scaler.scale_,
        components=pca.components_,
    )


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """S_P (eq. 3) between every row of ``a`` and every row of ``b``: (len(a), len(b)) in [−1, 1].

    :raises ValueError: when a fingerprint is the zero vector (S_P undefined).
    """
    a, b = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    norm_a, norm_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    if np.any(norm_a == 0) or np.any(norm_b == 0):
        raise ValueError("a projected fingerprint is zero (the data-set mean): S_P is undefined for it")
    return np.clip((a @ b.T) / np.outer(norm_a, norm_b), -1.0, 1.0)


def kmeans_clusters(scores: np.ndarray, n_clusters: int, seed: int = 0) -> np.ndarray:
    """k-means cluster index of every row of ``scores`` (scikit-learn ``KMeans``, 10 initialisations)."""
    from sklearn.cluster import KMeans

    scores = np.asarray(scores, dtype=float)
    if int(n_clusters) != n_clusters or not 1 <= n_clusters <= scores.shape[0]:
        raise ValueError(f"n_clusters must be an integer in [1, {scores.shape[0]}] (the structures), got {n_clusters}")
    return KMeans(n_clusters=int(n_clusters), n_init=10, random_state=int(seed)).fit_predict(scores)


@dataclasses.dataclass
class SimilarityResult:
    """Similarity analysis of a set of structures.

    :ivar labels: structure labels. :ivar references: labels of the reference crystals (a subset of ``labels``).
    :ivar fingerprints: (n, n_features). :ivar projection: :class:`Projection` (scores (n, n_components)).
    :ivar similarity: (n, n_references) S_P. :ivar closest: closest reference per structure, or ``None`` when S_P
        is below ``threshold`` for every reference. :ivar clusters: (n,) k-means index (``None`` if not asked).
    """

    labels: list[str]
    references: list[str]
    fingerprints: np.ndarray
    projection: Projection
    similarity: np.ndarray
    closest: list[str | None]
    clusters: np.ndarray | None
    threshold: float

    def to_dict(self) -> dict:
        """JSON-able summary (no fingerprints)."""
        return {
            "references": self.references,
            "n_components": int(self.projection.scores.shape[1]),
            "explained_variance_ratio": self.projection.explained_variance_ratio.tolist(),
            "threshold": self.threshold,
            "structures": {
                label: {
                    "pca": self.projection.scores[i].tolist(),
                    "similarity": dict(zip(self.references, self.similarity[i].tolist(), strict=True)),
                    "closest_reference": self.closest[i],
                    "cluster": None if self.clusters is None else int(self.clusters[i]),
                }
                for i, label in enumerate(self.labels)
            },
        }


def classify(
    fingerprints: np.ndarray,
    labels: Sequence[str],
    references: Sequence[str],
    n_components: int = 10,
    n_clusters: int | None = None,
    seed: int = 0,
    threshold: float = SIMILARITY_THRESHOLD,
) -> SimilarityResult:
    """Project a set of fingerprints (references included), S_P to each reference, closest reference, k-means.

    :param fingerprints: (n, F), one per label. :param references: labels of the reference crystals.
    :param n_clusters: k-means clusters (``None``: no clustering).
    """
    labels = [str(label) for label in labels]
    data = np.asarray(fingerprints, dtype=float)
    if len(labels) != data.shape[0] or len(set(labels)) != len(labels):
        raise ValueError("labels must be unique, one per fingerprint")
    unknown = [r for r in references if r not in labels]
    if unknown or not references:
        raise ValueError(f"references must be labels of the set; unknown: {unknown}" if unknown else "no references")
    projection = project(data, n_components)
    ref_index = [labels.index(r) for r in references]
    s_p = similarity(projection.scores, projection.scores[ref_index])
    best = np.argmax(s_p, axis=1)
    closest = [references[j] if s_p[i, j] >= threshold else None for i, j in enumerate(best)]
    clusters = None if n_clusters is None else kmeans_clusters(projection.scores, n_clusters, seed)
    return SimilarityResult(labels, list(references), data, projection, s_p, closest, clusters, float(threshold))
