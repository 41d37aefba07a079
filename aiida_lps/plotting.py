"""Small matplotlib helpers (imported lazily; safe with the Agg backend). MSD in Å², time in ps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from aiida_lps.science.arrhenius import ArrheniusFit

__all__ = ["plot_arrhenius", "plot_msd"]


def _figure_and_axes(ax: Any) -> tuple[Any, Any]:
    """Return (figure, axes), creating a figure without pyplot (no GUI backend needed)."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.6), layout="constrained")
    return fig, fig.add_subplot()


def plot_msd(time_ps: np.ndarray, msd_axes: np.ndarray, ax: Any = None, label: str | None = None) -> Any:
    """Plot the total MSD and its x/y/z components (Å²) against lag time (ps); returns the Figure."""
    fig, ax = _figure_and_axes(ax)
    t = np.asarray(time_ps)
    msd = np.asarray(msd_axes)
    prefix = f"{label} " if label else ""
    (line,) = ax.plot(t, msd.sum(axis=1), label=f"{prefix}total")
    for k, name in enumerate("xyz"):
        ax.plot(t, msd[:, k], lw=0.8, ls=("--", ":", "-.")[k], color=line.get_color(), label=f"{prefix}{name}")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("MSD (Å$^2$)")
    ax.legend(fontsize="small")
    return fig


def plot_arrhenius(
    temperatures: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    errors: Sequence[float] | np.ndarray | None = None,
    fit: ArrheniusFit | None = None,
    ax: Any = None,
    ylabel: str = "D (cm$^2$/s)",
) -> Any:
    """Arrhenius plot of ``values`` (log scale) against 1000/T (K⁻¹) with an optional fit line."""
    fig, ax = _figure_and_axes(ax)
    temps = np.asarray(temperatures, dtype=float)
    vals = np.asarray(values, dtype=float)
    x = 1000.0 / temps
    ax.errorbar(x, vals, yerr=None if errors is None else np.asarray(errors, dtype=float), fmt="o", capsize=3)
    if fit is not None:
        xs = np.linspace(x.min() * 0.97, x.max() * 1.03, 100)
        ax.plot(
            xs,
            np.exp(fit.intercept + fit.slope * xs / 1000.0),
            "-",
            label=f"$E_a$ = {fit.activation_energy:.3f} ± {fit.activation_energy_stderr:.3f} eV",
        )
        ax.legend(fontsize="small")
    ax.set_yscale("log")
    ax.set_xlabel("1000/T (K$^{-1}$)")
    ax.set_ylabel(ylabel)
    return fig


def plot_xas(
    energy: np.ndarray,
    mu_average: np.ndarray,
    sites: dict[str, np.ndarray] | None = None,
    weights: dict[str, float] | None = None,
    ax: Any = None,
    offset: float | None = None,
    experiment: Sequence[float] | None = None,
) -> Any:
    """Plot a site-averaged XAS spectrum with the per-site spectra stacked beneath it; returns the Figure.

    :param energy: common energy grid (eV).
    :param mu_average: averaged μ on ``energy`` (arbitrary units).
    :param sites: per-site μ on the same grid (label → (n,) array), drawn below the average, scaled by ``weights``.
    :param offset: vertical step between curves (default 0.6 × the average's maximum).
    :param experiment: energies (eV) of reference features, drawn as dotted vertical lines.
    """
    fig, ax = _figure_and_axes(ax)
    energy = np.asarray(energy)
    top = float(np.max(mu_average)) if np.size(mu_average) else 1.0
    step = offset if offset is not None else 0.6 * top
    ax.plot(energy, mu_average, color="black", lw=1.6, label="average")
    for k, (label, mu) in enumerate((sites or {}).items(), start=1):
        weight = (weights or {}).get(label, 1.0)
        ax.plot(energy, weight * np.asarray(mu) - k * step, lw=0.9, label=f"{label} (w={weight:.2f})")
    for position in experiment or ():
        ax.axvline(position, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("energy (eV)")
    ax.set_ylabel("μ (arb. units, offset)")
    ax.set_yticks([])
    ax.legend(fontsize="x-small", ncol=2)
    return fig


__all__ += ["plot_xas"]
