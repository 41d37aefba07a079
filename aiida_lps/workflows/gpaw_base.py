"""``lps.gpaw.base``: restart wrapper of ``lps.gpaw`` (safer density mixing once after an unconverged SCF)."""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_lps.calculations.gpaw import GpawCalculation
from aiida_lps.dft.gpaw import GpawEngine
from aiida_lps.engines.gpaw.settings import safer_mixing
from aiida_lps.protocols import ProtocolMixin

__all__ = ("GpawBaseWorkChain",)


class GpawBaseWorkChain(ProtocolMixin, BaseRestartWorkChain):
    """Run :class:`GpawCalculation`; an SCF that does not converge is retried once with safer mixing.

    A relaxation that ran out of steps restarts from its last structure once. Missing executables and malformed
    output are not retried.
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
        spec.exit_code(401, "ERROR_SCF_NOT_CONVERGED", message="The SCF did not converge, also with safer mixing.")
        spec.exit_code(402, "ERROR_UNRECOVERABLE", message="GPAW failed in a way a retry cannot fix: {detail}")
        spec.exit_code(403, "ERROR_RELAX_NOT_CONVERGED", message="The relaxation did not converge after a restart.")

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
    def handle_fatal(self, node):
        """Stop at once: these failures repeat on a retry."""
        return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE.format(detail=node.exit_message))

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
