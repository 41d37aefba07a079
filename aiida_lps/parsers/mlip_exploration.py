"""Parser of ``lps.mlip.explore``: per-frame max γ, whether γ_break stopped the run, and the candidate frames."""

from __future__ import annotations

import pathlib

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from aiida_lps.common.serialize import json_safe
from aiida_lps.engines.lammps.mlip.exploration import (
    EXPLORATION_DEFAULTS,
    GAMMA_DUMP_FILENAME,
    frame_gammas,
    read_gamma_dump,
)
from aiida_lps.engines.lammps.outputs import LammpsError, classify_errors
from aiida_lps.utils.active_set import active_set_grade_maps

__all__ = ("GammaExplorationParser",)


class GammaExplorationParser(Parser):
    """Read the γ dump: per-frame max γ, whether γ_break stopped the run, and the candidate frames."""

    def parse(self, retrieved_temporary_folder: str | None = None, **kwargs) -> ExitCode | None:
        """Parse the log and the temporarily retrieved dump."""
        names = self.retrieved.base.repository.list_object_names()
        log_name, out_name = self.node.process_class._LOG, self.node.process_class._STDOUT
        log = self.retrieved.base.repository.get_object_content(log_name) if log_name in names else ""
        stdout = self.retrieved.base.repository.get_object_content(out_name) if out_name in names else ""
        params = {**EXPLORATION_DEFAULTS, **self.node.inputs.parameters.get_dict()}
        error = classify_errors(log + "\n" + stdout)
        dump = pathlib.Path(retrieved_temporary_folder or "") / GAMMA_DUMP_FILENAME
        if retrieved_temporary_folder is None or not dump.is_file():
            if error is not None and error[0] in (LammpsError.POTENTIAL_FILE, LammpsError.OTHER):
                return self.exit_codes.ERROR_POTENTIAL.format(detail=error[1])
            return self.exit_codes.ERROR_NO_FRAMES.format(detail=error[1] if error else "no dump written")
        try:
            with dump.open() as handle:
                trajectory = read_gamma_dump(handle)
        except ValueError as exception:
            return self.exit_codes.ERROR_NO_FRAMES.format(detail=str(exception))

        elements = self.node.inputs.potential.elements
        _, maps, columns = active_set_grade_maps(self.node.inputs.active_set)
        gamma, atom_rows = frame_gammas(trajectory, maps, columns)
        gamma_max = gamma.max(axis=1)
        finite = np.isfinite(gamma_max) & np.all(np.isfinite(trajectory.positions), axis=(1, 2))
        # frames up to (not including) the first non-finite or past-γ_break frame are usable
        bad = np.nonzero(~finite | (gamma_max > params["gamma_break"]))[0]
        usable = np.arange(bad[0] if bad.size else len(gamma_max))
        candidates = usable[gamma_max[usable] > params["gamma_select"]]
        if not len(candidates) and bad.size and finite[bad[0]]:
            # the run left the domain before any frame between γ_select and γ_break (e.g. the start structure is
            # already past γ_break): the break frame itself is the candidate, so a halted run is never "nothing new"
            candidates = bad[:1]
        halted = "Fix halt condition" in log
        results = {
            "n_frames": int(len(gamma_max)),
            "n_usable_frames": int(len(usable)),
            "n_candidates": int(len(candidates)),
            "last_step": int(trajectory.timesteps[-1]),
            "steps_requested": int(params["steps"]),
            "max_gamma": float(np.nanmax(gamma_max)) if np.any(np.isfinite(gamma_max)) else None,
            "max_gamma_usable": float(gamma_max[usable].max()) if len(usable) else None,
            "gamma_max_per_frame": gamma_max.tolist(),
            "timesteps": trajectory.timesteps.tolist(),
            "halted_at_gamma_break": bool(halted),
            "gamma_break": float(params["gamma_break"]),
            "gamma_select": float(params["gamma_select"]),
            "lammps_error": error[1] if error else None,
        }
        self.out("results", orm.Dict(json_safe(results)))
        if error is not None:
            self.logger.warning(f"exploration MD stopped with a LAMMPS error ({error[1]}); earlier frames are kept")
        if len(candidates):
            node = orm.TrajectoryData()
            symbols = [elements[t - 1] for t in trajectory.types]
            node.set_trajectory(
                symbols=symbols,
                positions=trajectory.positions[candidates],
                cells=trajectory.cells[candidates],
                stepids=trajectory.timesteps[candidates],
            )
            node.set_array("atom_rows", atom_rows[candidates])
            node.set_array("gamma_max", gamma_max[candidates])
            self.out("candidates", node)
        return None
