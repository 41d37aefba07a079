"""Reduce an MD trajectory where it was written: dump(s) → MSD arrays and diffusion results in one small ``.npz``.

The same reduction serves both paths of ``lps.lammps.md``:

* production path: the CalcJob's job script runs ``python -m aiida_lps.engines.lammps.reduce reduce.json`` after
  LAMMPS, on the machine and in the folder where the (binary) dump was written; only the ``.npz`` (MSD(t) per
  species and axis, the diffusion results, the step of every frame and the last frame) is retrieved;
* fallback path: the parser reads the temporarily retrieved (binary) dump and calls :func:`reduce_trajectory` itself.

This module imports no AiiDA: the interpreter on the cluster needs NumPy, SciPy, ASE and ``aiida-lps`` only.
Units: positions Å, times ps, MSD Å², D cm²/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import resource
import sys
import time
from collections.abc import Mapping, Sequence

import numpy as np

from aiida_lps.engines.lammps.inputs import type_masses
from aiida_lps.engines.lammps.outputs import Trajectory, read_dump_files
from aiida_lps.science.diffusion import analyse_diffusion, region_diffusion

__all__ = (
    "REDUCED_FILENAME",
    "REDUCE_SETTINGS_FILENAME",
    "ReducedTrajectory",
    "load_reduced",
    "main",
    "reduce_trajectory",
)

REDUCE_SETTINGS_FILENAME = "reduce.json"
REDUCED_FILENAME = "trajectory_msd.npz"
FORMAT_VERSION = 1


@dataclasses.dataclass
class ReducedTrajectory:
    """What the parser needs of a trajectory, without the trajectory.

    :ivar timesteps: (n_frames,) MD step of each frame.
    :ivar types: (n_atoms,) LAMMPS atom types (1-based).
    :ivar last_positions: (n_atoms, 3) unwrapped positions of the last frame, Å.
    :ivar last_cell: (3, 3) cell of the last frame, Å (rows are the box vectors).
    :ivar mean_cell: (3, 3) cell averaged over the frames, Å.
    :ivar frame_interval_ps: time between frames, ps.
    :ivar species: per diffusing species, :meth:`DiffusionResult.to_dict` (+ ``regions`` when asked for).
    :ivar msd: per species, MSD(t) per Cartesian axis, Å², shape (n_frames, 3).
    :ivar time_ps: lag times of the MSD, ps (None when the analysis failed).
    :ivar analysis_error: message of a failed analysis (then ``species`` and ``msd`` are empty).
    :ivar sampled_positions, sampled_cells, sampled_timesteps: every ``trajectory_stride``-th frame (or None).
    """

    timesteps: np.ndarray
    types: np.ndarray
    last_positions: np.ndarray
    last_cell: np.ndarray
    mean_cell: np.ndarray
    frame_interval_ps: float
    species: dict[str, dict]
    msd: dict[str, np.ndarray]
    time_ps: np.ndarray | None
    analysis_error: str | None = None
    sampled_positions: np.ndarray | None = None
    sampled_cells: np.ndarray | None = None
    sampled_timesteps: np.ndarray | None = None

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return int(self.types.size)

    @property
    def n_frames(self) -> int:
        """Number of frames of the (joined) trajectory."""
        return int(self.timesteps.size)

    def save(self, path: str | os.PathLike) -> None:
        """Write everything into one uncompressed ``.npz`` (no pickles)."""
        arrays = {
            "format_version": np.array(FORMAT_VERSION),
            "timesteps": self.timesteps,
            "types": self.types,
            "last_positions": self.last_positions,
            "last_cell": self.last_cell,
            "mean_cell": self.mean_cell,
            "frame_interval_ps": np.array(self.frame_interval_ps),
            "species_json": np.array(json.dumps(self.species)),
            "species_order": np.array(list(self.msd), dtype=str),
            "analysis_error": np.array(self.analysis_error or ""),
        }
        if self.time_ps is not None:
            arrays["time_ps"] = self.time_ps
        for index, values in enumerate(self.msd.values()):
            arrays[f"msd_{index}"] = values
        if self.sampled_positions is not None:
            arrays.update(
                sampled_positions=self.sampled_positions,
                sampled_cells=self.sampled_cells,
                sampled_timesteps=self.sampled_timesteps,
            )
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)


def load_reduced(path: str | os.PathLike) -> ReducedTrajectory:
    """Read a reduction written by :meth:`ReducedTrajectory.save` or :func:`main`.

    :raises ValueError: if the reducer could not read the trajectory (its message), or the file is not a reduction.
    """
    with np.load(path, allow_pickle=False) as data:
        if "trajectory_error" in data:
            raise ValueError(str(data["trajectory_error"]))
        if int(data["format_version"]) != FORMAT_VERSION:
            raise ValueError(f"reduction format {int(data['format_version'])}, expected {FORMAT_VERSION}")
        order = [str(name) for name in data["species_order"]]
        sampled = "sampled_positions" in data
        return ReducedTrajectory(
            timesteps=data["timesteps"],
            types=data["types"],
            last_positions=data["last_positions"],
            last_cell=data["last_cell"],
            mean_cell=data["mean_cell"],
            frame_interval_ps=float(data["frame_interval_ps"]),
            species=json.loads(str(data["species_json"])),
            msd={name: data[f"msd_{index}"] for index, name in enumerate(order)},
            time_ps=data["time_ps"] if "time_ps" in data else None,
            analysis_error=str(data["analysis_error"]) or None,
            sampled_positions=data["sampled_positions"] if sampled else None,
            sampled_cells=data["sampled_cells"] if sampled else None,
            sampled_timesteps=data["sampled_timesteps"] if sampled else None,
        )


def reduce_trajectory(
    trajectory: Trajectory, timestep_fs: float, type_elements: Sequence[str], analysis: Mapping
) -> ReducedTrajectory:
    """Diffusion analysis of every species of ``analysis`` (the settings with defaults filled in).

    Per species: :func:`aiida_lps.science.diffusion.analyse_diffusion` (multi-time-origin FFT MSD per axis after
    drift removal, D from the fit window, block errors) and, with ``regions``, :func:`region_diffusion`.
    A failed analysis (``ValueError``) is recorded in ``analysis_error``; the rest of the reduction is kept.

    :param timestep_fs: MD timestep in fs (the frame interval is the step difference of the first two frames).
    :param type_elements: element of each LAMMPS atom type, in type order.
    """
    symbols = [type_elements[t - 1] for t in trajectory.types]
    masses = type_masses(type_elements)[trajectory.types - 1]
    n_frames = trajectory.positions.shape[0]
    frame_ps = float(trajectory.timesteps[1] - trajectory.timesteps[0]) * timestep_fs * 1e-3 if n_frames > 1 else 0.0
    mean_cell = trajectory.cells.mean(axis=0)
    stride = int(analysis.get("trajectory_stride") or 0)
    reduced = ReducedTrajectory(
        timesteps=trajectory.timesteps,
        types=trajectory.types,
        last_positions=trajectory.positions[-1],
        last_cell=trajectory.cells[-1],
        mean_cell=mean_cell,
        frame_interval_ps=frame_ps,
        species={},
        msd={},
        time_ps=None,
        sampled_positions=trajectory.positions[::stride] if stride > 0 else None,
        sampled_cells=trajectory.cells[::stride] if stride > 0 else None,
        sampled_timesteps=trajectory.timesteps[::stride] if stride > 0 else None,
    )
    common = {
        "window": tuple(analysis["window"]),
        "n_blocks": int(analysis["n_blocks"]),
        "drift": analysis["drift"],
        "subdiffusive_threshold": float(analysis["subdiffusive_threshold"]),
    }
    try:
        if n_frames < 2:
            raise ValueError(f"{n_frames} frame: no MSD")
        for species in analysis["species"]:
            result, time_ps, msd_axes = analyse_diffusion(
                trajectory.positions, frame_ps, symbols, masses, species=species, **common
            )
            entry = result.to_dict()
            if analysis.get("regions"):
                entry["regions"] = region_diffusion(
                    trajectory.positions,
                    mean_cell,
                    frame_ps,
                    symbols,
                    masses,
                    species,
                    axis=int(analysis["regions"]["axis"]),
                    boundaries=[tuple(b) for b in analysis["regions"]["boundaries"]],
                    **common,
                )
            reduced.species[species] = entry
            reduced.msd[species] = msd_axes
            reduced.time_ps = time_ps
    except ValueError as exception:
        reduced.species, reduced.msd, reduced.time_ps = {}, {}, None
        reduced.analysis_error = str(exception)
    return reduced


def _peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    """CPU time (user + system) of this process in s."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(settings: Mapping, folder: str | os.PathLike = ".") -> dict:
    """Reduce the dumps named in ``settings`` (the content of ``reduce.json``) inside ``folder``.

    ``settings``: ``dumps`` (file names in order: earlier parts first), ``type_elements``, ``timestep_fs``,
    ``analysis`` (defaults filled in), ``expected_frames``, ``production_steps``, ``output`` (default
    :data:`REDUCED_FILENAME`) and ``delete_dumps`` (remove the dumps after a complete, successful reduction).
    Writes the ``.npz`` (with ``trajectory_error`` only, if the dumps cannot be read) and returns a summary.
    """
    folder = pathlib.Path(folder)
    output = folder / settings.get("output", REDUCED_FILENAME)
    dumps = [folder / name for name in settings["dumps"]]
    summary: dict = {"dumps": [str(p.name) for p in dumps], "dump_bytes": 0}
    start = time.perf_counter()
    try:
        summary["dump_bytes"] = sum(p.stat().st_size for p in dumps)
        trajectory = read_dump_files(dumps, expected_frames=settings.get("expected_frames"))
    except (OSError, ValueError) as exception:
        with open(output, "wb") as handle:
            np.savez(handle, trajectory_error=np.array(f"{type(exception).__name__}: {exception}"))
        summary["trajectory_error"] = str(exception)
        return summary
    read_s = time.perf_counter() - start
    reduced = reduce_trajectory(
        trajectory, float(settings["timestep_fs"]), settings["type_elements"], settings["analysis"]
    )
    complete = int(trajectory.timesteps[-1]) >= int(settings.get("production_steps", 0))
    del trajectory
    reduced.save(output)
    summary.update(
        n_frames=reduced.n_frames,
        n_atoms=reduced.n_atoms,
        read_s=round(read_s, 2),
        analysis_s=round(time.perf_counter() - start - read_s, 2),
        output_bytes=output.stat().st_size,
        peak_rss_mib=round(_peak_rss_mib(), 1),
        cpu_s=round(_cpu_s(), 1),
        analysis_error=reduced.analysis_error,
        complete=complete,
    )
    if settings.get("delete_dumps") and complete and reduced.analysis_error is None:
        for path in dumps:
            path.unlink()
        summary["deleted"] = True
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m aiida_lps.engines.lammps.reduce [reduce.json]``; exit status 1 if unreadable."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", nargs="?", default=REDUCE_SETTINGS_FILENAME, help="JSON settings file")
    args = parser.parse_args(argv)
    path = pathlib.Path(args.settings)
    summary = run(json.loads(path.read_text()), path.parent)
    print(json.dumps(summary), flush=True)
    return 1 if "trajectory_error" in summary else 0


if __name__ == "__main__":
    sys.exit(main())
