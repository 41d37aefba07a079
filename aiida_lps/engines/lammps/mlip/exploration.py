"""γ-monitored exploration MD with a fitted linear MLIP (SNAP or POD) in LAMMPS; no AiiDA import.

The extrapolation grade γ of an atom is max_j |[1, B_i] G_e| with G_e the grade map of its element (MaxVol active set,
:mod:`aiida_lps.science.mlip.maxvol`). :func:`gamma_md_script` writes the LAMMPS script that evaluates γ on the fly
and stops at γ_break; :func:`read_gamma_dump` and :func:`frame_gammas` read its frames back.
Units are LAMMPS ``metal``: Å, eV, ps, bar.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

__all__ = (
    "EXPLORATION_DEFAULTS",
    "GAMMA_DUMP_FILENAME",
    "GAMMA_MONITOR_FILENAME",
    "GammaTrajectory",
    "exploration_parameters",
    "extrapolation_summary",
    "frame_gammas",
    "gamma_md_script",
    "gamma_monitor_commands",
    "gamma_variables",
    "read_gamma_dump",
    "read_gamma_monitor",
)

GAMMA_DUMP_FILENAME = "gamma.dump"
GAMMA_MONITOR_FILENAME = "gamma.txt"  # step and max γ of a monitored production MD (lps.lammps.md)

EXPLORATION_DEFAULTS = {
    "temperature": 600.0,  # K
    "steps": 2000,
    "timestep_fs": 1.0,
    "gamma_break": 10.0,
    "gamma_select": 2.0,
    "check_interval": 10,  # steps between γ evaluations (fix halt)
    "dump_interval": 20,  # steps between stored frames
    "ensemble": "nvt",
    "pressure_bar": 1.0,
    "seed": 12345,
}


def exploration_parameters(parameters: dict) -> dict:
    """``parameters`` with :data:`EXPLORATION_DEFAULTS` filled in; ``ValueError`` naming the first problem."""
    params = {**EXPLORATION_DEFAULTS, **parameters}
    unknown = sorted(set(params) - set(EXPLORATION_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown exploration parameter(s) {unknown}; known: {sorted(EXPLORATION_DEFAULTS)}")
    if not params["temperature"] > 0 or not params["timestep_fs"] > 0:
        raise ValueError("temperature (K) and timestep_fs must be positive")
    if int(params["steps"]) < 1 or int(params["check_interval"]) < 1 or int(params["dump_interval"]) < 1:
        raise ValueError("steps, check_interval and dump_interval must be positive integers")
    if not 0 < params["gamma_select"] <= params["gamma_break"]:
        raise ValueError(
            f"need 0 < gamma_select <= gamma_break, got {params['gamma_select']} and {params['gamma_break']}"
        )
    if params["ensemble"] not in ("nvt", "npt"):
        raise ValueError(f"ensemble must be nvt or npt, got {params['ensemble']!r}")
    return params


def gamma_variables(grade_maps: Sequence[np.ndarray], columns: Sequence[int], compute_id: str = "sna") -> list[str]:
    """LAMMPS commands defining the equal-style variable ``v_gmax`` = max over atoms of γ, from per-atom descriptors.

    For element e (type e + 1) with grade map G_e = P A⁻¹ ((1 + n_groups) × r), the atom-style variable
    ``g<e>_<j>`` = (type == e+1)·|G_e[0, j] + Σ_k B_ik G_e[k+1, j]| is column j of |b A⁻¹|; one ``compute reduce max``
    over all of them and the special function ``max()`` over its vector give max_i γ_i (LAMMPS has no element-wise
    max of atom-style variables, so the per-atom γ itself is recomputed from the dumped descriptors).

    :param grade_maps: per element in type order, G_e.
    :param columns: 0-based column of each feature k in compute ``compute_id`` (``sna/atom``: the first member of
        its group; ``pod/atom``: k).
    """
    lines: list[str] = []
    names = []
    for e, grade_map in enumerate(grade_maps):
        grade_map = np.asarray(grade_map, dtype=float)
        const, matrix = grade_map[0], grade_map[1:]
        if matrix.shape[0] != len(columns):
            raise ValueError(f"grade map of type {e + 1} has {matrix.shape[0]} feature rows, expected {len(columns)}")
        for j in range(matrix.shape[1]):
            terms = [f"{const[j]:.12g}"]
            for k in np.nonzero(matrix[:, j])[0]:
                terms.append(f"{matrix[k, j]:+.12g}*c_{compute_id}[{columns[k] + 1}]")
            name = f"g{e + 1}_{j + 1}"
            lines.append(f"variable {name} atom (type=={e + 1})*abs({''.join(terms)})")
            names.append(f"v_{name}")
    lines.append(f"compute gred all reduce max {' '.join(names)}")
    lines.append("variable gmax equal max(c_gred)")
    return lines


def _gamma_commands(
    settings: PerAtomDescriptors, grade_maps: Sequence[np.ndarray], columns: Sequence[int]
) -> list[str]:
    """The per-atom descriptor compute and the variables up to ``v_gmax`` (max over atoms of γ)."""
    return [settings.per_atom_compute(settings.compute_id), *gamma_variables(grade_maps, columns, settings.compute_id)]


def gamma_monitor_commands(
    settings: PerAtomDescriptors,
    grade_maps: Sequence[np.ndarray],
    columns: Sequence[int],
    interval: int,
    filename: str = GAMMA_MONITOR_FILENAME,
) -> list[str]:
    """LAMMPS commands that record max_i γ_i every ``interval`` steps of a run, without stopping it.

    The same per-atom descriptor compute and γ variables as the exploration (:func:`gamma_variables`); a
    ``fix print`` writes ``<step> <max γ>`` lines to ``filename`` (read back by :func:`read_gamma_monitor`). Used by
    the production MD of ``lps.lammps.md`` when its potential comes with an active set.
    """
    return [
        *_gamma_commands(settings, grade_maps, columns),
        f'fix gamma_monitor all print {int(interval)} "$(step) $(v_gmax:%.8g)" file {filename} screen no '
        'title "# step max_gamma"',
    ]


def read_gamma_monitor(lines: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Steps (int) and max γ of every evaluation in a file written by :func:`gamma_monitor_commands`.

    Comment lines and a truncated last line are skipped; a non-finite γ (a crashed MD) is kept as ``inf``.
    """
    steps, gammas = [], []
    for line in lines:
        fields = line.split()
        if len(fields) != 2 or line.lstrip().startswith("#"):
            continue
        try:
            step, value = int(float(fields[0])), float(fields[1])
        except ValueError:
            continue
        steps.append(step)
        gammas.append(value if np.isfinite(value) else np.inf)
    return np.array(steps, dtype=int), np.array(gammas, dtype=float)


