"""Weighted ridge / least-squares fits of linear potentials to energies, forces and stresses, and error metrics.

A linear potential predicts, for configuration c with N_c atoms,

    E_c = Σ_k θ_k X^E_ck + E_ref,c     F_c = X^F_c θ + F_ref,c     σ_c = X^σ_c θ + σ_ref,c

where the design rows X come from the descriptors (e.g. LAMMPS ``compute snap``) and the per-element constants are
columns holding the number of atoms of each element. Units: energies eV, forces eV/Å, stresses eV/Å³ (ASE sign).

The fit minimises Σ_rows ((x·θ − y)/σ_row)² + λ Σ_k θ̃_k² over column-standardised coefficients θ̃ (constant
columns are not penalised), with energy rows per atom. ``σ`` are the expected errors (``FitWeights``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

__all__ = (
    "ConfigurationData",
    "FitWeights",
    "FitResult",
    "UnderdeterminedFitError",
    "assemble",
    "fit",
    "predict",
    "metrics",
)


class UnderdeterminedFitError(ValueError):
    """Raised when a fit has fewer independent data than coefficients and no regularisation was allowed."""


@dataclasses.dataclass
class ConfigurationData:
    """Design rows and targets of one configuration (targets already minus the reference potential).

    :ivar energy_row: (K,) ; :ivar force_rows: (3N, K) ; :ivar stress_rows: (6, K) or ``None``.
    :ivar energy: eV ; :ivar forces: (3N,) eV/Å ; :ivar stress: (6,) eV/Å³ or ``None`` (not fitted).
    :ivar species: (N,) element symbol of each atom (for per-species force errors).
    :ivar reference_energy: eV, :ivar reference_forces: (3N,) eV/Å — the reference potential's part, added back only
        in the parity data so that the plots show total energies and forces.
    :ivar weight: relative weight of all rows of this configuration (e.g. < 1 for close-contact frames, whose energies
        lie eV above the rest: they should shape the repulsive wall without pulling the fit near equilibrium).
    """

    energy_row: np.ndarray
    force_rows: np.ndarray
    stress_rows: np.ndarray | None
    energy: float
    forces: np.ndarray
    stress: np.ndarray | None
    species: Sequence[str]
    reference_energy: float = 0.0
    reference_forces: np.ndarray | None = None
    weight: float = 1.0

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return len(self.species)


@dataclasses.dataclass
class FitWeights:
    """Expected errors that weight the rows (smaller = more weight).

    :ivar energy: eV/atom. :ivar force: eV/Å. :ivar stress: eV/Å³ (``0`` or negative: stresses not fitted).
    """

    energy: float = 0.005
    force: float = 0.1
    stress: float = 0.003

    def __post_init__(self):
        if not (self.energy > 0 and self.force > 0):
            raise ValueError(f"energy and force weights (expected errors) must be positive, got {self}")


@dataclasses.dataclass
class FitResult:
    """Coefficients and diagnostics of a fit.

    :ivar coefficients: (K,) θ. :ivar n_rows: data rows used. :ivar n_coefficients: K.
    :ivar rank: numerical rank of the weighted data matrix (before regularisation).
    :ivar ridge: λ used. :ivar regularised: whether the data alone did not determine θ (rank < K).
    :ivar message: human-readable note on the conditioning.
    """

    coefficients: np.ndarray
    n_rows: int
    n_coefficients: int
    rank: int
    ridge: float
    regularised: bool
    message: str

    def to_dict(self) -> dict:
        """JSON-able diagnostics (without the coefficients)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "coefficients"}


