"""DFT engine layer: one adapter per code (GPAW, VASP) behind :class:`~aiida_lps.dft.base.DftEngine`.

Engines are found by name through the entry-point group ``aiida_lps.dft.engines`` (:mod:`aiida_lps.dft.registry`).
"""

from aiida_lps.dft.base import COMMON_OUTPUTS, TASKS, DftEngine
from aiida_lps.dft.registry import ENTRY_POINT_GROUP, available_engines, get_engine, register_engine

__all__ = (
    "COMMON_OUTPUTS",
    "ENTRY_POINT_GROUP",
    "TASKS",
    "DftEngine",
    "available_engines",
    "get_engine",
    "register_engine",
)
