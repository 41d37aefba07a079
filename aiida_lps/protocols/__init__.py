"""Protocols: named sets of default inputs stored as YAML in this folder, one loader for every layer (no AiiDA import).

A protocol file ``<name>.yaml`` has the keys

``default_protocol``
    name of the protocol used when none is given.
``default_inputs``
    the inputs every protocol starts from (the single place where a default value is written).
``protocols``
    ``{name: {description: ..., <inputs merged over default_inputs>}}``.
``optional_inputs`` (optional)
    keys that overrides may set although no protocol does (e.g. ``supercell_min_width``); a ``null`` leaf accepts
    any value, a mapping declares the keys accepted below it.
``open_keys`` (optional)
    dotted paths of *open* sub-mappings whose keys are free-form and not checked here (engine calculator keywords,
    INCAR tags, scheduler options, ...; ``*`` matches any key at its level, e.g. ``engines.*.xch``). The consumer of
    such a mapping validates it.
``extends`` (optional)
    name of another protocol file whose ``default_inputs``, ``optional_inputs``, ``open_keys`` and same-named
    protocols this file's are merged over (``lps.diffusion`` extends the MD protocols of ``lps.lammps.md``).

Overrides are merged key by key over the chosen protocol (:func:`recursive_merge`; lists and scalars are
replaced). An override key that is neither in ``default_inputs``, any protocol, nor ``optional_inputs`` is rejected
with a ``ValueError`` naming it, its level and the keys known there. ``None`` is never an override value outside an
open sub-mapping (it would silently drop the protocol's value or section): leave the key out to keep the
protocol's value. Inside an open sub-mapping ``None`` is passed on and its consumer defines its meaning (the VASP
``incar`` override removes a tag set to ``None``).
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from aiida_lps.common.mappings import recursive_merge

__all__ = (
    "PROTOCOL_FOLDER",
    "ProtocolMixin",
    "available_protocols",
    "check_overrides",
    "default_inputs",
    "default_protocol",
    "load_protocol_file",
    "protocol_inputs",
    "protocol_schema",
    "recursive_merge",
)

PROTOCOL_FOLDER = pathlib.Path(__file__).resolve().parent
_FILE_KEYS = {"default_protocol", "default_inputs", "protocols", "optional_inputs", "open_keys", "extends"}


@functools.cache
def _read(name: str) -> dict:
    path = PROTOCOL_FOLDER / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROTOCOL_FOLDER.glob("*.yaml"))
        raise ValueError(f"no protocol file {name!r}; known: {known}")
    with path.open() as handle:
        data = yaml.safe_load(handle)
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"protocol file {path.name}: unknown top-level key(s) {unknown}; known: {sorted(_FILE_KEYS)}")
    base_name = data.get("extends")
    if base_name:
        base = _read(base_name)
        protocols = {}
        for key, body in data.get("protocols", {}).items():
            protocols[key] = recursive_merge(
                {k: v for k, v in base["protocols"].get(key, {}).items() if k != "description"}, body
            )
        data = {
            "default_protocol": data.get("default_protocol", base["default_protocol"]),
            "default_inputs": recursive_merge(base["default_inputs"], data.get("default_inputs") or {}),
            "protocols": protocols,
            "optional_inputs": recursive_merge(base["optional_inputs"], data.get("optional_inputs") or {}),
            "open_keys": [*base["open_keys"], *data.get("open_keys", [])],
        }
    data.setdefault("default_inputs", {})
    data.setdefault("optional_inputs", {})
    data.setdefault("open_keys", [])
    if data["default_protocol"] not in data["protocols"]:
        raise ValueError(f"protocol file {name!r}: default_protocol {data['default_protocol']!r} is not a protocol")
    return data


def load_protocol_file(name: str) -> dict:
    """Return the content of ``<name>.yaml`` (a deep copy; ``extends`` resolved, optional keys filled in)."""
    return copy.deepcopy(_read(name))


def default_protocol(name: str) -> str:
    """Name of the default protocol of ``<name>.yaml``."""
    return _read(name)["default_protocol"]


def available_protocols(name: str) -> dict[str, dict]:
    """Protocol names of ``<name>.yaml`` with their descriptions."""
    return {key: {"description": body.get("description", "")} for key, body in _read(name)["protocols"].items()}


def default_inputs(name: str) -> dict:
    """The ``default_inputs`` of ``<name>.yaml`` (what holds when no protocol changes it; a copy)."""
    return copy.deepcopy(_read(name)["default_inputs"])


def _schema(data: Mapping) -> dict:
    """Union of the keys of ``default_inputs``, every protocol and ``optional_inputs``, as one nested mapping."""
    schema: dict = {}
    bodies = [data["default_inputs"], *data["protocols"].values(), data["optional_inputs"]]
    for body in bodies:
        schema = _union(schema, {k: v for k, v in body.items() if k != "description"} if body is not None else {})
    return schema


def _union(a: Mapping, b: Mapping) -> dict:
    merged = dict(a)
    for key, value in b.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _union(merged[key], value)
        elif isinstance(value, Mapping) or key not in merged:
            merged[key] = value
    return merged


def _is_open(path: Sequence[str], open_keys: Sequence[str]) -> bool:
    dotted = ".".join(path)
    return any(fnmatch.fnmatchcase(dotted, pattern) for pattern in open_keys)


def check_overrides(
    overrides: Mapping[str, Any],
    schema: Mapping[str, Any],
    open_keys: Sequence[str] = (),
    label: str = "protocol",
    _path: tuple[str, ...] = (),
) -> None:
    """Raise ``ValueError`` for an override key not in ``schema`` or a ``None`` value (outside open sub-mappings).

    :param schema: nested mapping of the accepted keys (a non-mapping value accepts anything below it).
    :param open_keys: dotted paths (``*`` wildcards) of sub-mappings whose keys are free-form.
    :param label: what the overrides are for, used in the messages (e.g. ``lps.diffusion``).
    """
    if not isinstance(overrides, Mapping):
        where = ".".join(_path) or "overrides"
        raise ValueError(f"{label} overrides: `{where}` must be a mapping, got {overrides!r}")
    level = ".".join(_path) or "the top level"
    unknown = sorted(str(key) for key in overrides if key not in schema)
    if unknown:
        raise ValueError(
            f"unknown {label} override key(s) {unknown} at {level}; known there: {sorted(map(str, schema))}"
        )
    for key, value in overrides.items():
        path = (*_path, str(key))
        if value is None:
            raise ValueError(
                f"{label} override `{'.'.join(path)}` is None: None is not a value here (it would drop the "
                "protocol's value); leave the key out to keep the protocol's value"
            )
        known = schema[key]
        if isinstance(known, Mapping) and not _is_open(path, open_keys):
            check_overrides(value, known, open_keys, label, path)


def protocol_inputs(
    name: str, protocol: str | None = None, overrides: Mapping[str, Any] | None = None, label: str | None = None
) -> dict:
    """Inputs of ``protocol`` of ``<name>.yaml`` (default protocol when ``None``) with ``overrides`` merged on top.

    :param label: how messages name the protocol file's owner (default ``name``).
    :raises ValueError: for an unknown protocol or override key, or a ``None`` override (see the module docstring).
    """
    data = _read(name)
    label = label or name
    protocol = protocol or data["default_protocol"]
    if protocol not in data["protocols"]:
        raise ValueError(f"unknown {label} protocol {protocol!r}; available: {sorted(data['protocols'])}")
    overrides = dict(overrides or {})
    check_overrides(overrides, _schema(data), data["open_keys"], label)
    chosen = {key: value for key, value in data["protocols"][protocol].items() if key != "description"}
    return copy.deepcopy(recursive_merge(recursive_merge(data["default_inputs"], chosen), overrides))


def protocol_schema(name: str) -> tuple[dict, list[str]]:
    """The accepted override keys (nested) and the open sub-mappings of ``<name>.yaml``."""
    data = _read(name)
    return _schema(data), list(data["open_keys"])


class ProtocolMixin:
    """Protocol methods of a process class whose protocols are ``aiida_lps/protocols/<_protocol_file>.yaml``.

    As aiida-quantumespresso's ``ProtocolMixin``: ``get_available_protocols``, ``get_default_protocol`` and
    ``get_protocol_inputs``; the class's ``get_builder_from_protocol(code(s), structure(s), protocol=None,
    overrides=None, options=None, **kwargs)`` calls the last one.
    """

    _protocol_file: str
    _protocol_label: str | None = None  # how error messages name the class (default: its name)

    @classmethod
    def get_default_protocol(cls) -> str:
        """Name of the default protocol."""
        return default_protocol(cls._protocol_file)

    @classmethod
    def get_available_protocols(cls) -> dict[str, dict]:
        """Protocol names with their descriptions."""
        return available_protocols(cls._protocol_file)

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: Mapping | None = None) -> dict:
        """The protocol's inputs (``default_inputs`` merged with the named protocol) with ``overrides`` on top.

        :raises ValueError: for an unknown protocol, an unknown override key or a ``None`` override.
        """
        return protocol_inputs(cls._protocol_file, protocol, overrides, label=cls._protocol_label or cls.__name__)
