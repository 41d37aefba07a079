"""Defaults that several layers share (builder signatures, CLI options, validation, export); no AiiDA import.

Each is written only here; protocol defaults live in ``aiida_lps/protocols/*.yaml``.
"""

from __future__ import annotations

__all__ = ("DIFFUSING_CHARGE", "DIFFUSING_SPECIES")

#: Element whose diffusion ``lps.diffusion`` and ``lps.lammps.md`` analyse unless told otherwise.
DIFFUSING_SPECIES = "Li"
#: Its ionic charge (elementary charges) in the Nernst-Einstein conductivity.
DIFFUSING_CHARGE = 1.0
