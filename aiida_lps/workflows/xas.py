"""``lps.xas``: K-edge XAS by the excited-electron core-hole (XCH) method on any DFT engine (VASP, GPAW).

Steps: (1) ``analyse_absorber_sites`` finds the inequivalent absorbers and builds the supercells; (2) the engine
runs the ground-state SCF and (3) one core-hole calculation per inequivalent site, all concurrently; (4) the engine
normalises each run to a raw site spectrum, total energy and Fermi level / raw onset; (5–6) ``lps.xas.site_average``
aligns every site by its ΔSCF onset, broadens and averages with the multiplicities. See ``docs/xas.md``.

The work chain never branches on the engine: it calls the core-hole capability
(:class:`~aiida_lps.dft.core_hole.CoreHoleEngine`: ``check_core_hole``, ``prepare_core_hole``, ``get_xch_builder``,
``normalise_xch`` and ``failure_kind``) of the engine named in the inputs; an engine without it is rejected.

Reruns: finished calculations are not repeated when AiiDA caching is enabled for the engine's CalcJobs (see
``docs/xas.md``): a rerun of the same inputs takes every finished run from the cache and launches only the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.engine import WorkChain, if_

from aiida_lps.calcfunctions.xas import (
    SITE_DEFAULTS,
    XAS_DEFAULTS,
    absorber_kind_name,
    analyse_absorber_sites,
    site_average,
)
from aiida_lps.common.mappings import recursive_merge
from aiida_lps.dft.core_hole import (
    MissingSpectrumError,
    NoCoreLevelError,
    ScfNotConvergedError,
    get_core_hole_engine,
)
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.science.xas import CALIBRATION_KEYS, MAX_GRID_POINTS, energy_calibration
from aiida_lps.utils.failures import LAUNCH_ERRORS, describe_failure
from aiida_lps.utils.validation import (
    XAS_MAX_ATOMS,
    check_positive,
    is_real,
    positive_port,
    validate_periodic,
    validate_supercell_size,
)
from aiida_lps.workflows.launching import LaunchOnceMixin

__all__ = ("XasWorkChain",)


def _validate_inputs(inputs, _) -> str | None:
    structure = inputs.get("structure")
    if structure is None:
        return None
    message = validate_periodic(structure) or _validate_absorber_sites(inputs, structure)
    if message:
        return message
    if "calibration" in inputs and "calibration_shift" in inputs:
        return "give either `calibration` (from a reference compound) or `calibration_shift`, not both"
    width = inputs["supercell_min_width"] if "supercell_min_width" in inputs else XAS_DEFAULTS["supercell_min_width"]
    width = getattr(width, "value", width)
    max_atoms = inputs["max_atoms"].value if "max_atoms" in inputs else XAS_MAX_ATOMS
    return validate_supercell_size(structure, width, max_atoms) if not check_positive("w", width) else None


def _validate_absorber_sites(inputs, structure: orm.StructureData) -> str | None:
    """The absorber is an element of the structure and every user site is one of its atoms (before any DFT run)."""
    absorber = inputs["absorber"].value if "absorber" in inputs else XAS_DEFAULTS["absorber"]
    symbols = [structure.get_kind(site.kind_name).symbol for site in structure.sites]
    if absorber not in symbols:
        return f"the structure ({structure.get_formula()}) has no {absorber} atom to excite (`absorber`)"
    if "sites" not in inputs or _validate_sites(inputs["sites"], None):
        return None  # no user sites, or the port validator reports them
    for entry in inputs["sites"].get_list():
        index = entry[0] if isinstance(entry, (list, tuple)) else entry
        if index >= len(symbols) or symbols[index] != absorber:
            found = symbols[index] if index < len(symbols) else f"none (the structure has {len(symbols)} atoms)"
            return f"`sites` entry {entry!r}: atom {index} is not a {absorber} atom of the structure: {found}"
    return None


def _validate_grid(value: orm.Dict, _) -> str | None:
    data = value.get_dict()
    unknown = sorted(set(data) - {"step", "below", "above"})
    if unknown:
        return f"unknown grid keys {unknown}; allowed: ['above', 'below', 'step'] (eV)"
    for name, top in (("step", 1.0), ("below", 1000.0), ("above", 1000.0)):
        if name in data:
            message = check_positive(f"grid.{name}", data[name], top)
            if message:
                return message + " (eV)"
    grid = {**XAS_DEFAULTS["grid"], **data}
    if grid["step"] < 1e-3:
        return f"`grid.step` must be at least 0.001 eV, got {grid['step']}"
    points = (grid["below"] + grid["above"]) / grid["step"]
    if points > MAX_GRID_POINTS // 2:  # half the guard of common_grid: room for the spread of the site onsets
        return (
            f"the grid (below {grid['below']:g} + above {grid['above']:g} eV in steps of {grid['step']:g} eV) would "
            f"have {points:.3g} points, more than {MAX_GRID_POINTS // 2}: raise `grid.step` or narrow below/above"
        )
    return None


def _validate_calibration(value: orm.Float, _) -> str | None:
    return None if is_real(value.value) else f"`calibration_shift` must be a finite number (eV), got {value.value}"


def _validate_calibration_record(value: orm.Dict, _) -> str | None:
    data = value.get_dict()
    unknown = sorted(set(data) - set(CALIBRATION_KEYS))
    if unknown:
        return f"unknown calibration keys {unknown}; allowed: {list(CALIBRATION_KEYS)}"
    missing = sorted({"reference", "measured_eV", "computed_eV"} - set(data))
    if missing:
        return f"the calibration needs {missing} (reference compound, measured and computed feature energies in eV)"
    try:
        energy_calibration(**data)
    except (TypeError, ValueError) as exception:
        return str(exception)
    return None


def _validate_sites(value: orm.List, _) -> str | None:
    sites = value.get_list()
    if not sites:
        return "`sites` is empty: give absorber indices (0-based, of the input structure) or leave it out"
    for entry in sites:
        index = entry[0] if isinstance(entry, (list, tuple)) else entry
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            return f"`sites` entries must be indices >= 0 or [index, multiplicity], got {entry!r}"
        if isinstance(entry, (list, tuple)) and (
            len(entry) != 2 or not isinstance(entry[1], int) or isinstance(entry[1], bool) or entry[1] < 1
        ):
            return f"`sites` entry {entry!r}: give [index, multiplicity] with a positive integer multiplicity"
    return None


def _validate_broadening(value: orm.Dict, _) -> str | None:
    allowed = set(XAS_DEFAULTS["broadening"])
    data = value.get_dict()
    unknown = sorted(set(data) - allowed)
    if unknown:
        return f"unknown broadening keys {unknown}; allowed: {sorted(allowed)}"
    negative = [k for k, v in data.items() if not is_real(v) or v < 0]
    return f"broadening values must be non-negative numbers (eV, a dimensionless): {negative}" if negative else None


def _validate_core_hole_engine(value: orm.Str, _) -> str | None:
    """An ``engine`` that is registered and has the core-hole (XCH) capability, else a message naming it."""
    try:
        get_core_hole_engine(value.value)
    except ValueError as exception:
        return str(exception)
    return None


def _validate_ground_state_cell(value: orm.Str, _) -> str | None:
    return None if value.value in ("supercell", "unit_cell") else "must be `supercell` or `unit_cell`"


class XasWorkChain(LaunchOnceMixin, ProtocolMixin, WorkChain):
    """Site-resolved and site-averaged K-edge XAS from XCH calculations, with ΔSCF alignment.

    Failures: no absorber atom (301), no 1s core level in the engine (302), a rejected builder (303), a ground
    state that fails (310, SCF: 311), core-hole sites whose SCF does not converge (320), without a spectrum (321)
    or failing otherwise (322). Finished runs are output under ``raw`` in every case. With AiiDA caching enabled
    for the engine's CalcJobs, a rerun of the same inputs takes the finished calculations from the cache and
    repeats only the failed ones (AiiDA does not reuse calculations whose exit code invalidates the cache).
    """

    _protocol_file = "xas"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Crystal structure (unit cell).")
        spec.input(
            "absorber",
            valid_type=orm.Str,
            default=lambda: orm.Str(XAS_DEFAULTS["absorber"]),
            help="Absorbing element (K edge).",
        )
        spec.input(
            "engine",
            valid_type=orm.Str,
            validator=_validate_core_hole_engine,
            help="DFT engine with the core-hole capability: `vasp` or `gpaw`.",
        )
        spec.input("code", valid_type=orm.AbstractCode, help="The engine's code.")
        spec.input("engine_protocol", valid_type=orm.Str, required=False, help="Engine protocol to start from.")
        spec.input("xch_overrides", valid_type=orm.Dict, required=False, help="Engine overrides of core-hole runs.")
        spec.input(
            "ground_state_overrides",
            valid_type=orm.Dict,
            required=False,
            help="Engine overrides of the ground state, merged over `xch_overrides` (e.g. another cut-off).",
        )
        spec.input("options", valid_type=orm.Dict, required=False, help="Scheduler options of the calculations.")
        spec.input(
            "supercell_min_width",
            valid_type=orm.Float,
            default=lambda: orm.Float(XAS_DEFAULTS["supercell_min_width"]),
            validator=positive_port("supercell_min_width", 100.0),
            help="Minimum distance between opposite faces of the supercell (Å).",
        )
        spec.input(
            "max_atoms",
            valid_type=orm.Int,
            default=lambda: orm.Int(XAS_MAX_ATOMS),
            validator=positive_port("max_atoms"),
            help="Size guard of the core-hole supercell (atoms); raise it on purpose for larger cells.",
        )
        spec.input(
            "symprec",
            valid_type=orm.Float,
            default=lambda: orm.Float(XAS_DEFAULTS["symprec"]),
            validator=positive_port("symprec", 1.0),
            help="Symmetry tolerance (Å), in (0, 1].",
        )
        spec.input(
            "angle_tolerance",
            valid_type=orm.Float,
            default=lambda: orm.Float(XAS_DEFAULTS["angle_tolerance"]),
            validator=positive_port("angle_tolerance", 45.0),
            help="Angle tolerance (°), in (0, 45].",
        )
        spec.input(
            "sites",
            valid_type=orm.List,
            required=False,
            validator=_validate_sites,
            help="Absorber indices (or [index, multiplicity]) of the input structure; bypasses the symmetry analysis.",
        )
        spec.input(
            "ground_state_cell",
            valid_type=orm.Str,
            default=lambda: orm.Str(XAS_DEFAULTS["ground_state_cell"]),
            validator=_validate_ground_state_cell,
            help="`supercell` (default) or `unit_cell` (the input structure, as the published workflow).",
        )
        spec.input(
            "broadening",
            valid_type=orm.Dict,
            default=lambda: orm.Dict(XAS_DEFAULTS["broadening"]),
            validator=_validate_broadening,
            help="Gaussian FWHM (eV), Lorentzian Γ0 (eV) and slope a of Γ(E) = Γ0 + a·(E − E_cbm).",
        )
        spec.input(
            "grid",
            valid_type=orm.Dict,
            required=False,
            validator=_validate_grid,
            help="Common grid: step (>= 0.001), below, above (eV).",
        )
        spec.input(
            "calibration_shift",
            valid_type=orm.Float,
            required=False,
            validator=_validate_calibration,
            help="Constant added to energies (eV), without a record of where it comes from; prefer `calibration`.",
        )
        spec.input(
            "calibration",
            valid_type=orm.Dict,
            required=False,
            validator=_validate_calibration_record,
            help="Energy calibration from one reference compound computed with the same settings: {reference, "
            "measured_eV, computed_eV, feature, source}; the shift measured_eV - computed_eV is added to every energy "
            "and reported with its record in `alignment` (see docs/xas.md). Without it energies are absolute ΔKS "
            "(GPAW) or lack the core energy (VASP).",
        )
        spec.inputs.validator = _validate_inputs
        spec.outline(
            cls.setup,
            cls.analyse_sites,
            cls.prepare_core_hole,
            cls.run_calculations,
            cls.inspect_calculations,
            if_(cls.all_finished)(cls.average),
        )
        spec.output("site_table", valid_type=orm.Dict, help="Inequivalent sites, multiplicities, environments.")
        spec.output("spectrum", valid_type=orm.ArrayData, required=False, help="Averaged spectrum (energy eV, mu).")
        spec.output_namespace(
            "aligned", valid_type=orm.ArrayData, dynamic=True, help="Aligned, broadened site spectra."
        )
        spec.output("weights", valid_type=orm.Dict, required=False, help="Site weights of the average.")
        spec.output("alignment", valid_type=orm.Dict, required=False, help="ΔSCF and onsets per site (eV).")
        spec.output_namespace("raw", valid_type=orm.Data, dynamic=True, help="Normalised results of every run.")
        spec.output("core_hole_setup", valid_type=orm.Data, required=False, help="Generated core-hole dataset.")

        spec.exit_code(301, "ERROR_NO_ABSORBER", message="The structure ({formula}) has no {element} atom to excite.")
        spec.exit_code(302, "ERROR_NO_CORE_LEVEL", message="{engine} cannot make a 1s core hole on {element}: {detail}")
        spec.exit_code(303, "ERROR_BUILDER", message="The {engine} builder rejected the inputs: {detail}")
        spec.exit_code(304, "ERROR_SITE_ANALYSIS", message="The site analysis failed: {detail}")
        spec.exit_code(305, "ERROR_CORE_HOLE_SETUP", message="The core-hole setup could not be made: {detail}")
        spec.exit_code(310, "ERROR_GROUND_STATE_FAILED", message="The ground-state run failed: {detail}")
        spec.exit_code(311, "ERROR_GROUND_STATE_SCF", message="The ground-state SCF did not converge: {detail}")
        spec.exit_code(
            320, "ERROR_SCF_NOT_CONVERGED", message="The core-hole SCF of {sites} did not converge; {finished} kept."
        )
        spec.exit_code(321, "ERROR_SPECTRUM_MISSING", message="No spectrum in the output of {sites}; {finished} kept.")
        spec.exit_code(322, "ERROR_SITES_FAILED", message="The core-hole runs of {sites} failed; {finished} kept.")
        spec.exit_code(330, "ERROR_AVERAGE_FAILED", message="Alignment and averaging failed: {detail}")

    # ------------------------------------------------------------------------------------------ builders

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        protocol: str | None = None,
        overrides: Mapping | None = None,
        options: Mapping | None = None,
        *,
        engine: str,
    ):
        """Builder filled from ``protocol`` (``fast``, ``moderate`` or ``precise``) for ``engine``.

        :param code: the DFT code of ``engine``.
        :param overrides: nested dict over the protocol (``xas.yaml``): ``parameters`` (absorber, supercell_min_width,
            symprec, angle_tolerance, sites, ground_state_cell, broadening, grid, calibration_shift, calibration) and
            ``engines.<engine>`` (``engine_protocol``, ``xch``, ``ground_state``: checked by the engine); unknown
            keys raise ``ValueError``.
        :param options: metadata options of every CalcJob (resources, max_wallclock_seconds, ...).
        :param engine: the DFT engine, ``vasp`` or ``gpaw``.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        parameters = inputs["parameters"]
        engine_inputs = inputs["engines"].get(engine)
        if engine_inputs is None:
            raise ValueError(f"the XAS protocol has no settings for engine {engine!r}: {sorted(inputs['engines'])}")
        engine_class = get_core_hole_engine(engine)
        ground_state = recursive_merge(engine_inputs.get("xch") or {}, engine_inputs.get("ground_state") or {})
        for overrides_of_runs in (engine_inputs.get("xch"), ground_state):
            engine_class.validate_xch_overrides(engine_inputs.get("engine_protocol"), overrides_of_runs)
        builder = cls.get_builder()
        builder.structure = structure
        builder.code = code
        builder.engine = orm.Str(engine)
        builder.absorber = orm.Str(parameters["absorber"])
        builder.supercell_min_width = orm.Float(parameters["supercell_min_width"])
        builder.symprec = orm.Float(parameters["symprec"])
        builder.angle_tolerance = orm.Float(parameters["angle_tolerance"])
        builder.ground_state_cell = orm.Str(parameters["ground_state_cell"])
        builder.broadening = orm.Dict(parameters["broadening"])
        if parameters.get("grid"):
            builder.grid = orm.Dict(parameters["grid"])
        if parameters.get("calibration_shift"):
            builder.calibration_shift = orm.Float(parameters["calibration_shift"])
        if parameters.get("sites"):
            builder.sites = orm.List(parameters["sites"])
        if parameters.get("calibration"):
            builder.calibration = orm.Dict(dict(parameters["calibration"]))
        if engine_inputs.get("engine_protocol"):
            builder.engine_protocol = orm.Str(engine_inputs["engine_protocol"])
        builder.xch_overrides = orm.Dict(engine_inputs.get("xch") or {})
        if engine_inputs.get("ground_state"):
            builder.ground_state_overrides = orm.Dict(engine_inputs["ground_state"])
        if options:
            builder.options = orm.Dict(dict(options))
        return builder

    # ------------------------------------------------------------------------------------------ steps

    def _engine(self):
        return get_core_hole_engine(self.inputs.engine.value)

    def setup(self):
        """Check that the structure has the absorber and that the engine can make its 1s hole."""
        element = self.inputs.absorber.value
        engine = self._engine()
        if element not in self.inputs.structure.get_symbols_set():
            return self.exit_codes.ERROR_NO_ABSORBER.format(
                formula=self.inputs.structure.get_formula(), element=element
            )
        reason = engine.check_core_hole(element)
        if reason:
            return self.exit_codes.ERROR_NO_CORE_LEVEL.format(engine=engine.name, element=element, detail=reason)
        self.ctx.protocol = self.inputs.engine_protocol.value if "engine_protocol" in self.inputs else None
        self.ctx.xch_overrides = self.inputs.xch_overrides.get_dict() if "xch_overrides" in self.inputs else {}
        ground = self.inputs.ground_state_overrides.get_dict() if "ground_state_overrides" in self.inputs else {}
        self.ctx.ground_state_overrides = recursive_merge(self.ctx.xch_overrides, ground)
        self.ctx.options = self.inputs.options.get_dict() if "options" in self.inputs else None
        return None

    def analyse_sites(self):
        """Find the inequivalent absorbers and build the supercells (``analyse_absorber_sites``)."""
        parameters = {
            **SITE_DEFAULTS,
            "absorber": self.inputs.absorber.value,
            "supercell_min_width": self.inputs.supercell_min_width.value,
            "symprec": self.inputs.symprec.value,
            "angle_tolerance": self.inputs.angle_tolerance.value,
            "ground_state_cell": self.inputs.ground_state_cell.value,
        }
        if "sites" in self.inputs:
            entries = self.inputs.sites.get_list()
            parameters["sites"] = {
                str(e[0] if isinstance(e, (list, tuple)) else e): int(e[1] if isinstance(e, (list, tuple)) else 1)
                for e in entries
            }
        results, node = analyse_absorber_sites.run_get_node(
            self.inputs.structure, orm.Dict(parameters), metadata={"call_link_label": "site_analysis"}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SITE_ANALYSIS.format(detail=node.exit_message)
        self.ctx.analysis = results
        self.ctx.site_table = results["site_table"]
        self.out("site_table", results["site_table"])
        table = results["site_table"].get_dict()
        self.ctx.labels = [row["label"] for row in table["sites"]]
        summary = ", ".join(f"{row['label']}: atom {row['index']} ×{row['multiplicity']}" for row in table["sites"])
        self.report(
            f"{len(self.ctx.labels)} inequivalent {table['absorber']} site(s) ({summary}); supercell "
            f"{'x'.join(map(str, table['repetitions']))} with {table['n_atoms_supercell']} atoms, faces "
            f"{min(table['plane_spacings_supercell']):.2f} Å apart; ground state: {table['n_atoms_ground_state']} atoms"
        )
        return None

    def prepare_core_hole(self):
        """Ask the engine for what the core-hole runs need besides the structure (GPAW: the 1s-hole dataset)."""
        engine = self._engine()
        try:
            self.ctx.core_hole = engine.prepare_core_hole(
                self.inputs.absorber.value, self.ctx.protocol, self.ctx.xch_overrides
            )
        except (ValueError, RuntimeError) as exception:
            return self.exit_codes.ERROR_CORE_HOLE_SETUP.format(detail=str(exception))
        if "setup" in self.ctx.core_hole:
            self.out("core_hole_setup", self.ctx.core_hole["setup"])
        return None

    def run_calculations(self):
        """Launch the ground state and every core-hole site, all at once (cached runs finish at once)."""
        engine = self._engine()
        kind = absorber_kind_name(self.inputs.absorber.value)
        launches = [("ground_state", self.ctx.analysis["ground_state"], None, True)]
        launches += [(label, self.ctx.analysis[label], kind, False) for label in self.ctx.labels]
        for label, structure, absorber_kind, ground_state in launches:
            overrides = self.ctx.ground_state_overrides if ground_state else self.ctx.xch_overrides
            try:
                builder = engine.get_xch_builder(
                    structure,
                    absorber_kind,
                    self.inputs.code,
                    protocol=self.ctx.protocol,
                    overrides=overrides,
                    options=self.ctx.options,
                    ground_state=ground_state,
                    core_hole=self.ctx.core_hole,
                )
                node = self.launch_once(label if ground_state else f"xch_{label}", builder)
            except NoCoreLevelError as exception:
                return self.exit_codes.ERROR_NO_CORE_LEVEL.format(
                    engine=engine.name, element=self.inputs.absorber.value, detail=str(exception)
                )
            except LAUNCH_ERRORS as exception:
                self.report(f"{label}: the {engine.name} builder rejected the inputs: {exception}")
                return self.exit_codes.ERROR_BUILDER.format(engine=engine.name, detail=str(exception))
            self.report(f"{label}: launched {node.process_label}<{node.pk}>")
            self.to_context(**{f"run_{label}": node})
        return None

    def inspect_calculations(self):
        """Normalise every run; output the finished ones under ``raw``; map failures to exit codes."""
        engine = self._engine()
        raw = {}
        problems: dict[str, list[str]] = {"scf": [], "spectrum": [], "failed": []}
        ground_failure = None
        for label in ["ground_state", *self.ctx.labels]:
            node = self.ctx.get(f"run_{label}")
            if node is None:
                continue
            ground_state = label == "ground_state"
            try:
                if not node.is_finished_ok:
                    kind = engine.failure_kind(node)
                    raise (ScfNotConvergedError if kind == "scf_not_converged" else RuntimeError)(
                        describe_failure(node)
                    )
                outputs = engine.normalise_xch(node, ground_state=ground_state)
            except ScfNotConvergedError as exception:
                self.report(f"{label}: SCF not converged ({exception})")
                ground_failure = ground_failure or (("scf", str(exception)) if ground_state else None)
                problems["scf"].append(label)
                continue
            except MissingSpectrumError as exception:
                self.report(f"{label}: {exception}")
                problems["spectrum"].append(label)
                continue
            except (RuntimeError, ValueError) as exception:
                self.report(f"{label}: failed ({exception})")
                ground_failure = ground_failure or (("failed", str(exception)) if ground_state else None)
                problems["failed"].append(label)
                continue
            prefix = "ground_state" if ground_state else None
            for name, value in outputs.items():
                key = f"{prefix}_{name}" if prefix else f"{name}_{label}"
                raw[key] = value
        for key, value in raw.items():
            self.out(f"raw.{key}", value)
        self.ctx.raw = raw
        finished = [label for label in self.ctx.labels if f"spectrum_{label}" in raw]
        kept = f"finished sites {finished}" if finished else "no site finished"
        if ground_failure is not None:
            kind, detail = ground_failure
            exit_code = (
                self.exit_codes.ERROR_GROUND_STATE_SCF if kind == "scf" else self.exit_codes.ERROR_GROUND_STATE_FAILED
            )
            return exit_code.format(detail=detail)
        if problems["scf"]:
            return self.exit_codes.ERROR_SCF_NOT_CONVERGED.format(sites=problems["scf"], finished=kept)
        if problems["spectrum"]:
            return self.exit_codes.ERROR_SPECTRUM_MISSING.format(sites=problems["spectrum"], finished=kept)
        if problems["failed"]:
            return self.exit_codes.ERROR_SITES_FAILED.format(sites=problems["failed"], finished=kept)
        return None

    def all_finished(self) -> bool:
        """Whether the ground state and every site have results."""
        return "ground_state_energy" in self.ctx.raw and all(
            f"spectrum_{label}" in self.ctx.raw for label in self.ctx.labels
        )

    def average(self):
        """Align, broaden and average with ``lps.xas.site_average``; attach the spectra."""
        parameters = {"broadening": self.inputs.broadening.get_dict()}
        if "grid" in self.inputs:
            parameters["grid"] = self.inputs.grid.get_dict()
        if "calibration_shift" in self.inputs:
            parameters["calibration_shift"] = self.inputs.calibration_shift.value
        if "calibration" in self.inputs:
            record = energy_calibration(**self.inputs.calibration.get_dict())
            parameters["calibration_shift"] = record["shift_eV"]
            parameters["calibration"] = record
            self.report(
                f"energy calibration {record['shift_eV']:+.2f} eV from {record['reference']} ({record['feature']}: "
                f"measured {record['measured_eV']:.2f} eV, computed {record['computed_eV']:.2f} eV)"
            )
        elif not parameters.get("calibration_shift"):
            self.report(f"no energy calibration: {self._engine().name} energies as computed (see docs/xas.md)")
        raw = self.ctx.raw
        kwargs = {
            "ground_state_energy": raw["ground_state_energy"],
            "ground_state_properties": raw["ground_state_properties"],
        }
        for label in self.ctx.labels:
            for name in ("spectrum", "energy", "properties"):
                kwargs[f"{name}_{label}"] = raw[f"{name}_{label}"]
        results, node = site_average.run_get_node(
            orm.Dict(parameters), self.ctx.site_table, metadata={"call_link_label": "site_average"}, **kwargs
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_AVERAGE_FAILED.format(detail=node.exit_message)
        self.out("spectrum", results["spectrum"])
        self.out("weights", results["weights"])
        self.out("alignment", results["alignment"])
        for label in self.ctx.labels:
            self.out(f"aligned.{label}", results[f"aligned_{label}"])
        alignment = results["alignment"].get_dict()["sites"]
        onsets = ", ".join(f"{label} {alignment[label]['aligned_onset']:.2f}" for label in self.ctx.labels)
        self.report(f"aligned onsets (eV): {onsets}; averaged with weights {results['weights'].get_dict()['weights']}")
        above = self.inputs.grid.get_dict().get("above") if "grid" in self.inputs else None
        above = above or XAS_DEFAULTS["grid"]["above"]
        for label in self.ctx.labels:
            reached = raw[f"properties_{label}"].get_dict().get("spectrum_top_above_onset")
            if reached is not None and reached < above:
                self.report(
                    f"WARNING {label}: the computed transitions reach only {reached:.1f} eV above the onset, the grid "
                    f"{above:g} eV: the spectrum above onset + {reached:.1f} eV is missing (give more bands)"
                )
        return None
