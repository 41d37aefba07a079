"""``lps.lammps.md``: one LAMMPS equilibration + production MD run whose parser returns MSD and diffusivities."""

from __future__ import annotations

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import (
    DATA_FILENAME,
    DUMP_FILENAME,
    FINAL_DATA_FILENAME,
    MDSettings,
    md_script,
    write_data_file,
)
from aiida_lps.utils.structures import atoms_from_structure
from aiida_lps.utils.validation import (
    validate_analysis,
    validate_frame_count,
    validate_potential_covers_structure,
)

__all__ = ("LammpsMDCalculation",)


def _validate_parameters(value: orm.Dict, _) -> str | None:
    try:
        MDSettings.from_dict(value.get_dict())
    except (TypeError, ValueError) as exception:
        return f"invalid MD parameters: {exception}"
    return None


def _validate_inputs(inputs, _) -> str | None:
    if "structure" in inputs and "potential" in inputs:
        message = validate_potential_covers_structure(inputs["potential"], inputs["structure"])
        if message:
            return message
    if "analysis" in inputs and "structure" in inputs:
        message = validate_analysis(inputs["analysis"].get_dict(), inputs["structure"])
        if message:
            return message
    if "parameters" in inputs:
        return validate_frame_count(inputs["parameters"].get_dict(), inputs.get("analysis"))
    return None


class LammpsMDCalculation(CalcJob):
    """Run equilibration + production MD with LAMMPS and analyse the unwrapped trajectory.

    The full trajectory is retrieved only temporarily: the parser reduces it to MSD(t) arrays, diffusivities and
    conductivities; a down-sampled trajectory is stored only when ``analysis.trajectory_stride`` > 0.
    """

    _INPUT_FILENAME = "input.in"
    _LOG_FILENAME = "log.lammps"
    _STDOUT_FILENAME = "lammps.out"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Initial structure (the simulation cell).")
        spec.input("potential", valid_type=InteratomicPotentialData, help="Interatomic potential.")
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_parameters,
            help="MD settings (see `aiida_lps.engines.lammps.inputs.MDSettings`): temperature, timestep_fs, ...",
        )
        spec.input(
            "analysis",
            valid_type=orm.Dict,
            required=False,
            help="Trajectory analysis: species (list), charges (dict), window, n_blocks, drift, regions, "
            "trajectory_stride.",
        )
        spec.inputs.validator = _validate_inputs
        spec.inputs["metadata"]["options"]["parser_name"].default = "lps.lammps.md"
        spec.inputs["metadata"]["options"]["resources"].default = {
            "num_machines": 1,
            "num_mpiprocs_per_machine": 1,
        }
        spec.inputs["metadata"]["options"]["withmpi"].default = False

        spec.output("results", valid_type=orm.Dict, help="Diffusivities, conductivities, fit windows, thermo summary.")
        spec.output("msd", valid_type=orm.ArrayData, help="MSD(t) per species and Cartesian axis (Å², ps).")
        spec.output("thermo", valid_type=orm.ArrayData, help="Production thermo columns (LAMMPS metal units).")
        spec.output("structure", valid_type=orm.StructureData, required=False, help="Final configuration.")
        spec.output("trajectory", valid_type=orm.TrajectoryData, required=False, help="Down-sampled trajectory.")
        spec.default_output_node = "results"

        spec.exit_code(
            301, "ERROR_EXECUTABLE_NOT_FOUND", message="The LAMMPS executable could not be started: {detail}"
        )
        spec.exit_code(302, "ERROR_LOG_MISSING", message="LAMMPS wrote no log file `log.lammps`.")
        spec.exit_code(303, "ERROR_INCOMPLETE_RUN", message="LAMMPS stopped before the end of the run: {detail}")
        spec.exit_code(
            304, "ERROR_TRAJECTORY_MISSING", message="The trajectory dump is missing or unreadable: {detail}"
        )
        spec.exit_code(310, "ERROR_LOST_ATOMS", message="LAMMPS lost atoms (unstable dynamics): {detail}")
        spec.exit_code(311, "ERROR_NAN_ENERGY", message="Non-finite energies or coordinates in the MD: {detail}")
        spec.exit_code(312, "ERROR_POTENTIAL", message="The potential or its files were rejected by LAMMPS: {detail}")
        spec.exit_code(313, "ERROR_LAMMPS", message="LAMMPS stopped with an error: {detail}")
        spec.exit_code(320, "ERROR_ANALYSIS", message="The trajectory analysis failed: {detail}")

    def prepare_for_submission(self, folder):
        """Write the data file, the input script and the potential files."""
        potential: InteratomicPotentialData = self.inputs.potential
        settings = MDSettings.from_dict(self.inputs.parameters.get_dict())
        type_elements = potential.elements
        atoms = atoms_from_structure(self.inputs.structure)
        folder.get_subfolder(".", create=True)
        with folder.open(DATA_FILENAME, "w") as handle:
            handle.write(write_data_file(atoms, type_elements))
        with folder.open(self._INPUT_FILENAME, "w") as handle:
            handle.write(md_script(settings, potential.lammps_commands(type_elements)))

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["-in", self._INPUT_FILENAME, "-log", self._LOG_FILENAME]
        codeinfo.stdout_name = self._STDOUT_FILENAME

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = [(potential.uuid, name, name) for name in potential.filenames]
        calcinfo.retrieve_list = [self._LOG_FILENAME, self._STDOUT_FILENAME, FINAL_DATA_FILENAME]
        calcinfo.retrieve_temporary_list = [DUMP_FILENAME]
        return calcinfo
