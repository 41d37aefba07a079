"""The DFT engines by name, from the entry-point group ``aiida_lps.dft.engines`` (as aiida-common-workflows does).

An engine is a :class:`~aiida_lps.dft.base.DftEngine` subclass declared in a package's ``pyproject.toml``::

    [project.entry-points."aiida_lps.dft.engines"]
    gpaw = "aiida_lps.dft.gpaw:GpawEngine"

so another package can add an engine without changing this one.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiida_lps.dft.base import DftEngine

__all__ = ("ENTRY_POINT_GROUP", "available_engines", "get_engine", "register_engine", "validate_engine_port")

ENTRY_POINT_GROUP = "aiida_lps.dft.engines"

#: Engines registered at run time (:func:`register_engine`), e.g. in tests; entry points are the normal way.
_REGISTRY: dict[str, type[DftEngine]] = {}


def register_engine(engine: type[DftEngine]) -> type[DftEngine]:
    """Class decorator that makes an engine available under ``engine.name`` in this interpreter only."""
    _REGISTRY[engine.name] = engine
    return engine


def available_engines() -> list[str]:
    """Names of the engines that :func:`get_engine` knows (entry points and run-time registrations)."""
    return sorted({entry_point.name for entry_point in entry_points(group=ENTRY_POINT_GROUP)} | set(_REGISTRY))


def get_engine(name: str) -> type[DftEngine]:
    """Return the engine called ``name`` (``gpaw``, ``vasp``, ...).

    :raises ValueError: for an unknown name, listing the known ones.
    :raises ImportError: if the engine is declared but its module (or a dependency of it) cannot be imported.
    """
    from aiida_lps.dft.base import DftEngine

    if name in _REGISTRY:
        return _REGISTRY[name]
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise ValueError(f"unknown DFT engine {name!r}; available: {available_engines()}")
    entry_point = next(iter(found))
    try:
        engine = entry_point.load()
    except ImportError as exception:
        raise ImportError(f"the DFT engine {name!r} ({entry_point.value}) cannot be imported: {exception}") from None
    if not (isinstance(engine, type) and issubclass(engine, DftEngine)) or engine.name != name:
        raise TypeError(f"entry point {name!r} of {ENTRY_POINT_GROUP} is not a DftEngine named {name!r}: {engine}")
    return engine


def validate_engine_port(value, _) -> str | None:
    """Port validator of an ``engine`` input (``orm.Str``): a message naming the unknown engine, else ``None``."""
    try:
        get_engine(value.value)
    except (ValueError, ImportError) as exception:
        return str(exception)
    return None
