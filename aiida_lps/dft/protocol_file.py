"""Loading of engine protocol files (``aiida_lps/dft/protocols/<engine>.yaml``)."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import yaml

from aiida_lps.workflows.protocols import recursive_merge

__all__ = ("available_protocols", "protocol_inputs")

_FOLDER = pathlib.Path(__file__).parent / "protocols"


def _load(engine: str) -> dict:
    with (_FOLDER / f"{engine}.yaml").open() as handle:
        return yaml.safe_load(handle)


def available_protocols(engine: str) -> dict[str, dict]:
    """Protocol names of an engine with their descriptions."""
    return {name: {"description": body.get("description", "")} for name, body in _load(engine)["protocols"].items()}


def protocol_inputs(engine: str, protocol: str | None = None, overrides: Mapping | None = None) -> dict:
    """Default inputs merged with the named protocol (engine default when ``None``) and ``overrides``."""
    data = _load(engine)
    protocol = protocol or data["default_protocol"]
    if protocol not in data["protocols"]:
        raise ValueError(f"unknown {engine} protocol {protocol!r}; available: {sorted(data['protocols'])}")
    chosen = {k: v for k, v in data["protocols"][protocol].items() if k != "description"}
    return recursive_merge(recursive_merge(data["default_inputs"], chosen), overrides or {})
