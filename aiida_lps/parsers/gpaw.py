"""Parser of ``lps.gpaw``: ``results.json`` → common outputs (energy eV, forces eV/Å, stress eV/Å³, properties)."""

from __future__ import annotations

import io
import json

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from aiida_lps.common.serialize import json_safe
from aiida_lps.engines.gpaw import runner

__all__ = ("GpawParser",)

_MISSING_EXECUTABLE = ("No such file or directory", "command not found", "Permission denied", "cannot execute")


class GpawParser(Parser):
    """Read the runner's JSON results; map failures to exit codes while keeping what was computed."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse ``results.json``, or ``progress.json`` of a run that stopped before its final record."""
        names = self.retrieved.base.repository.list_object_names()
        if runner.RESULTS not in names:
            if runner.PROGRESS in names:
                return self._parse_interrupted()
            stderr = self.node.get_scheduler_stderr() or ""
            if any(marker in stderr for marker in _MISSING_EXECUTABLE) and runner.LOG not in names:
                return self.exit_codes.ERROR_EXECUTABLE_NOT_FOUND.format(detail=stderr.strip()[-300:])
            return self._scheduler_exit_code() or self.exit_codes.ERROR_OUTPUT_MISSING
        try:
            results = json.loads(self.retrieved.base.repository.get_object_content(runner.RESULTS))
        except json.JSONDecodeError as exception:
            return self.exit_codes.ERROR_OUTPUT_MALFORMED.format(detail=str(exception))

        task = results.get("task")
        properties = {
            key: results.get(key)
            for key in (
                "fermi_energy", "n_electrons", "scf_iterations", "reference_energy", "free_energy",
                "magnetic_moment", "wall_time_s", "max_rss_mib", "relax_steps", "stress_error",
            )
            if results.get(key) is not None
        }  # fmt: skip
        properties.update(
            engine="gpaw",
            engine_version=results.get("gpaw_version"),
            task=task,
            converged_electronic=bool(results.get("scf_converged")),
            converged_ionic=bool(results.get("relax_converged", True)),
            units={"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3", "fermi_energy": "eV", "max_rss_mib": "MiB"},
        )
        self.out("properties", orm.Dict(json_safe(properties)))

        if "energy" in results:
            self.out("energy", orm.Float(results["energy"]))
            forces = orm.ArrayData()
            forces.set_array("forces", np.array(results["forces"], dtype=float))
            self.out("forces", forces)
            if "stress" in results:
                stress = orm.ArrayData()
                stress.set_array("stress", np.array(results["stress"], dtype=float))
                self.out("stress", stress)
        if task == "relax" and results.get("final_structure"):
            self.out("structure", self._structure(results["final_structure"]))
        if results.get("xas_file") and results["xas_file"] in names:
            content = self.retrieved.base.repository.get_object_content(results["xas_file"], mode="rb")
            self.out("xas", orm.SinglefileData(io.BytesIO(content), filename=results["xas_file"]))

        error = results.get("error")
        if error == "scf_not_converged":
            return self.exit_codes.ERROR_SCF_NOT_CONVERGED.format(detail=results.get("message", ""))
        if error:
            return self.exit_codes.ERROR_GPAW.format(detail=f"{error}: {results.get('message', '')}")
        if task == "relax" and not results.get("relax_converged", False):
            return self.exit_codes.ERROR_RELAX_NOT_CONVERGED.format(steps=results.get("relax_steps"))
        return None

    def _parse_interrupted(self) -> ExitCode:
        """A run killed before ``results.json``: output the last structure of a relaxation; keep the scheduler's
        exit code (e.g. 120, out of walltime) when it detected one, else ``ERROR_INCOMPLETE_RUN``."""
        try:
            progress = json.loads(self.retrieved.base.repository.get_object_content(runner.PROGRESS))
        except json.JSONDecodeError as exception:
            return self.exit_codes.ERROR_OUTPUT_MALFORMED.format(detail=f"{runner.PROGRESS}: {exception}")
        if progress.get("task") == "relax" and progress.get("structure"):
            self.out("structure", self._structure(progress["structure"]))
        steps = progress.get("relax_steps", 0)
        return self._scheduler_exit_code() or self.exit_codes.ERROR_INCOMPLETE_RUN.format(steps=steps)

    def _scheduler_exit_code(self) -> ExitCode | None:
        """The exit code the scheduler output parser already set on the node (aiida-core's 1xx range), if any."""
        status = self.node.exit_status
        if status is None or not 100 <= status < 200:
            return None
        for exit_code in self.exit_codes.values():
            if exit_code.status == status:
                return exit_code
        return None

    def _structure(self, data: dict) -> orm.StructureData:
        """Final structure with the input's kinds (kept so core-hole kinds survive a relaxation)."""
        structure = self.node.inputs.structure.clone()
        structure.reset_cell(data["cell"])
        structure.reset_sites_positions(data["positions"])
        return structure
