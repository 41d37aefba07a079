"""``lps.gpaw``: a GPAW single point or relaxation through the stand-alone runner script."""

from __future__ import annotations

import io
import json
import pathlib
import re

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob
from aiida_pseudo.data.pseudo import JthXmlData

from aiida_lps.engines.gpaw import runner
from aiida_lps.engines.gpaw.settings import LCAO_BASIS, TASKS

__all__ = ("GpawCalculation", "setup_xc")

_XC = re.compile(rb"<xc_functional[^>]*name=\"([^\"]+)\"")


#: Names in the ``xc_functional`` tag of PAW-XML files that GPAW's ``xc`` keyword calls otherwise
#: (GPAW's LDA datasets are tagged with the Perdew-Wang 92 correlation, ``PW``).
_XC_ALIASES = {"PW": "LDA"}


def setup_xc(setup: JthXmlData) -> str:
    """The functional a PAW dataset was generated for, by GPAW's name (from the ``xc_functional`` tag)."""
    match = _XC.search(setup.get_content(mode="rb")[:4096])
    name = match.group(1).decode() if match else ""
    return _XC_ALIASES.get(name, name)


def _setup_filename(kind_name: str, element: str, xc: str) -> str:
    """GPAW's dataset file name: ``S.PBE`` for the default dataset, ``S.<name>.PBE`` for a named one."""
    return f"{element}.{xc}" if kind_name == element else f"{element}.{kind_name}.{xc}"


def _validate_inputs(inputs, _) -> str | None:
    parameters = inputs["parameters"].get_dict()
    if parameters.get("task") not in TASKS:
        return f"parameters.task must be one of {TASKS}, got {parameters.get('task')!r}"
    xc = parameters.get("calculator", {}).get("xc", "LDA")
    structure = inputs["structure"]
    setups = inputs.get("setups", {})
    mode = parameters.get("calculator", {}).get("mode", {})
    if (mode.get("name") if isinstance(mode, dict) else mode) == "lcao":
        missing = sorted(structure.get_symbols_set() - set(inputs.get("basis", {})))
        if missing:
            return f"LCAO mode needs a basis set for {missing}: give basis.<element>"
    for kind in structure.kinds:
        if kind.name not in setups:
            return f"no PAW dataset for kind {kind.name!r}: give setups.{kind.name}"
        setup = setups[kind.name]
        if setup.element != kind.symbol:
            return f"PAW dataset for kind {kind.name!r} is for {setup.element}, not {kind.symbol}"
        if setup_xc(setup) != xc:
            return f"PAW dataset for {kind.name!r} was generated for {setup_xc(setup)!r}, the calculation uses {xc!r}"
    return None


