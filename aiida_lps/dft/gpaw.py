"""The GPAW engine: builders of ``lps.gpaw.base`` and normalisation of its outputs (already in common form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiida import orm
from aiida.engine import ProcessBuilder

from aiida_lps.dft.base import DftEngine, register_engine
from aiida_lps.dft.gpaw_setups import setups_for_structure
from aiida_lps.dft.protocol_file import available_protocols, protocol_inputs
from aiida_lps.engines.gpaw.settings import gpaw_parameters

__all__ = ("GpawEngine",)


@register_engine
class GpawEngine(DftEngine):
    """GPAW (PAW, plane waves or LCAO); runs here and on clusters through the ``gpaw`` command."""

    name = "gpaw"

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
        """Builder of :class:`~aiida_lps.workflows.gpaw_base.GpawBaseWorkChain` for ``task``.

        :param setups: PAW datasets per kind name; kinds not given get the ``gpaw-data`` dataset of their element.
        """
        from aiida_lps.workflows.gpaw_base import GpawBaseWorkChain

        cls.validate_task(task)
        inputs = protocol_inputs(cls.name, protocol, overrides)
        parameters = gpaw_parameters(task, structure.cell, inputs)
        xc = parameters["calculator"].get("xc", "LDA")
        given = dict(setups or {})
        default_kinds = orm.StructureData(cell=structure.cell)
        for kind in structure.kinds:
            if kind.name not in given:
                default_kinds.append_kind(kind)
        all_setups = {**setups_for_structure(default_kinds, xc), **given} if default_kinds.kinds else given
        builder = GpawBaseWorkChain.get_builder()
        builder.gpaw.structure = structure
        builder.gpaw.parameters = orm.Dict(parameters)
        builder.gpaw.setups = all_setups
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
    def get_available_protocols(cls) -> dict[str, dict]:
        """Protocol names with descriptions."""
        return available_protocols(cls.name)
