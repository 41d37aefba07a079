"""``lps.gpaw.base``: restart wrapper of ``lps.gpaw`` (safer mixing, continued relaxations, interrupted runs)."""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_lps.calculations.gpaw import GpawCalculation
from aiida_lps.dft.gpaw import GpawEngine
from aiida_lps.engines.gpaw.settings import safer_mixing
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.workflows.launching import LaunchOnceRestartMixin

__all__ = ("GpawBaseWorkChain",)


class GpawBaseWorkChain(ProtocolMixin, LaunchOnceRestartMixin, BaseRestartWorkChain):
    """Run :class:`GpawCalculation` and restart it where a restart can help.

    An SCF that does not converge is retried once with safer mixing; a relaxation that ran out of steps continues
    once from its last structure; a run stopped by the scheduler's walltime (or killed before its final record)
    continues from its last structure (relaxation) or is run again (single point). Missing executables, malformed
    output and GPAW errors are not retried. The exit codes of :class:`~aiida.engine.BaseRestartWorkChain` keep their
    meaning (401: maximum iterations exceeded, 402: a failure no handler recognised, twice).
    """

    _process_class = GpawCalculation
    _protocol_file = "gpaw"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.expose_inputs(GpawCalculation, namespace="gpaw")
        spec.expose_outputs(GpawCalculation)
        spec.outline(cls.setup, while_(cls.should_run_process)(cls.run_process, cls.inspect_process), cls.results)
        spec.inputs["max_iterations"].default = lambda: orm.Int(3)
        spec.exit_code(
            310, "ERROR_KNOWN_UNRECOVERABLE_FAILURE", message="GPAW failed in a way a restart cannot fix: {detail}"
        )
        spec.exit_code(410, "ERROR_SCF_NOT_CONVERGED", message="The SCF did not converge, also with safer mixing.")
        spec.exit_code(500, "ERROR_RELAX_NOT_CONVERGED", message="The relaxation did not converge after a restart.")

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        protocol: str | None = None,
        overrides: Mapping | None = None,
        options: Mapping | None = None,
        *,
        task: str = "single_point",
        setups: Mapping[str, orm.Data] | None = None,
    ):
        """Builder of a GPAW ``task`` (``single_point`` or ``relax``) filled from ``protocol`` (``gpaw.yaml``).

        :param code: the ``gpaw`` code.
        :param overrides: nested dict over the protocol (``calculator`` keywords are free-form); unknown keys raise
            ``ValueError``.
        :param options: metadata options of the CalcJob (resources, max_wallclock_seconds, ...).
        :param setups: PAW datasets per kind name (default: the ``gpaw-data`` dataset of each element).
        """
        return GpawEngine.get_builder(task, structure, code, protocol, overrides, options, setups=setups)

    def setup(self):
        """Prepare the inputs of the first calculation."""
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(GpawCalculation, "gpaw"))
        self.ctx.safer_mixing = False
        self.ctx.relax_restarted = False

    @process_handler(
        priority=600,
        exit_codes=[
            GpawCalculation.exit_codes.ERROR_EXECUTABLE_NOT_FOUND,
            GpawCalculation.exit_codes.ERROR_OUTPUT_MALFORMED,
            GpawCalculation.exit_codes.ERROR_GPAW,
        ],
    )
    def handle_known_unrecoverable(self, node):
        """Stop at once: these failures repeat on a restart."""
        self.report(f"{node.process_label}<{node.pk}> failed with [{node.exit_status}]: not restarting")
        return ProcessHandlerReport(
            True, self.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.format(detail=node.exit_message)
        )

    @process_handler(
        priority=550,
        exit_codes=[
            GpawCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME,
            GpawCalculation.exit_codes.ERROR_INCOMPLETE_RUN,
        ],
    )
    def handle_interrupted(self, node):
        """Continue a relaxation from the last structure it reached; run a single point again from the start.

        GPAW's runner writes no ``.gpw`` restart file, so an interrupted SCF starts again from scratch.
        """
        if "structure" in node.outputs:
            self.ctx.inputs.structure = node.outputs.structure
            action = "continuing from its last structure"
        else:
            action = "running it again from the start"
        self.report(f"{node.process_label}<{node.pk}> was interrupted [{node.exit_status}]: {action}")
        return ProcessHandlerReport(True)

    @process_handler(priority=500, exit_codes=GpawCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED)
    def handle_scf(self, node):
        """Retry once with a slower density mixer and twice the SCF iterations."""
        if self.ctx.safer_mixing:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_SCF_NOT_CONVERGED)
        self.ctx.inputs.parameters = orm.Dict(safer_mixing(self.ctx.inputs.parameters.get_dict()))
        self.ctx.safer_mixing = True
        self.report(f"SCF of {node.process_label}<{node.pk}> did not converge: retrying with safer mixing")
        return ProcessHandlerReport(True)

    @process_handler(priority=400, exit_codes=GpawCalculation.exit_codes.ERROR_RELAX_NOT_CONVERGED)
    def handle_relax(self, node):
        """Continue an unfinished relaxation once from its last structure."""
        if self.ctx.relax_restarted or "structure" not in node.outputs:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_RELAX_NOT_CONVERGED)
        self.ctx.inputs.structure = node.outputs.structure
        self.ctx.relax_restarted = True
        self.report(
            f"relaxation of {node.process_label}<{node.pk}> ran out of steps: continuing from its last structure"
        )
        return ProcessHandlerReport(True)
