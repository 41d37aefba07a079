"""Tracer diffusion coefficients from MSDs, block-averaged errors, regions and Nernst–Einstein conductivity.

Units: positions Å, times ps, MSD Å², MSD slopes Å²/ps, diffusion coefficients cm²/s,
number densities Å⁻³, temperatures K, conductivities S/cm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .constants import (
    A2_PER_PS_TO_CM2_PER_S,
    CM2_PER_S_TO_M2_PER_S,
    ELEMENTARY_CHARGE,
    K_B_J,
    PER_A3_TO_PER_M3,
    S_PER_M_TO_S_PER_CM,
)
from .msd import DriftSpec, _check_positions, _msd_fft_core, drift_shift

__all__ = [
    "DiffusionResult",
    "analyse_diffusion",
    "fit_msd",
    "nernst_einstein_conductivity",
    "number_density",
    "region_diffusion",
]


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples recursively into plain JSON types; NaN/inf become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None  # NaN/inf are not valid JSON (nor JSONB)
    return value


@dataclass(frozen=True)
class DiffusionResult:
    """Tracer diffusion of one species (all diffusion coefficients in cm²/s, times in ps)."""

    species: str
    D: float
    D_stderr: float
    D_axes: tuple[float, float, float]
    D_axes_stderr: tuple[float, float, float]
    isotropy: float
    loglog_slope: float
    window_ps: tuple[float, float]
    subdiffusive: bool
    n_atoms: int
    D_blocks: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (tuples become lists, NaN becomes None)."""
        return _jsonable(asdict(self))


def fit_msd(
    time_ps: np.ndarray,
    msd_total: np.ndarray,
    window: tuple[float, float],
    dim: int = 3,
) -> tuple[float, float, float, tuple[float, float]]:
    """Least-squares line through MSD(t) inside a window of the lag times.

    :param time_ps: lag times in ps (ascending, starting at 0).
    :param msd_total: MSD in Å² at those lags (summed over the ``dim`` dimensions considered).
    :param window: (start, stop) as fractions of the maximum lag time; t = 0 is always excluded.
    :param dim: dimensionality of ``msd_total`` (1, 2 or 3); only validated here, D = slope / (2 dim).
    :returns: (slope in Å²/ps, intercept in Å², slope of log MSD vs log t in the window, (t0, t1) in ps).
    :raises ValueError: if the window holds fewer than 3 points or the input is inconsistent.
    """
    t = np.asarray(time_ps, dtype=np.float64).reshape(-1)
    y = np.asarray(msd_total, dtype=np.float64).reshape(-1)
    if t.shape != y.shape:
        raise ValueError(f"time_ps and msd_total lengths differ: {t.size} != {y.size}")
    if dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim}")
    lo, hi = (float(w) for w in window)
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"window must satisfy 0 <= start < stop <= 1 (fractions of the max lag), got {window}")
    if t.size == 0:
        raise ValueError("empty MSD")
    t_max = float(t[-1])
    tol = 1e-9 * abs(t_max)
    sel = (t > 0) & (t >= lo * t_max - tol) & (t <= hi * t_max + tol)
    n_sel = int(sel.sum())
    if n_sel < 3:
        raise ValueError(
            f"MSD fit window {window} (fractions of the max lag {t_max:g} ps) holds only {n_sel} point(s); "
            "need at least 3: use a longer trajectory, more frames or a wider window"
        )
    ts, ys = t[sel], y[sel]
    slope, intercept = np.polyfit(ts, ys, 1)
    positive = ys > 0
    if positive.sum() >= 2:
        loglog = float(np.polyfit(np.log(ts[positive]), np.log(ys[positive]), 1)[0])
    else:
        loglog = float("nan")
    return float(slope), float(intercept), loglog, (float(ts[0]), float(ts[-1]))


