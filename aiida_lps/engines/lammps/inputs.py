"""LAMMPS input generation for equilibration + production MD (``units metal``: Å, ps, eV, bar, K)."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence
from typing import ClassVar

import ase
import numpy as np
from ase.io.lammpsdata import write_lammps_data

from aiida_lps.common.settings import DictSettings
from aiida_lps.protocols import default_inputs

__all__ = (
    "MDSettings",
    "DATA_FILENAME",
    "DUMP_FILENAME",
    "BINARY_DUMP_FILENAME",
    "FINAL_DATA_FILENAME",
    "write_data_file",
    "md_script",
    "continuation_script",
    "restart_interval",
    "part_filename",
)

DATA_FILENAME = "structure.data"
DUMP_FILENAME = "trajectory.dump"
BINARY_DUMP_FILENAME = "trajectory.bin"  # LAMMPS writes a binary dump for a name ending in `.bin`
FINAL_DATA_FILENAME = "final.data"
LOG_FILENAME = "log.lammps"
RESTART_PATTERN = "restart.*"  # `restart N restart.*` writes restart.<step>; `read_restart restart.*` reads the latest
ENSEMBLES = ("nvt", "npt")
MAX_TEMPERATURE_K = 1.0e4  # above this no solid electrolyte exists; guards typos such as 7e5 for 700
COUPLINGS = ("iso", "aniso", "tri")


#: The defaults of every protocol: ``default_inputs.parameters`` of ``aiida_lps/protocols/lammps_md.yaml`` (written
#: only there; timestep, damping, pressure, coupling, thermo interval, seed).
_PROTOCOL_DEFAULTS = default_inputs("lammps_md")["parameters"]


@dataclasses.dataclass
class MDSettings(DictSettings):
    """Settings of one equilibration + production MD run.

    Times are in steps unless stated; the thermostat/barostat damping is given in multiples of the timestep
    (Nosé-Hoover: 100 × dt and 1000 × dt are the LAMMPS recommendations and match the 0.1 ps / 1 ps at 1 fs of
    Jalem et al. 2023, doi:10.1039/d3ya00234a). The defaults of the settings every protocol shares are those of
    ``protocols/lammps_md.yaml`` (``default_inputs.parameters``), read from there.
    """

    settings_name: ClassVar[str] = "MD"

    temperature: float  # K
    timestep_fs: float = _PROTOCOL_DEFAULTS["timestep_fs"]
    equilibration_steps: int = 1000
    production_steps: int = 10000
    ensemble: str = "nvt"  # production ensemble
    equilibration_ensemble: str | None = None  # defaults to `ensemble`
    thermostat_damping: float = _PROTOCOL_DEFAULTS["thermostat_damping"]  # × timestep
    barostat_damping: float = _PROTOCOL_DEFAULTS["barostat_damping"]  # × timestep
    pressure_bar: float = _PROTOCOL_DEFAULTS["pressure_bar"]
    npt_coupling: str = _PROTOCOL_DEFAULTS["npt_coupling"]
    dump_interval: int = 10  # steps between stored frames
    thermo_interval: int = _PROTOCOL_DEFAULTS["thermo_interval"]  # steps between thermo lines
    seed: int = _PROTOCOL_DEFAULTS["seed"]
    initial_temperature: float | None = None  # K; velocities start here and equilibration ramps to `temperature`

    def __post_init__(self):
        self.validate()

    @property
    def frame_interval_ps(self) -> float:
        """Time between stored trajectory frames in ps."""
        return self.dump_interval * self.timestep_fs * 1e-3

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid setting (``bool`` is not a number here)."""
        for name in (
            "temperature", "timestep_fs", "thermostat_damping", "barostat_damping", "pressure_bar",
            "initial_temperature", "equilibration_steps", "production_steps", "dump_interval", "thermo_interval",
            "seed",
        ):  # fmt: skip
            value = getattr(self, name)
            if value is None and name == "initial_temperature":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        for name in ("temperature", "initial_temperature"):
            value = getattr(self, name)
            if value is not None and value > MAX_TEMPERATURE_K:
                raise ValueError(f"{name} {value:g} K is above {MAX_TEMPERATURE_K:g} K: not a solid-state MD")
        if int(self.seed) != self.seed or not 1 <= self.seed < 2**31:
            raise ValueError(f"seed must be an integer in [1, 2**31 - 1] (LAMMPS velocity seed), got {self.seed!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive (K), got {self.temperature}")
        if self.initial_temperature is not None and not self.initial_temperature > 0:
            raise ValueError(f"initial_temperature must be positive (K), got {self.initial_temperature}")
        if not self.timestep_fs > 0:
            raise ValueError(f"timestep_fs must be positive, got {self.timestep_fs}")
        for name in ("equilibration_steps", "production_steps", "dump_interval", "thermo_interval"):
            value = getattr(self, name)
            if int(value) != value or value < (0 if name == "equilibration_steps" else 1):
                raise ValueError(f"{name} must be a non-negative integer (positive except equilibration), got {value}")
        for name in ("ensemble", "equilibration_ensemble"):
            value = getattr(self, name)
            if (value is not None or name == "ensemble") and value not in ENSEMBLES:
                raise ValueError(f"{name} must be one of {ENSEMBLES}, got {value!r}")
        if self.npt_coupling not in COUPLINGS:
            raise ValueError(f"npt_coupling must be one of {COUPLINGS}, got {self.npt_coupling!r}")
        if self.production_steps // self.dump_interval < 10:
            raise ValueError(
                f"production_steps / dump_interval = {self.production_steps // self.dump_interval} frames; "
                "at least 10 stored frames are needed for an MSD"
            )
        if not (self.thermostat_damping > 0 and self.barostat_damping > 0):
            raise ValueError("thermostat_damping and barostat_damping must be positive (multiples of the timestep)")


