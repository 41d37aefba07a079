"""DFT engine layer: one adapter per code (GPAW, VASP) behind :class:`~aiida_lps.dft.base.DftEngine`."""

from aiida_lps.dft.base import COMMON_OUTPUTS, TASKS, DftEngine, get_engine, register_engine

__all__ = ("COMMON_OUTPUTS", "TASKS", "DftEngine", "get_engine", "register_engine")