def _diffusion_from_msd(
    time_ps: np.ndarray, msd_axes: np.ndarray, window: tuple[float, float]
) -> tuple[float, tuple[float, float, float], tuple[float, float, float], float, tuple[float, float]]:
    """Return (D3 cm²/s, D per axis cm²/s, MSD slope per axis Å²/ps, loglog slope, window ps)."""
    slope, _, loglog, win = fit_msd(time_ps, msd_axes.sum(axis=1), window, dim=3)
    slopes = tuple(fit_msd(time_ps, msd_axes[:, k], window, dim=1)[0] for k in range(3))
    d3 = slope / 6.0 * A2_PER_PS_TO_CM2_PER_S
    d_axes = tuple(m / 2.0 * A2_PER_PS_TO_CM2_PER_S for m in slopes)
    return d3, d_axes, slopes, loglog, win  # type: ignore[return-value]


def analyse_diffusion(
    positions: np.ndarray,
    timestep_ps: float,
    symbols: Sequence[str] | np.ndarray,
    masses: Sequence[float] | np.ndarray,
    species: str,
    *,
    window: tuple[float, float],
    n_blocks: int,
    drift: DriftSpec,
    subdiffusive_threshold: float,
    atom_mask: np.ndarray | None = None,
    atom_chunk: int = 256,
    block_error: str = "std",
) -> tuple[DiffusionResult, np.ndarray, np.ndarray]:
    """Tracer diffusion coefficient of one species from an unwrapped trajectory.

    D comes from a linear fit of the 3-D MSD inside ``window`` (fractions of the max lag). Its standard
    error comes from block averaging: the trajectory is cut into ``n_blocks`` contiguous blocks and D is
    fitted in each with the same *fractional* window.

    The analysis settings have no defaults here: the defaults of the work chains and of ``lps.lammps.md`` are the
    ``analysis`` of ``aiida_lps/protocols/lammps_md.yaml`` (written only there; ``default_inputs("lammps_md")``).

    ``block_error='std'`` (default): D_stderr = std(D_blocks, ddof=1). In the diffusive regime the
    fractional-window estimator is scale free (its relative variance depends on the window fractions and
    the number of atoms, not on the trajectory length), so each block estimate has the same variance as
    the full-trajectory D; this was checked to be calibrated on random walks.
    ``block_error='sem'``: std(D_blocks, ddof=1) / sqrt(n_blocks), the error of the *mean of the blocks*;
    it underestimates the error of the full-trajectory D by about sqrt(n_blocks).

    :param positions: unwrapped Cartesian positions in Å, shape (n_frames, n_atoms, 3).
    :param timestep_ps: time between stored frames in ps.
    :param symbols: chemical symbol per atom; ``masses``: atomic masses (amu) per atom.
    :param species: species to analyse.
    :param window: (start, stop) of the MSD fit as fractions of the maximum lag time.
    :param n_blocks: number of contiguous blocks of the block-averaged error (>= 2).
    :param drift: ``'com'`` (mass-weighted COM of all atoms, analysed ions included), ``'none'`` or a list of
        framework species whose COM defines the reference frame (recommended for MD data).
    :param subdiffusive_threshold: flag as sub-diffusive if the log–log MSD slope is below this.
    :param atom_mask: optional boolean mask (n_atoms,) further restricting the analysed atoms.
    :param atom_chunk: atoms transformed at once in the FFT (bounds memory).
    :param block_error: ``'std'`` or ``'sem'``, see above.
    :returns: (result, lag times in ps (n_frames,), per-axis MSD in Å² (n_frames, 3)).
    """
    positions = _check_positions(positions)
    n_frames, n_total, _ = positions.shape
    symbols = np.asarray(symbols, dtype=str)
    if symbols.shape != (n_total,):
        raise ValueError(f"symbols has shape {symbols.shape}, expected ({n_total},)")
    if np.asarray(masses).shape != (n_total,):
        raise ValueError(f"masses has shape {np.asarray(masses).shape}, expected ({n_total},)")
    if not (timestep_ps > 0 and math.isfinite(timestep_ps)):
        raise ValueError(f"timestep_ps must be a positive finite number, got {timestep_ps}")
    if int(n_blocks) != n_blocks or n_blocks < 2:
        raise ValueError(f"n_blocks must be an integer >= 2, got {n_blocks}")
    n_blocks = int(n_blocks)
    if block_error not in ("std", "sem"):
        raise ValueError(f"block_error must be 'std' or 'sem', got {block_error!r}")

    selected = symbols == species
    if not selected.any():
        raise ValueError(f"species {species!r} not present in the structure (available: {sorted(set(symbols))})")
    if atom_mask is not None:
        mask = np.asarray(atom_mask, dtype=bool)
        if mask.shape != (n_total,):
            raise ValueError(f"atom_mask has shape {mask.shape}, expected ({n_total},)")
        selected &= mask
        if not selected.any():
            raise ValueError(f"no {species!r} atoms left after applying atom_mask")
    min_frames = 10 * n_blocks
    if n_frames < min_frames:
        raise ValueError(
            f"too few frames for the diffusion analysis: {n_frames} < {min_frames} (10 x n_blocks={n_blocks})"
        )

    indices = np.flatnonzero(selected)
    shift = drift_shift(positions, symbols, masses, drift)
    time_ps = np.arange(n_frames, dtype=np.float64) * float(timestep_ps)
    msd_axes = _msd_fft_core(positions, indices, shift, atom_chunk)
    d3, d_axes, slopes, loglog, win = _diffusion_from_msd(time_ps, msd_axes, window)

    block_len = n_frames // n_blocks
    d_blocks = []
    d_axes_blocks = []
    for b in range(n_blocks):
        frames = slice(b * block_len, (b + 1) * block_len)
        msd_b = _msd_fft_core(positions[frames], indices, None if shift is None else shift[frames], atom_chunk)
        d3_b, d_axes_b, *_ = _diffusion_from_msd(time_ps[:block_len], msd_b, window)
        d_blocks.append(d3_b)
        d_axes_blocks.append(d_axes_b)
    norm = math.sqrt(n_blocks) if block_error == "sem" else 1.0
    d_stderr = float(np.std(d_blocks, ddof=1) / norm)
    d_axes_stderr = tuple(float(s) for s in np.std(np.asarray(d_axes_blocks), axis=0, ddof=1) / norm)

    m_lateral = max(slopes[0], slopes[1])
    isotropy = slopes[2] / m_lateral if m_lateral > 0 else float("nan")

    result = DiffusionResult(
        species=str(species),
        D=float(d3),
        D_stderr=d_stderr,
        D_axes=tuple(float(d) for d in d_axes),  # type: ignore[arg-type]
        D_axes_stderr=d_axes_stderr,  # type: ignore[arg-type]
        isotropy=float(isotropy),
        loglog_slope=float(loglog),
        window_ps=win,
        subdiffusive=bool(loglog < subdiffusive_threshold),
        n_atoms=int(indices.size),
        D_blocks=tuple(float(d) for d in d_blocks),
    )
    return result, time_ps, msd_axes


