"""CalcJob ``lps.mlip.train``: fit a linear MLIP (SNAP or POD, grid search over both) with the fit script."""

from __future__ import annotations

import json
import pathlib

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.data.training_set import TrainingSetData
from aiida_lps.engines.lammps.mlip import fit, models

__all__ = ("MlipTrainingCalculation", "validate_fit_parameters")


def validate_fit_parameters(value: orm.Dict, _) -> str | None:
    """Port validator of the fit ``parameters`` (also used by ``lps.mlip.active_learning`` before any DFT label)."""
    params = value.get_dict()
    if not params.get("elements"):
        return "fit parameters need `elements` (the potential's element order, e.g. ['Li', 'P', 'S'])"
    grid = params.get("grid") or [{}]
    for point in grid:
        try:
            model, _ = fit.point_settings(point, params)
            fit.point_ridge_of(point, 0.0)
        except (TypeError, ValueError) as exception:
            model = str(point.get("model", "snap")).upper() if isinstance(point, dict) else "grid"
            return f"invalid {model} hyperparameters {point}: {exception}"
    if float(params.get("ridge", 1e-6)) < 0:
        return "`ridge` must be non-negative"
    origin_weights = params.get("origin_weights") or {}
    if not isinstance(origin_weights, dict) or not all(
        isinstance(w, int | float) and not isinstance(w, bool) and w > 0 for w in origin_weights.values()
    ):
        return f"`origin_weights` must map frame origins to positive weights, got {origin_weights!r}"
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


class MlipTrainingCalculation(CalcJob):
    """Fit a linear SNAP or POD potential (grid search over both) by running ``fit_mlip.py`` with Python.

    The code is a Python interpreter of an environment with NumPy, SciPy, ASE, the LAMMPS Python module and
    ``aiida-lps`` (only its AiiDA-free modules are imported), so the fit can run on a cluster.
    Grid points carry ``model`` (``snap`` by default, or ``pod``); the best on the validation split wins.
    Outputs the potential (``lps.potential`` with the SNAP or POD files, runnable by ``lps.diffusion``), the
    metrics, the MaxVol active set and parity data.
    """

    _SCRIPT = "fit_mlip.py"
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
            validator=validate_fit_parameters,
            help="elements, grid (list of {twojmax, rcutfac} or {model: pod, rcut, ...}), snap, pod, weights, "
            "origin_weights, ridge, validation_fraction, seed, rank_tol (see aiida_lps.engines.lammps.mlip.fit).",
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
        # A crash or missing output (300, 311, 312) invalidates the cache; a refused fit (310) follows from the inputs.
        spec.exit_code(
            300, "ERROR_RESULTS_MISSING", message="The fit wrote no results.json: {detail}", invalidates_cache=True
        )
        spec.exit_code(
            310, "ERROR_UNDERDETERMINED", message="The fit was refused (too few data for the descriptors): {detail}"
        )
        spec.exit_code(311, "ERROR_FIT_FAILED", message="The fit failed: {detail}", invalidates_cache=True)
        spec.exit_code(312, "ERROR_FILES_MISSING", message="The fit did not write {detail}.", invalidates_cache=True)

    def prepare_for_submission(self, folder):
        """Write the training/test sets, the settings and the script."""
        with folder.open(fit.TRAINING, "w") as handle:
            handle.write(self.inputs.training_set.get_text())
        if "test_set" in self.inputs and self.inputs.test_set.n_configurations:
            with folder.open(fit.TEST, "w") as handle:
                handle.write(self.inputs.test_set.get_text())
        with folder.open(fit.SETTINGS, "w") as handle:
            json.dump(self.inputs.parameters.get_dict(), handle, indent=1)
        with folder.open(self._SCRIPT, "w") as handle:
            handle.write(pathlib.Path(fit.__file__).read_text())

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = [self._SCRIPT]
        codeinfo.stdout_name = self._STDOUT
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [
            fit.RESULTS,
            fit.ACTIVE_SET,
            fit.PARITY,
            *(name for model in models.MODELS for name in models.potential_filenames(model)),
            self._STDOUT,
        ]
        return calcinfo
