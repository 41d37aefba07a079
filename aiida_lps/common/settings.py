"""Dictionary round trip of the settings dataclasses (MD, relaxation, GA, MLIP models); no AiiDA import."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Self

__all__ = ("DictSettings",)


class DictSettings:
    """Mixin of a settings dataclass: :meth:`from_dict` names unknown keys, :meth:`to_dict` gives them back."""

    #: what the settings are, in messages (``unknown <settings_name> setting(s) [...]``)
    settings_name: ClassVar[str] = "the"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping, rejecting unknown keys with their names (and the known ones)."""
        fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"unknown {cls.settings_name} setting(s) {unknown}; known: {sorted(fields)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dictionary."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]
