"""VASP input choices: INCAR per task and protocol, k-point meshes, POTCAR symbols (no AiiDA import).

The protocols live in ``aiida_lps/protocols/vasp.yaml`` (read by :mod:`aiida_lps.protocols`); ``moderate``
reproduces the DFT settings of Guo et al. 2022 (PBE, ENCUT 520 eV, Gaussian smearing 0.05 eV, EDIFF 1e-5 eV,
forces < 0.02 eV/Å, R_k = 25 Å).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from aiida_lps import protocols
from aiida_lps.common.mappings import recursive_merge

__all__ = (
    "POTCAR_SETS",
    "PROTOCOL_NAME",
    "TASKS",
    "available_protocols",
    "get_protocol_settings",
    "kpoint_mesh",
    "kpoint_mesh_from_length",
    "normalise_incar",
    "potcar_mapping",
    "reciprocal_lengths",
)

#: Tasks of the common DFT interface (same names as :data:`aiida_lps.dft.base.TASKS`).
TASKS = ("single_point", "relax")

#: Name of the VASP protocol file in :mod:`aiida_lps.protocols` (``vasp.yaml``).
PROTOCOL_NAME = "vasp"

#: POTCAR symbol per element. ``pbe``: the Materials Project choices (Li_sv, P, S); ``gw``: the GW variants used
#: by the S K-edge XAS database (Guo, Carbone et al. 2023: Li_GW, P_GW, S_GW).
POTCAR_SETS: dict[str, dict[str, str]] = {
    "pbe": {"Li": "Li_sv", "P": "P", "S": "S", "O": "O", "Cl": "Cl"},
    "gw": {"Li": "Li_GW", "P": "P_GW", "S": "S_GW", "O": "O_GW", "Cl": "Cl_GW"},
}


def available_protocols() -> dict[str, dict]:
    """Protocol names with their descriptions."""
    return protocols.available_protocols(PROTOCOL_NAME)


def normalise_incar(incar: Mapping[str, Any]) -> dict[str, Any]:
    """Return INCAR tags with lower-case keys; tags whose value is ``None`` are dropped."""
    return {str(key).lower(): value for key, value in incar.items() if value is not None}


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    """Reject unknown keys and ``None`` values (outside the open ``incar``, ``options``, ...) of the shared loader;
    ``tasks`` is the protocol's per-task INCAR, not an override (set tags through ``incar``)."""
    schema, open_keys = protocols.protocol_schema(PROTOCOL_NAME)
    schema.pop("tasks", None)
    protocols.check_overrides(overrides, schema, open_keys, label="VASP")