class GpawCalculation(CalcJob):
    """Run GPAW on a structure with PAW datasets given as nodes (so provenance records which were used).

    The code is GPAW's ``gpaw`` command (``gpaw python run_gpaw.py``); on MPI builds the scheduler's MPI launcher
    runs it in parallel. Kinds named like their element use the default dataset, other kinds (e.g. ``S_ch`` for a
    core-hole absorber) use the dataset given for that kind name.
    """

    _RUNNER = "run_gpaw.py"

    @classmethod
    def define(cls, spec):
        """Define inputs, outputs and exit codes."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Structure.")
        spec.input("parameters", valid_type=orm.Dict, help="Runner parameters (see aiida_lps.engines.gpaw.runner).")
        spec.input_namespace("setups", valid_type=JthXmlData, dynamic=True, help="PAW dataset per kind name.")
        spec.input_namespace(
            "basis", valid_type=orm.SinglefileData, dynamic=True, required=False,
            help="LCAO basis set per element (`<El>.dzp.basis` files of gpaw-data); needed for mode lcao.",
        )  # fmt: skip
        spec.inputs.validator = _validate_inputs
        options = spec.inputs["metadata"]["options"]
        options["parser_name"].default = "lps.gpaw"
        options["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        options["withmpi"].default = False

        spec.output("energy", valid_type=orm.Float, required=False, help="Total energy (eV, zero-width extrapolated).")
        spec.output("forces", valid_type=orm.ArrayData, required=False, help="Forces (eV/Å), array `forces`.")
        spec.output("stress", valid_type=orm.ArrayData, required=False, help="Stress (eV/Å³, ASE sign), `stress`.")
        spec.output(
            "structure", valid_type=orm.StructureData, required=False,
            help="Relaxed structure (the last one reached when the run was interrupted).",
        )  # fmt: skip
        spec.output("properties", valid_type=orm.Dict, required=False, help="Fermi level, convergence, versions.")
        spec.output("xas", valid_type=orm.SinglefileData, required=False, help="gpaw.xas spectrum file (npz).")
        spec.default_output_node = "properties"

        # Exit-code ranges (docs/dft.md): 3xx a restart cannot help, 35x the run was interrupted (a restart
        # continues it), 4xx electronic and 5xx ionic convergence (a restart with other settings can help).
        # aiida-core's scheduler codes (100-199, e.g. 120 out of walltime) keep their meaning. Crashes and
        # interruptions (3xx) invalidate the cache: with caching on, a crashed run is never reused; the convergence
        # failures (4xx/5xx) follow from the inputs and stay cacheable (the restart work chain changes the inputs).
        spec.exit_code(
            301, "ERROR_EXECUTABLE_NOT_FOUND", message="GPAW could not be started: {detail}", invalidates_cache=True
        )
        spec.exit_code(
            302, "ERROR_OUTPUT_MISSING", message="GPAW wrote no results file and never started the run.",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(
            303,
            "ERROR_OUTPUT_MALFORMED",
            message="The GPAW results file is malformed: {detail}",
            invalidates_cache=True,
        )
        spec.exit_code(320, "ERROR_GPAW", message="GPAW stopped with {detail}", invalidates_cache=True)
        spec.exit_code(
            350, "ERROR_INCOMPLETE_RUN",
            message="The run stopped before its final record (killed?) after {steps} relaxation steps.",
            invalidates_cache=True,
        )  # fmt: skip
        spec.exit_code(410, "ERROR_SCF_NOT_CONVERGED", message="The SCF did not converge: {detail}")
        spec.exit_code(500, "ERROR_RELAX_NOT_CONVERGED", message="The relaxation did not converge in {steps} steps.")

    def prepare_for_submission(self, folder):
        """Write the structure, parameters, datasets and runner."""
        import ase.io

        structure: orm.StructureData = self.inputs.structure
        parameters = self.inputs.parameters.get_dict()
        xc = parameters.get("calculator", {}).get("xc", "LDA")
        atoms = structure.get_ase()
        setup_kinds = {}
        for index, site in enumerate(structure.sites):
            kind = structure.get_kind(site.kind_name)
            if kind.name != kind.symbol:
                setup_kinds[str(index)] = kind.name
        parameters["setup_kinds"] = setup_kinds
        with folder.open("structure.json", "w") as handle:
            ase.io.write(handle, atoms, format="json")
        with folder.open("parameters.json", "w") as handle:
            json.dump(parameters, handle, indent=1)
        folder.get_subfolder("setups", create=True)
        for kind in structure.kinds:
            content = self.inputs.setups[kind.name].get_content(mode="rb")
            folder.create_file_from_filelike(
                io.BytesIO(content), f"setups/{_setup_filename(kind.name, kind.symbol, xc)}", mode="wb"
            )
        for element, basis in self.inputs.get("basis", {}).items():
            folder.create_file_from_filelike(
                io.BytesIO(basis.get_content(mode="rb")), f"setups/{element}.{LCAO_BASIS}.basis", mode="wb"
            )
        folder.create_file_from_filelike(
            io.BytesIO(pathlib.Path(runner.__file__).read_bytes()), self._RUNNER, mode="wb"
        )

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["python", self._RUNNER]
        codeinfo.stdout_name = "gpaw.out"

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [runner.RESULTS, runner.PROGRESS, runner.LOG, "relax.log", "gpaw.out", "xas.npz"]
        return calcinfo
