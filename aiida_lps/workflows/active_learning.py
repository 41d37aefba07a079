"""``lps.mlip.active_learning``: linear MLIP (SNAP or POD) by active learning with the D-optimality extrapolation grade.

Protocol of Jalem et al. (2023), doi:10.1039/d3ya00234a: label rattled/strained copies of the initial structures with
DFT → hyperparameter grid search (2J, cut-off; 90:10 split; energy/force/stress MAE) → loop {exploration MD with γ
computed on the fly and stopped at γ_break (schedule 10, 5, 2); select a diverse subset of frames with γ > γ_select by
batch MaxVol; DFT-label them; refit} until no frame exceeds γ_select or the label budget is spent → test-set errors of
the final potential.
Exploration covers the initial structures (bulk, ±strained) and, optionally, CSL grain-boundary bicrystals built
from them (``exploration.parameters.grain_boundaries``), as Jalem et al. 2023 do.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_, while_

from aiida_lps.calcfunctions.mlip import (
    assemble_training_set,
    generate_configurations,
    make_grain_boundary,
    merge_metrics,
    select_configurations,
    strain_structure,
)
from aiida_lps.calculations.mlip_exploration import GammaExplorationCalculation
from aiida_lps.calculations.mlip_training import MlipTrainingCalculation, validate_fit_parameters
from aiida_lps.common.mappings import recursive_merge
from aiida_lps.common.serialize import json_safe
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.data.training_set import TrainingSetData
from aiida_lps.dft.base import get_engine, validate_engine_port
from aiida_lps.engines.lammps.mlip.exploration import EXPLORATION_DEFAULTS
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.science.grain_boundary import build_grain_boundary, parse_grain_boundary_parameters
from aiida_lps.utils.failures import describe_failure
from aiida_lps.utils.validation import is_real, validate_periodic
from aiida_lps.workflows.dft import DftWorkChain
from aiida_lps.workflows.launching import LaunchOnceMixin

__all__ = ("ActiveLearningWorkChain",)

_EXPLORATION_KEYS = ("temperatures", "strains", "grain_boundaries", *EXPLORATION_DEFAULTS)


def _validate_schedule(value: orm.List, _) -> str | None:
    schedule = value.get_list()
    if not schedule or any(not isinstance(g, (int, float)) or g <= 0 for g in schedule):
        return f"gamma_break_schedule must be a non-empty list of positive numbers, got {schedule}"
    return None


_RECIPE_KEYS = ("count", "rattle", "strain", "seed", "min_distance", "repeat")


def _validate_sampling(value: orm.Dict, _) -> str | None:
    """``initial`` and ``test`` recipes of ``generate_configurations``: checked before any DFT label is computed."""
    recipes = value.get_dict()
    unknown = sorted(set(recipes) - {"initial", "test"})
    if unknown:
        return f"unknown sampling recipe(s) {unknown}; known: ['initial', 'test']"
    for name, recipe in recipes.items():
        if not isinstance(recipe, Mapping):
            return f"sampling.{name} must be a mapping such as {{count: 20, rattle: 0.1, strain: 0.03, seed: 0}}"
        unknown = sorted(set(recipe) - set(_RECIPE_KEYS))
        if unknown:
            return f"unknown sampling.{name} key(s) {unknown}; known: {sorted(_RECIPE_KEYS)}"
        for key, check in (
            ("count", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100_000),
            ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32),
            ("rattle", lambda v: is_real(v) and 0 <= v <= 1.0),
            ("strain", lambda v: is_real(v) and 0 <= v <= 0.3),
            ("min_distance", lambda v: v is None or (is_real(v) and 0 < v <= 5.0)),
            ("repeat", lambda v: isinstance(v, list) and len(v) == 3 and all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v)),
        ):  # fmt: skip
            if key in recipe and not check(recipe[key]):
                return (
                    f"sampling.{name}.{key} = {recipe[key]!r} is invalid: count an integer in [0, 100000], seed an "
                    "integer in [0, 2**32), rattle in [0, 1] Å, strain in [0, 0.3], min_distance in (0, 5] Å, "
                    "repeat three positive integers"
                )
    return None


def _validate_exploration(value: orm.Dict, _) -> str | None:
    params = value.get_dict()
    unknown = sorted(set(params) - set(_EXPLORATION_KEYS))
    if unknown:
        return f"unknown exploration setting(s) {unknown}; known: {sorted(_EXPLORATION_KEYS)}"
    if not params.get("temperatures"):
        return "exploration.temperatures must list at least one temperature (K)"
    return _validate_grain_boundary_specs(params.get("grain_boundaries", []))


def _validate_grain_boundary_specs(specs) -> str | None:
    """Structure-independent checks of ``exploration.grain_boundaries`` (a list of parameter mappings)."""
    if not isinstance(specs, list):
        return f"exploration.grain_boundaries must be a list of grain-boundary specifications, got {specs!r}"
    for index, spec in enumerate(specs):
        where = f"exploration.grain_boundaries[{index}]"
        if not isinstance(spec, Mapping):
            return f"{where} must be a mapping such as {{structure: <key of structures>, axis: [0, 0, 1], sigma: 5}}"
        if not isinstance(spec.get("structure"), str):
            return f"{where} needs `structure`: the key of the initial structure to build it from"
        try:
            parse_grain_boundary_parameters({k: v for k, v in spec.items() if k != "structure"})
        except ValueError as error:
            return f"{where}: {error}"
    return None


def _validate_inputs(inputs, _) -> str | None:
    if not inputs.get("structures"):
        return "give at least one initial structure in `structures`"
    for name, structure in inputs["structures"].items():
        message = validate_periodic(structure, f"structures.{name}")
        if message:
            return message
    gamma_select = inputs["gamma_select"].value if "gamma_select" in inputs else 2.0
    if "gamma_break_schedule" in inputs and min(inputs["gamma_break_schedule"].get_list()) < gamma_select:
        return "every γ_break of the schedule must be >= gamma_select"
    fitting = inputs.get("fitting", {}).get("parameters")
    if fitting is not None:
        elements = set(fitting.get_dict().get("elements", []))
        for name, structure in inputs["structures"].items():
            missing = {site.kind_name for site in structure.sites} - elements
            if missing:
                return f"structure {name!r} contains {sorted(missing)}, not among the fit elements {sorted(elements)}"
        for name in ("training_set", "test_set"):
            if name in inputs and not set(inputs[name].elements) <= elements:
                return f"{name} contains {inputs[name].elements}, not all among the fit elements {sorted(elements)}"
    dft = inputs.get("dft", {})
    if "engine" in dft and "overrides" in dft:
        try:
            engine = get_engine(dft["engine"].value)
            engine.validate_overrides(dft["protocol"].value if "protocol" in dft else None, dft["overrides"].get_dict())
        except ValueError as exception:
            return f"dft.overrides: {exception}"
    exploration = inputs.get("exploration", {}).get("parameters")
    specs = exploration.get_dict().get("grain_boundaries", []) if exploration is not None else []
    if isinstance(specs, list) and _validate_grain_boundary_specs(specs) is None:
        for index, spec in enumerate(specs):
            # a dry build (no provenance; well under a second for cells of a few hundred atoms) catches what only the
            # structure decides: lattice type, CSL existence, atom cap, ratio strain
            where = f"exploration.grain_boundaries[{index}]"
            if spec["structure"] not in inputs["structures"]:
                return f"{where}: no structure {spec['structure']!r} in `structures` ({sorted(inputs['structures'])})"
            params = parse_grain_boundary_parameters({k: v for k, v in spec.items() if k != "structure"})
            try:
                build_grain_boundary(inputs["structures"][spec["structure"]].get_pymatgen_structure(), **params)
            except ValueError as error:
                return f"{where} ({spec['structure']}): {error}"
    return None


class ActiveLearningWorkChain(LaunchOnceMixin, ProtocolMixin, WorkChain):
    """Active learning of a linear MLIP (element-resolved SNAP or POD, chosen with the hyperparameters by the grid
    search) with DFT labels from any engine of ``lps.dft``.

    Grain boundaries: each entry of ``exploration.parameters.grain_boundaries`` (``structure``: key of
    ``structures``, plus the settings of ``make_grain_boundary``) is built once in ``setup`` and explored at every
    temperature of every iteration, without strain (the GB region already spans a range of local densities, and
    strained copies would triple the number of large-cell MD runs). Its frames are selected and labelled like any
    other, so the GB cells count against the DFT budget: keep them small (``max_atoms``).

    Failure handling: a DFT label that fails is dropped and recorded (never retried beyond the engine's own restart
    handlers); an exploration MD that explodes is cut at γ_break (or at the crash) and its earlier frames are used; an
    empty selection ends the loop as converged (exit status 0); a fit the data cannot determine is regularised (ridge
    > 0) or refused with the fit's message (ridge = 0).
    """

    _protocol_file = "active_learning"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.input_namespace(
            "structures",
            valid_type=orm.StructureData,
            dynamic=True,
            help="Initial structures (crystals, glasses); explored with MD in every iteration.",
        )
        spec.input_namespace(
            "initial_configurations",
            valid_type=orm.StructureData,
            dynamic=True,
            required=False,
            help="Configurations to label first (in addition to sampling.initial copies).",
        )
        spec.input_namespace(
            "test_configurations",
            valid_type=orm.StructureData,
            dynamic=True,
            required=False,
            help="Held-out test configurations (in addition to sampling.test copies).",
        )
        spec.input(
            "training_set",
            valid_type=TrainingSetData,
            required=False,
            help="Already labelled training configurations to start from (e.g. a previous run's `training_set`): "
            "they are not labelled again and `sampling.initial` is not used; `initial_configurations` are still "
            "labelled and added.",
        )
        spec.input(
            "test_set",
            valid_type=TrainingSetData,
            required=False,
            help="Already labelled held-out configurations: `sampling.test` is not used; `test_configurations` are "
            "still labelled and added.",
        )
        spec.input(
            "sampling",
            valid_type=orm.Dict,
            validator=_validate_sampling,
            help="`initial` and `test` recipes: count, rattle (Å), strain, seed, min_distance (Å), repeat.",
        )
        spec.input("gamma_select", valid_type=orm.Float, default=lambda: orm.Float(2.0), help="γ_select.")
        spec.input(
            "gamma_break_schedule",
            valid_type=orm.List,
            validator=_validate_schedule,
            default=lambda: orm.List([10.0, 5.0, 2.0]),
            help="γ_break per iteration (last value repeats).",
        )
        spec.input("max_iterations", valid_type=orm.Int, default=lambda: orm.Int(8), help="Active-learning steps.")
        spec.input(
            "max_labels_per_iteration",
            valid_type=orm.Int,
            default=lambda: orm.Int(20),
            help="Cap on configurations selected for DFT per iteration.",
        )
        spec.input("max_labels", valid_type=orm.Int, default=lambda: orm.Int(400), help="Total DFT label budget.")

        spec.input_namespace("dft", help="Reference engine (`lps.dft`).")
        spec.input("dft.engine", valid_type=orm.Str, validator=validate_engine_port, help="`gpaw` or `vasp`.")
        spec.input("dft.code", valid_type=orm.AbstractCode)
        spec.input("dft.protocol", valid_type=orm.Str, required=False)
        spec.input("dft.overrides", valid_type=orm.Dict, required=False)
        spec.input("dft.options", valid_type=orm.Dict, required=False)
        spec.input_namespace("fitting", help="SNAP/POD training (`lps.mlip.train`).")
        spec.input("fitting.code", valid_type=orm.AbstractCode, help="Python with aiida-lps and LAMMPS.")
        spec.input(
            "fitting.parameters",
            valid_type=orm.Dict,
            validator=validate_fit_parameters,
            help="elements, grid, snap, weights, ridge, ... (checked before the first DFT label)",
        )
        spec.input("fitting.options", valid_type=orm.Dict, required=False)
        spec.input_namespace("exploration", help="γ-monitored MD (`lps.mlip.explore`).")
        spec.input("exploration.code", valid_type=orm.AbstractCode, help="LAMMPS (`lmp`).")
        spec.input(
            "exploration.parameters",
            valid_type=orm.Dict,
            validator=_validate_exploration,
            help="temperatures (K), strains (e.g. [-0.05, 0, 0.05]), grain_boundaries (specs), steps, intervals, ...",
        )
        spec.input("exploration.options", valid_type=orm.Dict, required=False)
        spec.inputs.validator = _validate_inputs

        spec.outline(
            cls.setup,
            cls.label_initial,
            cls.collect_initial,
            cls.fit,
            cls.inspect_fit,
            while_(cls.should_explore)(
                cls.explore,
                cls.select,
                if_(cls.has_selection)(cls.label_selected, cls.collect_selected, cls.fit, cls.inspect_fit),
            ),
            cls.finalize,
        )
        spec.output("potential", valid_type=InteratomicPotentialData, help="The final SNAP or POD potential.")
        spec.output("training_set", valid_type=TrainingSetData, help="All labelled training configurations.")
        spec.output("test_set", valid_type=TrainingSetData, required=False, help="Held-out labelled configurations.")
        spec.output("metrics", valid_type=orm.Dict, help="Per-iteration metrics, test errors per species, flags.")
        spec.output("active_set", valid_type=orm.ArrayData, help="Active set of the final potential.")
        spec.output("parity", valid_type=orm.ArrayData, help="Parity data (training and test) of the final fit.")
        spec.exit_code(401, "ERROR_TOO_FEW_LABELS", message="Only {count} initial DFT labels succeeded: cannot fit.")
        spec.exit_code(402, "ERROR_FIT_FAILED", message="The MLIP fit failed: [{status}] {message}")
        spec.exit_code(403, "ERROR_EXPLORATION_FAILED", message="Every exploration MD of iteration {iteration} failed.")

    @classmethod
    def get_builder_from_protocol(
        cls,
        dft_code: orm.AbstractCode,
        lammps_code: orm.AbstractCode,
        python_code: orm.AbstractCode,
        structures: Mapping[str, orm.StructureData],
        protocol: str | None = None,
        overrides: Mapping | None = None,
        options: Mapping | None = None,
        *,
        dft_engine: str = "gpaw",
    ):
        """Builder filled from ``protocol`` (``fast``, ``moderate``, ``precise``) with ``overrides`` merged on top.

        :param dft_code: the code of ``dft_engine``. :param lammps_code: ``lmp``.
        :param python_code: Python that runs the fit script. :param structures: label → initial structure.
        :param overrides: nested dict over the protocol (``active_learning.yaml``); unknown keys raise ``ValueError``.
        :param options: metadata options of every CalcJob (DFT labels, fits, exploration MD), merged over the
            protocol's ``dft.options``.
        :param dft_engine: ``gpaw`` or ``vasp``.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.structures = dict(structures)
        builder.sampling = orm.Dict(inputs["sampling"])
        builder.gamma_select = orm.Float(inputs["gamma_select"])
        builder.gamma_break_schedule = orm.List(list(inputs["gamma_break_schedule"]))
        builder.max_iterations = orm.Int(inputs["max_iterations"])
        builder.max_labels_per_iteration = orm.Int(inputs["max_labels_per_iteration"])
        builder.max_labels = orm.Int(inputs["max_labels"])
        builder.dft.engine = orm.Str(dft_engine)
        builder.dft.code = dft_code
        dft = inputs.get("dft", {})
        if dft.get("protocol"):
            builder.dft.protocol = orm.Str(dft["protocol"])
        if dft.get("overrides"):
            get_engine(dft_engine).validate_overrides(dft.get("protocol"), dft["overrides"])  # fail here, not at submit
            builder.dft.overrides = orm.Dict(dft["overrides"])
        dft_options = recursive_merge(dft.get("options") or {}, dict(options or {}))
        if dft_options:
            builder.dft.options = orm.Dict(dft_options)
        builder.fitting.code = python_code
        builder.fitting.parameters = orm.Dict(inputs["fitting"])
        builder.exploration.code = lammps_code
        builder.exploration.parameters = orm.Dict(inputs["exploration"])
        if options:
            builder.fitting.options = orm.Dict(dict(options))
            builder.exploration.options = orm.Dict(dict(options))
        return builder

    # ------------------------------------------------------------------------------------------------------------
    def setup(self):
        """Initialise the loop state."""
        self.ctx.iteration = 0
        self.ctx.converged = False
        self.ctx.labels_used = 0
        self.ctx.failed_labels = []
        self.ctx.iterations = []
        self.ctx.fit_parameters = self.inputs.fitting.parameters.get_dict()
        self.ctx.strained = {}
        self.ctx.grain_boundaries = []
        specs = self.inputs.exploration.parameters.get_dict().get("grain_boundaries", [])
        for index, spec in enumerate(specs):
            params = {k: v for k, v in spec.items() if k != "structure"}
            outputs = make_grain_boundary(
                self.inputs.structures[spec["structure"]],
                orm.Dict(params),
                metadata={"call_link_label": f"grain_boundary_{index}"},
            )
            record = outputs["record"].get_dict()
            self.ctx.grain_boundaries.append(outputs["structure"].uuid)
            removed = ", ".join(f"{n} {el}" for el, n in record["removed_composition"].items()) or "none"
            self.report(
                f"grain boundary {index}: {record['label']} of {spec['structure']!r}, {record['n_atoms']} atoms "
                f"(removed at the GBs: {removed})"
            )

    def _launch_label(self, structure: orm.StructureData, label: str):
        inputs = {
            "engine": self.inputs.dft.engine,
            "task": orm.Str("single_point"),
            "structure": structure,
            "code": self.inputs.dft.code,
        }
        for key in ("protocol", "overrides", "options"):
            if key in self.inputs.dft:
                inputs[key] = self.inputs.dft[key]
        return self.launch_once(label, DftWorkChain, **inputs)

    def label_initial(self):
        """Generate the initial and test configurations and launch all their DFT labels at once."""
        sampling = self.inputs.sampling.get_dict()
        train, test = [], []
        # a given (already labelled) set replaces its sampling recipe
        recipes = [
            (r, t)
            for r, t, given in (("initial", train, "training_set"), ("test", test, "test_set"))
            if given not in self.inputs
        ]
        for structure in self.inputs.structures.values():
            for recipe, target in recipes:
                if sampling.get(recipe, {}).get("count", 0) > 0:
                    recipe_params = dict(sampling[recipe])
                    if recipe == "test":
                        recipe_params["seed"] = int(recipe_params.get("seed", 1000)) + len(test)
                    copies = generate_configurations(structure, orm.Dict(recipe_params))
                    target.extend(copies[key] for key in sorted(copies, key=lambda k: int(k[1:])))
        train.extend(self.inputs.get("initial_configurations", {}).values())
        test.extend(self.inputs.get("test_configurations", {}).values())
        futures = {}
        for index, structure in enumerate(train):
            futures[f"init_{index}"] = self._launch_label(structure, f"label_init_{index}")
        for index, structure in enumerate(test):
            futures[f"test_{index}"] = self._launch_label(structure, f"label_test_{index}")
        self.ctx.labels_used += len(train)
        given = [
            f"{self.inputs[n].n_configurations} given in {n}" for n in ("training_set", "test_set") if n in self.inputs
        ]
        self.report(
            f"labelling {len(train)} initial and {len(test)} test configurations with {self.inputs.dft.engine.value}"
            + (f" ({', '.join(given)})" if given else "")
        )
        self.ctx.pending = list(futures)
        return ToContext(**futures)

    def _label_inputs(self, keys: list[str], prefix: str) -> dict:
        """Inputs of ``assemble_training_set`` from finished labels; failed ones are recorded and skipped."""
        labels = {}
        for key in keys:
            node = self.ctx[key]
            if not node.is_finished_ok:
                self.ctx.failed_labels.append(
                    {
                        "label": key,
                        "pk": node.pk,
                        "exit_status": node.exit_status,
                        "message": node.exit_message,
                        "iteration": self.ctx.iteration,
                    }
                )
                self.report(f"DFT label {key} failed, dropped: {describe_failure(node)}")
                continue
            tag = f"{prefix}_{key}"
            labels[f"structure_{tag}"] = node.outputs.structure
            labels[f"energy_{tag}"] = node.outputs.energy
            labels[f"forces_{tag}"] = node.outputs.forces
            if "stress" in node.outputs:
                labels[f"stress_{tag}"] = node.outputs.stress
        return labels

    def collect_initial(self):
        """Assemble the initial training set and the test set."""
        train = self._label_inputs([k for k in self.ctx.pending if k.startswith("init_")], "i0")
        test = self._label_inputs([k for k in self.ctx.pending if k.startswith("test_")], "t")
        given_train, given_test = self.inputs.get("training_set"), self.inputs.get("test_set")
        count = sum(1 for k in train if k.startswith("energy_"))
        count += given_train.n_configurations if given_train is not None else 0
        if count < 2:
            return self.exit_codes.ERROR_TOO_FEW_LABELS.format(count=count)
        self.ctx.training_set = self._extend(given_train, train)
        self.ctx.test_set = self._extend(given_test, test)
        self.report(
            f"initial training set: {count} configurations; test set: "
            f"{self.ctx.test_set.n_configurations if self.ctx.test_set else 0}"
        )
        return None

    @staticmethod
    def _extend(given: TrainingSetData | None, labels: dict) -> TrainingSetData | None:
        """``given`` plus the new ``labels`` (a new node only when there are new labels); ``None`` if both are empty."""
        if not labels:
            return given
        return assemble_training_set(**labels) if given is None else assemble_training_set(previous=given, **labels)

    def fit(self):
        """Train on the current training set (model and hyperparameter grid search in the first fit, fixed after)."""
        inputs = AttributeDict(
            {
                "code": self.inputs.fitting.code,
                "training_set": self.ctx.training_set,
                "parameters": orm.Dict(self.ctx.fit_parameters),
                "metadata": {"call_link_label": f"fit_{self.ctx.iteration}"},
            }
        )
        if self.ctx.test_set is not None:
            inputs.test_set = self.ctx.test_set
        if "options" in self.inputs.fitting:
            inputs.metadata["options"] = self.inputs.fitting.options.get_dict()
        node = self.launch_once(inputs.metadata.pop("call_link_label"), MlipTrainingCalculation, **inputs)
        grid = self.ctx.fit_parameters.get("grid") or [{}]
        self.report(
            f"fit {self.ctx.iteration}: {MlipTrainingCalculation.__name__}<{node.pk}> on "
            f"{self.ctx.training_set.n_configurations} configurations, {len(grid)} hyperparameter set(s)"
        )
        return ToContext(fit=node)

    def inspect_fit(self):
        """Keep the potential; after the grid search fix the chosen hyperparameters."""
        node = self.ctx.fit
        if not node.is_finished_ok:
            self.report(f"MLIP fit failed: {describe_failure(node)}")
            return self.exit_codes.ERROR_FIT_FAILED.format(status=node.exit_status, message=node.exit_message)
        metrics = node.outputs.metrics.get_dict()
        if len(self.ctx.fit_parameters.get("grid") or []) > 1:
            # the chosen grid point as given (its model may differ from that of the first point)
            chosen = metrics.get("grid_point") or {
                k: metrics["hyperparameters"][k] for k in self.ctx.fit_parameters["grid"][0]
            }
            self.ctx.fit_parameters = {**self.ctx.fit_parameters, "grid": [chosen]}
            self.ctx.grid_table = metrics.get("grid", [])
            self.report(f"grid search chose {chosen}")
        self.ctx.potential = node.outputs.potential
        self.ctx.active_set = node.outputs.active_set
        train, test = metrics["training_metrics"], metrics["test_metrics"]
        entry = {
            "iteration": self.ctx.iteration,
            "fit_pk": node.pk,
            "n_training": metrics["n_training"],
            "regularised": metrics["fit"]["regularised"],
            "train_energy_mae_meV_per_atom": train.get("energy_mae_meV_per_atom"),
            "train_force_mae_eV_per_A": train.get("force_mae_eV_per_A"),
            "test_energy_mae_meV_per_atom": test.get("energy_mae_meV_per_atom"),
            "test_force_mae_eV_per_A": test.get("force_mae_eV_per_A"),
            "active_set_rank": {el: v["rank"] for el, v in metrics["active_set"].items()},
            "short_range_attractive": metrics.get("short_range", {}).get("attractive"),
        }
        if self.ctx.iterations and self.ctx.iterations[-1].get("iteration") == self.ctx.iteration:
            self.ctx.iterations[-1].update(entry)
        else:
            self.ctx.iterations.append(entry)
        self.report(
            f"fit {self.ctx.iteration}: train force MAE {train.get('force_mae_eV_per_A', float('nan')):.3f} eV/Å, "
            f"test force MAE {test.get('force_mae_eV_per_A') or float('nan'):.3f} eV/Å"
        )
        if entry["short_range_attractive"]:
            self.report(
                f"fit {self.ctx.iteration}: the potential turns attractive below the data's shortest "
                f"{', '.join(entry['short_range_attractive'])} contacts (label closer contacts of these pairs)"
            )
        return None

    def should_explore(self) -> bool:
        """Continue while not converged, iterations remain and the label budget is not spent."""
        if self.ctx.converged:
            return False
        if self.ctx.iteration >= self.inputs.max_iterations.value:
            self.report(f"stopping: {self.ctx.iteration} iterations done (max_iterations)")
            return False
        if self.ctx.labels_used >= self.inputs.max_labels.value:
            self.report(f"stopping: label budget spent ({self.ctx.labels_used} of {self.inputs.max_labels.value})")
            return False
        return True

    def _gamma_break(self) -> float:
        schedule = self.inputs.gamma_break_schedule.get_list()
        return float(schedule[min(max(self.ctx.iteration - 1, 0), len(schedule) - 1)])

    def explore(self):
        """One γ-monitored MD per structure × temperature × strain, and per grain boundary × temperature (unstrained),
        with the current potential."""
        params = self.inputs.exploration.parameters.get_dict()
        self.ctx.iteration += 1
        self.set_progress(self.ctx.iteration, self.inputs.max_iterations.value, "iteration")
        gamma_break = self._gamma_break()
        base = {k: v for k, v in params.items() if k in EXPLORATION_DEFAULTS}
        futures = {}
        starts = []
        for structure in self.inputs.structures.values():
            for strain in params.get("strains", [0.0]):
                start = structure
                if strain:
                    key = f"{structure.uuid}_{strain}"
                    if key not in self.ctx.strained:
                        self.ctx.strained[key] = strain_structure(structure, orm.Float(strain)).uuid
                    start = orm.load_node(self.ctx.strained[key])
                starts.append(start)
        grain_boundaries = [orm.load_node(uuid) for uuid in self.ctx.get("grain_boundaries", [])]
        for start in starts + grain_boundaries:
            for temperature in params["temperatures"]:
                run_params = {
                    **base,
                    "temperature": float(temperature),
                    "gamma_break": gamma_break,
                    "gamma_select": self.inputs.gamma_select.value,
                    "seed": int(base.get("seed", 12345)) + 7919 * self.ctx.iteration,
                }
                label = f"explore_{self.ctx.iteration}_{len(futures)}"
                inputs = {
                    "code": self.inputs.exploration.code,
                    "structure": start,
                    "potential": self.ctx.potential,
                    "active_set": self.ctx.active_set,
                    "parameters": orm.Dict(run_params),
                    "metadata": {"call_link_label": label},
                }
                if "options" in self.inputs.exploration:
                    inputs["metadata"]["options"] = self.inputs.exploration.options.get_dict()
                futures[label] = self.launch_once(label, GammaExplorationCalculation, **inputs)
        self.ctx.explorations = list(futures)
        on_gb = (
            f" ({len(grain_boundaries) * len(params['temperatures'])} on grain boundaries)" if grain_boundaries else ""
        )
        self.report(
            f"iteration {self.ctx.iteration}: {len(futures)} exploration MD runs{on_gb}, γ_break = {gamma_break}"
        )
        return ToContext(**futures)

    def select(self):
        """Batch MaxVol over the candidate frames of all runs; an empty selection means convergence."""
        candidates, max_gamma, failed, halted, steps, requested = {}, 0.0, 0, 0, {}, 0
        for label in self.ctx.explorations:
            node = self.ctx[label]
            if "results" not in node.outputs:
                failed += 1
                self.report(f"{label} failed: {describe_failure(node)}")
                continue
            results = node.outputs.results.get_dict()
            max_gamma = max(max_gamma, results.get("max_gamma") or 0.0)
            halted += bool(results.get("halted_at_gamma_break"))
            steps[label] = results.get("last_step")
            requested = max(requested, int(results.get("steps_requested") or 0))
            if "candidates" in node.outputs:
                candidates[label] = node.outputs.candidates
        if failed == len(self.ctx.explorations):
            return self.exit_codes.ERROR_EXPLORATION_FAILED.format(iteration=self.ctx.iteration)
        budget = self.inputs.max_labels.value - self.ctx.labels_used
        cap = max(0, min(self.inputs.max_labels_per_iteration.value, budget))
        entry = {
            "iteration": self.ctx.iteration,
            "gamma_break": self._gamma_break(),
            "max_gamma": max_gamma,
            "runs_halted_at_gamma_break": halted,
            # how far each run got before γ_break stopped it (MD steps of ``exploration.steps``): the measure of
            # "the exploration no longer stops early"
            "steps_reached": steps,
            "steps_requested": requested,
            "runs_failed": failed,
            "n_candidate_frames": 0,
            "n_selected": 0,
        }
        self.ctx.selected = []
        if candidates and cap > 0:
            outputs = select_configurations(self.ctx.active_set, orm.Dict({"max_select": cap}), **candidates)
            report = outputs["report"].get_dict()
            entry.update(
                n_candidate_frames=report["n_candidates"],
                n_selected=report["n_selected"],
                n_owning=report.get("n_owning", 0),
            )
            self.ctx.selected = [outputs[f"s{i}"] for i in range(report["n_selected"])]
        self.ctx.iterations.append(entry)
        reached = sorted(v for v in steps.values() if v is not None)
        if halted and reached:
            self.report(
                f"iteration {self.ctx.iteration}: {halted} of {len(steps)} runs halted at γ_break "
                f"(steps reached {reached[0]}–{reached[-1]}, median {reached[len(reached) // 2]} of {requested})"
            )
        if not self.ctx.selected:
            self.ctx.converged = cap > 0
            self.report(
                f"iteration {self.ctx.iteration}: max γ = {max_gamma:.3g}, nothing above "
                f"γ_select = {self.inputs.gamma_select.value} to add: converged"
            )
        else:
            self.report(
                f"iteration {self.ctx.iteration}: max γ = {max_gamma:.3g}, {entry['n_candidate_frames']} "
                f"candidate frames, {len(self.ctx.selected)} selected by batch MaxVol"
            )
        return None

    def has_selection(self) -> bool:
        """Whether configurations were selected for labelling."""
        return bool(self.ctx.selected)

    def label_selected(self):
        """DFT-label the selected configurations."""
        futures = {}
        for index, structure in enumerate(self.ctx.selected):
            key = f"al{self.ctx.iteration}_{index}"
            futures[key] = self._launch_label(structure, f"label_{key}")
        self.ctx.labels_used += len(futures)
        self.ctx.pending = list(futures)
        return ToContext(**futures)

    def collect_selected(self):
        """Add the successful labels to the training set."""
        labels = self._label_inputs(self.ctx.pending, f"a{self.ctx.iteration}")
        added = sum(1 for k in labels if k.startswith("energy_"))
        self.ctx.iterations[-1]["n_labelled"] = added
        self.ctx.iterations[-1]["n_labels_failed"] = len(self.ctx.pending) - added
        if added:
            self.ctx.training_set = assemble_training_set(previous=self.ctx.training_set, **labels)
        self.report(
            f"iteration {self.ctx.iteration}: {added} new labels, training set "
            f"{self.ctx.training_set.n_configurations} configurations"
        )

    def finalize(self):
        """Attach the final potential, the data sets and the metrics."""
        fit = self.ctx.fit
        metrics = fit.outputs.metrics.get_dict()
        summary = {
            "converged": bool(self.ctx.converged),
            "iterations": self.ctx.iterations,
            "n_iterations": self.ctx.iteration,
            "labels_used": self.ctx.labels_used,
            "given": {n: self.inputs[n].n_configurations for n in ("training_set", "test_set") if n in self.inputs},
            "failed_labels": self.ctx.failed_labels,
            "model": metrics.get("model", "snap"),
            "hyperparameters": metrics["hyperparameters"],
            "grid": self.ctx.get("grid_table", []),
            "final_training_metrics": metrics["training_metrics"],
            "test_metrics": metrics["test_metrics"],
            "units": {"energy": "meV/atom", "force": "eV/Å", "stress": "GPa"},
        }
        self.out("potential", self.ctx.potential)
        self.out("training_set", self.ctx.training_set)
        if self.ctx.test_set is not None:
            self.out("test_set", self.ctx.test_set)
        self.out("active_set", self.ctx.active_set)
        self.out("parity", fit.outputs.parity)
        self.out("metrics", merge_metrics(fit.outputs.metrics, orm.Dict(json_safe(summary))))
        state = "converged" if self.ctx.converged else "stopped by the iteration or label budget"
        self.report(f"{state} after {self.ctx.iteration} iteration(s), {self.ctx.labels_used} labels")
