"""What the settings and potential files of the linear MLIPs (SNAP, POD) share; no AiiDA import.

Settings round trip through dictionaries naming unknown keys, the ZBL reference potential is checked in one place,
and :func:`write_model_files` writes a fitted model's files and returns the LAMMPS pair commands naming them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import ClassVar

from ase.data import atomic_numbers

from aiida_lps.common.settings import DictSettings
from aiida_lps.engines.lammps.potential import render_pair_lines

__all__ = ("ModelSettings", "checked_zbl", "pair_lines", "write_model_files")


class ModelSettings(DictSettings):
    """Dictionary round trip shared by the settings dataclasses of the linear models (SNAP, POD)."""

    #: model name used in messages
    settings_name: ClassVar[str] = "model"


def checked_zbl(zbl, elements) -> list[float] | None:
    """``[inner, outer]`` ZBL switching radii (Å) as floats, or ``None``; ValueError naming the problem."""
    if zbl is None:
        return None
    inner, outer = (float(v) for v in zbl)
    if not 0 < inner < outer:
        raise ValueError(f"zbl = [inner, outer] with 0 < inner < outer (Å), got {zbl}")
    missing = [e for e in elements if e not in atomic_numbers]
    if missing:
        raise ValueError(f"no atomic number known for the ZBL reference of {missing}")
    return [inner, outer]


def write_model_files(files: dict[str, str], pair: dict, elements: Sequence[str], folder: pathlib.Path) -> list[str]:
    """Write ``files`` (name → text) into ``folder``; return the pair commands of ``pair`` with absolute file paths."""
    folder = pathlib.Path(folder).resolve()
    for name, text in files.items():
        (folder / name).write_text(text)
    return pair_lines(pair, elements, list(files), folder)


def pair_lines(pair: dict, elements: Sequence[str], filenames: Sequence[str], folder: pathlib.Path) -> list[str]:
    """The pair commands of ``pair`` (templates) for types in ``elements`` order, ``filenames`` made absolute in
    ``folder``."""
    folder = pathlib.Path(folder).resolve()
    lines = render_pair_lines(pair["pair_style"], pair["pair_coeff"], elements, elements)
    for name in filenames:
        lines = [line.replace(name, str(folder / name)) for line in lines]
    return lines
