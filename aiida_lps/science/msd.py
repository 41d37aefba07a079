"""Mean-squared displacement (MSD) from unwrapped trajectories, O(N log N) via FFT.

Conventions: positions are unwrapped Cartesian coordinates in Å with shape
``(n_frames, n_atoms, 3)``; masses are in amu (only ratios matter); MSDs are in Å².
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

__all__ = ["com_displacement", "drift_shift", "msd_by_species", "msd_fft", "remove_drift"]

DriftSpec = str | Sequence[str]

#: Threads of the FFTs (SciPy's pocketfft); the transforms of one chunk are independent.
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _check_positions(positions: np.ndarray) -> np.ndarray:
    """Return ``positions`` as an ndarray after validating its (n_frames, n_atoms, 3) shape."""
    positions = np.asarray(positions)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must have shape (n_frames, n_atoms, 3), got {positions.shape}")
    if positions.shape[0] < 1 or positions.shape[1] < 1:
        raise ValueError(f"positions must contain at least one frame and one atom, got {positions.shape}")
    return positions


def _msd_fft_core(
    positions: np.ndarray,
    indices: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    atom_chunk: int = 256,
) -> np.ndarray:
    """Atom-averaged per-axis MSD (Å²) of ``positions[:, indices] - shift[:, None]``, shape (n_frames, 3).

    Only one chunk of atoms is copied at a time and transformed one axis at a time, so the peak extra
    memory is about ``atom_chunk * n_frames * 3`` floats plus ``atom_chunk * n_fft / 2`` complex numbers
    (n_fft ≈ 2 n_frames), independent of the number of atoms.
    """
    if atom_chunk < 1:
        raise ValueError(f"atom_chunk must be >= 1, got {atom_chunk}")
    n_frames, n_total, _ = positions.shape
    if indices is None:
        indices = np.arange(n_total)
    indices = np.asarray(indices, dtype=np.intp)
    n_atoms = indices.size
    if n_atoms == 0:
        raise ValueError("no atoms selected for the MSD")
    contiguous = bool(np.all(np.diff(indices) == 1))

    n_fft = next_fast_len(2 * n_frames - 1, real=True)
    sq_sum = np.zeros((3, n_frames))  # sum over atoms of x(t)^2, per axis
    power = np.zeros((3, n_fft // 2 + 1))  # sum over atoms of |FFT(x)|^2, per axis
    for start in range(0, n_atoms, atom_chunk):
        if contiguous:
            lo = indices[0] + start
            block = positions[:, lo : lo + min(atom_chunk, n_atoms - start), :]
        else:
            block = positions[:, indices[start : start + atom_chunk], :]
        # (3, chunk, n_frames), contiguous along time for the FFT.
        x = np.array(block.transpose(2, 1, 0), dtype=np.float64, order="C")
        if shift is not None:
            x -= shift.T[:, None, :]
        # The MSD is invariant to a constant offset per atom; centring reduces cancellation in S1 - 2 S2.
        x -= x.mean(axis=2, keepdims=True)
        sq_sum += np.einsum("iaf,iaf->if", x, x)
        for k in range(3):  # one axis at a time keeps the complex spectrum small
            spec = rfft(x[k], n=n_fft, axis=1, workers=_WORKERS)
            # |X|² summed over atoms, without a complex temporary
            power[k] += np.einsum("af,af->f", spec.real, spec.real) + np.einsum("af,af->f", spec.imag, spec.imag)
            del spec
        del x
    acf = irfft(power, n=n_fft, axis=1)[:, :n_frames]  # sum_atoms sum_k x(k) x(k+m)

    lag = np.arange(n_frames)
    cum = np.zeros((3, n_frames + 1))
    np.cumsum(sq_sum, axis=1, out=cum[:, 1:])
    s1 = cum[:, n_frames - lag] + (cum[:, n_frames:] - cum[:, lag])
    msd = (s1 - 2.0 * acf) / ((n_frames - lag) * n_atoms)
    msd[:, 0] = 0.0
    return np.ascontiguousarray(msd.T)


def msd_fft(positions: np.ndarray, atom_chunk: int = 256) -> np.ndarray:
    """Multi-time-origin MSD per Cartesian axis, averaged over atoms.

    Uses the FFT algorithm MSD(m) = S1(m) - 2 S2(m) (Calandrini et al., nMoldyn), which is O(N log N)
    in the number of frames. Atoms are processed in chunks of ``atom_chunk`` to bound memory.

    :param positions: unwrapped Cartesian positions in Å, shape (n_frames, n_atoms, 3).
    :param atom_chunk: number of atoms transformed at once.
    :returns: MSD in Å² per axis, shape (n_frames, 3), for lag indices 0..n_frames-1.
    """
    positions = _check_positions(positions)
    return _msd_fft_core(positions, None, None, atom_chunk)


def com_displacement(
    positions: np.ndarray, masses: Sequence[float] | np.ndarray, reference_mask: np.ndarray | None = None
) -> np.ndarray:
    """Mass-weighted centre-of-mass displacement of the reference atoms relative to frame 0.

    :param positions: unwrapped Cartesian positions in Å, shape (n_frames, n_atoms, 3).
    :param masses: atomic masses (any unit), shape (n_atoms,).
    :param reference_mask: boolean mask (n_atoms,) of the reference atoms; all atoms if None.
    :returns: COM displacement in Å, shape (n_frames, 3).
    """
    positions = _check_positions(positions)
    n_atoms = positions.shape[1]
    weights = np.asarray(masses, dtype=np.float64).reshape(-1)
    if weights.size != n_atoms:
        raise ValueError(f"masses has {weights.size} entries but positions has {n_atoms} atoms")
    if reference_mask is not None:
        mask = np.asarray(reference_mask, dtype=bool).reshape(-1)
        if mask.size != n_atoms:
            raise ValueError(f"reference_mask has {mask.size} entries but positions has {n_atoms} atoms")
        weights = np.where(mask, weights, 0.0)
    total = weights.sum()
    if not total > 0:
        raise ValueError("the reference atoms for drift removal have zero total mass (empty selection?)")
    weights = weights / total
    # Zero weights instead of fancy indexing: no copy of the (large) positions array.
    com = np.einsum("fai,a->fi", positions, weights)
    com -= com[0]
    return com


def remove_drift(
    positions: np.ndarray,
    masses: Sequence[float] | np.ndarray,
    reference_mask: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Subtract the centre-of-mass displacement of the reference atoms from every atom, per frame.

    :param positions: unwrapped Cartesian positions in Å, shape (n_frames, n_atoms, 3).
    :param masses: atomic masses (any unit), shape (n_atoms,).
    :param reference_mask: boolean mask of the reference atoms (e.g. the framework); all atoms if None.
    :param out: optional output array (may be ``positions`` itself for in-place operation).
    :returns: drift-corrected positions in Å (a new float64 array unless ``out`` is given).
    """
    positions = _check_positions(positions)
    shift = com_displacement(positions, masses, reference_mask)
    if out is None:
        out = np.empty(positions.shape, dtype=np.float64)
    np.subtract(positions, shift[:, None, :], out=out)
    return out


