"""``lps.lammps.md.base``: restart wrapper of the LAMMPS MD CalcJob ``lps.lammps.md``.

Exit codes follow aiida-core's :class:`~aiida.engine.BaseRestartWorkChain` (301/302 sub-process excepted/killed,
401 maximum iterations exceeded, 402 unhandled failure) and add the work chain's own outcomes: 310 for a known
failure that no restart can fix and 410/420 for an MD that handlers could not rescue.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from aiida_lps.calculations.lammps_md import LammpsMDCalculation
from aiida_lps.common.defaults import DIFFUSING_CHARGE, DIFFUSING_SPECIES
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import MDSettings
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.utils.active_set import find_active_set
from aiida_lps.workflows.launching import LaunchOnceRestartMixin

__all__ = ("LammpsMDBaseWorkChain", "protocol_analysis")

_CODES = LammpsMDCalculation.exit_codes
_UNSTABLE = (_CODES.ERROR_LOST_ATOMS, _CODES.ERROR_NAN_ENERGY)
_FATAL = (
    _CODES.ERROR_EXECUTABLE_NOT_FOUND,
    _CODES.ERROR_POTENTIAL,
    _CODES.ERROR_ANALYSIS,
    _CODES.ERROR_TRAJECTORY_MISSING,
    _CODES.ERROR_DISK_FULL,
    _CODES.ERROR_REDUCTION_MISSING,
)
_STOPPED = (_CODES.ERROR_SCHEDULER_OUT_OF_WALLTIME, _CODES.ERROR_INCOMPLETE_RUN)


def protocol_analysis(analysis: Mapping, species: str, charge: float) -> dict:
    """Analysis settings of a protocol for one diffusing ``species`` of ionic ``charge`` (e); keys given in the
    protocol's ``analysis`` (``species``, ``charges``) win."""
    return {"species": [species], "charges": {species: float(charge)}, **analysis}


class LammpsMDBaseWorkChain(ProtocolMixin, LaunchOnceRestartMixin, BaseRestartWorkChain):
    """Run :class:`LammpsMDCalculation` (inputs in the ``lammps`` namespace) and recover from known failures.

    - Unstable dynamics (lost atoms, non-finite energy): retried once with half the timestep, keeping the
      simulated times: step counts and the dump/thermo intervals double and the thermostat and barostat damping
      (given in timesteps) double, so the physical relaxation times stay at their values.
    - Stopped by the wall time (scheduler 120) or without an error (400): the production continues from the
      latest restart file (``parent_folder``); without one the run starts again, once.
    - Deterministic failures (missing executable, rejected potential, analysis errors): not retried (310).

    A potential made by ``lps.mlip.train`` (e.g. the output of ``lps.mlip.active_learning``) brings its active set
    (``lammps.active_set``, found from the potential's creator when not given): the extrapolation grade γ is then
    recorded along the production (``results.extrapolation``).
    """

    _process_class = LammpsMDCalculation
    _protocol_file = "lammps_md"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.expose_inputs(
            LammpsMDCalculation,
            namespace="lammps",
            exclude=("parent_folder",),
            namespace_options={"help": "Inputs of the `lps.lammps.md` CalcJob."},
        )
        spec.expose_outputs(LammpsMDCalculation)
        spec.outline(cls.setup, while_(cls.should_run_process)(cls.run_process, cls.inspect_process), cls.results)
        spec.inputs["max_iterations"].default = lambda: orm.Int(3)
        spec.exit_code(
            310,
            "ERROR_KNOWN_UNRECOVERABLE_FAILURE",
            message="The MD failed in a way a restart cannot fix: {detail}",
        )
        spec.exit_code(410, "ERROR_UNSTABLE_MD", message="The MD crashed again after halving the timestep: {detail}")
        spec.exit_code(
            420,
            "ERROR_WALLTIME_WITHOUT_RESTART_FILE",
            message="The MD was stopped twice before it wrote a restart file: raise max_wallclock_seconds.",
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
        temperature: float,
        species: str = DIFFUSING_SPECIES,
        charge: float = DIFFUSING_CHARGE,
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
        builder.lammps.code = code
        builder.lammps.structure = structure
        builder.lammps.potential = potential
        builder.lammps.parameters = orm.Dict({**inputs["parameters"], "temperature": float(temperature)})
        builder.lammps.analysis = orm.Dict(protocol_analysis(inputs["analysis"], species, charge))
        if options:
            builder.lammps.metadata.options = dict(options)
        return builder

    def setup(self):
        """Prepare the inputs of the first calculation."""
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(LammpsMDCalculation, "lammps"))
        if "active_set" not in self.ctx.inputs:  # a learned potential's own active set: monitor γ (docs/diffusion.md)
            active_set = find_active_set(self.ctx.inputs.potential)
            if active_set is not None:
                self.ctx.inputs.active_set = active_set
                self.report(f"the potential comes with active set <{active_set.pk}>: γ is recorded along the MD")
        self.ctx.timestep_halved = False
        self.ctx.restarted_from_scratch = False

    @process_handler(priority=600, exit_codes=list(_FATAL))
    def handle_fatal(self, node):
        """Stop at once: these failures repeat identically on a retry."""
        self.report(f"{node.process_label}<{node.pk}> failed with {node.exit_status}: {node.exit_message}")
        return ProcessHandlerReport(
            True, self.exit_codes.ERROR_KNOWN_UNRECOVERABLE_FAILURE.format(detail=node.exit_message)
        )

    @process_handler(priority=550, exit_codes=list(_STOPPED))
    def handle_out_of_walltime(self, node):
        """Continue the production from the latest restart file; without one start again (once)."""
        remote = node.outputs.remote_folder
        if _has_restart_file(remote):
            self.ctx.inputs.parent_folder = remote
            self.report(
                f"{node.process_label}<{node.pk}> was stopped ({node.exit_status}): continuing from its restart file"
            )
            return ProcessHandlerReport(True)
        if self.ctx.restarted_from_scratch:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_WALLTIME_WITHOUT_RESTART_FILE)
        self.ctx.restarted_from_scratch = True
        self.ctx.inputs.pop("parent_folder", None)
        self.report(
            f"{node.process_label}<{node.pk}> was stopped ({node.exit_status}) before a restart file: starting again"
        )
        return ProcessHandlerReport(True)

    @process_handler(priority=500, exit_codes=list(_UNSTABLE))
    def handle_unstable_dynamics(self, node):
        """Halve the timestep once (keeping the simulated times) and start again; a second crash ends the work chain."""
        if self.ctx.timestep_halved:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNSTABLE_MD.format(detail=node.exit_message))
        params = MDSettings.from_dict(self.ctx.inputs.parameters.get_dict()).to_dict()
        params["timestep_fs"] /= 2
        for key in ("equilibration_steps", "production_steps", "dump_interval", "thermo_interval"):
            params[key] *= 2
        params["thermostat_damping"] *= 2
        params["barostat_damping"] *= 2
        self.ctx.inputs.parameters = orm.Dict(params)
        self.ctx.inputs.pop("parent_folder", None)  # a new timestep cannot continue an old trajectory
        self.ctx.timestep_halved = True
        self.report(f"{node.exit_message}; retrying once with timestep {params['timestep_fs']} fs")
        return ProcessHandlerReport(True)


def _has_restart_file(remote: orm.RemoteData) -> bool:
    """Whether the remote working directory holds a ``restart.<step>`` file (``False`` if it cannot be listed)."""
    try:
        names = remote.listdir()
    except OSError:  # cleaned or unreachable: nothing to continue from
        return False
    return any(name.startswith("restart.") for name in names)
