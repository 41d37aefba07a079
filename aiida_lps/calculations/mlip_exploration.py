"""CalcJob ``lps.mlip.explore``: MD with a fitted SNAP or POD that evaluates the extrapolation grade γ on the fly."""

from __future__ import annotations

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import DATA_FILENAME, write_data_file
from aiida_lps.engines.lammps.mlip.exploration import (
    EXPLORATION_DEFAULTS,
    GAMMA_DUMP_FILENAME,
    exploration_parameters,
    gamma_md_script,
)
from aiida_lps.utils.active_set import active_set_grade_maps, validate_active_set

__all__ = ("GammaExplorationCalculation",)


def _validate_exploration_parameters(value: orm.Dict, _) -> str | None:
    try:
        exploration_parameters(value.get_dict())
    except ValueError as exception:
        return str(exception)
    return None


def _validate_exploration_inputs(inputs, _) -> str | None:
    potential, active, structure = inputs.get("potential"), inputs.get("active_set"), inputs.get("structure")
    if potential is None or active is None:
        return None
    message = validate_active_set(active, potential)
    if message:
        return message
    if structure is not None:
        missing = sorted({site.kind_name for site in structure.sites} - set(potential.elements))
        if missing:
            return f"the structure contains {missing}, which the potential does not describe"
    return None


class GammaExplorationCalculation(CalcJob):
    """MD with a fitted SNAP or POD in LAMMPS that computes the grade γ on the fly (``sna/atom`` or ``pod/atom``)
    and stops at γ_break.

    The parser keeps the frames with γ_select < max γ ≤ γ_break as candidates (with their per-atom descriptor rows,
    so that batch MaxVol selection needs no recomputation); frames past γ_break or after a crash are dropped, the
    earlier ones are kept. A run that breaks before any frame lies between γ_select and γ_break (e.g. its start
    structure is already past γ_break) keeps the break frame as its one candidate.
    """

    _INPUT = "input.in"
    _LOG = "log.lammps"
    _STDOUT = "lammps.out"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Starting configuration.")
        spec.input("potential", valid_type=InteratomicPotentialData, help="The SNAP/POD potential (lps.mlip.train).")
        spec.input("active_set", valid_type=orm.ArrayData, help="Active set of the same fit (lps.mlip.train).")
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_exploration_parameters,
            help=f"Exploration settings; defaults {EXPLORATION_DEFAULTS}.",
        )
        spec.inputs.validator = _validate_exploration_inputs
        options = spec.inputs["metadata"]["options"]
        options["parser_name"].default = "lps.mlip.explore"
        options["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        options["withmpi"].default = False

        spec.output("results", valid_type=orm.Dict, help="Frames, max γ, whether γ_break stopped the run, errors.")
        spec.output(
            "candidates",
            valid_type=orm.TrajectoryData,
            required=False,
            help="Frames with γ_select < γ ≤ γ_break; arrays `gamma_max` and `atom_rows` (per-atom [1, B]).",
        )
        spec.default_output_node = "results"
        # Crashes and missing outputs invalidate the cache: with caching on, such a run is never reused.
        spec.exit_code(
            300, "ERROR_NO_FRAMES", message="The exploration produced no readable frame: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(
            312, "ERROR_POTENTIAL", message="LAMMPS rejected the potential or the γ script: {detail}",
            invalidates_cache=True,
        )  # fmt: skip

    def prepare_for_submission(self, folder):
        """Write the data file and the γ-monitored MD script; copy the potential files."""
        potential = self.inputs.potential
        params = {**EXPLORATION_DEFAULTS, **self.inputs.parameters.get_dict()}
        settings, maps, columns = active_set_grade_maps(self.inputs.active_set)
        with folder.open(DATA_FILENAME, "w") as handle:
            handle.write(write_data_file(self.inputs.structure.get_ase(), potential.elements))
        script = gamma_md_script(
            settings,
            potential.lammps_commands(potential.elements),
            maps,
            columns,
            temperature=float(params["temperature"]),
            steps=int(params["steps"]),
            gamma_break=float(params["gamma_break"]),
            timestep_fs=float(params["timestep_fs"]),
            check_interval=int(params["check_interval"]),
            dump_interval=int(params["dump_interval"]),
            ensemble=params["ensemble"],
            pressure_bar=float(params["pressure_bar"]),
            seed=int(params["seed"]),
            data_filename=DATA_FILENAME,
        )
        with folder.open(self._INPUT, "w") as handle:
            handle.write(script)
        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["-in", self._INPUT, "-log", self._LOG]
        codeinfo.stdout_name = self._STDOUT
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = [(potential.uuid, name, name) for name in potential.filenames]
        calcinfo.retrieve_list = [self._LOG, self._STDOUT]
        calcinfo.retrieve_temporary_list = [GAMMA_DUMP_FILENAME]
        return calcinfo
