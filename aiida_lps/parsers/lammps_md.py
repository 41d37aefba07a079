"""Parser of ``lps.lammps.md``: thermo, unwrapped trajectory → MSD, D, σ (Nernst-Einstein), errors → exit codes."""

from __future__ import annotations

import io
import math
import pathlib

import ase
import numpy as np
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ExitCode
from aiida.parsers import Parser

from aiida_lps.common.serialize import json_safe
from aiida_lps.engines.lammps.inputs import (
    BINARY_DUMP_FILENAME,
    FINAL_DATA_FILENAME,
    LOG_FILENAME,
    MDSettings,
    part_filename,
)
from aiida_lps.engines.lammps.mlip.exploration import (
    GAMMA_MONITOR_FILENAME,
    extrapolation_summary,
    read_gamma_monitor,
)
from aiida_lps.engines.lammps.outputs import (
    LammpsError,
    classify_errors,
    join_thermo_blocks,
    read_data_configuration,
    read_dump_files,
    read_thermo_blocks,
)
from aiida_lps.engines.lammps.reduce import REDUCED_FILENAME, ReducedTrajectory, load_reduced, reduce_trajectory
from aiida_lps.science.diffusion import nernst_einstein_conductivity, number_density
from aiida_lps.utils.continuation import continuation_parts
from aiida_lps.utils.structures import structure_from_arrays
from aiida_lps.utils.validation import analysis_settings

__all__ = ("LammpsMDParser",)

_ERROR_EXIT = {
    LammpsError.LOST_ATOMS: "ERROR_LOST_ATOMS",
    LammpsError.NAN_ENERGY: "ERROR_NAN_ENERGY",
    LammpsError.POTENTIAL_FILE: "ERROR_POTENTIAL",
    LammpsError.DISK_FULL: "ERROR_DISK_FULL",
    LammpsError.OTHER: "ERROR_LAMMPS",
}
_MISSING_EXECUTABLE = (
    "No such file or directory",
    "command not found",
    "Permission denied",
    "cannot execute",
)