def extrapolation_summary(gamma_max: np.ndarray, gamma_select: float, gamma_break: float, max_fraction: float) -> dict:
    """Whether a monitored MD stayed in the training domain of its potential, from the max γ of its frames.

    The run *left the training domain* when any frame has γ > ``gamma_break`` (where the exploration would have
    stopped it) or more than ``max_fraction`` of its frames have γ > ``gamma_select`` (where the active learning
    would have asked for labels). Returns ``max_gamma``, ``mean_gamma``, ``n_evaluations``,
    ``fraction_above_select``, ``fraction_above_break``, the thresholds, ``left_training_domain`` and ``reason``.
    """
    gamma_max = np.asarray(gamma_max, dtype=float)
    if gamma_max.size == 0:
        raise ValueError("no γ evaluation in the run: nothing to judge the extrapolation by")
    above_select = float(np.mean(gamma_max > gamma_select))
    above_break = float(np.mean(gamma_max > gamma_break))
    reasons = []
    if above_break > 0:
        reasons.append(f"max γ {gamma_max.max():.3g} > γ_break {gamma_break:g}")
    if above_select > max_fraction:
        reasons.append(f"{100 * above_select:.3g} % of frames with γ > γ_select {gamma_select:g} "
                       f"(allowed {100 * max_fraction:g} %)")  # fmt: skip
    return {
        "max_gamma": float(gamma_max.max()),
        "mean_gamma": float(gamma_max[np.isfinite(gamma_max)].mean()) if np.isfinite(gamma_max).any() else None,
        "n_evaluations": int(gamma_max.size),
        "fraction_above_select": above_select,
        "fraction_above_break": above_break,
        "gamma_select": float(gamma_select),
        "gamma_break": float(gamma_break),
        "max_extrapolating_fraction": float(max_fraction),
        "left_training_domain": bool(reasons),
        "reason": "; ".join(reasons) or None,
    }


