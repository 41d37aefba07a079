"""Parsers of ``lps.mlip.train`` (potential, metrics, active set) and ``lps.mlip.explore`` (γ-graded frames)."""

from __future__ import annotations

import dataclasses
import io
import json
import pathlib

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from aiida_lps.common.serialize import json_safe
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps import pod as pod_engine
from aiida_lps.engines.lammps import snap_fit
from aiida_lps.engines.lammps.outputs import LammpsError, classify_errors
from aiida_lps.engines.lammps.snap import (
    COEFF_FILENAME,
    GAMMA_DUMP_FILENAME,
    PARAM_FILENAME,
    SnapSettings,
    frame_gammas,
    pair_arguments,
    read_gamma_dump,
)

__all__ = ("SnapTrainingParser", "GammaExplorationParser")


class SnapTrainingParser(Parser):
    """Turn the fit's files into a potential node, a metrics Dict, the active set and parity arrays."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse ``results.json`` and the potential files."""
        names = self.retrieved.base.repository.list_object_names()
        if snap_fit.RESULTS not in names:
            stderr = (self.node.get_scheduler_stderr() or "").strip()[-500:]
            return self.exit_codes.ERROR_RESULTS_MISSING.format(detail=stderr or "no stderr")
        results = json.loads(self.retrieved.base.repository.get_object_content(snap_fit.RESULTS))
        if results.get("error") == "underdetermined":
            return self.exit_codes.ERROR_UNDERDETERMINED.format(detail=results["message"])
        if "error" in results:
            return self.exit_codes.ERROR_FIT_FAILED.format(detail=results["message"])
        model = results.get("model", "snap")
        hyper = results["hyperparameters"]
        if model == "pod":
            settings = pod_engine.PodSettings.from_dict(_only(hyper, _POD_FIELDS))
            potential_files = (pod_engine.POD_PARAM_FILENAME, pod_engine.POD_COEFF_FILENAME)
            pair = pod_engine.pair_arguments(settings)
            description = "POD (linear, one environment cluster)"
        else:
            settings = SnapSettings.from_dict(_only(hyper, _SNAP_FIELDS))
            potential_files = (COEFF_FILENAME, PARAM_FILENAME)
            pair = pair_arguments(settings)
            description = "SNAP (element-resolved, linear)" if settings.chemflag else "SNAP (linear)"
        missing = [n for n in (*potential_files, snap_fit.ACTIVE_SET) if n not in names]
        if missing:
            return self.exit_codes.ERROR_FILES_MISSING.format(detail=", ".join(missing))
        files = {name: self.retrieved.base.repository.get_object_content(name, mode="rb") for name in potential_files}
        metadata = {
            "model": description,
            "hyperparameters": settings.to_dict(),
            "n_training": results["n_training"],
            "training_metrics": results["training_metrics"],
            "test_metrics": results["test_metrics"],
            "units": "LAMMPS metal",
        }
        potential = InteratomicPotentialData(
            **pair,
            elements=settings.elements,
            cutoff=settings.cutoff,
            files=files,
            metadata=json_safe(metadata),
        )
        self.out("potential", potential)
        self.out("metrics", orm.Dict(json_safe(results)))

        active = orm.ArrayData()
        content = self.retrieved.base.repository.get_object_content(snap_fit.ACTIVE_SET, mode="rb")
        with np.load(io.BytesIO(content)) as data:
            for key in data.files:
                active.set_array(key, data[key])
        active.base.attributes.set("model", model)
        active.base.attributes.set(f"{model}_settings", settings.to_dict())
        active.base.attributes.set("summary", json_safe(results.get("active_set", {})))
        self.out("active_set", active)

        parity = orm.ArrayData()
        if snap_fit.PARITY in names:
            content = self.retrieved.base.repository.get_object_content(snap_fit.PARITY, mode="rb")
            with np.load(io.BytesIO(content), allow_pickle=False) as data:
                for key in data.files:
                    array = data[key]
                    parity.set_array(key, array.astype(str) if array.dtype.kind in "OU" else array)
        parity.base.attributes.set("units", {"energy": "eV/atom", "force": "eV/Å"})
        self.out("parity", parity)
        if results["fit"].get("regularised"):
            self.logger.warning(results["fit"]["message"])
        return None


_SNAP_FIELDS = {"elements", "twojmax", "rcutfac", "radelem", "wj", "chemflag", "zbl"}
_POD_FIELDS = {f.name for f in dataclasses.fields(pod_engine.PodSettings)}


def _only(hyper: dict, fields: set[str]) -> dict:
    return {k: v for k, v in hyper.items() if k in fields}


class GammaExplorationParser(Parser):
    """Read the γ dump: per-frame max γ, whether γ_break stopped the run, and the candidate frames."""

    def parse(self, retrieved_temporary_folder: str | None = None, **kwargs) -> ExitCode | None:
        """Parse the log and the temporarily retrieved dump."""
        from aiida_lps.calculations.mlip import EXPLORATION_DEFAULTS

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

        from aiida_lps.calculations.mlip import active_set_grade_maps

        elements = self.node.inputs.potential.elements
        _, maps, columns = active_set_grade_maps(self.node.inputs.active_set)
        gamma, atom_rows = frame_gammas(trajectory, maps, columns)
        gamma_max = gamma.max(axis=1)
        finite = np.isfinite(gamma_max) & np.all(np.isfinite(trajectory.positions), axis=(1, 2))
        # frames up to (not including) the first non-finite or past-γ_break frame are usable
        bad = np.nonzero(~finite | (gamma_max > params["gamma_break"]))[0]
        usable = np.arange(bad[0] if bad.size else len(gamma_max))
        candidates = usable[gamma_max[usable] > params["gamma_select"]]
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
