"""CalcJobs of the active-learning MLIP: ``lps.mlip.train`` (SNAP/POD fit) and ``lps.mlip.explore`` (γ-monitored MD)."""

from __future__ import annotations

import json
import pathlib

import numpy as np
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.data.training_set import TrainingSetData
from aiida_lps.engines.lammps import snap_fit
from aiida_lps.engines.lammps.inputs import DATA_FILENAME, write_data_file
from aiida_lps.engines.lammps.pod import POD_COEFF_FILENAME, POD_PARAM_FILENAME, PodSettings
from aiida_lps.engines.lammps.snap import (
    COEFF_FILENAME,
    GAMMA_DUMP_FILENAME,
    PARAM_FILENAME,
    SnapSettings,
    gamma_md_script,
)

__all__ = ("SnapTrainingCalculation", "GammaExplorationCalculation", "EXPLORATION_DEFAULTS")

EXPLORATION_DEFAULTS = {
    "temperature": 600.0,  # K
    "steps": 2000,
    "timestep_fs": 1.0,
    "gamma_break": 10.0,
    "gamma_select": 2.0,
    "check_interval": 10,  # steps between γ evaluations (fix halt)
    "dump_interval": 20,  # steps between stored frames
    "ensemble": "nvt",
    "pressure_bar": 1.0,
    "seed": 12345,
}


def _validate_fit_parameters(value: orm.Dict, _) -> str | None:
    params = value.get_dict()
    if not params.get("elements"):
        return "fit parameters need `elements` (the potential's element order, e.g. ['Li', 'P', 'S'])"
    grid = params.get("grid") or [{}]
    for point in grid:
        try:
            model, _ = snap_fit.point_settings(point, params)
            snap_fit.point_ridge_of(point, 0.0)
        except (TypeError, ValueError) as exception:
            model = str(point.get("model", "snap")).upper() if isinstance(point, dict) else "grid"
            return f"invalid {model} hyperparameters {point}: {exception}"
    if float(params.get("ridge", 1e-6)) < 0:
        return "`ridge` must be non-negative"
    return None


def _validate_training_inputs(inputs, _) -> str | None:
    training = inputs.get("training_set")
    params = inputs.get("parameters")
    if training is None or params is None:
        return None
    if training.n_configurations == 0:
        return "the training set is empty"
    missing = sorted(set(training.elements) - set(params["elements"]))
    if missing:
        return f"the training set contains {missing}, which are not in the fit elements {params['elements']}"
    return None


