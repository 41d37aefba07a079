"""VASP adapter: INCAR/k-point/POTCAR choices per task and protocol, OUTCAR/OSZICAR readers through ASE and
pymatgen (no AiiDA import)."""

from aiida_lps.engines.vasp.outputs import read_oszicar, read_outcar, read_vasp_outputs, stress_from_kb
from aiida_lps.engines.vasp.settings import (
    POTCAR_SETS,
    TASKS,
    available_protocols,
    get_protocol_settings,
    kpoint_mesh,
    kpoint_mesh_from_length,
    potcar_mapping,
)

__all__ = (
    "POTCAR_SETS",
    "TASKS",
    "available_protocols",
    "get_protocol_settings",
    "kpoint_mesh",
    "kpoint_mesh_from_length",
    "potcar_mapping",
    "read_oszicar",
    "read_outcar",
    "read_vasp_outputs",
    "stress_from_kb",
)
