"""Batch relaxation in one LAMMPS run: many configurations, each read, minimised and written in turn (metal units).

The script repeats ``clear``/``read_data``/``minimize`` per configuration and prints one result line per configuration
(``LPS_RELAX index energy fnorm fmax atoms volume``); ``thermo_modify lost ignore`` keeps a configuration that loses
atoms from stopping the run (the parser sees the atom count drop and records the failure).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import re
from collections.abc import Sequence
from typing import ClassVar

import ase
import numpy as np
from ase.data import covalent_radii
from ase.neighborlist import neighbor_list

from aiida_lps.common.settings import DictSettings
from aiida_lps.engines.lammps.outputs import read_data_configuration

__all__ = (
    "HALTED_CRITERION",
    "RELAX_MARKER",
    "RelaxResult",
    "RelaxSettings",
    "closest_contact",
    "config_filename",
    "parse_relax_log",
    "read_relaxed",
    "relax_batch_script",
    "relax_failure",
    "relaxed_filename",
)

RELAX_MARKER = "LPS_RELAX"
MIN_STYLES = ("cg", "sd", "fire", "quickmin", "hftn")
COUPLINGS = ("iso", "aniso", "tri")
#: what LAMMPS reports for a minimisation stopped by ``fix halt`` (the script sets no time limit of its own)
HALTED_CRITERION = "walltime limit reached"
#: LAMMPS stopping criteria that mean a converged minimisation (the others are iteration/evaluation limits)
CONVERGED_CRITERIA = ("energy tolerance", "force tolerance", "linesearch alpha is zero", "quadratic factors are zero")


def config_filename(index: int) -> str:
    """Data file of configuration ``index``."""
    return f"conf_{index:05d}.data"


def relaxed_filename(index: int) -> str:
    """Data file of the relaxed configuration ``index``."""
    return f"relaxed_{index:05d}.data"


def read_relaxed(path: pathlib.Path, elements: Sequence[str]) -> ase.Atoms:
    """A relaxed configuration written by :func:`relax_batch_script` (atom type t = ``elements[t - 1]``), wrapped
    into its cell."""
    with path.open() as handle:
        return read_data_configuration(handle, elements)


@dataclasses.dataclass
class RelaxSettings(DictSettings):
    """Minimisation settings: tolerances in eV (etol relative), eV/Å (ftol); pressure in bar."""

    settings_name: ClassVar[str] = "relaxation"

    etol: float = 1e-8
    ftol: float = 1e-3
    maxiter: int = 1000
    maxeval: int = 10000
    min_style: str = "cg"
    cell_relax: bool = False  # fix box/relax during the minimisation
    coupling: str = "aniso"  # box/relax coupling: iso, aniso or tri
    pressure_bar: float = 0.0
    vmax: float = 0.001  # largest fractional volume change per iteration (box/relax)
    # a minimisation whose largest atomic force exceeds this (eV/Å) is stopped there (``fix halt``) and recorded as
    # diverged: a learned potential without a short-range barrier lets atoms collapse, the energy runs to -1e146 and
    # the minimiser would otherwise spin on non-finite coordinates for ever
    fmax_break: float = 1000.0
    # a relaxed structure with two atoms closer than this fraction of the sum of their covalent radii (ASE) is
    # recorded as collapsed (e.g. Li–Li 1.0 Å: a hole of the potential, not a structure)
    collapse_ratio: float = 0.5

    def __post_init__(self):
        if not (isinstance(self.fmax_break, (int, float)) and math.isfinite(self.fmax_break) and self.fmax_break > 0):
            raise ValueError(f"fmax_break must be a positive number (eV/Å), got {self.fmax_break!r}")
        if not (isinstance(self.collapse_ratio, (int, float)) and 0 < self.collapse_ratio <= 1):
            raise ValueError(f"collapse_ratio must be in (0, 1], got {self.collapse_ratio!r}")
        for name in ("etol", "ftol", "vmax"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if self.etol == 0 and self.ftol == 0:
            raise ValueError("etol and ftol are both 0: the minimisation would never stop on a tolerance")
        for name in ("maxiter", "maxeval"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if self.min_style not in MIN_STYLES:
            raise ValueError(f"min_style must be one of {MIN_STYLES}, got {self.min_style!r}")
        if self.coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {COUPLINGS}, got {self.coupling!r}")
        if self.cell_relax and self.min_style not in ("cg", "sd"):
            raise ValueError("fix box/relax needs min_style cg or sd")


def relax_batch_script(settings: RelaxSettings, pair_commands: Sequence[str], n_configurations: int) -> str:
    """The LAMMPS input that relaxes ``conf_00000.data`` … in turn and writes ``relaxed_00000.data`` ….

    Each block: ``clear``, read, potential, a ``fix halt`` that stops a diverging minimisation (largest force above
    ``fmax_break``) and goes on with the next configuration, (``fix box/relax`` + ``minimize``, then at fixed cell:)
    ``minimize``, result line, ``write_data``. The fixed-cell pass after a cell relaxation brings the atomic forces
    to ``ftol`` (the box degrees of freedom dominate the stopping test of ``fix box/relax``).
    """
    if n_configurations < 1:
        raise ValueError("at least one configuration is needed")
    lines = ["# LAMMPS batch relaxation generated by aiida-lps"]
    for index in range(n_configurations):
        lines += [
            f"# configuration {index}",
            "clear",
            "units metal",
            "atom_style atomic",
            "boundary p p p",
            "atom_modify map array sort 0 0",
            f"read_data {config_filename(index)}",
            *pair_commands,
            "neighbor 2.0 bin",
            "neigh_modify every 1 delay 0 check yes",
            "thermo_style custom step pe fnorm fmax vol press",
            "thermo_modify norm no flush yes lost ignore",
            "thermo 100",
            f"min_style {settings.min_style}",
            # NaN forces fail the test too (every comparison with NaN is false)
            f'variable lps_sane equal "fmax < {settings.fmax_break:.10g}"',
            "fix lps_guard all halt 1 v_lps_sane == 0 error continue message yes",
        ]
        if settings.cell_relax:
            p = settings.pressure_bar
            lines += [
                f"fix relax all box/relax {settings.coupling} {p} vmax {settings.vmax}",
                f"minimize {settings.etol} {settings.ftol} {settings.maxiter} {settings.maxeval}",
                "unfix relax",
            ]
        lines += [
            f"minimize {settings.etol} {settings.ftol} {settings.maxiter} {settings.maxeval}",
            f'print "{RELAX_MARKER} {index} $(pe:%.12g) $(fnorm:%.6g) $(fmax:%.6g) $(atoms) $(vol:%.10g)"',
            f"write_data {relaxed_filename(index)} nocoeff",
        ]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class RelaxResult:
    """Result line of one configuration (energy eV, fnorm/fmax eV/Å, volume Å³) and the minimiser's stop reason."""

    index: int
    energy: float
    fnorm: float
    fmax: float
    atoms: int
    volume: float
    stopping_criterion: str | None

    def diverged(self, fmax_break: float) -> bool:
        """Whether the minimisation ran away: stopped by the guard of :func:`relax_batch_script` (a trial step of
        the line search had a force above ``fmax_break``; LAMMPS reports a halted minimisation as "walltime limit
        reached"), or its final largest force is above ``fmax_break`` eV/Å or not a finite number."""
        return self.stopping_criterion == HALTED_CRITERION or not (self.fmax <= fmax_break)

    @property
    def converged(self) -> bool:
        """Whether the minimiser stopped on a tolerance (energy or force), not on an iteration/evaluation limit."""
        return self.stopping_criterion in CONVERGED_CRITERIA


