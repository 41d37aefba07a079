"""``lps.lammps.relax_batch``: relax many configurations in one LAMMPS run (one GA generation per job)."""

from __future__ import annotations

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.relax import RelaxSettings, config_filename, relax_batch_script, relaxed_filename
from aiida_lps.utils.configurations import configurations_of, removed_sites_array

__all__ = ("BatchRelaxCalculation",)


def _validate_parameters(value: orm.Dict, _) -> str | None:
    try:
        RelaxSettings.from_dict(value.get_dict())
    except (TypeError, ValueError) as exception:
        return f"invalid relaxation parameters: {exception}"
    return None


def _validate_inputs(inputs, _) -> str | None:
    has_trajectory = "configurations" in inputs
    has_masks = "structure" in inputs or "removed_sites" in inputs
    if has_trajectory == has_masks:
        return "give either `configurations` (TrajectoryData) or `structure` + `removed_sites`, not both or neither"
    potential = inputs.get("potential")
    if has_masks:
        if "structure" not in inputs or "removed_sites" not in inputs:
            return "`structure` and `removed_sites` go together"
        if "sites" not in inputs["removed_sites"].get_arraynames():
            return "`removed_sites` needs an integer array `sites` of shape (n_configurations, n_removed)"
        sites = removed_sites_array(inputs["removed_sites"])
        n_sites = len(inputs["structure"].sites)
        if sites.ndim != 2 or sites.shape[0] < 1:
            return f"`removed_sites.sites` must have shape (n_configurations, n_removed), got {sites.shape}"
        if sites.size and (sites.min() < 0 or sites.max() >= n_sites):
            return f"`removed_sites.sites` holds indices outside the {n_sites} sites of `structure`"
        if any(len(set(row)) != len(row) for row in sites.tolist()):
            return "a row of `removed_sites.sites` repeats a site"
        symbols = set(inputs["structure"].get_symbols_set())
    else:
        symbols = set(inputs["configurations"].symbols)
    if potential is not None:
        missing = sorted(symbols - set(potential.elements))
        if missing:
            return f"the potential describes {potential.elements} but the configurations also contain {missing}"
    return None


class BatchRelaxCalculation(CalcJob):
    """Minimise many configurations in one LAMMPS run (positions, and the cell with ``cell_relax``).

    Configurations come either as a ``TrajectoryData`` (one frame each) or as a parent ``structure`` with the sites
    to remove per configuration (``removed_sites``, array ``sites`` (n_configurations, n_removed)), which records in
    the provenance which arrangement of a genetic search every relaxed structure came from.
    Every relaxed configuration is an output ``relaxed.c<index>``; energies and per-configuration failures are in
    ``energies`` and ``results``. A configuration that fails (non-finite energy, lost atoms, not reached because
    LAMMPS stopped) is recorded and the job still finishes ok, as long as one configuration relaxed.
    """

    _INPUT = "input.in"
    _LOG = "log.lammps"
    _STDOUT = "lammps.out"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        spec.input("configurations", valid_type=orm.TrajectoryData, required=False, help="Configurations (frames).")
        spec.input("structure", valid_type=orm.StructureData, required=False, help="Parent structure.")
        spec.input(
            "removed_sites",
            valid_type=orm.ArrayData,
            required=False,
            help="Array `sites` (n_configurations, n_removed): parent site indices removed in each configuration.",
        )
        spec.input("potential", valid_type=InteratomicPotentialData, help="Interatomic potential.")
        spec.input(
            "parameters",
            valid_type=orm.Dict,
            validator=_validate_parameters,
            help="Relaxation settings (aiida_lps.engines.lammps.relax.RelaxSettings): etol, ftol (eV/Å), maxiter, "
            "maxeval, min_style, cell_relax, coupling, pressure_bar, vmax.",
        )
        spec.inputs.validator = _validate_inputs
        options = spec.inputs["metadata"]["options"]
        options["parser_name"].default = "lps.lammps.relax_batch"
        options["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        options["withmpi"].default = False

        spec.output_namespace(
            "relaxed", valid_type=orm.StructureData, dynamic=True, help="Relaxed configuration `c<index>`."
        )
        spec.output(
            "energies",
            valid_type=orm.ArrayData,
            help="Per configuration: energy (eV, NaN if failed), fnorm, fmax (eV/Å), volume (Å³), success, converged.",
        )
        spec.output("results", valid_type=orm.Dict, help="Counts, failures [{index, reason}], LAMMPS error if any.")
        spec.default_output_node = "results"
        # Crashes and missing outputs invalidate the cache: with caching on, such a run is never reused.
        spec.exit_code(
            302, "ERROR_LOG_MISSING", message="LAMMPS wrote no log file `log.lammps`.", invalidates_cache=True
        )
        spec.exit_code(
            312, "ERROR_POTENTIAL", message="The potential or its files were rejected by LAMMPS: {detail}",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(320, "ERROR_ALL_FAILED", message="No configuration relaxed: {detail}", invalidates_cache=True)

    def prepare_for_submission(self, folder):
        """Write one data file per configuration, the looped script and the potential files."""
        potential: InteratomicPotentialData = self.inputs.potential
        settings = RelaxSettings.from_dict(self.inputs.parameters.get_dict())
        configurations = configurations_of(self.inputs)
        for index, atoms in enumerate(configurations):
            with folder.open(config_filename(index), "w") as handle:
                handle.write(write_data_file(atoms, potential.elements))
        with folder.open(self._INPUT, "w") as handle:
            handle.write(relax_batch_script(settings, potential.lammps_commands(), len(configurations)))

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["-in", self._INPUT, "-log", self._LOG]
        codeinfo.stdout_name = self._STDOUT
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = [(potential.uuid, name, name) for name in potential.filenames]
        calcinfo.retrieve_list = [self._LOG, self._STDOUT]
        calcinfo.retrieve_temporary_list = [relaxed_filename(i) for i in range(len(configurations))]
        return calcinfo
