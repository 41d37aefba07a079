"""``lps.lammps.md``: one LAMMPS equilibration + production MD run whose parser returns MSD and diffusivities."""

from __future__ import annotations

import json
import shutil

from aiida import orm
from aiida.common import datastructures
from aiida_lammps.calculations.raw import LammpsRawCalculation

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import (
    BINARY_DUMP_FILENAME,
    DATA_FILENAME,
    FINAL_DATA_FILENAME,
    LOG_FILENAME,
    RESTART_PATTERN,
    MDSettings,
    continuation_script,
    md_script,
    part_filename,
    write_data_file,
)
from aiida_lps.engines.lammps.mlip.exploration import GAMMA_MONITOR_FILENAME, gamma_monitor_commands
from aiida_lps.engines.lammps.reduce import REDUCE_SETTINGS_FILENAME, REDUCED_FILENAME
from aiida_lps.utils.active_set import active_set_grade_maps, validate_active_set
from aiida_lps.utils.continuation import continuation_parts
from aiida_lps.utils.structures import atoms_from_structure
from aiida_lps.utils.validation import (
    analysis_settings,
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
    if "reduce_code" in inputs and inputs.get("metadata", {}).get("options", {}).get("withmpi"):
        return (
            "metadata.options.withmpi applies to every code of the job, the reducer too: with reduce_code, run "
            "LAMMPS with MPI through a code created with_mpi=True (`verdi code create ... --with-mpi`) instead"
        )
    if "reduce_code" in inputs and "code" in inputs and inputs["reduce_code"].computer.pk != inputs["code"].computer.pk:
        return (
            f"reduce_code runs on {inputs['reduce_code'].computer.label!r} but LAMMPS on "
            f"{inputs['code'].computer.label!r}: the reducer must run where the dump is written"
        )
    if "active_set" in inputs and "potential" in inputs:
        message = validate_active_set(inputs["active_set"], inputs["potential"])
        if message:
            return message
    if "parameters" in inputs:
        return validate_frame_count(inputs["parameters"].get_dict(), inputs.get("analysis"))
    return None


class LammpsMDCalculation(LammpsRawCalculation):
    """Run equilibration + production MD with LAMMPS and analyse the unwrapped trajectory.

    Built on aiida-lammps's raw-script CalcJob (``lammps.raw``): it keeps that class's ``files``/``filenames``
    (extra files for the working directory), ``settings.additional_retrieve_list``, filename options and exit
    codes, but writes its own script from ``parameters`` (so the ``script`` input is removed), copies the files
    of the multi-file potential and uses its own parser.

    LAMMPS writes a binary dump (``trajectory.bin``: full double precision, read at the disk's speed).
    Production path (``reduce_code`` given: a Python interpreter with aiida-lps on the same computer, e.g. the
    ``python`` code of ``aiida-lps setup``): the same job then runs
    ``python -m aiida_lps.engines.lammps.reduce`` there, which reduces the dump to MSD(t) arrays and the diffusion
    results in ``trajectory_msd.npz``; only that file (and the log) is retrieved, the dump stays on the remote
    (deleted after a complete reduction with ``metadata.options.keep_dump = False``).
    Fallback path (no ``reduce_code``): the dump is retrieved only temporarily and the parser does the same
    reduction. Both give MSD(t) arrays, diffusivities and conductivities; a down-sampled trajectory is stored only
    when ``analysis.trajectory_stride`` > 0.
    With ``parent_folder`` (the remote folder of a run stopped by the wall time) the production continues from
    the latest restart file up to ``production_steps``; the earlier parts' dumps and logs are copied along and
    joined by the parser, so the analysis covers the whole production.
    """

    _INPUT_FILENAME = LammpsRawCalculation.FILENAME_INPUT
    _LOG_FILENAME = LOG_FILENAME
    _STDOUT_FILENAME = LammpsRawCalculation.FILENAME_OUTPUT
    _REDUCE_STDOUT = "reduce.out"
    _REDUCE_STDERR = "reduce.err"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        del spec.inputs["script"]  # written from `parameters` by prepare_for_submission
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
        spec.input(
            "active_set",
            valid_type=orm.ArrayData,
            required=False,
            help="Active set of the learned potential (lps.mlip.train): the extrapolation grade γ is evaluated at "
            "every stored production frame and summarised in `results.extrapolation`.",
        )
        spec.input(
            "parent_folder",
            valid_type=orm.RemoteData,
            required=False,
            help="Remote folder of a run of this CalcJob stopped by the wall time: continue its production from its "
            "latest restart file.",
        )
        spec.input(
            "reduce_code",
            valid_type=orm.AbstractCode,
            required=False,
            help="Python interpreter with aiida-lps installed, on the computer of `code` (e.g. `python@localhost` of "
            "`aiida-lps setup`): reduces the trajectory to MSD arrays in the job itself, so only a small .npz is "
            "retrieved (production path). Without it the text dump is retrieved temporarily and parsed.",
        )
        spec.input(
            "metadata.options.keep_dump",
            valid_type=bool,
            default=True,
            help="With `reduce_code`: keep the dump in the remote folder (False: delete it after a complete, "
            "successful reduction).",
        )
        spec.inputs.validator = _validate_inputs
        spec.inputs["metadata"]["options"]["parser_name"].default = "lps.lammps.md"
        spec.inputs["metadata"]["options"]["resources"].default = {
            "num_machines": 1,
            "num_mpiprocs_per_machine": 1,
        }
        spec.inputs["metadata"]["options"]["withmpi"].default = False

        spec.outputs["results"].help = "Diffusivities, conductivities, fit windows, thermo summary."
        spec.output("msd", valid_type=orm.ArrayData, help="MSD(t) per species and Cartesian axis (Å², ps).")
        spec.output("thermo", valid_type=orm.ArrayData, help="Production thermo columns (LAMMPS metal units).")
        spec.output("structure", valid_type=orm.StructureData, required=False, help="Final configuration.")
        spec.output("trajectory", valid_type=orm.TrajectoryData, required=False, help="Down-sampled trajectory.")
        spec.default_output_node = "results"

        # 3xx: failures a restart cannot fix (aiida-lammps's own 309/351/1001 are inherited and not emitted).
        # Crashes, missing or unreadable outputs and interrupted runs (3xx, 400) invalidate the cache: with caching
        # on, such a run is never reused. Unstable dynamics (410/411) follow from the inputs and stay cacheable.
        spec.exit_code(
            301, "ERROR_EXECUTABLE_NOT_FOUND", message="The LAMMPS executable could not be started: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(
            302, "ERROR_LOG_MISSING", message="LAMMPS wrote no log file `log.lammps`.", invalidates_cache=True
        )
        spec.exit_code(
            304, "ERROR_TRAJECTORY_MISSING", message="The trajectory dump is missing or unreadable: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(
            305, "ERROR_DISK_FULL", message="No space left on the device of the working directory: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(
            312, "ERROR_POTENTIAL", message="The potential or its files were rejected by LAMMPS: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(313, "ERROR_LAMMPS", message="LAMMPS stopped with an error: {detail}", invalidates_cache=True)
        spec.exit_code(
            320, "ERROR_ANALYSIS", message="The trajectory analysis failed: {detail}", invalidates_cache=True
        )
        spec.exit_code(
            306, "ERROR_REDUCTION_MISSING", message="The trajectory reducer wrote no trajectory_msd.npz: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        # 4xx: failures the restart work chain `lps.lammps.md.base` can recover from.
        spec.exit_code(
            400,
            "ERROR_INCOMPLETE_RUN",
            message="LAMMPS stopped before the end of the run, without an error: {detail}",
            invalidates_cache=True,
        )
        spec.exit_code(410, "ERROR_LOST_ATOMS", message="LAMMPS lost atoms (unstable dynamics): {detail}")
        spec.exit_code(411, "ERROR_NAN_ENERGY", message="Non-finite energies or coordinates in the MD: {detail}")

    def prepare_for_submission(self, folder):
        """Write the data file (or, continuing, copy the restart files and earlier parts), the script and files."""
        potential: InteratomicPotentialData = self.inputs.potential
        settings = MDSettings.from_dict(self.inputs.parameters.get_dict())
        type_elements = potential.elements
        pair_commands = potential.lammps_commands(type_elements)
        parent = self.inputs.get("parent_folder")
        reduce_code = self.inputs.get("reduce_code")
        dump_name = BINARY_DUMP_FILENAME  # full precision, no text to format or parse (read at the disk's speed)
        monitor: list[str] = []
        if "active_set" in self.inputs:  # γ every `gamma_interval` steps, as the exploration MD computes it
            descriptors, maps, columns = active_set_grade_maps(self.inputs.active_set)
            grading = analysis_settings(self.inputs.analysis.get_dict() if "analysis" in self.inputs else None)
            monitor = gamma_monitor_commands(descriptors, maps, columns, int(grading["gamma_interval"]))
        remote_copy_list = []
        retrieve_temporary_list = [] if reduce_code is not None else [BINARY_DUMP_FILENAME]
        parts = 0
        if parent is None:
            with folder.open(DATA_FILENAME, "w") as handle:
                handle.write(write_data_file(atoms_from_structure(self.inputs.structure), type_elements))
            script = md_script(settings, pair_commands, dump_name, monitor)
        else:
            parts = continuation_parts(parent)
            part = parts - 1  # index of the parent's own part
            source = parent.get_remote_path()
            uuid = parent.computer.uuid
            remote_copy_list = [(uuid, f"{source}/{RESTART_PATTERN}", ".")]
            for name in (dump_name, LOG_FILENAME, *([GAMMA_MONITOR_FILENAME] if monitor else [])):
                remote_copy_list.append((uuid, f"{source}/{name}", part_filename(name, part)))
                if part:  # the parent's earlier parts
                    remote_copy_list.append((uuid, f"{source}/{part_filename(name, '*')}", "."))
                if name != dump_name or reduce_code is None:  # the reducer reads the dumps where they are
                    retrieve_temporary_list.append((part_filename(name, "*"), ".", 0))
            script = continuation_script(settings, pair_commands, dump_name, monitor)
        with folder.open(self._INPUT_FILENAME, "w") as handle:
            handle.write(script)
        # aiida-lammps's `files` namespace, written under `filenames` (as `lammps.raw` does)
        filenames = self.inputs["filenames"].get_dict() if "filenames" in self.inputs else {}
        extra_files = []
        for key, node in self.inputs.get("files", {}).items():
            extra_files.append(filenames.get(key, node.filename))
            with folder.open(extra_files[-1], "wb") as target, node.open(mode="rb") as source:
                shutil.copyfileobj(source, target)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["-in", self._INPUT_FILENAME, "-log", self._LOG_FILENAME]
        codeinfo.stdout_name = self._STDOUT_FILENAME

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        if reduce_code is not None:  # second step of the same job script, in the folder where the dump lies
            analysis = self.inputs.analysis.get_dict() if "analysis" in self.inputs else None
            reduce_settings = {
                "dumps": [part_filename(dump_name, i) for i in range(parts)] + [dump_name],
                "type_elements": list(type_elements),
                "timestep_fs": settings.timestep_fs,
                "production_steps": settings.production_steps,
                "expected_frames": settings.production_steps // settings.dump_interval + 1,
                "analysis": analysis_settings(analysis),
                "output": REDUCED_FILENAME,
                "delete_dumps": not self.inputs.metadata.options.keep_dump,
            }
            with folder.open(REDUCE_SETTINGS_FILENAME, "w") as handle:
                json.dump(reduce_settings, handle, indent=1)
            reducer = datastructures.CodeInfo()
            reducer.code_uuid = reduce_code.uuid
            reducer.cmdline_params = ["-m", "aiida_lps.engines.lammps.reduce", REDUCE_SETTINGS_FILENAME]
            reducer.stdout_name = self._REDUCE_STDOUT
            reducer.stderr_name = self._REDUCE_STDERR
            reducer.withmpi = False
            calcinfo.codes_info.append(reducer)
            calcinfo.codes_run_mode = datastructures.CodeRunMode.SERIAL
        calcinfo.provenance_exclude_list = extra_files  # stored already as the `files` input nodes
        calcinfo.local_copy_list = [(potential.uuid, name, name) for name in potential.filenames]
        calcinfo.remote_copy_list = remote_copy_list
        calcinfo.retrieve_list = [self._LOG_FILENAME, self._STDOUT_FILENAME, FINAL_DATA_FILENAME]
        if reduce_code is not None:
            calcinfo.retrieve_list += [REDUCED_FILENAME, self._REDUCE_STDOUT, self._REDUCE_STDERR]
        if monitor:
            retrieve_temporary_list.append(GAMMA_MONITOR_FILENAME)
        if "settings" in self.inputs:
            calcinfo.retrieve_list += self.inputs.settings.get_dict().get("additional_retrieve_list", [])
        calcinfo.retrieve_temporary_list = retrieve_temporary_list
        return calcinfo