def drift_shift(
    positions: np.ndarray,
    symbols: Sequence[str] | np.ndarray,
    masses: Sequence[float] | np.ndarray,
    drift: DriftSpec,
) -> np.ndarray | None:
    """Per-frame drift vector (Å, shape (n_frames, 3)) to subtract, or None for ``drift='none'``.

    :param drift: ``'com'`` (centre of mass of all atoms), ``'none'``, or a list of framework species
        whose mass-weighted centre of mass defines the reference frame.
    """
    symbols = np.asarray(symbols, dtype=str)
    if isinstance(drift, str):
        if drift == "none":
            return None
        if drift == "com":
            return com_displacement(positions, masses, None)
        raise ValueError(f"drift must be 'com', 'none' or a list of framework species, got {drift!r}")
    framework = [str(s) for s in drift]
    if not framework:
        raise ValueError("drift: the list of framework species is empty")
    missing = sorted(set(framework) - set(symbols.tolist()))
    if missing:
        raise ValueError(f"drift: framework species {missing} not present (available: {sorted(set(symbols))})")
    return com_displacement(positions, masses, np.isin(symbols, framework))


def msd_by_species(
    positions: np.ndarray,
    symbols: Sequence[str] | np.ndarray,
    masses: Sequence[float] | np.ndarray,
    species: Sequence[str] | str | None = None,
    *,
    drift: DriftSpec,
    atom_chunk: int = 256,
) -> dict[str, np.ndarray]:
    """Per-axis MSD (Å², shape (n_frames, 3)) of each species after drift removal.

    :param positions: unwrapped Cartesian positions in Å, shape (n_frames, n_atoms, 3).
    :param symbols: chemical symbol of each atom, shape (n_atoms,).
    :param masses: atomic masses (amu), shape (n_atoms,).
    :param species: species to analyse (a symbol or list); all species present if None.
    :param drift: ``'com'``, ``'none'`` or a list of framework species (see :func:`drift_shift`).
    :param atom_chunk: atoms transformed at once in the FFT.
    """
    positions = _check_positions(positions)
    symbols = np.asarray(symbols, dtype=str)
    if symbols.shape != (positions.shape[1],):
        raise ValueError(f"symbols has shape {symbols.shape}, expected ({positions.shape[1]},)")
    if species is None:
        species = list(dict.fromkeys(symbols.tolist()))
    elif isinstance(species, str):
        species = [species]
    shift = drift_shift(positions, symbols, masses, drift)
    result: dict[str, np.ndarray] = {}
    for name in species:
        indices = np.flatnonzero(symbols == name)
        if indices.size == 0:
            raise ValueError(f"species {name!r} not present (available: {sorted(set(symbols))})")
        result[name] = _msd_fft_core(positions, indices, shift, atom_chunk)
    return result
