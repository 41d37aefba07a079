"""``lps.diffusion``: LAMMPS MD at several temperatures → MSD → D, σ (Nernst-Einstein) → Arrhenius fit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import WorkChain

from aiida_lps.calcfunctions.arrhenius import arrhenius_fit
from aiida_lps.calcfunctions.structures import make_supercell
from aiida_lps.common.defaults import DIFFUSING_CHARGE, DIFFUSING_SPECIES
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import MDSettings
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.science.supercell import minimum_repetitions
from aiida_lps.utils.active_set import find_active_set, validate_active_set
from aiida_lps.utils.failures import describe_failure
from aiida_lps.utils.structures import n_sites
from aiida_lps.utils.validation import (
    MAX_SUPERCELL_ATOMS,
    MAX_TEMPERATURE_K,
    analysis_settings,
    check_positive,
    check_temperature,
    positive_port,
    validate_analysis,
    validate_frame_count,
    validate_periodic,
    validate_potential_covers_structure,
    validate_supercell_size,
)
from aiida_lps.workflows.lammps_md import LammpsMDBaseWorkChain, protocol_analysis
from aiida_lps.workflows.launching import LaunchOnceMixin

__all__ = ("DiffusionWorkChain", "temperature_label")


def temperature_label(temperature: float) -> str:
    """Output-namespace key of a temperature, e.g. 700 → ``T700K``, 812.5 → ``T812p5K``."""
    return "T" + f"{float(temperature):g}".replace(".", "p") + "K"


def _validate_temperatures(value: orm.List, _) -> str | None:
    temps = value.get_list()
    if not temps:
        return "`temperatures` is empty: give at least one temperature in K"
    bad = [t for t in temps if check_temperature("temperatures", t)]
    if bad:
        return f"`temperatures` must be positive numbers in K, at most {MAX_TEMPERATURE_K:g} K, got {bad}"
    if len({temperature_label(t) for t in temps}) != len(temps):
        return f"`temperatures` has duplicates: {temps}"
    inverse = sorted(1.0 / t for t in temps)
    close = [(1 / b, 1 / a) for a, b in zip(inverse[:-1], inverse[1:], strict=True) if b - a < 1e-4 * b]
    if close:
        return f"`temperatures` {close[0]} K are too close together for the Arrhenius fit (1/T within 0.01 %)"
    return None


def _validate_target_temperature(value: orm.Float, _) -> str | None:
    return check_temperature("target_temperature", value.value)


def _validate_parameters(value: orm.Dict, _) -> str | None:
    params = value.get_dict()
    if "temperature" in params:
        return "`parameters` must not set `temperature`: the work chain sets it from `temperatures`"
    try:
        MDSettings.from_dict({**params, "temperature": 300.0})
    except (TypeError, ValueError) as exception:
        return f"invalid MD parameters: {exception}"
    return None


def _validate_inputs(inputs, _) -> str | None:
    structure, potential = inputs.get("structure"), inputs.get("potential")
    if structure is None or potential is None:
        return None
    if "md" in inputs and inputs["md"].get("lammps", {}).get("code") is None:
        return "`md.lammps.code` is missing: give the LAMMPS code (e.g. orm.load_code('lmp@localhost'))"
    message = validate_periodic(structure) or validate_potential_covers_structure(potential, structure)
    if message:
        return message
    if "active_set" in inputs:
        message = validate_active_set(inputs["active_set"], potential)
        if message:
            return message
    analysis = inputs["analysis"].get_dict() if "analysis" in inputs else {}
    species = inputs["species"].value if "species" in inputs else DIFFUSING_SPECIES
    analysis = {**analysis, "species": analysis.get("species", [species])}
    message = validate_analysis(analysis, structure)
    if message:
        return message
    if "parameters" in inputs and not _validate_parameters(inputs["parameters"], None):
        message = validate_frame_count(inputs["parameters"].get_dict(), orm.Dict(analysis))
        if message:
            return message
    width = inputs["supercell_min_width"].value if "supercell_min_width" in inputs else 2.0 * potential.cutoff
    max_atoms = inputs["max_atoms"].value if "max_atoms" in inputs else MAX_SUPERCELL_ATOMS
    return validate_supercell_size(structure, width, max_atoms)


class DiffusionWorkChain(LaunchOnceMixin, ProtocolMixin, WorkChain):
    """Ionic diffusion from LAMMPS MD at several temperatures, with an Arrhenius fit of the results.

    One :class:`~aiida_lps.workflows.lammps_md.LammpsMDBaseWorkChain` per temperature runs concurrently; each parser
    returns MSD(t), D with a block-averaged standard error, direction-resolved D, the isotropy ξ and the Nernst-
    Einstein conductivity. ``lps.arrhenius`` then fits Ea and extrapolates D and σ to ``target_temperature``.
    Runs that fail keep their own outputs out; all successful ones are reported and fitted.
    """

    _protocol_file = "diffusion"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Structure (unit cell or supercell).")
        spec.input("potential", valid_type=InteratomicPotentialData, help="Interatomic potential for LAMMPS.")
        spec.input("temperatures", valid_type=orm.List, validator=_validate_temperatures, help="Temperatures (K).")
        spec.input("species", valid_type=orm.Str, default=lambda: orm.Str(DIFFUSING_SPECIES), help="Diffusing species.")
        spec.input(
            "charge", valid_type=orm.Float, default=lambda: orm.Float(DIFFUSING_CHARGE), help="Ionic charge (e)."
        )
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_parameters,
            help="MD settings without the temperature (see MDSettings); usually from a protocol.",
        )
        spec.input("analysis", valid_type=orm.Dict, required=False, help="Trajectory-analysis settings.")
        spec.input(
            "supercell_min_width",
            valid_type=orm.Float,
            required=False,
            validator=positive_port("supercell_min_width"),
            help="Minimum distance between opposite cell faces (Å); default twice the potential cut-off.",
        )
        spec.input(
            "max_atoms",
            valid_type=orm.Int,
            default=lambda: orm.Int(MAX_SUPERCELL_ATOMS),
            validator=positive_port("max_atoms"),
            help="Size guard: the supercell may have at most this many atoms (raise it on purpose for large cells).",
        )
        spec.input(
            "target_temperature",
            valid_type=orm.Float,
            default=lambda: orm.Float(300.0),
            validator=_validate_target_temperature,
            help="Extrapolation T (K).",
        )
        spec.input(
            "active_set",
            valid_type=orm.ArrayData,
            required=False,
            help="Active set of a learned potential (lps.mlip.train); default: the one made with `potential`, if any. "
            "With it, the extrapolation grade γ is recorded along every production run.",
        )
        spec.input(
            "exclude_extrapolating",
            valid_type=orm.Bool,
            default=lambda: orm.Bool(True),
            help="Leave temperatures whose MD left the training domain of the potential (γ, see `analysis`) out of "
            "the Arrhenius fit; they are reported and kept under `runs` either way.",
        )
        spec.expose_inputs(
            LammpsMDBaseWorkChain,
            namespace="md",
            exclude=(
                "lammps.structure",
                "lammps.potential",
                "lammps.parameters",
                "lammps.analysis",
                "lammps.active_set",
            ),
            namespace_options={"help": "Inputs of the MD runs: code, resources, scheduler options."},
        )
        spec.inputs.validator = _validate_inputs
        spec.outline(cls.setup, cls.run_md, cls.inspect_md, cls.fit_arrhenius, cls.finalize)

        spec.output("supercell", valid_type=orm.StructureData, help="The simulated cell.")
        spec.output_namespace("runs", dynamic=True, help="Per temperature: results (Dict) and msd (ArrayData).")
        spec.output("arrhenius", valid_type=orm.Dict, required=False, help="Ea, prefactors, D and σ at target T.")
        spec.exit_code(401, "ERROR_SOME_RUNS_FAILED", message="MD failed at {temperatures} K; the others are kept.")
        spec.exit_code(402, "ERROR_TOO_FEW_RUNS", message="Fewer than two temperatures finished; no Arrhenius fit.")
        spec.exit_code(403, "ERROR_ARRHENIUS_FAILED", message="The Arrhenius fit failed: {detail}")
        spec.exit_code(
            404,
            "ERROR_EXTRAPOLATING",
            message="Fewer than two temperatures stayed in the training domain of the potential ({temperatures} K left "
            "it): no Arrhenius fit; extend the training set, or set `exclude_extrapolating` False to fit them anyway.",
        )

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        protocol: str | None = None,
        overrides: Mapping | None = None,
        options: Mapping | None = None,
        *,
        potential: InteratomicPotentialData,
        temperatures: Sequence[float],
        species: str = DIFFUSING_SPECIES,
        charge: float = DIFFUSING_CHARGE,
    ):
        """Return a builder filled from ``protocol`` (``fast``, ``moderate`` or ``precise``).

        :param code: the LAMMPS code.
        :param overrides: nested dict merged over the protocol (``diffusion.yaml`` extending ``lammps_md.yaml``):
            ``parameters``, ``analysis``, ``supercell_min_width``, ``target_temperature`` (K); unknown keys and an
            invalid ``target_temperature`` raise ``ValueError`` here, before anything runs.
        :param options: metadata options of every MD CalcJob (resources, max_wallclock_seconds, ...).
        :param potential: the interatomic potential. :param temperatures: the MD temperatures (K).
        :param species: diffusing species. :param charge: its ionic charge (e) for the Nernst-Einstein σ.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.structure = structure
        builder.potential = potential
        builder.temperatures = orm.List(list(temperatures))
        builder.species = orm.Str(species)
        builder.charge = orm.Float(charge)
        builder.parameters = orm.Dict(inputs["parameters"])
        builder.analysis = orm.Dict(protocol_analysis(inputs["analysis"], species, charge))
        for name, check in (("supercell_min_width", check_positive), ("target_temperature", check_temperature)):
            if name in inputs:  # checked before wrapping: orm.Float would turn True into 1.0
                message = check(name, inputs[name])
                if message:
                    raise ValueError(f"override {message}")
                builder[name] = orm.Float(inputs[name])
        builder.md.lammps.code = code
        if options:
            builder.md.lammps.metadata.options = dict(options)
        return builder

    def setup(self):
        """Build the supercell (a calcfunction, so the simulated cell has provenance)."""
        width = self.inputs.get("supercell_min_width")
        if width is None:
            width = orm.Float(2.0 * self.inputs.potential.cutoff)
        if minimum_repetitions(self.inputs.structure.cell, width.value) == (1, 1, 1):
            self.ctx.supercell = self.inputs.structure  # already wide enough: simulate it as given
        else:
            self.ctx.supercell = make_supercell(self.inputs.structure, width)
        self.out("supercell", self.ctx.supercell)
        species = self.inputs.species.value
        analysis = analysis_settings(self.inputs.analysis.get_dict() if "analysis" in self.inputs else None)
        analysis["species"] = list(dict.fromkeys([species, *analysis.get("species", [])]))
        analysis["charges"] = {**(analysis["charges"] or {}), species: self.inputs.charge.value}
        self.ctx.analysis = orm.Dict(analysis)
        self.ctx.active_set = self.inputs.get("active_set")
        if self.ctx.active_set is None:
            self.ctx.active_set = find_active_set(self.inputs.potential)
        if self.ctx.active_set is not None:
            self.report(
                f"extrapolation grade monitored with active set <{self.ctx.active_set.pk}>: a run is flagged when a "
                f"frame has γ > {analysis['gamma_break']:g} or more than "
                f"{100 * analysis['max_extrapolating_fraction']:g} % of frames have γ > {analysis['gamma_select']:g}"
            )
        self.report(
            f"{n_sites(self.ctx.supercell)}-atom cell (faces >= {width.value:.2f} Å apart), "
            f"{len(self.inputs.temperatures)} temperatures"
        )

    def run_md(self):
        """Launch one MD work chain per temperature, all at once (each once, also when re-run after a restart)."""
        parameters = self.inputs.parameters.get_dict()
        for temperature in self.inputs.temperatures.get_list():
            inputs = AttributeDict(self.exposed_inputs(LammpsMDBaseWorkChain, "md"))
            inputs.lammps = AttributeDict(inputs.lammps)
            inputs.lammps.structure = self.ctx.supercell
            inputs.lammps.potential = self.inputs.potential
            inputs.lammps.parameters = orm.Dict({**parameters, "temperature": float(temperature)})
            inputs.lammps.analysis = self.ctx.analysis
            if self.ctx.active_set is not None:
                inputs.lammps.active_set = self.ctx.active_set
            label = temperature_label(temperature)
            node = self.launch_once(label, LammpsMDBaseWorkChain, **inputs)
            self.report(f"launched {LammpsMDBaseWorkChain.__name__}<{node.pk}> at {temperature} K")
            self.to_context(**{label: node})

    def inspect_md(self):
        """Attach the outputs of every finished temperature; remember which failed."""
        species = self.inputs.species.value
        self.ctx.finished, failed, self.ctx.extrapolating = [], [], {}
        for temperature in self.inputs.temperatures.get_list():
            label = temperature_label(temperature)
            node = self.ctx[label]
            if not node.is_finished_ok:
                failed.append(temperature)
                self.report(f"MD at {temperature} K failed: {describe_failure(node)}")
                continue
            self.out(f"runs.{label}.results", node.outputs.results)
            self.out(f"runs.{label}.msd", node.outputs.msd)
            entry = node.outputs.results.get_dict()["species"][species]
            if entry["subdiffusive"]:
                self.report(
                    f"WARNING {temperature} K: {species} MSD log-log slope {entry['loglog_slope']:.2f} — "
                    "sub-diffusive, the fitted D is not a long-time diffusivity (run longer or hotter)"
                )
            sigma = entry.get("conductivity_S_cm")
            self.report(
                f"{temperature} K: D({species}) = {entry['D']:.3e} ± {entry['D_stderr']:.1e} cm²/s"
                + (f", σ = {sigma:.3e} S/cm" if sigma is not None else "")
            )
            extrapolation = node.outputs.results.get_dict().get("extrapolation")
            if extrapolation is not None:
                self.report(
                    f"{temperature} K: max γ {extrapolation['max_gamma']:.3g}, "
                    f"{100 * extrapolation['fraction_above_select']:.3g} % of {extrapolation['n_evaluations']} frames "
                    f"with γ > {extrapolation['gamma_select']:g}"
                )
                if extrapolation["left_training_domain"]:
                    self.ctx.extrapolating[temperature_label(temperature)] = extrapolation["reason"]
                    self.report(
                        f"WARNING {temperature} K: the MD left the training domain of the potential "
                        f"({extrapolation['reason']}); its D is not trustworthy"
                    )
            self.ctx.finished.append((float(temperature), entry))
        self.ctx.failed = failed

    def fit_arrhenius(self):
        """Fit the Arrhenius law to the finished temperatures (a calcfunction: ``lps.arrhenius``)."""
        if len(self.ctx.finished) < 2:
            self.report(f"{len(self.ctx.finished)} temperature(s) finished: no Arrhenius fit")
            return None
        finished = self.ctx.finished
        excluded = {}
        if self.ctx.extrapolating and self.inputs.exclude_extrapolating.value:
            excluded = {
                temperature_label(t): {"temperature_K": t, "reason": self.ctx.extrapolating[temperature_label(t)]}
                for t, _ in finished
                if temperature_label(t) in self.ctx.extrapolating
            }
            finished = [(t, e) for t, e in finished if temperature_label(t) not in excluded]
            if len(finished) < 2:
                return self.exit_codes.ERROR_EXTRAPOLATING.format(
                    temperatures=[v["temperature_K"] for v in excluded.values()]
                )
        elif self.ctx.extrapolating:
            self.report(
                f"WARNING fitting temperatures that left the training domain ({sorted(self.ctx.extrapolating)}): "
                "`exclude_extrapolating` is False"
            )
        temps = [t for t, _ in finished]
        entries = [e for _, e in finished]
        kwargs = {"excluded": orm.Dict(excluded)} if excluded else {}
        if all("conductivity_S_cm" in e for e in entries):
            kwargs["conductivities"] = orm.List([e["conductivity_S_cm"] for e in entries])
            kwargs["conductivity_errors"] = orm.List([e["conductivity_stderr_S_cm"] for e in entries])
        result, node = arrhenius_fit.run_get_node(
            temperatures=orm.List(temps),
            diffusivities=orm.List([e["D"] for e in entries]),
            diffusivity_errors=orm.List([e["D_stderr"] for e in entries]),
            target_temperature=self.inputs.target_temperature,
            metadata={"call_link_label": "arrhenius"},
            **kwargs,
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ARRHENIUS_FAILED.format(detail=node.exit_message)
        self.out("arrhenius", result)
        fit = result.get_dict()["diffusivity"]
        self.report(
            f"Arrhenius fit of {temps} K"
            + (
                f" (excluded, outside the training domain: {[v['temperature_K'] for v in excluded.values()]} K)"
                if excluded
                else ""
            )  # fmt: skip
            + f": Ea = {fit['activation_energy']:.3f} ± {fit['activation_energy_stderr']:.3f} eV; "
            f"D({self.inputs.target_temperature.value:g} K) = {fit['at_target']['value']:.3e} cm²/s"
        )
        return None

    def finalize(self):
        """Return an exit code when some temperatures failed (their successful siblings stay as outputs)."""
        if self.ctx.failed:
            if len(self.ctx.finished) < 2:
                return self.exit_codes.ERROR_TOO_FEW_RUNS
            return self.exit_codes.ERROR_SOME_RUNS_FAILED.format(temperatures=self.ctx.failed)
        return None
