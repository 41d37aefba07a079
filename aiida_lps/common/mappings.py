"""Small helpers on nested mappings (no AiiDA import, usable by the pure engine adapters)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ("recursive_merge",)


def recursive_merge(base: Mapping, overrides: Mapping) -> dict:
    """Return ``base`` updated with ``overrides``, merging nested mappings key by key (inputs are not modified)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = recursive_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