def write_data_file(atoms: ase.Atoms, type_elements: Sequence[str]) -> str:
    """Return a LAMMPS ``atomic`` data file for ``atoms`` with one atom type per entry of ``type_elements``.

    Triclinic cells are rotated into LAMMPS's upper-triangular convention by ASE; all Cartesian output (dump
    positions, per-axis MSD) is then expressed in that frame. Masses are written for every type.
    """
    missing = sorted(set(atoms.get_chemical_symbols()) - set(type_elements))
    if missing:
        raise ValueError(f"structure contains {missing} which have no LAMMPS atom type in {list(type_elements)}")
    buffer = io.StringIO()
    write_lammps_data(
        buffer,
        atoms,
        specorder=list(type_elements),
        masses=True,
        units="metal",
        atom_style="atomic",
        force_skew=True,
    )
    return buffer.getvalue()


def _integrator(settings: MDSettings, ensemble: str, start_temperature: float) -> str:
    temp = settings.temperature
    dt_ps = settings.timestep_fs * 1e-3
    tdamp = settings.thermostat_damping * dt_ps
    if ensemble == "nvt":
        return f"fix integrate all nvt temp {start_temperature} {temp} {tdamp:.6g}"
    pdamp = settings.barostat_damping * dt_ps
    p = settings.pressure_bar
    return (
        f"fix integrate all npt temp {start_temperature} {temp} {tdamp:.6g} {settings.npt_coupling} {p} {p} {pdamp:.6g}"
    )


