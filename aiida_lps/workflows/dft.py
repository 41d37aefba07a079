"""``lps.dft``: one DFT task (single point or relaxation) on any engine, with outputs in common names and units."""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.engine import ToContext, WorkChain

from aiida_lps.dft.base import TASKS, get_engine, validate_engine_port
from aiida_lps.utils.failures import LAUNCH_ERRORS, describe_failure
from aiida_lps.workflows.launching import LaunchOnceMixin

__all__ = ("DftWorkChain",)


def _validate_task(value: orm.Str, _) -> str | None:
    return None if value.value in TASKS else f"unknown DFT task {value.value!r}; available: {TASKS}"


def _validate_inputs(inputs, _) -> str | None:
    if "engine" not in inputs:
        return None
    engine = get_engine(inputs["engine"].value)
    protocol = inputs["protocol"].value if "protocol" in inputs else None
    if protocol is not None and protocol not in engine.get_available_protocols():
        return f"unknown {engine.name} protocol {protocol!r}; available: {sorted(engine.get_available_protocols())}"
    try:
        engine.validate_overrides(protocol, inputs["overrides"].get_dict() if "overrides" in inputs else None)
    except ValueError as exception:
        return str(exception)
    return None


class DftWorkChain(LaunchOnceMixin, WorkChain):
    """Run a DFT task with the engine named in the inputs and return the common outputs.

    The engine (``gpaw`` or ``vasp``) is an input, so workflows that need DFT take an engine name and a code and
    never branch on the code: this work chain asks the engine for a builder, runs it, and asks the engine to
    normalise the outputs (energy eV, forces eV/Å, stress eV/Å³, structure, properties).
    """

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.input("engine", valid_type=orm.Str, validator=validate_engine_port, help="`gpaw` or `vasp`.")
        spec.input("task", valid_type=orm.Str, validator=_validate_task, help=f"One of {TASKS}.")
        spec.input("structure", valid_type=orm.StructureData)
        spec.input("code", valid_type=orm.AbstractCode, help="The engine's code.")
        spec.input("protocol", valid_type=orm.Str, required=False, help="fast | moderate | precise.")
        spec.input("overrides", valid_type=orm.Dict, required=False, help="Nested overrides of the protocol.")
        spec.input("options", valid_type=orm.Dict, required=False, help="Scheduler options of the calculations.")
        spec.inputs.validator = _validate_inputs
        spec.outline(cls.run_engine, cls.results)
        spec.output("energy", valid_type=orm.Float, help="Total energy (eV).")
        spec.output("forces", valid_type=orm.ArrayData, help="Forces (eV/Å), array `forces`.")
        spec.output("stress", valid_type=orm.ArrayData, required=False, help="Stress (eV/Å³, ASE sign), `stress`.")
        spec.output("structure", valid_type=orm.StructureData, help="Final (relax) or input (single point) structure.")
        spec.output("properties", valid_type=orm.Dict, help="Fermi energy, convergence flags, engine and version.")
        spec.exit_code(401, "ERROR_ENGINE_FAILED", message="The {engine} {task} failed: [{status}] {message}")
        spec.exit_code(402, "ERROR_BUILDER", message="The {engine} builder rejected the inputs: {message}")

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
        task: str = "single_point",
    ):
        """Builder of ``task`` on ``engine`` (``gpaw`` or ``vasp``); the protocols are the engine's.

        :param code: the engine's code.
        :param overrides: nested dict over the engine protocol; unknown keys raise ``ValueError`` here.
        :param options: metadata options of the engine's CalcJobs (resources, max_wallclock_seconds, ...).
        """
        engine_class = get_engine(engine)
        engine_class.validate_task(task)
        engine_class.validate_overrides(protocol, overrides)
        builder = cls.get_builder()
        builder.engine = orm.Str(engine)
        builder.task = orm.Str(task)
        builder.structure = structure
        builder.code = code
        if protocol is not None:
            builder.protocol = orm.Str(protocol)
        if overrides:
            builder.overrides = orm.Dict(dict(overrides))
        if options:
            builder.options = orm.Dict(dict(options))
        return builder

    def run_engine(self):
        """Ask the engine for a builder and run it."""
        engine = get_engine(self.inputs.engine.value)
        try:
            builder = engine.get_builder(
                self.inputs.task.value,
                self.inputs.structure,
                self.inputs.code,
                protocol=self.inputs.protocol.value if "protocol" in self.inputs else None,
                overrides=self.inputs.overrides.get_dict() if "overrides" in self.inputs else None,
                options=self.inputs.options.get_dict() if "options" in self.inputs else None,
            )
            node = self.launch_once("engine_run", builder)
        except LAUNCH_ERRORS as exception:
            self.report(f"the {engine.name} builder rejected the inputs: {type(exception).__name__}: {exception}")
            return self.exit_codes.ERROR_BUILDER.format(engine=engine.name, message=str(exception))
        self.report(f"{engine.name} {self.inputs.task.value}: launched {node.process_label}<{node.pk}>")
        return ToContext(calculation=node)

    def results(self):
        """Attach the normalised outputs."""
        node = self.ctx.calculation
        engine = get_engine(self.inputs.engine.value)
        if not node.is_finished_ok:
            self.report(f"{engine.name} {self.inputs.task.value} failed: {describe_failure(node)}")
            return self.exit_codes.ERROR_ENGINE_FAILED.format(
                engine=engine.name, task=self.inputs.task.value, status=node.exit_status, message=node.exit_message
            )
        for name, value in engine.normalise(node).items():
            self.out(name, value)
        return None