class LammpsMDParser(Parser):
    """Turn a finished LAMMPS MD run into MSD arrays, diffusivities and conductivities."""

    def parse(self, retrieved_temporary_folder: str | None = None, **kwargs) -> ExitCode | None:
        """Parse the log, classify failures, analyse the temporarily retrieved trajectory."""
        # `self.node.inputs.<x>` and `self.retrieved` query the links on every access: look them up once
        inputs = self.node.base.links.get_incoming(link_type=LinkType.INPUT_CALC).nested()
        retrieved = self.retrieved
        names = retrieved.base.repository.list_object_names()
        log_name = self.node.process_class._LOG_FILENAME
        log_text = retrieved.base.repository.get_object_content(log_name) if log_name in names else ""
        stdout_name = self.node.process_class._STDOUT_FILENAME
        stdout = retrieved.base.repository.get_object_content(stdout_name) if stdout_name in names else ""

        error = classify_errors(log_text + "\n" + stdout + "\n" + (self.node.get_scheduler_stderr() or ""))
        if error is not None:
            kind, message = error
            return self.exit_codes[_ERROR_EXIT[kind]].format(detail=message)
        if not log_text:
            stderr = self.node.get_scheduler_stderr() or ""
            if any(marker in stderr for marker in _MISSING_EXECUTABLE):
                return self.exit_codes.ERROR_EXECUTABLE_NOT_FOUND.format(detail=stderr.strip()[-300:])
            return self.exit_codes.ERROR_LOG_MISSING

        blocks = read_thermo_blocks(log_text)
        for block in blocks:
            if not block.finite:
                return self.exit_codes.ERROR_NAN_ENERGY.format(detail="non-finite value in the thermo output")
        parts = continuation_parts(inputs.get("parent_folder"))
        expected_blocks = 1 if parts else 2
        if "Total wall time" not in log_text or len(blocks) < expected_blocks:
            detail = f"{len(blocks)} of {expected_blocks} thermo blocks and no 'Total wall time' line"
            if self.node.exit_status == self.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME.status:
                return self.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME  # keep the scheduler's diagnosis
            return self.exit_codes.ERROR_INCOMPLETE_RUN.format(detail=f"{detail} (time limit or crash?)")

        settings = MDSettings.from_dict(inputs["parameters"].get_dict())
        analysis = analysis_settings(inputs["analysis"].get_dict() if "analysis" in inputs else None)
        potential = inputs["potential"]

        folder = pathlib.Path(retrieved_temporary_folder or "")
        expected = settings.production_steps // settings.dump_interval + 1
        if "reduce_code" in inputs:  # production path: the job reduced the dump where it was written
            if REDUCED_FILENAME not in names:
                stderr_name = self.node.process_class._REDUCE_STDERR
                stderr = retrieved.base.repository.get_object_content(stderr_name) if stderr_name in names else ""
                return self.exit_codes.ERROR_REDUCTION_MISSING.format(detail=stderr.strip()[-500:] or "no stderr")
            try:
                content = retrieved.base.repository.get_object_content(REDUCED_FILENAME, mode="rb")
                reduced = load_reduced(io.BytesIO(content))
            except ValueError as exception:
                return self.exit_codes.ERROR_TRAJECTORY_MISSING.format(detail=str(exception))
        else:  # fallback: the binary dump(s) retrieved temporarily, reduced here
            names_in_order = [part_filename(BINARY_DUMP_FILENAME, i) for i in range(parts)] + [BINARY_DUMP_FILENAME]
            missing = [name for name in names_in_order if not (folder / name).is_file()]
            if retrieved_temporary_folder is None or missing:
                return self.exit_codes.ERROR_TRAJECTORY_MISSING.format(detail=f"{missing} not retrieved")
            try:
                trajectory = read_dump_files(
                    [folder / name for name in names_in_order], expected_frames=None if parts else expected
                )
            except ValueError as exception:
                return self.exit_codes.ERROR_TRAJECTORY_MISSING.format(detail=str(exception))
            reduced = reduce_trajectory(trajectory, settings.timestep_fs, potential.elements, analysis)
        if not parts and reduced.timesteps[-1] < settings.production_steps:  # the log says the run completed
            detail = f"truncated: {reduced.n_frames} of {expected} frames, last {reduced.timesteps[-1]}"
            return self.exit_codes.ERROR_TRAJECTORY_MISSING.format(detail=detail)
        if parts:  # equilibration block from the first part's log, production joined over all parts
            logs = [folder / part_filename(LOG_FILENAME, i) for i in range(parts)]
            if not all(log.is_file() for log in logs):
                return self.exit_codes.ERROR_LOG_MISSING
            earlier = [read_thermo_blocks(log.read_text()) for log in logs]
            production_parts = [earlier[0][1:], *earlier[1:], blocks]
            blocks = [earlier[0][0], join_thermo_blocks([b for part in production_parts for b in part[:1]])]

        production = blocks[-1]
        thermo = _array_node(production.columns)
        extrapolation = None
        if "active_set" in inputs:
            try:
                extrapolation, gamma_steps, gamma_max = _extrapolation(folder, parts, analysis)
            except (OSError, ValueError) as exception:
                return self.exit_codes.ERROR_ANALYSIS.format(detail=f"extrapolation grade: {exception}")
            thermo.set_array("gamma_step", gamma_steps)  # production step of each γ evaluation
            thermo.set_array("gamma_max", gamma_max)  # max over atoms of γ at that step
        self.out("thermo", thermo)
        try:
            if reduced.analysis_error is not None:
                raise ValueError(reduced.analysis_error)
            results, msd_node = self._analyse(reduced, settings, analysis, production, potential.elements)
        except ValueError as exception:
            return self.exit_codes.ERROR_ANALYSIS.format(detail=str(exception))
        results["thermo"] = {"equilibration": blocks[0].summary(), "production": production.summary()}
        if extrapolation is not None:
            results["extrapolation"] = extrapolation
            if extrapolation["left_training_domain"]:
                self.logger.warning(f"the MD left the training domain of its potential: {extrapolation['reason']}")
        self.out("msd", msd_node)
        self.out("results", orm.Dict(json_safe(results)))

        if reduced.timesteps[-1] == settings.production_steps:
            self.out("structure", _last_frame_structure(reduced, potential.elements))
        elif FINAL_DATA_FILENAME in names:
            self.out("structure", self._final_structure(potential.elements))
        if int(analysis["trajectory_stride"]) > 0 and reduced.sampled_positions is not None:
            self.out("trajectory", _trajectory_node(reduced, potential.elements))
        return None

    def _analyse(self, reduced: ReducedTrajectory, settings: MDSettings, analysis: dict, production, elements):
        """Results and MSD node from the reduction: adds densities, Nernst-Einstein conductivities, thermo means.
        :param elements: element of each LAMMPS atom type (type 1 first)."""
        symbols = [elements[t - 1] for t in reduced.types]
        frame_ps = reduced.frame_interval_ps
        volume = float(np.mean(production.columns["Volume"]))
        threshold = float(analysis["subdiffusive_threshold"])
        msd_node = orm.ArrayData()
        species_results = {}
        for species in analysis["species"]:
            entry = dict(reduced.species[species])
            regions = entry.pop("regions", None)
            msd_node.set_array(f"msd_{species}", reduced.msd[species])
            charge = (analysis["charges"] or {}).get(species)
            n_ions = symbols.count(species)
            density = number_density(n_ions, volume)
            entry["number_density_per_A3"] = density
            if charge:
                d, d_stderr = (math.nan if entry[key] is None else entry[key] for key in ("D", "D_stderr"))
                entry["charge"] = charge
                entry["conductivity_S_cm"] = nernst_einstein_conductivity(d, density, settings.temperature, charge)
                entry["conductivity_stderr_S_cm"] = nernst_einstein_conductivity(
                    d_stderr, density, settings.temperature, charge
                )
            if entry["subdiffusive"]:
                self.logger.warning(
                    f"{species}: MSD log-log slope {entry['loglog_slope']:.2f} < {threshold} "
                    "in the fit window: sub-diffusive, D is an upper bound, not a diffusivity"
                )
            if regions is not None:
                entry["regions"] = regions
            species_results[species] = entry
        msd_node.set_array("time_ps", reduced.time_ps)
        msd_node.base.attributes.set("units", {"time_ps": "ps", "msd": "Å^2 (columns x, y, z)"})
        results = {
            "temperature_target_K": settings.temperature,
            "temperature_mean_K": float(np.mean(production.columns["Temp"])),
            "volume_mean_A3": volume,
            "n_atoms": reduced.n_atoms,
            "n_frames": reduced.n_frames,
            "frame_interval_ps": frame_ps,
            "production_time_ps": float(frame_ps * (reduced.n_frames - 1)),
            "species": species_results,
            "units": {"D": "cm^2/s", "conductivity": "S/cm", "time": "ps", "volume": "Å^3"},
        }
        return results, msd_node

    def _final_structure(self, type_elements) -> orm.StructureData:
        """The final configuration from LAMMPS's ``write_data`` (array-built: ``StructureData(ase=...)`` takes ~1 s
        for 4000 atoms)."""
        text = self.retrieved.base.repository.get_object_content(FINAL_DATA_FILENAME)
        atoms = read_data_configuration(io.StringIO(text), type_elements)
        return structure_from_arrays(atoms.get_chemical_symbols(), atoms.positions, atoms.cell[:])