def restart_interval(settings: MDSettings) -> int:
    """Production steps between restart files: about a tenth of the production, a multiple of ``dump_interval``."""
    return max(1, settings.production_steps // 10 // settings.dump_interval) * settings.dump_interval


def part_filename(filename: str, part: int | str) -> str:
    """Name of an earlier part's copy of ``filename`` (``trajectory.dump``, 0 → ``trajectory.part0.dump``)."""
    stem, _, suffix = filename.rpartition(".")
    return f"{stem}.part{part}.{suffix}"


def _header(pair_commands: Sequence[str], settings: MDSettings, read_command: str) -> list[str]:
    return [
        "# LAMMPS input generated by aiida-lps",
        "units metal",
        "atom_style atomic",
        *(["boundary p p p"] if read_command.startswith("read_data") else []),
        read_command,
        *pair_commands,
        "neighbor 2.0 bin",
        "neigh_modify every 1 delay 0 check yes",
        f"timestep {settings.timestep_fs * 1e-3:.10g}",
    ]


def _thermo(settings: MDSettings) -> list[str]:
    return [
        "thermo_style custom step time temp press pe ke etotal vol",
        "thermo_modify norm no flush yes lost error",
        f"thermo {settings.thermo_interval}",
    ]


def _production(
    settings: MDSettings, run_command: str, dump_filename: str = DUMP_FILENAME, monitor: Sequence[str] = ()
) -> list[str]:
    binary = dump_filename.endswith(".bin")  # full double precision, no text formatting
    return [
        "# production",
        _integrator(settings, settings.ensemble, settings.temperature),
        f"dump trajectory all custom {settings.dump_interval} {dump_filename} id type xu yu zu",
        "dump_modify trajectory sort id" + ("" if binary else " format float %.6f"),
        *monitor,
        f"restart {restart_interval(settings)} {RESTART_PATTERN}",
        run_command,
        f"write_data {FINAL_DATA_FILENAME} nocoeff",
    ]


def md_script(
    settings: MDSettings, pair_commands: Sequence[str], dump_filename: str = DUMP_FILENAME, monitor: Sequence[str] = ()
) -> str:
    """Return the LAMMPS input script: equilibration, then production with an unwrapped-coordinate dump.

    With ``initial_temperature`` the velocities start at that temperature and the equilibration thermostat ramps
    linearly to ``temperature`` (melt-and-cool start for liquids and glasses).
    The dump (``id type xu yu zu``, sorted by id) is written only during production; thermo lines go to the log
    in two blocks (equilibration, production); the final configuration is written to ``final.data``.
    During production a restart file ``restart.<step>`` is written every :func:`restart_interval` steps, from which
    :func:`continuation_script` continues a run stopped by the wall time.
    A ``dump_filename`` ending in ``.bin`` (:data:`BINARY_DUMP_FILENAME`) makes LAMMPS write a binary dump (full
    double precision, read without parsing text: the production path with the trajectory reducer). ``monitor``: extra
    commands of the production only (e.g. the extrapolation-grade record of
    :func:`aiida_lps.engines.lammps.mlip.exploration.gamma_monitor_commands`).
    """
    eq_ensemble = settings.equilibration_ensemble or settings.ensemble
    start = settings.initial_temperature or settings.temperature
    lines = [
        *_header(pair_commands, settings, f"read_data {DATA_FILENAME}"),
        f"velocity all create {start} {settings.seed} dist gaussian mom yes rot no",
        *_thermo(settings),
        "# equilibration",
        _integrator(settings, eq_ensemble, start),
        f"run {settings.equilibration_steps}",
        "unfix integrate",
        "reset_timestep 0",
        *_production(settings, f"run {settings.production_steps}", dump_filename, monitor),
    ]
    return "\n".join(lines) + "\n"


def continuation_script(
    settings: MDSettings, pair_commands: Sequence[str], dump_filename: str = DUMP_FILENAME, monitor: Sequence[str] = ()
) -> str:
    """Return the script that continues the production from the latest restart file up to ``production_steps``.

    ``read_restart restart.*`` restores the step, box, positions, image flags, velocities and the Nosé-Hoover
    state of the fix ``integrate`` (same ID and style); the potential, thermo settings and the dump are defined
    again. The dump starts at the restart step: frames of the earlier part from that step on are dropped when the
    parts are joined (:func:`aiida_lps.engines.lammps.outputs.join_trajectories`).
    """
    lines = [
        *_header(pair_commands, settings, f"read_restart {RESTART_PATTERN}"),
        *_thermo(settings),
        *_production(settings, f"run {settings.production_steps} upto", dump_filename, monitor),
    ]
    return "\n".join(lines) + "\n"


def type_masses(type_elements: Sequence[str]) -> np.ndarray:
    """Atomic masses (amu) of the LAMMPS types, in type order."""
    from ase.data import atomic_masses, atomic_numbers

    return np.array([atomic_masses[atomic_numbers[el]] for el in type_elements])
