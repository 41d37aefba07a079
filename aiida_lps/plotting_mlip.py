"""Plots of the active-learning MLIP: parity plots (energy per atom, force components) and the learning curve."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import numpy as np

__all__ = ("plot_parity", "plot_learning_curve")


def plot_parity(parity: Mapping[str, np.ndarray], path: str | pathlib.Path, prefix: str = "test") -> pathlib.Path:
    """Write energy (meV/atom) and force-component (eV/Å) parity plots of ``prefix`` (``test`` or ``train``).

    :param parity: arrays ``<prefix>_energy_reference``, ``_energy_predicted`` (eV/atom), ``_force_reference``,
        ``_force_predicted`` (eV/Å) and ``_force_species`` of the ``parity`` output, e.g.
        ``{n: node.get_array(n) for n in node.get_arraynames()}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_e, ax_f) = plt.subplots(1, 2, figsize=(9, 4.2))
    e_ref = np.asarray(parity[f"{prefix}_energy_reference"])
    e_pred = np.asarray(parity[f"{prefix}_energy_predicted"])
    offset = e_ref.mean() if e_ref.size else 0.0
    ax_e.scatter((e_ref - offset) * 1000, (e_pred - offset) * 1000, s=12)
    mae_e = np.mean(np.abs(e_pred - e_ref)) * 1000 if e_ref.size else float("nan")
    ax_e.set(
        xlabel="DFT energy − mean (meV/atom)",
        ylabel="SNAP energy − mean (meV/atom)",
        title=f"{prefix}: energy MAE {mae_e:.2f} meV/atom",
    )
    f_ref = np.asarray(parity[f"{prefix}_force_reference"])
    f_pred = np.asarray(parity[f"{prefix}_force_predicted"])
    species = np.asarray(parity.get(f"{prefix}_force_species", np.array(["all"] * f_ref.size)))
    for element in sorted(set(species.tolist())):
        mask = species == element
        ax_f.scatter(f_ref[mask], f_pred[mask], s=4, label=element)
    mae_f = np.mean(np.abs(f_pred - f_ref)) if f_ref.size else float("nan")
    ax_f.set(
        xlabel="DFT force component (eV/Å)",
        ylabel="SNAP force component (eV/Å)",
        title=f"{prefix}: force MAE {mae_f:.3f} eV/Å",
    )
    ax_f.legend()
    for axis in (ax_e, ax_f):
        low, high = axis.get_xlim()
        axis.plot([low, high], [low, high], "k--", lw=0.8)
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_learning_curve(metrics: Mapping, path: str | pathlib.Path) -> pathlib.Path:
    """Test force/energy MAE and max γ per iteration from the work chain's ``metrics`` output (a dict)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in metrics["iterations"] if r.get("test_force_mae_eV_per_A") is not None]
    fig, (ax_err, ax_gamma) = plt.subplots(1, 2, figsize=(9, 4))
    ax_err.plot([r["n_training"] for r in rows], [r["test_force_mae_eV_per_A"] for r in rows], "o-", label="force")
    ax_err.set(xlabel="training configurations", ylabel="test force MAE (eV/Å)")
    gamma_rows = [r for r in metrics["iterations"] if "max_gamma" in r]
    ax_gamma.semilogy([r["iteration"] for r in gamma_rows], [max(r["max_gamma"], 1e-3) for r in gamma_rows], "s-")
    ax_gamma.set(xlabel="iteration", ylabel="max γ seen in exploration")
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