def get_protocol_settings(
    task: str, protocol: str | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the VASP settings of ``task`` under ``protocol`` with ``overrides`` on top.

    The result has the keys ``protocol`` (its name), ``incar`` (lower-case tags), ``kpoints_length`` (Å),
    ``kpoints_mesh`` (or ``None``), ``gamma_only``, ``potential_family``, ``potential_set``, ``potential_mapping``
    (user additions only), ``options``, ``settings`` and the pass-through keys given in ``overrides``. The
    accepted override keys are those of ``vasp.yaml`` (``default_inputs``, protocols and ``optional_inputs``);
    an INCAR tag set to ``None`` in ``overrides['incar']`` is removed.

    :raises ValueError: for an unknown task, protocol, override key or POTCAR set.
    """
    if task not in TASKS:
        raise ValueError(f"unknown DFT task {task!r}; available: {TASKS}")
    overrides = dict(overrides or {})
    protocol = protocol or protocols.default_protocol(PROTOCOL_NAME)
    if protocol not in available_protocols():
        raise ValueError(f"unknown VASP protocol {protocol!r}; available: {sorted(available_protocols())}")
    merged = protocols.protocol_inputs(PROTOCOL_NAME, protocol, label="VASP")
    _check_overrides(overrides)

    tasks = merged.pop("tasks", {})
    incar = normalise_incar(merged.pop("incar", {}))
    incar.update(normalise_incar(tasks.get(task, {}).get("incar", {})))

    user_incar = overrides.pop("incar", None) or {}
    for key, value in user_incar.items():
        key = str(key).lower()
        if value is None:
            incar.pop(key, None)
        else:
            incar[key] = value

    result: dict[str, Any] = {
        "protocol": protocol,
        "incar": incar,
        "kpoints_length": float(merged["kpoints_length"]),
        "kpoints_mesh": None,
        "gamma_only": bool(merged["gamma_only"]),
        "potential_family": merged.get("potential_family"),
        "potential_set": merged["potential_set"],
        "potential_mapping": {},
        "options": merged.get("options", {}),
        "settings": merged.get("settings", {}),
    }
    for key, value in overrides.items():
        if key == "options":
            result["options"] = recursive_merge(result["options"], value)
        elif key == "settings":
            result["settings"] = recursive_merge(result["settings"], value)
        else:
            result[key] = value
    if result["potential_set"] not in POTCAR_SETS:
        raise ValueError(f"unknown POTCAR set {result['potential_set']!r}; available: {sorted(POTCAR_SETS)}")
    if float(result["kpoints_length"]) <= 0:
        raise ValueError(f"kpoints_length must be positive (Å), got {result['kpoints_length']!r}")
    result["kpoints_length"] = float(result["kpoints_length"])
    result["gamma_only"] = bool(result["gamma_only"])
    return result


def potcar_mapping(
    kinds: Mapping[str, str] | Iterable[str], potential_set: str = "pbe", overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return ``{kind name: POTCAR symbol}``.

    :param kinds: ``{kind name: element}`` (a kind ``S_abs`` of sulfur takes the POTCAR of ``S``), or element
        symbols that are their own kind names.
    :param potential_set: ``pbe`` or ``gw`` (see :data:`POTCAR_SETS`).
    :param overrides: ``{kind name or element: POTCAR symbol}``; wins over the set (a kind name over its element).
    :raises ValueError: for an unknown set or an element the set has no POTCAR for (and no override names).
    """
    if potential_set not in POTCAR_SETS:
        raise ValueError(f"unknown POTCAR set {potential_set!r}; available: {sorted(POTCAR_SETS)}")
    if not isinstance(kinds, Mapping):
        kinds = {name: name for name in kinds}
    table = POTCAR_SETS[potential_set]
    overrides = dict(overrides or {})
    mapping: dict[str, str] = {}
    for name, element in kinds.items():
        if name in overrides:
            mapping[name] = overrides[name]
        elif element in overrides:
            mapping[name] = overrides[element]
        elif element in table:
            mapping[name] = table[element]
        else:
            raise ValueError(
                f"no POTCAR mapping for element {element!r} (kind {name!r}) in the {potential_set!r} set "
                f"(known: {sorted(table)}); pass overrides={{'potential_mapping': {{{element!r}: '<POTCAR symbol>'}}}}"
            )
    return mapping


def reciprocal_lengths(cell: Sequence[Sequence[float]]) -> np.ndarray:
    """Lengths |b_i| (1/Å) of the reciprocal lattice vectors without the factor 2π (b_i · a_j = δ_ij)."""
    cell = np.asarray(cell, dtype=float)
    if cell.shape != (3, 3) or abs(np.linalg.det(cell)) < 1e-12:
        raise ValueError(f"cell must be a non-singular 3x3 matrix (Å), got shape {cell.shape}")
    reciprocal = np.linalg.inv(cell).T  # rows b_i
    return np.linalg.norm(reciprocal, axis=1)


def kpoint_mesh_from_length(cell: Sequence[Sequence[float]], length: float) -> tuple[int, int, int]:
    """Mesh of VASP's fully automatic scheme: N_i = max(1, int(R_k·|b_i| + 0.5)), |b_i| without 2π.

    :param cell: lattice vectors as rows, Å.
    :param length: R_k, Å.
    """
    if length <= 0:
        raise ValueError(f"the k-point length R_k must be positive (Å), got {length!r}")
    lengths = reciprocal_lengths(cell)
    return tuple(max(1, int(length * b + 0.5)) for b in lengths)  # type: ignore[return-value]


def kpoint_mesh(cell: Sequence[Sequence[float]], settings: Mapping[str, Any]) -> tuple[int, int, int]:
    """Γ-centred mesh for ``settings`` (from :func:`get_protocol_settings`): Γ only, explicit, or from R_k."""
    if settings.get("gamma_only"):
        return (1, 1, 1)
    mesh = settings.get("kpoints_mesh")
    if mesh is not None:
        mesh = tuple(int(n) for n in mesh)
        if len(mesh) != 3 or min(mesh) < 1:
            raise ValueError(f"kpoints_mesh must be three positive integers, got {settings.get('kpoints_mesh')!r}")
        return mesh  # type: ignore[return-value]
    return kpoint_mesh_from_length(cell, float(settings["kpoints_length"]))
