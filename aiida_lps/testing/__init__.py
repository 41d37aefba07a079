"""Test support shipped with the package: replay of recorded runs for codes that are not installed here."""

from aiida_lps.testing.recorded import (
    REPLAY_PARSER_SETTINGS,
    NoRecordingError,
    fake_potcar_family,
    find_recorded,
    replay,
    replay_code,
)

__all__ = (
    "REPLAY_PARSER_SETTINGS",
    "NoRecordingError",
    "fake_potcar_family",
    "find_recorded",
    "replay",
    "replay_code",
)
