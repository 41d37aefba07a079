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
