"""The VASP engine: builders of aiida-vasp's ``vasp.vasp`` work chain and normalisation of its outputs.

Protocols: ``aiida_lps/dft/protocols/vasp.yaml`` (``moderate`` = seed 001: PBE, ENCUT 520 eV, Gaussian 0.05 eV,
EDIFF 1e-5 eV, EDIFFG -0.02 eV/Å with IBRION 2 / ISIF 3 for relaxations, fully automatic k-points R_k = 25 Å).
Overrides (``overrides`` of :meth:`VaspEngine.get_builder`): see :data:`aiida_lps.engines.vasp.settings.OVERRIDE_KEYS`
(``incar``, ``kpoints_length``, ``kpoints_mesh``, ``gamma_only``, ``potential_family``, ``potential_set``,
``potential_mapping``, ``options``, ``settings``, ``max_iterations``, ``clean_workdir``).

The common outputs are read from the retrieved OUTCAR with :func:`aiida_lps.engines.vasp.outputs.read_outcar` (so
they do not depend on ``vasprun.xml``), inside the calcfunction :func:`normalise_vasp_outputs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from aiida import orm
from aiida.engine import ProcessBuilder, calcfunction
from aiida.plugins import WorkflowFactory

from aiida_lps.dft.base import DftEngine, register_engine
from aiida_lps.engines.vasp.outputs import read_outcar
from aiida_lps.engines.vasp.settings import (
    available_protocols,
    get_protocol_settings,
    kpoint_mesh,
    potcar_mapping,
)
from aiida_lps.workflows.protocols import recursive_merge

__all__ = ("VaspEngine", "normalise_vasp_outputs", "task_of_run")


def task_of_run(nsw: int | None, ibrion: int | None) -> str:
    """Task of a VASP run from its NSW and IBRION: ``single_point``, ``relax``, ``md`` or ``other``."""
    if not nsw or ibrion == -1:
        return "single_point"
    if ibrion in (1, 2, 3):
        return "relax"
    if ibrion == 0:
        return "md"
    return "other"


def _read_retrieved_outcar(retrieved: orm.FolderData) -> dict[str, Any]:
    if "OUTCAR" not in retrieved.base.repository.list_object_names():
        raise ValueError(f"the retrieved folder {retrieved} has no OUTCAR (is settings['ALWAYS_STORE'] False?)")
    with retrieved.base.repository.open("OUTCAR", "r") as handle:
        return read_outcar(handle)


@calcfunction
def normalise_vasp_outputs(
    retrieved: orm.FolderData,
    structure: orm.StructureData,
    relaxed_structure: orm.StructureData | None = None,
    misc: orm.Dict | None = None,
) -> dict[str, orm.Data]:
    """Common outputs (energy eV, forces eV/Å, stress eV/Å³ ASE sign, structure, properties) of a VASP run.

    :param retrieved: the run's retrieved folder (its OUTCAR is read).
    :param structure: the input structure (kinds and site order of the forces).
    :param relaxed_structure: aiida-vasp's output structure, if any (otherwise the last OUTCAR geometry of a run
        with ionic steps, or the input structure of a single point).
    :param misc: aiida-vasp's ``misc`` output, for provenance and a cross-check of the energy.
    """
    parsed = _read_retrieved_outcar(retrieved)
    n_sites = len(structure.sites)
    forces = np.asarray(parsed["forces"], dtype=float)
    if forces.shape != (n_sites, 3):
        raise ValueError(f"OUTCAR forces have shape {forces.shape}, expected ({n_sites}, 3)")
    task = task_of_run(parsed["nsw"], parsed["ibrion"])

    if relaxed_structure is not None:
        final = relaxed_structure.clone()
    else:
        final = structure.clone()
        if parsed["n_ionic_steps"] > 1 or task in ("relax", "md"):
            final.reset_cell(np.asarray(parsed["cell"]).tolist())
            final.reset_sites_positions(np.asarray(parsed["positions"]).tolist())

    outputs: dict[str, orm.Data] = {
        "energy": orm.Float(parsed["energy"]),
        "forces": orm.ArrayData({"forces": forces}),
        "structure": final,
    }
    if parsed["stress"] is not None:
        outputs["stress"] = orm.ArrayData({"stress": np.asarray(parsed["stress"], dtype=float)})

    properties: dict[str, Any] = {
        "fermi_energy": parsed["fermi_energy"],
        "converged_electronic": parsed["converged_electronic"],
        "converged_ionic": parsed["converged_ionic"],
        "n_electrons": parsed["nelect"],
        "engine": "vasp",
        "engine_version": parsed["vasp_version"],
        "task": task,
        "energy_free": parsed["energy_free"],
        "energy_without_entropy": parsed["energy_without_entropy"],
        "n_ionic_steps": parsed["n_ionic_steps"],
        "n_electronic_steps_last": parsed["n_electronic_steps"],
        "finished": parsed["finished"],
        "encut": parsed["encut"],
        "ispin": parsed["ispin"],
        "kpoint_mesh": parsed["kpoint_mesh"],
        "n_kpoints": parsed["nkpts"],
        "potcars": parsed["potcars"],
        "source": "OUTCAR",
        "units": {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3", "fermi_energy": "eV"},
    }
    if misc is not None:
        extrapolated = misc.get_dict().get("total_energies", {}).get("energy_extrapolated")
        if extrapolated is not None:
            properties["energy_vasprun"] = extrapolated
    outputs["properties"] = orm.Dict(properties)
    return outputs


@register_engine
class VaspEngine(DftEngine):
    """VASP through aiida-vasp's ``vasp.vasp`` work chain (restarts and error handlers included)."""

    name = "vasp"

    @classmethod
    def get_builder(
        cls,
        task: str,
        structure: orm.StructureData,
        code: orm.AbstractCode,
        protocol: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ProcessBuilder:
        """Builder of ``vasp.vasp`` (VaspWorkChain) for ``task`` on ``structure``.

        The k-point mesh is Γ-centred: from R_k (``kpoints_length``, Å) with VASP's fully automatic rule, an explicit
        ``kpoints_mesh``, or Γ only (``gamma_only``). POTCARs: ``potential_family`` (an aiida-vasp POTCAR group) with
        the symbol of each kind's element from ``potential_set`` (``pbe``: Li_sv, P, S; ``gw``: Li_GW, P_GW, S_GW)
        unless ``potential_mapping`` names another (by kind name or element).

        :raises ValueError: for an unknown task, protocol, override key, or an element without a POTCAR mapping.
        """
        cls.validate_task(task)
        settings = get_protocol_settings(task, protocol, overrides)
        kinds = {}
        for kind in structure.kinds:
            if kind.is_alloy or kind.has_vacancies:
                raise ValueError(f"kind {kind.name!r} is an alloy or has vacancies: VASP needs one element per kind")
            kinds[kind.name] = kind.symbol
        mapping = potcar_mapping(kinds, settings["potential_set"], settings["potential_mapping"])
        if not settings["potential_family"]:
            raise ValueError("no POTCAR family: set overrides['potential_family'] (an aiida-vasp POTCAR group label)")

        kpoints = orm.KpointsData()
        kpoints.set_cell_from_structure(structure)
        kpoints.set_kpoints_mesh(list(kpoint_mesh(structure.cell, settings)), offset=[0.0, 0.0, 0.0])

        builder = WorkflowFactory("vasp.vasp").get_builder()
        builder.code = code
        builder.structure = structure
        builder.parameters = orm.Dict({"incar": settings["incar"]})
        builder.kpoints = kpoints
        builder.potential_family = orm.Str(settings["potential_family"])
        builder.potential_mapping = orm.Dict(mapping)
        builder.calc.metadata.options = recursive_merge(settings["options"], dict(options or {}))
        if settings["settings"]:
            builder.settings = orm.Dict(settings["settings"])
        if "max_iterations" in settings:
            builder.max_iterations = orm.Int(settings["max_iterations"])
        if "clean_workdir" in settings:
            builder.clean_workdir = orm.Bool(settings["clean_workdir"])
        builder.metadata.label = f"vasp {task}"
        builder.metadata.description = f"aiida-lps VASP {task}, protocol {settings['protocol']}"
        return builder

    @classmethod
    def normalise(cls, node: orm.ProcessNode) -> dict[str, orm.Data]:
        """Common outputs of a finished ``vasp.vasp`` work chain or calculation, made by :func:`normalise_vasp_outputs`.

        :raises ValueError: if the process has no retrieved OUTCAR or the OUTCAR holds no completed ionic step.
        """
        outputs = node.outputs
        if "retrieved" not in outputs:
            raise ValueError(f"{node} has no `retrieved` output: did it finish? (exit status {node.exit_status})")
        parsed = _read_retrieved_outcar(outputs.retrieved)
        if parsed["energy"] is None or parsed["forces"] is None:
            raise ValueError(f"the OUTCAR of {node} holds no completed ionic step (no energy or forces)")
        inputs: dict[str, orm.Data] = {"retrieved": outputs.retrieved, "structure": node.inputs.structure}
        if "structure" in outputs:
            inputs["relaxed_structure"] = outputs.structure
        if "misc" in outputs:
            inputs["misc"] = outputs.misc
        return normalise_vasp_outputs(**inputs)

    @classmethod
    def get_available_protocols(cls) -> dict[str, dict]:
        """Protocol names with their descriptions (``fast``, ``moderate`` = seed 001, ``precise``)."""
        return available_protocols()
