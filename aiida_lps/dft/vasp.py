"""The VASP engine: builders of aiida-vasp's ``vasp.vasp`` work chain and normalisation of its outputs.

Protocols: ``aiida_lps/protocols/vasp.yaml`` (``moderate`` = Guo et al. 2022: PBE, ENCUT 520 eV, Gaussian 0.05 eV,
EDIFF 1e-5 eV, EDIFFG -0.02 eV/Å with IBRION 2 / ISIF 3 for relaxations, fully automatic k-points R_k = 25 Å).
Overrides (``overrides`` of :meth:`VaspEngine.get_builder`): the keys of ``vasp.yaml``, unknown ones rejected
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

from aiida_lps.common.mappings import recursive_merge
from aiida_lps.dft.base import DftEngine, kpoints_from_spacing
from aiida_lps.dft.core_hole import CoreHoleEngine, MissingSpectrumError, NoCoreLevelError, ScfNotConvergedError
from aiida_lps.engines.vasp.outputs import read_outcar
from aiida_lps.engines.vasp.settings import (
    available_protocols,
    get_protocol_settings,
    kpoint_mesh,
    potcar_mapping,
)
from aiida_lps.protocols import default_inputs

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


def _check_outcar(retrieved: orm.FolderData) -> None:
    """``ValueError`` if the retrieved folder has no OUTCAR (a listing: the file is not read)."""
    if "OUTCAR" not in retrieved.base.repository.list_object_names():
        raise ValueError(f"the retrieved folder {retrieved} has no OUTCAR (is settings['ALWAYS_STORE'] False?)")


@calcfunction
def normalise_vasp_outputs(
    retrieved: orm.FolderData,
    structure: orm.StructureData,
    relaxed_structure: orm.StructureData | None = None,
    misc: orm.Dict | None = None,
) -> dict[str, orm.Data]:
    """Common outputs (energy eV, forces eV/Å, stress eV/Å³ ASE sign, structure, properties) of a VASP run, from
    the one read of its OUTCAR.

    :param retrieved: the run's retrieved folder (its OUTCAR is read).
    :param structure: the input structure (kinds and site order of the forces).
    :param relaxed_structure: aiida-vasp's output structure, if any (otherwise the last OUTCAR geometry of a run
        with ionic steps, or the input structure of a single point).
    :param misc: aiida-vasp's ``misc`` output, for provenance and a cross-check of the energy.
    :returns: the common outputs; only ``properties`` with an ``error`` if the OUTCAR holds no completed ionic step
        (:meth:`VaspEngine.normalise` raises it).
    """
    _check_outcar(retrieved)
    with retrieved.base.repository.as_path("OUTCAR") as path:
        parsed = read_outcar(path)
    if parsed["energy"] is None or parsed["forces"] is None:
        return {"properties": orm.Dict({"error": "the OUTCAR holds no completed ionic step (no energy or forces)"})}
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


class VaspEngine(DftEngine, CoreHoleEngine):
    """VASP through aiida-vasp's ``vasp.vasp`` work chain (restarts and error handlers included)."""

    name = "vasp"
    xch_override_keys = ("kpoint_spacing", "nbands", "unoccupied_factor", "zval")

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
        _check_outcar(outputs.retrieved)
        inputs: dict[str, orm.Data] = {"retrieved": outputs.retrieved, "structure": node.inputs.structure}
        if "structure" in outputs:
            inputs["relaxed_structure"] = outputs.structure
        if "misc" in outputs:
            inputs["misc"] = outputs.misc
        common = normalise_vasp_outputs(**inputs)  # the one read of the OUTCAR
        error = common["properties"].get("error")
        if error:
            raise ValueError(f"{node}: {error}")
        return common

    @classmethod
    def get_available_protocols(cls) -> dict[str, dict]:
        """Protocol names with their descriptions (``fast``, ``moderate`` = Guo et al. 2022, ``precise``)."""
        return available_protocols()

    @classmethod
    def validate_overrides(cls, protocol: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Raise ``ValueError`` for an unknown protocol or override key (as :meth:`get_builder` would)."""
        get_protocol_settings("single_point", protocol, overrides)

    # ------------------------------------------------------------------ core-hole (XCH) capability

    @classmethod
    def check_core_hole(cls, element: str) -> str | None:
        """``None`` if VASP can put a 1s hole on ``element`` (Z ≥ 3; the POTCAR's core is checked when building)."""
        from aiida_lps.science.xas import has_core_1s

        return None if has_core_1s(element) else f"{element} has no 1s core level (Z < 3)"

    @classmethod
    def get_xch_builder(
        cls,
        structure: orm.StructureData,
        absorber_kind: str | None,
        code: orm.AbstractCode,
        protocol: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        ground_state: bool = False,
        core_hole: Mapping[str, orm.Data] | None = None,
    ) -> ProcessBuilder:
        """Builder of ``vasp.vasp`` for a core-hole run of Guo, Carbone et al. 2023 or its ground state.

        INCAR: :data:`~aiida_lps.engines.vasp.xch.GROUND_STATE_INCAR` (LDA via the POTCARs, ENCUT 400 eV, ISMEAR 0,
        SIGMA 0.05 eV, EDIFF 1e-5 eV, ISPIN 2) plus, for the core-hole run, ICORELEVEL 2, CLNT 1 (the absorber is
        site 0 and its own kind, so the first POSCAR species), CLN 1, CLL 0, CLZ 1.0, CH_LSPEC and NBANDS =
        occupied + 3 × occupied from the POTCARs' ZVAL. Γ-centred mesh of spacing 0.25 Å⁻¹ (2π included); GW
        POTCARs (``potential_set: gw``).

        :param overrides: the VASP overrides of :meth:`get_builder` (``incar`` merged over the XCH INCAR,
            ``kpoints_mesh``/``kpoints_length``/``gamma_only`` replace the spacing) plus ``kpoint_spacing`` (Å⁻¹),
            ``nbands``, ``unoccupied_factor`` (3) and ``zval`` (``{kind or element: ZVAL}``, instead of reading
            the POTCARs).
        :raises ValueError: if the absorber is not site 0, or the POTCAR of the absorber has its 1s in the valence.
        """
        from aiida_lps.engines.vasp.xch import (
            GROUND_STATE_INCAR,
            core_hole_incar,
            valence_electrons,
            xch_nbands,
        )

        overrides = dict(overrides or {})
        defaults = default_inputs("xas")["engines"]["vasp"]["xch"]  # the settings of Guo, Carbone et al. 2023
        spacing = float(overrides.pop("kpoint_spacing", defaults["kpoint_spacing"]))
        nbands = overrides.pop("nbands", None)
        factor = float(overrides.pop("unoccupied_factor", 3.0))
        zval_given = overrides.pop("zval", None)
        user_incar = {str(k).lower(): v for k, v in (overrides.pop("incar", None) or {}).items()}
        overrides.setdefault("potential_set", defaults["potential_set"])
        if not any(key in overrides for key in ("kpoints_mesh", "kpoints_length", "gamma_only")):
            mesh, _ = kpoints_from_spacing(structure, spacing).get_kpoints_mesh()
            overrides["kpoints_mesh"] = [int(n) for n in mesh]

        if ground_state:
            incar = dict(GROUND_STATE_INCAR)
        else:
            if structure.sites[0].kind_name != absorber_kind:
                raise ValueError(f"the absorber kind {absorber_kind!r} must be site 0 of the core-hole structure")
            if sum(site.kind_name == absorber_kind for site in structure.sites) != 1:
                raise ValueError(f"exactly one site may have the absorber kind {absorber_kind!r}")
            kinds = {kind.name: kind.symbol for kind in structure.kinds}
            zval = _zvals(kinds, overrides, zval_given)
            element = kinds[absorber_kind]
            if zval.get(absorber_kind) is not None and _atomic_number(element) - zval[absorber_kind] < 2:
                raise NoCoreLevelError(
                    f"the POTCAR of {element} has its 1s level in the valence (ZVAL {zval[absorber_kind]:g}): "
                    "no 1s core hole possible; map the absorber to a POTCAR with a 1s core (e.g. the GW one)"
                )
            if nbands is None:
                n_valence = valence_electrons([site.kind_name for site in structure.sites], zval)
                nbands = xch_nbands(n_valence, factor)
            incar = core_hole_incar(GROUND_STATE_INCAR, nbands=int(nbands))
        for key, value in user_incar.items():
            if value is None:
                incar.pop(key, None)
            else:
                incar[key] = value
        overrides["incar"] = incar
        builder = cls.get_builder("single_point", structure, code, protocol, overrides, options)
        label = "ground state" if ground_state else "core hole"
        builder.metadata.label = f"vasp xch {label}"
        builder.metadata.description = f"aiida-lps VASP XAS {label} run (settings of Guo, Carbone et al. 2023)"
        return builder

    @classmethod
    def normalise_xch(cls, node: orm.ProcessNode, ground_state: bool = False) -> dict[str, orm.Data]:
        """Energy, properties and (core-hole runs) the CH_LSPEC spectrum of the retrieved OUTCAR, parsed once by
        the calcfunction :func:`normalise_vasp_xch`; its ``properties`` decide whether the run can be used."""
        if "retrieved" not in node.outputs:
            raise ScfNotConvergedError(
                f"{node.process_label}<{node.pk}> has no retrieved files (exit {node.exit_status})"
            )
        outputs = _parse_xch(node, ground_state)
        properties = outputs["properties"].get_dict()
        if not properties["has_outcar"]:
            raise ValueError(f"{node.process_label}<{node.pk}>: {properties['error']}")
        if "energy" not in outputs or not properties["converged_electronic"]:
            raise ScfNotConvergedError(f"the SCF of {node.process_label}<{node.pk}> did not converge (OUTCAR)")
        if not ground_state and "spectrum" not in outputs:
            raise MissingSpectrumError(
                f"{node.process_label}<{node.pk}>: no core-level dielectric function in the OUTCAR "
                "(was CH_LSPEC = .TRUE. set?)"
            )
        return outputs

    @classmethod
    def failure_kind(cls, node: orm.ProcessNode) -> str:
        """``scf_not_converged`` if aiida-vasp's run status or the OUTCAR (parsed by :func:`normalise_vasp_xch`)
        says the SCF did not converge, else ``failed``."""
        if "misc" in node.outputs:
            status = node.outputs.misc.get_dict().get("run_status", {})
            if status.get("electronic_converged") is False:
                return "scf_not_converged"
        if "retrieved" in node.outputs:
            properties = _parse_xch(node, ground_state=True)["properties"].get_dict()
            if properties["has_outcar"] and not properties["converged_electronic"]:
                return "scf_not_converged"
        return "failed"


def _parse_xch(node: orm.ProcessNode, ground_state: bool) -> dict[str, orm.Data]:
    """Run :func:`normalise_vasp_xch` on the retrieved OUTCAR of ``node`` (its only read of the file)."""
    return normalise_vasp_xch(
        retrieved=node.outputs.retrieved,
        structure=node.inputs.structure,
        spectrum=orm.Bool(not ground_state),
    )


def _atomic_number(element: str) -> int:
    from ase.data import atomic_numbers

    return atomic_numbers[element]


def _zvals(kinds: Mapping[str, str], settings: Mapping[str, Any], given: Mapping[str, float] | None) -> dict:
    """ZVAL per kind: from ``given`` (kind or element keys), else from the POTCARs of the family."""
    from aiida_lps.engines.vasp.settings import get_protocol_settings
    from aiida_lps.engines.vasp.xch import zval_from_potcar

    if given:
        missing = [n for n, el in kinds.items() if n not in given and el not in given]
        if missing:
            raise ValueError(f"overrides['zval'] has no ZVAL for kinds {missing}")
        return {name: float(given.get(name, given.get(element))) for name, element in kinds.items()}
    resolved = get_protocol_settings("single_point", None, {k: v for k, v in settings.items() if k != "incar"})
    family = resolved["potential_family"]
    mapping = potcar_mapping(kinds, resolved["potential_set"], resolved["potential_mapping"])
    from aiida_vasp.data.potcar import PotcarData

    try:
        potcars = PotcarData.get_potcars_dict(list(kinds), family, mapping)
    except Exception as exception:  # NotExistent and friends
        raise ValueError(
            f"cannot read ZVAL from POTCAR family {family!r} ({exception}); give overrides['nbands'] or ['zval']"
        ) from exception
    return {name: zval_from_potcar(potcar.get_content()) for name, potcar in potcars.items()}


@calcfunction
def normalise_vasp_xch(retrieved: orm.FolderData, structure: orm.StructureData, spectrum: orm.Bool) -> dict:
    """XCH outputs of a VASP run from one read of its OUTCAR.

    Outputs: ``properties`` (always: ``has_outcar``, ``converged_electronic``, ``has_spectrum``, Fermi energy,
    ECORE, ``raw_onset`` = E_F − ECORE (eV), ``reference_energy`` 0, ``n_atoms``, NELECT; ``error`` if there is
    no OUTCAR), ``energy`` (energy(sigma→0), eV; if the OUTCAR has one) and, if ``spectrum`` and the OUTCAR has
    it, the CH_LSPEC ``spectrum`` (``energy`` eV on VASP's raw axis, ``mu`` (n, 3) = ε₂ XX, YY, ZZ,
    ``mu_average``, ``components`` (n, 6) X Y Z XY YZ ZX). Nothing is raised for a failed run: the properties say
    what is missing, so :meth:`VaspEngine.normalise_xch` and :meth:`VaspEngine.failure_kind` read this node.
    """
    from aiida_lps.engines.vasp.xch import read_xch_outcar

    properties: dict[str, Any] = {
        "has_outcar": False,
        "converged_electronic": False,
        "has_spectrum": False,
        "engine": "vasp",
        "n_atoms": len(structure.sites),
        "reference_energy": 0.0,
    }
    if "OUTCAR" not in retrieved.base.repository.list_object_names():
        properties["error"] = f"the retrieved folder {retrieved.uuid} has no OUTCAR"
        return {"properties": orm.Dict(properties)}
    with retrieved.base.repository.as_path("OUTCAR") as path:
        parsed = read_xch_outcar(path, spectrum=spectrum.value)
    properties.update(
        has_outcar=True,
        fermi_energy=parsed["fermi_energy"],
        n_electrons=parsed["nelect"],
        converged_electronic=parsed["converged_electronic"],
        has_spectrum=parsed["has_spectrum"],
        engine_version=parsed["vasp_version"],
        encut=parsed["encut"],
        ispin=parsed["ispin"],
        potcars=parsed["potcars"],
        energy_free=parsed["energy_free"],
        units={"energy": "eV", "fermi_energy": "eV", "raw_onset": "eV", "ecore": "eV"},
    )
    outputs: dict[str, orm.Data] = {}
    if parsed["energy"] is not None:
        outputs["energy"] = orm.Float(parsed["energy"])
    if parsed["has_spectrum"]:
        properties.update(ecore=parsed["ecore"], raw_onset=parsed["raw_onset"])
        array = orm.ArrayData()
        array.set_array("energy", np.asarray(parsed["spectrum_energy"]))
        array.set_array("mu", np.asarray(parsed["mu"]))
        array.set_array("mu_average", np.asarray(parsed["mu"]).mean(axis=1))
        array.set_array("components", np.asarray(parsed["spectrum_components"]))
        array.base.attributes.set_many({"units": {"energy": "eV", "mu": "Im ε (CH_LSPEC)"}, "source": "OUTCAR"})
        outputs["spectrum"] = array
    outputs["properties"] = orm.Dict(properties)
    return outputs
