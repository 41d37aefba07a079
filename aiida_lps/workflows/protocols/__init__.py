"""Protocol support: named default inputs (``fast``, ``moderate``, ``precise``) stored as YAML next to this file."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import yaml

from aiida_lps.common.mappings import recursive_merge

__all__ = ("ProtocolMixin", "recursive_merge")


class ProtocolMixin:
    """Mixin giving a process class ``get_protocol_inputs`` from ``protocols/<_protocol_file>.yaml``."""

    _protocol_file: str

    @classmethod
    def _load_protocol_file(cls) -> dict:
        path = pathlib.Path(__file__).parent / f"{cls._protocol_file}.yaml"
        with path.open() as handle:
            return yaml.safe_load(handle)

    @classmethod
    def get_default_protocol(cls) -> str:
        """Name of the default protocol."""
        return cls._load_protocol_file()["default_protocol"]

    @classmethod
    def get_available_protocols(cls) -> dict[str, dict]:
        """Protocol names with their descriptions."""
        protocols = cls._load_protocol_file()["protocols"]
        return {name: {"description": body["description"]} for name, body in protocols.items()}

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: Mapping | None = None) -> dict:
        """Return the protocol's inputs (defaults merged with the named protocol), with ``overrides`` on top."""
        data = cls._load_protocol_file()
        protocol = protocol or data["default_protocol"]
        if protocol not in data["protocols"]:
            raise ValueError(f"unknown protocol {protocol!r}; available: {sorted(data['protocols'])}")
        chosen = {k: v for k, v in data["protocols"][protocol].items() if k != "description"}
        inputs = recursive_merge(data["default_inputs"], chosen)
        return recursive_merge(inputs, overrides or {})