class PerAtomDescriptors(Protocol):
    """What :func:`gamma_md_script` needs of a model's settings (:class:`SnapSettings` or ``PodSettings``)."""

    compute_id: str

    def per_atom_compute(self, compute_id: str) -> str:
        """The ``compute <compute_id> all <style> ...`` line of the per-atom descriptors (column k+1 = feature k)."""


def gamma_md_script(
    settings: PerAtomDescriptors,
    pair_commands: Sequence[str],
    grade_maps: Sequence[np.ndarray],
    columns: Sequence[int],
    *,
    temperature: float,
    steps: int,
    gamma_break: float,
    timestep_fs: float = 1.0,
    check_interval: int = 10,
    dump_interval: int = 10,
    ensemble: str = "nvt",
    pressure_bar: float = 1.0,
    seed: int = 12345,
    data_filename: str = "structure.data",
) -> str:
    """LAMMPS script: MD with a fitted linear model that evaluates γ every ``check_interval`` steps, stops at γ_break.

    ``settings`` gives the per-atom descriptor compute (``sna/atom`` for SNAP, ``pod/atom`` for POD, with ID
    ``settings.compute_id``); ``columns`` are 0-based columns of that compute. The compute → atom-style variables
    (:func:`gamma_variables`) → ``compute reduce max`` → ``fix halt`` (``error soft``: the run ends cleanly).
    Frames are dumped every ``dump_interval`` steps with the per-atom descriptors (``id type x y z c_<id>[*]``),
    from which the per-atom γ of every frame follows exactly (:func:`frame_gammas`) and candidates are selected
    without recomputing anything. Thermo lines (every ``check_interval`` steps) print the max γ that LAMMPS
    evaluated (``v_gmax``).
    """
    if ensemble not in ("nvt", "npt"):
        raise ValueError(f"ensemble must be nvt or npt, got {ensemble!r}")
    dt_ps = timestep_fs * 1e-3
    compute_id = settings.compute_id
    integrator = f"fix integrate all nvt temp {temperature} {temperature} {100 * dt_ps:.6g}"
    if ensemble == "npt":
        integrator = (
            f"fix integrate all npt temp {temperature} {temperature} {100 * dt_ps:.6g} "
            f"aniso {pressure_bar} {pressure_bar} {1000 * dt_ps:.6g}"
        )
    lines = [
        "# gamma-monitored exploration MD generated by aiida-lps",
        "units metal",
        "atom_style atomic",
        "boundary p p p",
        f"read_data {data_filename}",
        *pair_commands,
        "neighbor 1.0 bin",
        "neigh_modify every 1 delay 0 check yes",
        *_gamma_commands(settings, grade_maps, columns),
        f"timestep {dt_ps:.10g}",
        f"velocity all create {temperature} {seed} dist gaussian mom yes rot no",
        "thermo_style custom step temp pe press vol v_gmax",
        "thermo_modify norm no flush yes lost error",
        f"thermo {check_interval}",
        integrator,
        f"dump frames all custom {dump_interval} {GAMMA_DUMP_FILENAME} id type x y z c_{compute_id}[*]",
        "dump_modify frames sort id format float %.8g",
        f"fix halt all halt {check_interval} v_gmax > {gamma_break} error soft message yes",
        f"run {steps}",
        'print "GAMMA_RUN_END step $(step) gmax $(v_gmax)"',
    ]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class GammaTrajectory:
    """Frames of a γ-monitored run.

    :ivar timesteps: (F,) MD steps. :ivar cells: (F, 3, 3) Å. :ivar positions: (F, N, 3) Å (wrapped, LAMMPS frame).
    :ivar types: (N,) 1-based types. :ivar descriptors: (F, N, n_B) ``sna/atom`` rows.
    """

    timesteps: np.ndarray
    cells: np.ndarray
    positions: np.ndarray
    types: np.ndarray
    descriptors: np.ndarray