class SnapTrainingCalculation(CalcJob):
    """Fit a linear SNAP or POD potential (grid search over both) by running ``fit_snap.py`` with Python.

    The code is a Python interpreter of an environment with NumPy, SciPy, ASE, the LAMMPS Python module and
    ``aiida-lps`` (only its AiiDA-free modules are imported), so the fit can run on a cluster.
    Grid points carry ``model`` (``snap`` by default, or ``pod``); the best on the validation split wins.
    Outputs the potential (``lps.potential`` with the SNAP or POD files, runnable by ``lps.diffusion``), the
    metrics, the MaxVol active set and parity data.
    """

    _SCRIPT = "fit_snap.py"
    _STDOUT = "fit.out"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        spec.input("training_set", valid_type=TrainingSetData, help="Labelled training configurations.")
        spec.input("test_set", valid_type=TrainingSetData, required=False, help="Held-out configurations.")
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_fit_parameters,
            help="elements, grid (list of {twojmax, rcutfac} or {model: pod, rcut, ...}), snap, pod, weights, ridge, "
            "validation_fraction, seed, rank_tol (see aiida_lps.engines.lammps.snap_fit).",
        )
        spec.inputs.validator = _validate_training_inputs
        options = spec.inputs["metadata"]["options"]
        options["parser_name"].default = "lps.mlip.train"
        options["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        options["withmpi"].default = False

        spec.output("potential", valid_type=InteratomicPotentialData, help="The fitted SNAP or POD potential.")
        spec.output("metrics", valid_type=orm.Dict, help="Hyperparameters, grid table, errors, fit diagnostics.")
        spec.output("active_set", valid_type=orm.ArrayData, help="Per element MaxVol active set and grade map.")
        spec.output("parity", valid_type=orm.ArrayData, help="Reference vs predicted energies/forces.")
        spec.default_output_node = "metrics"
        spec.exit_code(300, "ERROR_RESULTS_MISSING", message="The fit wrote no results.json: {detail}")
        spec.exit_code(
            310, "ERROR_UNDERDETERMINED", message="The fit was refused (too few data for the descriptors): {detail}"
        )
        spec.exit_code(311, "ERROR_FIT_FAILED", message="The fit failed: {detail}")
        spec.exit_code(312, "ERROR_FILES_MISSING", message="The fit did not write {detail}.")

    def prepare_for_submission(self, folder):
        """Write the training/test sets, the settings and the script."""
        with folder.open(snap_fit.TRAINING, "w") as handle:
            handle.write(self.inputs.training_set.get_text())
        if "test_set" in self.inputs and self.inputs.test_set.n_configurations:
            with folder.open(snap_fit.TEST, "w") as handle:
                handle.write(self.inputs.test_set.get_text())
        with folder.open(snap_fit.SETTINGS, "w") as handle:
            json.dump(self.inputs.parameters.get_dict(), handle, indent=1)
        with folder.open(self._SCRIPT, "w") as handle:
            handle.write(pathlib.Path(snap_fit.__file__).read_text())

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = [self._SCRIPT]
        codeinfo.stdout_name = self._STDOUT
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [
            snap_fit.RESULTS,
            snap_fit.ACTIVE_SET,
            snap_fit.PARITY,
            COEFF_FILENAME,
            PARAM_FILENAME,
            POD_COEFF_FILENAME,
            POD_PARAM_FILENAME,
            self._STDOUT,
        ]
        return calcinfo


def _validate_exploration_parameters(value: orm.Dict, _) -> str | None:
    params = {**EXPLORATION_DEFAULTS, **value.get_dict()}
    unknown = sorted(set(params) - set(EXPLORATION_DEFAULTS))
    if unknown:
        return f"unknown exploration parameter(s) {unknown}; known: {sorted(EXPLORATION_DEFAULTS)}"
    if not params["temperature"] > 0 or not params["timestep_fs"] > 0:
        return "temperature (K) and timestep_fs must be positive"
    if int(params["steps"]) < 1 or int(params["check_interval"]) < 1 or int(params["dump_interval"]) < 1:
        return "steps, check_interval and dump_interval must be positive integers"
    if not 0 < params["gamma_select"] <= params["gamma_break"]:
        return f"need 0 < gamma_select <= gamma_break, got {params['gamma_select']} and {params['gamma_break']}"
    if params["ensemble"] not in ("nvt", "npt"):
        return f"ensemble must be nvt or npt, got {params['ensemble']!r}"
    return None


def _validate_exploration_inputs(inputs, _) -> str | None:
    potential, active, structure = inputs.get("potential"), inputs.get("active_set"), inputs.get("structure")
    if potential is None or active is None:
        return None
    model, settings = active_set_settings(active)
    if settings is None:
        return f"the active set carries no `{model}_settings` attribute (it must come from lps.mlip.train)"
    if settings["elements"] != potential.elements:
        return f"active set elements {settings['elements']} differ from the potential's {potential.elements}"
    if structure is not None:
        missing = sorted({site.kind_name for site in structure.sites} - set(potential.elements))
        if missing:
            return f"the structure contains {missing}, which the potential does not describe"
    return None


def active_set_settings(active_set: orm.ArrayData) -> tuple[str, dict | None]:
    """``(model, settings dictionary)`` of an active-set node of ``lps.mlip.train``: the attribute ``model`` (``snap``
    when absent: older nodes) and its ``<model>_settings`` attribute (``None`` if missing)."""
    model = active_set.base.attributes.get("model", "snap")
    return model, active_set.base.attributes.get(f"{model}_settings", None)


def active_set_grade_maps(
    active_set: orm.ArrayData,
) -> tuple[SnapSettings | PodSettings, list[np.ndarray], list[int]]:
    """Model settings, per-element grade maps (type order) and descriptor columns stored in an active-set node.

    The attribute ``model`` (``snap`` when absent: older nodes) says whether ``snap_settings`` or ``pod_settings``
    describe the descriptors. An element without training rows gets a grade map that gives every atom of it γ = 10⁶
    (pure extrapolation).
    """
    model, stored = active_set_settings(active_set)
    settings = {"snap": SnapSettings, "pod": PodSettings}[model].from_dict(stored)
    columns = [int(c) for c in active_set.get_array("columns")]
    names = active_set.get_arraynames()
    maps = []
    for element in settings.elements:
        if f"{element}_grade_map" in names:
            maps.append(active_set.get_array(f"{element}_grade_map"))
        else:
            unseen = np.zeros((1 + len(columns), 1))
            unseen[0, 0] = 1e6
            maps.append(unseen)
    return settings, maps, columns


class GammaExplorationCalculation(CalcJob):
    """MD with a fitted SNAP or POD in LAMMPS that computes the grade γ on the fly (``sna/atom`` or ``pod/atom``)
    and stops at γ_break.

    The parser keeps the frames with γ_select < max γ ≤ γ_break as candidates (with their per-atom descriptor rows,
    so that batch MaxVol selection needs no recomputation); frames past γ_break or after a crash are dropped, the
    earlier ones are kept.
    """

    _INPUT = "input.in"
    _LOG = "log.lammps"
    _STDOUT = "lammps.out"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Starting configuration.")
        spec.input("potential", valid_type=InteratomicPotentialData, help="The SNAP/POD potential (lps.mlip.train).")
        spec.input("active_set", valid_type=orm.ArrayData, help="Active set of the same fit (lps.mlip.train).")
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_exploration_parameters,
            help=f"Exploration settings; defaults {EXPLORATION_DEFAULTS}.",
        )
        spec.inputs.validator = _validate_exploration_inputs
        options = spec.inputs["metadata"]["options"]
        options["parser_name"].default = "lps.mlip.explore"
        options["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        options["withmpi"].default = False

        spec.output("results", valid_type=orm.Dict, help="Frames, max γ, whether γ_break stopped the run, errors.")
        spec.output(
            "candidates",
            valid_type=orm.TrajectoryData,
            required=False,
            help="Frames with γ_select < γ ≤ γ_break; arrays `gamma_max` and `atom_rows` (per-atom [1, B]).",
        )
        spec.default_output_node = "results"
        spec.exit_code(300, "ERROR_NO_FRAMES", message="The exploration produced no readable frame: {detail}")
        spec.exit_code(312, "ERROR_POTENTIAL", message="LAMMPS rejected the potential or the γ script: {detail}")

    def prepare_for_submission(self, folder):
        """Write the data file and the γ-monitored MD script; copy the potential files."""
        potential = self.inputs.potential
        params = {**EXPLORATION_DEFAULTS, **self.inputs.parameters.get_dict()}
        settings, maps, columns = active_set_grade_maps(self.inputs.active_set)
        with folder.open(DATA_FILENAME, "w") as handle:
            handle.write(write_data_file(self.inputs.structure.get_ase(), potential.elements))
        script = gamma_md_script(
            settings,
            potential.lammps_commands(potential.elements),
            maps,
            columns,
            temperature=float(params["temperature"]),
            steps=int(params["steps"]),
            gamma_break=float(params["gamma_break"]),
            timestep_fs=float(params["timestep_fs"]),
            check_interval=int(params["check_interval"]),
            dump_interval=int(params["dump_interval"]),
            ensemble=params["ensemble"],
            pressure_bar=float(params["pressure_bar"]),
            seed=int(params["seed"]),
            data_filename=DATA_FILENAME,
        )
        with folder.open(self._INPUT, "w") as handle:
            handle.write(script)
        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["-in", self._INPUT, "-log", self._LOG]
        codeinfo.stdout_name = self._STDOUT
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = [(potential.uuid, name, name) for name in potential.filenames]
        calcinfo.retrieve_list = [self._LOG, self._STDOUT]
        calcinfo.retrieve_temporary_list = [GAMMA_DUMP_FILENAME]
        return calcinfo