def _extrapolation(folder: pathlib.Path, parts: int, analysis: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """Summary, steps and max γ of the γ record of all parts (a step recomputed after a restart keeps its latest
    value)."""
    by_step: dict[int, float] = {}
    for name in [part_filename(GAMMA_MONITOR_FILENAME, i) for i in range(parts)] + [GAMMA_MONITOR_FILENAME]:
        with (folder / name).open() as handle:
            steps, gammas = read_gamma_monitor(handle)
        by_step.update(zip(steps.tolist(), gammas.tolist(), strict=True))
    steps = sorted(by_step)
    gamma_max = np.array([by_step[step] for step in steps])
    summary = extrapolation_summary(
        gamma_max,
        float(analysis["gamma_select"]),
        float(analysis["gamma_break"]),
        float(analysis["max_extrapolating_fraction"]),
    )
    summary["first_step_above_select"] = next((s for s, g in zip(steps, gamma_max, strict=True)
                                               if g > analysis["gamma_select"]), None)  # fmt: skip
    return summary, np.array(steps, dtype=int), gamma_max


def _last_frame_structure(reduced: ReducedTrajectory, type_elements) -> orm.StructureData:
    """The final configuration from the dump's last frame (the step after the last MD step), wrapped into its cell."""
    symbols = [type_elements[t - 1] for t in reduced.types]
    atoms = ase.Atoms(symbols, positions=reduced.last_positions, cell=reduced.last_cell, pbc=True)
    atoms.wrap()
    return structure_from_arrays(symbols, atoms.positions, atoms.cell[:])


def _array_node(columns: dict[str, np.ndarray]) -> orm.ArrayData:
    node = orm.ArrayData()
    for name, values in columns.items():
        node.set_array(name, values)
    return node


def _trajectory_node(reduced: ReducedTrajectory, type_elements) -> orm.TrajectoryData:
    node = orm.TrajectoryData()
    symbols = [type_elements[t - 1] for t in reduced.types]
    node.set_trajectory(
        symbols=symbols,
        positions=reduced.sampled_positions,
        cells=reduced.sampled_cells,
        stepids=reduced.sampled_timesteps,
    )
    return node
