"""Plots of the Li2S–P2S5 phase diagram (hull), structure similarity (PCA map) and partial RDFs.

Matplotlib is imported lazily and figures are made without pyplot (no GUI backend needed); every function returns
the Figure. Energies in meV/atom on the plots, distances in Å.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from aiida_lps.plotting import _figure_and_axes
from aiida_lps.science.phase_diagram import atom_fraction_to_formula_fraction, formula_fraction_to_atom_fraction

__all__ = ["plot_phase_diagram"]

#: marker style per kind of entry (Guo et al. 2022, Fig. 5: crystals blue squares, AIMD orange, GA green crosses)
KIND_STYLES: dict[str, dict] = {
    "crystal": {"marker": "s", "color": "tab:blue", "s": 36, "zorder": 3},
    "ga": {"marker": "x", "color": "tab:green", "s": 22, "zorder": 2},
    "aimd": {"marker": "o", "color": "tab:orange", "s": 18, "zorder": 2},
    "other": {"marker": ".", "color": "grey", "s": 18, "zorder": 1},
}


def plot_phase_diagram(
    hull: Mapping,
    kinds: Mapping[str, str] | None = None,
    ax: Any = None,
    axis: str = "atom_fraction",
    annotate: Sequence[str] | None = None,
) -> Any:
    """Formation energy (meV/atom) of every entry with the lower hull, like Guo et al. 2022, Fig. 5.

    :param hull: the ``result`` Dict of ``lps.convex_hull`` (``node.get_dict()``) or ``HullResult.to_dict()``.
    :param kinds: label → ``crystal`` | ``ga`` | ``aimd`` (default ``other``): marker per kind.
    :param axis: ``atom_fraction`` (Li2S atom fraction, where the hull is straight; x on the top axis) or ``x``
        (formula fraction; the hull segments, straight in the atom fraction, are drawn as the curves they are).
    :param annotate: labels to write next to their points (default: crystals and stable entries).
    """
    if axis not in ("atom_fraction", "x"):
        raise ValueError(f"axis must be 'atom_fraction' or 'x', got {axis!r}")
    fig, ax = _figure_and_axes(ax)
    kinds = dict(kinds or {})
    entries = hull["entries"]
    coordinate = (lambda y: np.asarray(y)) if axis == "atom_fraction" else atom_fraction_to_formula_fraction

    hull_y = np.asarray(hull["hull"]["atom_fraction"], dtype=float)
    hull_e = np.asarray(hull["hull"]["formation_energy_per_atom"], dtype=float) * 1000
    dense_y = np.linspace(0.0, 1.0, 401)
    ax.plot(coordinate(dense_y), np.interp(dense_y, hull_y, hull_e), "k-", lw=1.2, label="lower hull", zorder=4)
    seen = set()
    for label, entry in entries.items():
        kind = kinds.get(label, "other")
        style = dict(KIND_STYLES.get(kind, KIND_STYLES["other"]))
        color = style.pop("color")
        if style["marker"] in "so":  # filled when on the hull, hollow when above it
            face = color if entry["stability"] == "stable" else "none"
            style.update(facecolors=face, edgecolors=color)
        else:
            style.update(color=color)
        ax.scatter(
            coordinate(entry["atom_fraction"]),
            entry["formation_energy_per_atom"] * 1000,
            label=None if kind in seen else kind,
            **style,
        )
        seen.add(kind)
    names = set(annotate) if annotate is not None else {k for k, e in entries.items() if e["stability"] == "stable"}
    if annotate is None:
        names |= {k for k in entries if kinds.get(k) == "crystal"}
    for label in sorted(names & set(entries)):
        entry = entries[label]
        note = (
            f"{label}" if entry["stability"] == "stable" else f"{label} (+{entry['e_above_hull_per_atom'] * 1000:.1f})"
        )
        ax.annotate(
            note,
            (coordinate(entry["atom_fraction"]), entry["formation_energy_per_atom"] * 1000),
            textcoords="offset points",
            xytext=(3, -10),
            fontsize="x-small",
        )
    if axis == "atom_fraction":
        ax.set_xlabel("Li$_2$S atom fraction")
        top = ax.secondary_xaxis(
            "top", functions=(atom_fraction_to_formula_fraction, formula_fraction_to_atom_fraction)
        )
        top.set_xlabel("x in (Li$_2$S)$_x$(P$_2$S$_5$)$_{1-x}$")
    else:
        ax.set_xlabel("x in (Li$_2$S)$_x$(P$_2$S$_5$)$_{1-x}$")
    ax.set_xlim(0, 1)
    ax.set_ylabel("formation energy (meV/atom)")
    ax.legend(fontsize="small", title="filled: on the hull", title_fontsize="x-small")
    return fig


def plot_similarity(
    result: Mapping,
    ax: Any = None,
    components: tuple[int, int] = (0, 1),
    color_by: str = "cluster",
) -> Any:
    """PCA map of the structures (two components), coloured by k-means cluster or closest reference crystal; the
    reference crystals are marked with stars and named.

    :param result: the ``result`` Dict of ``lps.structure_similarity`` (``node.get_dict()``).
    :param color_by: ``cluster`` or ``closest_reference``.
    """
    if color_by not in ("cluster", "closest_reference"):
        raise ValueError(f"color_by must be 'cluster' or 'closest_reference', got {color_by!r}")
    fig, ax = _figure_and_axes(ax)
    structures = result["structures"]
    i, j = components
    if max(i, j) >= result["n_components"]:
        raise ValueError(f"components {components} exceed the {result['n_components']} computed")
    groups: dict[Any, list[str]] = {}
    for label, entry in structures.items():
        groups.setdefault(entry.get(color_by), []).append(label)
    for key in sorted(groups, key=str):
        points = np.array([structures[k]["pca"] for k in groups[key]])
        name = f"cluster {key}" if color_by == "cluster" and key is not None else str(key or "no reference")
        ax.scatter(points[:, i], points[:, j], s=14, label=name)
    for reference in result["references"]:
        point = structures[reference]["pca"]
        ax.scatter(point[i], point[j], marker="*", s=140, color="black", zorder=5)
        ax.annotate(reference, (point[i], point[j]), textcoords="offset points", xytext=(5, 4), fontsize="x-small")
    ratio = result["explained_variance_ratio"]
    ax.set_xlabel(f"PC{i + 1} ({100 * ratio[i]:.0f} % of variance)")
    ax.set_ylabel(f"PC{j + 1} ({100 * ratio[j]:.0f} % of variance)")
    ax.legend(fontsize="x-small")
    return fig


def plot_rdfs(
    r: np.ndarray,
    curves: Mapping[str, np.ndarray],
    parents: Mapping[str, np.ndarray] | None = None,
    pair: tuple[str, str] = ("Li", "S"),
    offset: float = 4.0,
    ax: Any = None,
) -> Any:
    """Stacked partial RDFs (Guo et al. 2022, Fig. 6): one averaged g(r) per group, shifted by ``offset``, with the
    parent crystal's g(r) dashed under the group of the same name (``parents`` keyed like ``curves``)."""
    fig, ax = _figure_and_axes(ax)
    r = np.asarray(r)
    for k, (name, g) in enumerate(curves.items()):
        (line,) = ax.plot(r, np.asarray(g) + k * offset, lw=1.1)
        if parents and name in parents:
            ax.plot(r, np.asarray(parents[name]) + k * offset, ls="--", lw=0.8, color=line.get_color())
        ax.annotate(name, (r[-1], k * offset + 1.0), xytext=(3, 0), textcoords="offset points", fontsize="x-small")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel(f"g$_{{{pair[0]}-{pair[1]}}}$(r) (offset)")
    ax.set_xlim(r[0], r[-1])
    return fig


__all__ += ["plot_similarity", "plot_rdfs"]