def assemble(
    configurations: Sequence[ConfigurationData], weights: FitWeights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted design matrix and target: (A (rows, K), y (rows,), kind (rows,) 0 energy / 1 force / 2 stress)."""
    if not configurations:
        raise ValueError("no configurations to fit")
    blocks, targets, kinds = [], [], []
    for config in configurations:
        n, w = config.n_atoms, config.weight
        if not w > 0:
            raise ValueError(f"configuration weights must be positive, got {w}")
        blocks.append(config.energy_row[None, :] * (w / n / weights.energy))
        targets.append([config.energy * w / n / weights.energy])
        kinds.append([0])
        blocks.append(config.force_rows * (w / weights.force))
        targets.append(np.asarray(config.forces) * (w / weights.force))
        kinds.append(np.ones(len(config.forces), dtype=int))
        if weights.stress > 0 and config.stress is not None and config.stress_rows is not None:
            blocks.append(config.stress_rows * (w / weights.stress))
            targets.append(np.asarray(config.stress) * (w / weights.stress))
            kinds.append(np.full(6, 2))
    return np.vstack(blocks), np.concatenate(targets), np.concatenate(kinds)


def fit(
    configurations: Sequence[ConfigurationData],
    weights: FitWeights | None = None,
    ridge: float = 1e-6,
    unpenalised: Sequence[int] = (),
    rank_tol: float = 1e-10,
) -> FitResult:
    """Weighted ridge fit of θ.

    :param ridge: λ on standardised coefficients; ``0`` asks for plain least squares, which is refused with
        :class:`UnderdeterminedFitError` when the data do not determine every coefficient.
    :param unpenalised: column indices without ridge penalty (the per-element constants).
    :param rank_tol: relative singular-value threshold for the numerical rank.
    """
    weights = weights or FitWeights()
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative, got {ridge}")
    a, y, _ = assemble(configurations, weights)
    n_rows, k = a.shape
    scale = np.sqrt(np.mean(a**2, axis=0))
    scale[scale == 0] = 1.0
    scaled = a / scale
    singular = np.linalg.svd(scaled, compute_uv=False)
    rank = int(np.count_nonzero(singular > rank_tol * singular[0])) if singular.size else 0
    regularised = rank < k
    if regularised and ridge == 0:
        raise UnderdeterminedFitError(
            f"under-determined fit: {len(configurations)} configurations give {n_rows} data rows of rank {rank} "
            f"for {k} coefficients; add configurations, lower the descriptor order (2J) or allow a ridge penalty "
            "(ridge > 0)"
        )
    penalty = np.full(k, np.sqrt(ridge) * np.sqrt(n_rows))
    penalty[list(unpenalised)] = 0.0
    augmented = np.vstack([scaled, np.diag(penalty)])
    target = np.concatenate([y, np.zeros(k)])
    theta_scaled, *_ = np.linalg.lstsq(augmented, target, rcond=None)
    if regularised:
        message = (
            f"under-determined data ({n_rows} rows of rank {rank} for {k} coefficients): regularised by ridge "
            f"λ = {ridge:g}; the potential is only as good as the directions the data cover"
        )
    else:
        message = f"determined fit: {n_rows} rows of rank {rank} for {k} coefficients, ridge λ = {ridge:g}"
    return FitResult(theta_scaled / scale, n_rows, k, rank, float(ridge), bool(regularised), message)


def predict(config: ConfigurationData, coefficients: np.ndarray) -> tuple[float, np.ndarray, np.ndarray | None]:
    """(energy eV, forces (3N,) eV/Å, stress (6,) eV/Å³ or None) predicted, *without* the reference potential."""
    energy = float(config.energy_row @ coefficients)
    forces = config.force_rows @ coefficients
    stress = None if config.stress_rows is None else config.stress_rows @ coefficients
    return energy, forces, stress


def weighted_score(configurations: Sequence[ConfigurationData], coefficients: np.ndarray, weights: FitWeights) -> float:
    """Validation score: energy-per-atom and force-component MAEs (and stress, when fitted), each weighted by the
    configurations' ``weight`` and in units of the expected errors, summed (lower is better)."""
    total = {"energy": 0.0, "force": 0.0, "stress": 0.0}
    norm = {"energy": 0.0, "force": 0.0, "stress": 0.0}
    for config in configurations:
        energy, forces, stress = predict(config, coefficients)
        w = config.weight
        total["energy"] += w * abs(energy - config.energy) / config.n_atoms
        norm["energy"] += w
        total["force"] += w * float(np.sum(np.abs(forces - np.asarray(config.forces))))
        norm["force"] += w * len(config.forces)
        if weights.stress > 0 and config.stress is not None and stress is not None:
            total["stress"] += w * float(np.sum(np.abs(stress - np.asarray(config.stress))))
            norm["stress"] += w * 6
    score = total["energy"] / norm["energy"] / weights.energy + total["force"] / norm["force"] / weights.force
    if norm["stress"]:
        score += total["stress"] / norm["stress"] / weights.stress
    return float(score)


def metrics(configurations: Sequence[ConfigurationData], coefficients: np.ndarray) -> dict:
    """Errors of the model on ``configurations``.

    Returns MAE and RMSE of the energy per atom (meV/atom), of force components (eV/Å, also per species) and of
    stress components (GPa), and the counts; plus ``parity``: reference and predicted energies per atom and force
    components (for parity plots).
    """
    if not configurations:
        return {"n_configurations": 0}
    e_ref, e_pred, f_ref, f_pred, f_species, s_ref, s_pred = [], [], [], [], [], [], []
    for config in configurations:
        energy, forces, stress = predict(config, coefficients)
        ref_f = 0.0 if config.reference_forces is None else np.asarray(config.reference_forces)
        e_ref.append((config.energy + config.reference_energy) / config.n_atoms)
        e_pred.append((energy + config.reference_energy) / config.n_atoms)
        f_ref.append(np.asarray(config.forces) + ref_f)
        f_pred.append(forces + ref_f)
        f_species.extend(np.repeat(np.asarray(config.species), 3))
        if config.stress is not None and stress is not None:
            s_ref.append(np.asarray(config.stress))
            s_pred.append(stress)
    e_err = np.array(e_pred) - np.array(e_ref)
    f_ref_all, f_pred_all = np.concatenate(f_ref), np.concatenate(f_pred)
    f_err = f_pred_all - f_ref_all
    species = np.array(f_species)
    out = {
        "n_configurations": len(configurations),
        "n_force_components": int(f_err.size),
        "energy_mae_meV_per_atom": float(np.mean(np.abs(e_err)) * 1000),
        "energy_rmse_meV_per_atom": float(np.sqrt(np.mean(e_err**2)) * 1000),
        "force_mae_eV_per_A": float(np.mean(np.abs(f_err))),
        "force_rmse_eV_per_A": float(np.sqrt(np.mean(f_err**2))),
        "force_mae_per_species_eV_per_A": {
            str(el): float(np.mean(np.abs(f_err[species == el]))) for el in sorted(set(species.tolist()))
        },
        "units": {"energy": "meV/atom", "force": "eV/Å", "stress": "GPa"},
    }
    if s_ref:
        s_err = (np.concatenate(s_pred) - np.concatenate(s_ref)) * 160.21766208  # eV/Å³ → GPa
        out["stress_mae_GPa"] = float(np.mean(np.abs(s_err)))
        out["stress_rmse_GPa"] = float(np.sqrt(np.mean(s_err**2)))
    out["parity"] = {
        "energy_reference": np.array(e_ref),
        "energy_predicted": np.array(e_pred),
        "force_reference": f_ref_all,
        "force_predicted": f_pred_all,
        "force_species": species,
    }
    return out