def frame_gammas(
    trajectory: GammaTrajectory, grade_maps: Sequence[np.ndarray], columns: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom γ (F, N) and per-atom grade rows [1, B] (F, N, 1 + n_groups) of every frame.

    γ_i = max_j |[1, B_i] G_e| with G_e the grade map of the atom's element (same formula as the LAMMPS variables).
    """
    features = trajectory.descriptors[:, :, list(columns)]
    rows = np.concatenate([np.ones(features.shape[:2] + (1,)), features], axis=2)
    gamma = np.zeros(rows.shape[:2])
    for e, grade_map in enumerate(grade_maps):
        mask = trajectory.types == e + 1
        if mask.any():
            gamma[:, mask] = np.abs(rows[:, mask] @ np.asarray(grade_map)).max(axis=2)
    return gamma, rows


def read_gamma_dump(lines: Iterable[str]) -> GammaTrajectory:
    """Read the dump written by :func:`gamma_md_script`; a truncated last frame is dropped."""
    from aiida_lps.engines.lammps.outputs import _box_to_cell

    iterator = iter(lines)
    steps, cells, positions, descriptors = [], [], [], []
    types = None
    while True:
        line = next(iterator, None)
        if line is None:
            break
        if not line.startswith("ITEM: TIMESTEP"):
            raise ValueError(f"malformed gamma dump: {line.strip()!r}")
        try:
            step = int(next(iterator))
            next(iterator)
            n_atoms = int(next(iterator))
            header = next(iterator).split()
            bounds = np.array([next(iterator).split() for _ in range(3)], dtype=float)
            columns = next(iterator).split()[2:]
            body = [next(iterator) for _ in range(n_atoms)]
        except StopIteration:
            break
        try:
            table = np.array([row.split() for row in body], dtype=float)
        except ValueError:
            break
        if table.shape != (n_atoms, len(columns)):
            break
        tilts = (bounds[0, 2], bounds[1, 2], bounds[2, 2]) if "xy" in header else (0.0, 0.0, 0.0)
        col = {name: i for i, name in enumerate(columns)}
        table = table[np.argsort(table[:, col["id"]])]
        xy, xz, yz = tilts
        origin = np.array([bounds[0, 0] - min(0.0, xy, xz, xy + xz), bounds[1, 0] - min(0.0, yz), bounds[2, 0]])
        steps.append(step)
        cells.append(_box_to_cell(bounds[:, :2], tilts))
        positions.append(table[:, [col["x"], col["y"], col["z"]]] - origin)
        if types is None:
            types = table[:, col["type"]].astype(int)
        descriptors.append(table[:, col["z"] + 1 :])
    if not steps:
        raise ValueError("the gamma dump holds no complete frame")
    return GammaTrajectory(
        timesteps=np.array(steps),
        cells=np.stack(cells),
        positions=np.stack(positions),
        types=types,
        descriptors=np.stack(descriptors),
    )