_RESULT = re.compile(rf"^{RELAX_MARKER} (\d+) (\S+) (\S+) (\S+) (\d+) (\S+)\s*$")
_CRITERION = re.compile(r"^\s*Stopping criterion = (.+?)\s*$")


def _number(token: str) -> float:
    try:
        return float(token)
    except ValueError:
        return math.nan


def parse_relax_log(text: str) -> dict[int, RelaxResult]:
    """Result lines of a batch-relaxation log by configuration index (echoed, unexpanded commands are skipped)."""
    results: dict[int, RelaxResult] = {}
    criterion = None
    for line in text.splitlines():
        match = _CRITERION.match(line)
        if match:
            criterion = match.group(1)
            continue
        match = _RESULT.match(line)
        if match:
            index = int(match.group(1))
            results[index] = RelaxResult(
                index=index,
                energy=_number(match.group(2)),
                fnorm=_number(match.group(3)),
                fmax=_number(match.group(4)),
                atoms=int(match.group(5)),
                volume=_number(match.group(6)),
                stopping_criterion=criterion,
            )
            criterion = None
    return results


def closest_contact(atoms: ase.Atoms, ratio: float) -> str | None:
    """The closest pair nearer than ``ratio`` × the sum of their covalent radii (``ase.data.covalent_radii``), as a
    message naming the elements and the distance (Å); ``None`` when no pair is that close."""
    radii = covalent_radii[atoms.numbers]
    i, j, d = neighbor_list("ijd", atoms, ratio * 2 * float(radii.max()))
    if not len(d):
        return None
    scaled = d / (radii[i] + radii[j])
    k = int(np.argmin(scaled))
    if scaled[k] >= ratio:
        return None
    symbols = atoms.get_chemical_symbols()
    return (
        f"{symbols[i[k]]}–{symbols[j[k]]} {d[k]:.2f} Å apart (< {ratio:g} × the sum of their covalent radii, "
        f"{radii[i[k]] + radii[j[k]]:.2f} Å)"
    )


def relax_failure(result: RelaxResult, settings: RelaxSettings, relaxed: ase.Atoms) -> str | None:
    """Why the relaxation of one configuration is not a result (diverged or collapsed), or ``None`` if it is one."""
    if result.diverged(settings.fmax_break):
        return (
            f"diverged: the minimisation ran into forces above fmax_break {settings.fmax_break:g} eV/Å (atoms "
            f"collapsing: the potential has no barrier there) and was stopped; largest force at the stop "
            f"{result.fmax:.3g} eV/Å"
        )
    contact = closest_contact(relaxed, settings.collapse_ratio)
    if contact is not None:
        return f"collapsed: {contact}"
    return None
