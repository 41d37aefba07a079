"""``lps.lammps.md``: restart wrapper of the LAMMPS MD CalcJob (halved timestep once after unstable dynamics)."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_lps.calculations.lammps_md import LammpsMDCalculation
from aiida_lps.engines.lammps.inputs import MDSettings

__all__ = ("LammpsMDBaseWorkChain",)

_UNSTABLE = ("ERROR_LOST_ATOMS", "ERROR_NAN_ENERGY")
_FATAL = ("ERROR_EXECUTABLE_NOT_FOUND", "ERROR_POTENTIAL", "ERROR_ANALYSIS", "ERROR_TRAJECTORY_MISSING")


class LammpsMDBaseWorkChain(BaseRestartWorkChain):
    """Run :class:`LammpsMDCalculation`; retry an MD that crashed from unstable dynamics once with half the timestep.

    The retry keeps the simulated times: step counts and the dump/thermo intervals double and the thermostat and
    barostat damping (given in timesteps) double, so the physical relaxation times stay at their values.
    Deterministic failures (missing executable, rejected potential, analysis errors) are not retried.
    """

    _process_class = LammpsMDCalculation

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