def number_density(n_ions: float, volume_A3: float) -> float:
    """Number density in Å⁻³ of ``n_ions`` carriers in a cell of ``volume_A3`` Å³."""
    if not volume_A3 > 0:
        raise ValueError(f"volume_A3 must be positive, got {volume_A3}")
    if n_ions < 0:
        raise ValueError(f"n_ions must be non-negative, got {n_ions}")
    return float(n_ions) / float(volume_A3)


def nernst_einstein_conductivity(
    D_cm2_s: float, number_density_per_A3: float, temperature_K: float, charge: float
) -> float:
    """Nernst–Einstein conductivity σ = n (z e)² D / (k_B T) in S/cm (Haven ratio 1).

    :param D_cm2_s: tracer diffusion coefficient in cm²/s.
    :param number_density_per_A3: carrier number density in Å⁻³.
    :param temperature_K: temperature in K.
    :param charge: carrier charge number z.
    """
    if not temperature_K > 0:
        raise ValueError(f"temperature_K must be positive, got {temperature_K}")
    if not (math.isfinite(D_cm2_s) and math.isfinite(number_density_per_A3)):
        raise ValueError("D_cm2_s and number_density_per_A3 must be finite")
    n_m3 = number_density_per_A3 * PER_A3_TO_PER_M3
    d_m2_s = D_cm2_s * CM2_PER_S_TO_M2_PER_S
    sigma_s_m = n_m3 * (charge * ELEMENTARY_CHARGE) ** 2 * d_m2_s / (K_B_J * temperature_K)
    return float(sigma_s_m * S_PER_M_TO_S_PER_CM)


