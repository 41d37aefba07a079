"""The GPAW engine: builders of ``lps.gpaw.base`` and normalisation of its outputs (already in common form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiida import orm
from aiida.engine import ProcessBuilder, calcfunction
from aiida.plugins import WorkflowFactory

from aiida_lps.dft.base import DftEngine, kpoints_from_spacing
from aiida_lps.dft.core_hole import CoreHoleEngine
from aiida_lps.dft.gpaw_setups import add_core_hole_setup, basis_for_structure, setups_for_structure
from aiida_lps.engines.gpaw.settings import gpaw_parameters, is_lcao
from aiida_lps.protocols import ProtocolMixin, default_inputs

__all__ = ("GpawEngine",)


class GpawEngine(ProtocolMixin, DftEngine, CoreHoleEngine):
    """GPAW (PAW, plane waves or LCAO); runs here and on clusters through the ``gpaw`` command.

    Protocols: ``aiida_lps/protocols/gpaw.yaml`` (``get_available_protocols``, ``get_protocol_inputs`` of
    :class:`~aiida_lps.protocols.ProtocolMixin`).
    """

    name = "gpaw"
    _protocol_file = "gpaw"
    _protocol_label = "gpaw"
    xch_override_keys = ("nbands", "energy_range")

    @classmethod
    def get_builder(
        cls,
        task: str,
        structure: orm.StructureData,
        code: orm.AbstractCode,
        protocol: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        setups: Mapping[str, orm.Data] | None = None,
    ) -> ProcessBuilder:
        """Builder of ``lps.gpaw.base`` (:class:`~aiida_lps.workflows.gpaw_base.GpawBaseWorkChain`) for ``task``.

        :param overrides: merged over the protocol of ``aiida_lps/protocols/gpaw.yaml``; unknown keys are rejected
            (``calculator`` is open: any GPAW keyword).
        :param setups: PAW datasets per kind name; kinds not given get the ``gpaw-data`` dataset of their element.
        """
        cls.validate_task(task)
        inputs = cls.get_protocol_inputs(protocol, overrides)
        if "kpts" not in inputs["calculator"] and inputs.get("kpoint_spacing") is not None:
            mesh, _ = kpoints_from_spacing(structure, inputs["kpoint_spacing"]).get_kpoints_mesh()
            inputs["calculator"]["kpts"] = {"size": [int(n) for n in mesh], "gamma": True}
        parameters = gpaw_parameters(task, structure.cell, inputs)
        xc = parameters["calculator"].get("xc", "LDA")
        given = dict(setups or {})
        default_kinds = orm.StructureData(cell=structure.cell)
        for kind in structure.kinds:
            if kind.name not in given:
                default_kinds.append_kind(kind)
        all_setups = {**setups_for_structure(default_kinds, xc), **given} if default_kinds.kinds else given
        builder = WorkflowFactory("lps.gpaw.base").get_builder()
        builder.gpaw.structure = structure
        builder.gpaw.parameters = orm.Dict(parameters)
        builder.gpaw.setups = all_setups
        if is_lcao(parameters["calculator"]):
            builder.gpaw.basis = basis_for_structure(structure)
        builder.gpaw.code = code
        if options:
            builder.gpaw.metadata.options = dict(options)
        return builder

    @classmethod
    def normalise(cls, node: orm.ProcessNode) -> dict[str, orm.Data]:
        """GPAW's outputs already have the common names and units; a single point reports its input structure."""
        outputs = {name: node.outputs[name] for name in ("energy", "forces", "stress", "structure", "properties")
                   if name in node.outputs}  # fmt: skip
        if "structure" not in outputs:
            outputs["structure"] = node.inputs.gpaw.structure
        return outputs

    @classmethod
    def validate_overrides(cls, protocol: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Raise ``ValueError`` for an unknown protocol or override key (as :meth:`get_builder` would)."""
        cls.get_protocol_inputs(protocol, overrides)

    # ------------------------------------------------------------------ core-hole (XCH) capability

    @classmethod
    def check_core_hole(cls, element: str) -> str | None:
        """``None`` if GPAW's generator can make a 1s-hole dataset of ``element`` (it has a frozen 1s core)."""
        from aiida_lps.engines.gpaw.xch import gpaw_has_core_1s
        from aiida_lps.science.xas import has_core_1s

        if not has_core_1s(element):
            return f"{element} has no 1s core level (Z < 3)"
        return gpaw_has_core_1s(element)

    @classmethod
    def prepare_core_hole(
        cls, element: str, protocol: str | None = None, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, orm.Data]:
        """Generate the full 1s-hole dataset of ``element`` for the protocol's functional (calcfunction
        ``generate_core_hole_setup``, so the dataset has provenance) and add it to the family of generated 1s-hole
        datasets (``gpaw-core-hole/gpaw-<version>/1s/<XC>``) if that has none for ``element`` yet; returns
        ``{"setup": JthXmlData}``."""
        from aiida_lps.calcfunctions.xas import generate_core_hole_setup

        rest = {key: value for key, value in (overrides or {}).items() if key not in cls.xch_override_keys}
        xc = cls.get_protocol_inputs(protocol, rest)["calculator"].get("xc", "LDA")
        setup = generate_core_hole_setup(
            element=orm.Str(element), xc=orm.Str(xc), metadata={"call_link_label": "core_hole_setup"}
        )
        add_core_hole_setup(setup, xc)
        return {"setup": setup}

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
        """Builder of ``lps.gpaw.base`` for an XCH run (1s-hole dataset on site 0, ``charge = -1``, spin polarised,
        magnetic moment 1 on the absorber, converged empty bands up to ``energy_range``, ``xas.npz`` written) or for the
        ground state (``ground_state=True``: the plain single point of the protocol).

        :param overrides: GPAW protocol overrides plus ``nbands`` (``"auto"`` or GPAW's syntax, e.g. ``"400%"`` or
            120; default: that of ``protocols/xas.yaml``, ``"auto"``) and ``energy_range`` (eV above the onset that the
            converged empty bands must reach, default: that of ``protocols/xas.yaml``). With
            ``"auto"`` the band count comes from the free-electron density of the cell's valence electrons (read from
            the PAW datasets) up to that energy, and GPAW converges those bands (``convergence["bands"]``), with 20 %
            more computed (:func:`~aiida_lps.engines.gpaw.xch.xch_band_counts`).
        """
        from aiida_lps.engines.gpaw.xch import paw_valence, xch_band_counts, xch_parameters

        overrides = dict(overrides or {})
        xch_defaults = default_inputs("xas")["engines"]["gpaw"]["xch"]
        nbands = overrides.pop("nbands", xch_defaults["nbands"])
        energy_range = float(overrides.pop("energy_range", xch_defaults["energy_range"]))
        if ground_state:
            return cls.get_builder("single_point", structure, code, protocol, overrides, options)
        if structure.sites[0].kind_name != absorber_kind:
            raise ValueError(f"the absorber kind {absorber_kind!r} must be site 0 of the core-hole structure")
        if core_hole is None or "setup" not in core_hole:
            raise ValueError("a GPAW core-hole run needs the 1s-hole dataset: core_hole={'setup': JthXmlData}")
        builder = cls.get_builder(
            "single_point", structure, code, protocol, overrides, options, setups={absorber_kind: core_hole["setup"]}
        )
        converge = None
        if nbands == "auto":
            valence = {kind: paw_valence(node.get_content(mode="rb")) for kind, node in builder.gpaw.setups.items()}
            n_valence = sum(valence[site.kind_name] for site in structure.sites)
            nbands, converge = xch_band_counts(structure.get_cell_volume(), n_valence, energy_range)
        parameters = xch_parameters(
            builder.gpaw.parameters.get_dict(), 0, len(structure.sites), nbands, converge_bands=converge
        )
        builder.gpaw.parameters = orm.Dict(parameters)
        builder.metadata.label = "gpaw xch"
        return builder

    @classmethod
    def normalise_xch(cls, node: orm.ProcessNode, ground_state: bool = False) -> dict[str, orm.Data]:
        """Energy, properties and (core-hole runs) the raw spectrum from ``xas.npz``, by ``normalise_gpaw_xch``."""
        from aiida_lps.dft.core_hole import MissingSpectrumError, ScfNotConvergedError

        outputs = node.outputs
        if "energy" not in outputs or "properties" not in outputs:
            raise ScfNotConvergedError(f"{node.process_label}<{node.pk}> has no energy (exit {node.exit_status})")
        if not outputs.properties.get("converged_electronic", False):
            raise ScfNotConvergedError(f"the SCF of {node.process_label}<{node.pk}> did not converge")
        inputs = {"energy": outputs.energy, "properties": outputs.properties, "structure": node.inputs.gpaw.structure}
        if not ground_state:
            if "xas" not in outputs:
                raise MissingSpectrumError(f"{node.process_label}<{node.pk}> wrote no xas.npz spectrum")
            inputs["xas"] = outputs.xas
        return normalise_gpaw_xch(**inputs)

    @classmethod
    def failure_kind(cls, node: orm.ProcessNode) -> str:
        """``scf_not_converged`` when the SCF is why ``node`` failed, else ``failed``.

        ``node`` is an ``lps.gpaw.base`` work chain or an ``lps.gpaw`` calculation. When the work chain stopped
        with a code of :class:`~aiida.engine.BaseRestartWorkChain` (401 maximum iterations, 402 unhandled failure),
        the cause is read from its last calculation.
        """
        from aiida.engine import BaseRestartWorkChain

        from aiida_lps.calculations.gpaw import GpawCalculation

        base = BaseRestartWorkChain.exit_codes
        if isinstance(node, orm.WorkflowNode) and node.exit_status in (
            base.ERROR_MAXIMUM_ITERATIONS_EXCEEDED.status,
            base.ERROR_UNHANDLED_FAILURE.status,
        ):
            calculations = [child for child in node.called if isinstance(child, orm.CalcJobNode)]
            if calculations:
                last = max(calculations, key=lambda child: child.ctime)
                return cls.failure_kind(last)
            return "failed"
        scf = (
            GpawCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED
            if isinstance(node, orm.CalcJobNode)
            else WorkflowFactory("lps.gpaw.base").exit_codes.ERROR_SCF_NOT_CONVERGED
        )
        return "scf_not_converged" if node.exit_status == scf.status else "failed"


@calcfunction
def normalise_gpaw_xch(
    energy: orm.Float, properties: orm.Dict, structure: orm.StructureData, xas: orm.SinglefileData | None = None
) -> dict[str, orm.Data]:
    """XCH outputs of a GPAW run: ``energy`` (eV), ``properties`` (+ ``raw_onset`` eV, ``n_atoms``,
    ``reference_energy`` eV) and, from the ``xas.npz`` of a core-hole run, ``spectrum`` (raw axis: GPAW's
    eigenvalues, eV; sticks kept as ``stick_energy``/``stick_mu``)."""
    from aiida_lps.engines.gpaw.xch import RAW_WIDTH, raw_spectrum, read_xas_npz, sticks

    props = properties.get_dict()
    props.setdefault("reference_energy", 0.0)
    props["n_atoms"] = len(structure.sites)
    outputs: dict[str, orm.Data] = {"energy": orm.Float(energy.value)}
    if xas is not None:
        with xas.open(mode="rb") as handle:
            eps_kn, sigma_cmkn = read_xas_npz(handle.read())
        stick_energy, stick_mu = sticks(eps_kn, sigma_cmkn)
        grid, mu = raw_spectrum(stick_energy, stick_mu)
        spectrum = orm.ArrayData()
        spectrum.set_array("energy", grid)
        spectrum.set_array("mu", mu)
        spectrum.set_array("mu_average", mu.mean(axis=1))
        spectrum.set_array("stick_energy", stick_energy)
        spectrum.set_array("stick_mu", stick_mu)
        spectrum.base.attributes.set_many(
            {"units": {"energy": "eV", "mu": "|<1s|r_c|f>|^2 per eV (arbitrary)"}, "raw_width_eV": RAW_WIDTH}
        )
        outputs["spectrum"] = spectrum
        props["raw_onset"] = float(stick_energy.min())
        props["spectrum_top_above_onset"] = float(stick_energy.max() - stick_energy.min())  # eV reached by the bands
    outputs["properties"] = orm.Dict(props)
    return outputs
