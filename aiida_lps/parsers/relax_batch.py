"""Parser of ``lps.lammps.relax_batch``: one relaxed structure and energy per configuration, failures recorded."""

from __future__ import annotations

import math
import pathlib

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from aiida_lps.common.serialize import json_safe
from aiida_lps.engines.lammps.outputs import LammpsError, classify_errors
from aiida_lps.engines.lammps.relax import (
    RelaxSettings,
    parse_relax_log,
    read_relaxed,
    relax_failure,
    relaxed_filename,
)
from aiida_lps.utils.configurations import configurations_of
from aiida_lps.utils.structures import structure_from_arrays

__all__ = ("BatchRelaxParser",)


class BatchRelaxParser(Parser):
    """Read the result lines of the log and the relaxed data files (retrieved temporarily)."""

    def parse(self, retrieved_temporary_folder: str | None = None, **kwargs) -> ExitCode | None:
        """Attach ``relaxed.c<i>``, ``energies`` and ``results``."""
        names = self.retrieved.base.repository.list_object_names()
        process = self.node.process_class
        if process._LOG not in names:
            return self.exit_codes.ERROR_LOG_MISSING
        log = self.retrieved.base.repository.get_object_content(process._LOG)
        stdout = self.retrieved.base.repository.get_object_content(process._STDOUT) if process._STDOUT in names else ""
        error = classify_errors(log + "\n" + stdout)
        results = parse_relax_log(log)
        expected = [len(atoms) for atoms in configurations_of(self.node.inputs)]
        elements = self.node.inputs.potential.elements
        settings = RelaxSettings.from_dict(self.node.inputs.parameters.get_dict())
        folder = pathlib.Path(retrieved_temporary_folder) if retrieved_temporary_folder else None

        n = len(expected)
        columns = {name: np.full(n, np.nan) for name in ("energy", "fnorm", "fmax", "volume")}
        success = np.zeros(n, dtype=bool)
        converged = np.zeros(n, dtype=bool)
        failures = []
        for index in range(n):
            result = results.get(index)
            reason = None
            if result is None:
                reason = f"not relaxed: LAMMPS stopped before it ({error[1] if error else 'no result line'})"
            elif not math.isfinite(result.energy):
                reason = "non-finite energy"
            elif result.atoms != expected[index]:
                reason = f"lost atoms ({result.atoms} of {expected[index]} left)"
            else:
                path = folder / relaxed_filename(index) if folder is not None else None
                if path is None or not path.is_file():
                    reason = "relaxed data file missing"
            if reason is None:
                atoms = read_relaxed(path, elements)
                reason = relax_failure(result, settings, atoms)
            if reason is not None:
                failures.append({"index": index, "reason": reason})
                continue
            structure = structure_from_arrays(atoms.get_chemical_symbols(), atoms.positions, atoms.cell[:])
            self.out(f"relaxed.c{index}", structure)
            success[index] = True
            converged[index] = result.converged
            for name in columns:
                columns[name][index] = getattr(result, name)

        energies = orm.ArrayData()
        for name, values in columns.items():
            energies.set_array(name, values)
        energies.set_array("success", success)
        energies.set_array("converged", converged)
        energies.base.attributes.set("units", {"energy": "eV", "fnorm": "eV/Å", "fmax": "eV/Å", "volume": "Å^3"})
        self.out("energies", energies)
        self.out(
            "results",
            orm.Dict(
                json_safe(
                    {
                        "n_configurations": n,
                        "n_relaxed": int(success.sum()),
                        "n_converged": int(converged.sum()),
                        "failures": failures,
                        "lammps_error": error[1] if error else None,
                    }
                )
            ),
        )
        if not success.any():
            if error is not None and error[0] is LammpsError.POTENTIAL_FILE:
                return self.exit_codes.ERROR_POTENTIAL.format(detail=error[1])
            detail = failures[0]["reason"] if failures else "no configuration"
            return self.exit_codes.ERROR_ALL_FAILED.format(detail=detail)
        if failures:
            self.logger.warning(f"{len(failures)} of {n} configurations failed; first: {failures[0]}")
        return None