def _in_region(frac: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Mask of fractional coordinates in [lo, hi); a region with lo > hi wraps through 1 → 0."""
    if lo <= hi:
        return (frac >= lo) & (frac < hi)
    return (frac >= lo) | (frac < hi)


def _check_disjoint(boundaries: Sequence[tuple[float, float]]) -> None:
    """``ValueError`` if a region is not a fractional pair in [0, 1] or two regions overlap (wrapping ones split)."""
    pieces = []
    for i, bounds in enumerate(boundaries):
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError) as exception:
            raise ValueError(f"region {i} must be a pair (lo, hi) of fractions, got {bounds!r}") from exception
        if not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0) or lo == hi:
            raise ValueError(f"region {i} boundaries {(lo, hi)} must be distinct fractional coordinates in [0, 1]")
        pieces.extend([(lo, hi, i)] if lo < hi else [(lo, 1.0, i), (0.0, hi, i)])
    pieces.sort()
    for (_, hi1, i), (lo2, _, j) in zip(pieces[:-1], pieces[1:], strict=True):
        if lo2 < hi1 and i != j:
            raise ValueError(f"regions {i} and {j} overlap: an atom would belong to both; make them disjoint")


def region_diffusion(
    positions: np.ndarray,
    cell: np.ndarray,
    timestep_ps: float,
    symbols: Sequence[str] | np.ndarray,
    masses: Sequence[float] | np.ndarray,
    species: str,
    axis: int,
    boundaries: Sequence[tuple[float, float]],
    **kw: Any,
) -> list[dict[str, Any]]:
    """Diffusion of ``species`` per region (slab) along one lattice axis.

    Each atom of the species is assigned to the first region [lo, hi) containing its time-averaged
    fractional coordinate along ``axis`` (wrapped into [0, 1)); a region with lo > hi wraps around.

    :param positions: unwrapped Cartesian positions in Å, shape (n_frames, n_atoms, 3).
    :param cell: 3x3 cell in Å, rows are the lattice vectors.
    :param axis: lattice axis (0, 1, 2) along which the regions are defined.
    :param boundaries: list of (lo, hi) fractional coordinates.
    :param kw: forwarded to :func:`analyse_diffusion` (window, n_blocks, drift, ...).
    :returns: one dict per region: ``region``, ``bounds`` and the :class:`DiffusionResult` fields
        (``n_atoms`` 0 and ``D``/``D_stderr`` None for empty regions).
    """
    positions = _check_positions(positions)
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape != (3, 3):
        raise ValueError(f"cell must be 3x3, got {cell.shape}")
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    if "atom_mask" in kw:
        raise ValueError("region_diffusion sets atom_mask itself")
    symbols = np.asarray(symbols, dtype=str)
    is_species = symbols == species
    if not is_species.any():
        raise ValueError(f"species {species!r} not present in the structure (available: {sorted(set(symbols))})")
    # Fractional coordinates are linear in the positions, so average positions first (no big temporary).
    frac = positions.mean(axis=0) @ np.linalg.inv(cell)[:, axis]
    frac = np.mod(frac, 1.0)
    frac[frac >= 1.0] = 0.0
    _check_disjoint(boundaries)
    assigned = np.zeros(frac.shape, dtype=bool)
    out: list[dict[str, Any]] = []
    for i, (lo, hi) in enumerate(boundaries):
        lo, hi = float(lo), float(hi)
        in_region = _in_region(frac, lo, hi) & ~assigned
        assigned |= in_region
        entry: dict[str, Any] = {"region": i, "bounds": [lo, hi]}
        if not (in_region & is_species).any():
            entry.update({"species": str(species), "n_atoms": 0, "D": None, "D_stderr": None})
        else:
            result, _, _ = analyse_diffusion(
                positions, timestep_ps, symbols, masses, species, atom_mask=in_region, **kw
            )
            entry.update(result.to_dict())
        out.append(entry)
    return out
