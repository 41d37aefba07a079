"""``lps.lammps.md``: restart wrapper of the LAMMPS MD CalcJob (halved timestep once after unstable dynamics)."""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_lps.calculations.lammps_md import LammpsMDCalculation
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import MDSettings
from aiida_lps.protocols import ProtocolMixin

__all__ = ("LammpsMDBaseWorkChain", "protocol_analysis")

_UNSTABLE = ("ERROR_LOST_ATOMS", "ERROR_NAN_ENERGY")
_FATAL = ("ERROR_EXECUTABLE_NOT_FOUND", "ERROR_POTENTIAL", "ERROR_ANALYSIS", "ERROR_TRAJECTORY_MISSING")


def protocol_analysis(analysis: Mapping, species: str, charge: float) -> dict:
    """Analysis settings of a protocol for one diffusing ``species`` of ionic ``charge`` (e); keys given in the
    protocol's ``analysis`` (``species``, ``charges``) win."""
    return {"species": [species], "charges": {species: float(charge)}, **analysis}


class LammpsMDBaseWorkChain(ProtocolMixin, BaseRestartWorkChain):
    """Run :class:`LammpsMDCalculation`; retry an MD that crashed from unstable dynamics once with half the timestep.

    The retry keeps the simulated times: step counts and the dump/thermo intervals double and the thermostat and
    barostat damping (given in timesteps) double, so the physical relaxation times stay at their values.
    Deterministic failures (missing executable, rejected potential, analysis errors) are not retried.
    """

    _process_class = LammpsMDCalculation
    _protocol_file = "lammps_md"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.expose_inputs(LammpsMDCalculation, namespace="md")
        spec.expose_outputs(LammpsMDCalculation)
        spec.outline(cls.setup, while_(cls.should_run_process)(cls.run_process, cls.inspect_process), cls.results)
        spec.inputs["max_iterations"].default = lambda: orm.Int(3)
        spec.exit_code(401, "ERROR_UNSTABLE_MD", message="The MD crashed again after halving the timestep: {detail}")
        spec.exit_code(402, "ERROR_UNRECOVERABLE", message="The MD failed in a way a retry cannot fix: {detail}")

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
        temperature: float,
        species: str = "Li",
        charge: float = 1.0,
    ):
        """Builder of one MD run at ``temperature`` (K) filled from ``protocol`` (``fast``, ``moderate``, ``precise``).

        :param code: the LAMMPS code.
        :param overrides: nested dict merged over the protocol (``lammps_md.yaml``): ``parameters`` (MDSettings keys
            except ``temperature``), ``analysis``; unknown keys raise ``ValueError``.
        :param options: metadata options of the CalcJob (resources, max_wallclock_seconds, ...).
        :param species: diffusing species. :param charge: its ionic charge (e) for the Nernst-Einstein σ.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.md.code = code
        builder.md.structure = structure
        builder.md.potential = potential
        builder.md.parameters = orm.Dict({**inputs["parameters"], "temperature": float(temperature)})
        builder.md.analysis = orm.Dict(protocol_analysis(inputs["analysis"], species, charge))
        if options:
            builder.md.metadata.options = dict(options)
        return builder

    def setup(self):
        """Prepare the inputs of the first calculation."""
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(LammpsMDCalculation, "md"))
        self.ctx.timestep_halved = False

    @process_handler(priority=600, exit_codes=[getattr(LammpsMDCalculation.exit_codes, n) for n in _FATAL])
    def handle_fatal(self, node):
        """Stop at once: these failures repeat identically on a retry."""
        self.report(f"{node.process_label}<{node.pk}> failed with {node.exit_status}: {node.exit_message}")
        return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE.format(detail=node.exit_message))

    @process_handler(priority=500, exit_codes=[getattr(LammpsMDCalculation.exit_codes, n) for n in _UNSTABLE])
    def handle_unstable_dynamics(self, node):
        """Halve the timestep once (keeping the simulated times); a second crash ends the work chain."""
        if self.ctx.timestep_halved:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNSTABLE_MD.format(detail=node.exit_message))
        params = MDSettings.from_dict(self.ctx.inputs.parameters.get_dict()).to_dict()
        params["timestep_fs"] /= 2
        for key in ("equilibration_steps", "production_steps", "dump_interval", "thermo_interval"):
            params[key] *= 2
        params["thermostat_damping"] *= 2
        params["barostat_damping"] *= 2
        self.ctx.inputs.parameters = orm.Dict(params)
        self.ctx.timestep_halved = True
        self.report(f"{node.exit_message}; retrying once with timestep {params['timestep_fs']} fs")
        return ProcessHandlerReport(True)
