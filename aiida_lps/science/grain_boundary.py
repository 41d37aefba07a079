"""Periodic grain-boundary (GB) bicrystals by the coincident-site-lattice (CSL) method (pymatgen; no AiiDA).

The bicrystal has two grains stacked along the GB normal and, being periodic, two GBs per cell: one between the
grains near the middle of the cell and one at the cell boundary. Grain 1 ("bottom" in pymatgen's labels) is a
rotated copy of the crystal placed in the cell of grain 2 ("top", the unrotated crystal). Jalem et al. (2023),
doi:10.1039/d3ya00234a, explore Σ5[001]/(120) tilt and Σ5[001]/(001) twist GBs of β-Li3PS4 (Pnma setting) this way.

Conventions. Miller indices of the axis and plane refer to the cell pymatgen's ``GrainBoundaryGenerator`` works in:
the input cell for cubic lattices, the conventional standard cell (a ≤ b ≤ c for orthorhombic) for tetragonal and
orthorhombic ones, the primitive cell for rhombohedral ones (``GrainBoundaryRecord.setting_abc`` gives its lengths).
Non-cubic lattices need the squared axial ratios as small integers (orthorhombic: c²:b²:a² = mu:lam:mv). The
``"auto"`` ratio rationalises the measured ratios (denominator ≤ ``max_denominator``); for a rotation about a
principal axis only the two axes perpendicular to it matter and the axis's own entry is left irrational (None), as
the CSL then exists for any ratio of that axis. An approximate ratio makes the coincidence approximate: the rotated
grain is strained to fit the cell of the other grain, which is measured and capped (``max_strain``).

Lengths in Å, angles in degrees.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = (
    "GRAIN_BOUNDARY_DEFAULTS",
    "GrainBoundaryRecord",
    "axial_ratio",
    "build_grain_boundary",
    "csl_angles",
    "parse_grain_boundary_parameters",
    "resolve_rotation",
)

#: Keyword arguments of :func:`build_grain_boundary` (the keys a parameter mapping may hold) and their defaults.
GRAIN_BOUNDARY_DEFAULTS: dict[str, Any] = {
    "axis": None,  # rotation axis [u, v, w] (required)
    "sigma": None,  # Σ (give sigma, angle or both)
    "angle": None,  # rotation angle, degrees
    "plane": None,  # GB plane (h, k, l) of the unrotated grain; None: twist GB (plane normal to the axis)
    "expand_times": None,  # repetitions of the CSL grain along the normal (default 2)
    "grain_thickness": None,  # Å, minimum thickness of each grain (alternative to expand_times)
    "ratio": "auto",  # squared axial ratios (see module docstring); None for cubic
    "max_denominator": 5,  # of the "auto" ratio
    "min_distance": None,  # Å; atoms closer than this at the GBs are removed (None: 0.7 x shortest bulk distance)
    "ab_shift": (0.0, 0.0),  # in-plane shift of the unrotated grain, fractions of the GB cell's a and b
    "normal": False,  # require the cell vector c perpendicular to the GB plane (often much larger cells)
    "max_atoms": 400,  # refuse larger cells (DFT labels of big cells are infeasible)
    "max_strain": 0.02,  # refuse an axial-ratio approximation that strains the rotated grain by more (fraction)
    "max_search": 20,  # pymatgen's search range for the smallest GB cell
    "symprec": 0.1,  # Å, symmetry tolerance of the lattice-type detection
}

_RM_RATIO = 0.7  # pymatgen's default: remove atoms closer than 0.7 x the shortest bulk distance
_ANGLE_TOL = 0.05  # degrees: a given angle within this of a CSL angle is snapped to the exact value
_LATTICE_NAMES = {"c": "cubic", "t": "tetragonal", "o": "orthorhombic", "h": "hexagonal", "r": "rhombohedral"}


@dataclasses.dataclass(frozen=True)
class GrainBoundaryRecord:
    """What was built: CSL parameters, cell geometry (Å), the GB positions and the atoms removed at the GBs."""

    rotation_axis: tuple[int, int, int]
    rotation_angle: float  # degrees
    sigma: int
    plane: tuple[int, int, int]  # GB plane of the unrotated grain
    join_plane: tuple[int, int, int]  # the same plane in the rotated grain's own axes
    gb_type: str  # "twist", "tilt" or "mixed"
    lattice_type: str
    setting_abc: tuple[float, float, float]  # Å, cell the Miller indices refer to
    ratio: list[int | None] | None  # squared axial ratios used (None: cubic)
    grain_strain: float  # largest principal strain imposed on the rotated grain (0 for an exact CSL)
    expand_times: int
    ab_shift: tuple[float, float]
    normal_length: float  # Å, cell height along the GB normal (= sum of the two grains)
    grain_thicknesses: tuple[float, float]  # Å, rotated grain then unrotated grain (GB to GB)
    gb_positions: tuple[float, float]  # Å along the normal from the cell origin, ascending (one mid-cell, one near 0/H)
    interface_gaps: tuple[float, float]  # Å, normal distance between the atom layers facing each other at each GB
    gb_area: float  # Å², area of one GB in the cell
    min_distance: float  # Å, removal threshold
    n_atoms: int
    n_atoms_before_removal: int
    composition: dict[str, int]
    stoichiometric: bool  # same reduced formula as the bulk (removals can break it)
    removed_composition: dict[str, int]
    removed: list[dict[str, Any]]  # per removed atom: element, grain, height and distance to the nearest GB (Å)

    @property
    def label(self) -> str:
        """Short name, e.g. ``Σ5 [0,0,1] 36.87° (1,2,0) tilt``."""
        axis, plane = ",".join(map(str, self.rotation_axis)), ",".join(map(str, self.plane))
        return f"Σ{self.sigma} [{axis}] {self.rotation_angle:.2f}° ({plane}) {self.gb_type}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable dictionary (lists for tuples), with the ``label``."""
        data = dataclasses.asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        data["label"] = self.label
        return data


# --------------------------------------------------------------------------------------------------------------------
def _generator(structure: Structure, symprec: float = 0.1):
    from pymatgen.core.interface import GrainBoundaryGenerator

    return GrainBoundaryGenerator(structure, symprec=symprec)


def _int_triple(value: Any, name: str) -> tuple[int, int, int]:
    try:
        items = list(value)
    except TypeError:
        items = []
    if len(items) != 3 or not all(_is_integral(v) for v in items) or not any(items):
        raise ValueError(f"{name} must be three integers, not all zero (Miller indices), got {value!r}")
    triple = tuple(int(round(v)) for v in items)
    divisor = math.gcd(*triple)
    return tuple(v // divisor for v in triple)  # type: ignore[return-value]


def _is_integral(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and float(value).is_integer()


def _principal_index(axis: Sequence[int]) -> int | None:
    """Index of the only non-zero component of ``axis`` (a principal direction), else None."""
    nonzero = [i for i, v in enumerate(axis) if v]
    return nonzero[0] if len(nonzero) == 1 else None


def axial_ratio(
    structure: Structure, axis: Sequence[int], max_denominator: int = 5, symprec: float = 0.1
) -> list[int | None] | None:
    """Rational squared axial ratios for pymatgen's CSL generator (None for cubic lattices).

    Orthorhombic: ``[mu, lam, mv]`` ≈ c²:b²:a² of the conventional standard cell; for a rotation about a principal
    axis only the two perpendicular axes are rationalised and the axis's own entry is None (irrational). Tetragonal
    and hexagonal: ``[mu, mv]`` ≈ c²/a²; rhombohedral: ≈ (1 + 2 cos α)/cos α.
    """
    axis = _int_triple(axis, "axis")
    generator = _generator(structure, symprec)
    lat_type = generator.lat_type
    if lat_type == "c":
        return None
    if lat_type != "o":
        return generator.get_ratio(max_denominator=max_denominator)
    a, b, c = generator.initial_structure.lattice.abc
    squares = [c * c, b * b, a * a]  # pymatgen's order: mu, lam, mv
    principal = _principal_index(axis)
    if principal is None:
        return generator.get_ratio(max_denominator=max_denominator)
    slot = 2 - principal  # axis a -> mv, b -> lam, c -> mu
    i, j = (k for k in range(3) if k != slot)
    fraction = Fraction(squares[i] / squares[j]).limit_denominator(max_denominator)
    ratio: list[int | None] = [None, None, None]
    ratio[i], ratio[j] = fraction.numerator, fraction.denominator
    return ratio


def _resolve_ratio(generator, axis: tuple[int, int, int], ratio: Any, max_denominator: int):
    if generator.lat_type == "c":
        if ratio not in (None, "auto"):
            raise ValueError(f"a cubic lattice needs no axial ratio, got ratio={ratio!r}")
        return None
    if ratio == "auto":
        return axial_ratio(generator.initial_structure, axis, max_denominator)
    expected = 3 if generator.lat_type == "o" else 2
    name = _LATTICE_NAMES[generator.lat_type]
    if (
        not isinstance(ratio, (list, tuple))
        or len(ratio) != expected
        or not all(v is None or (_is_integral(v) and v > 0) for v in ratio)
        or sum(v is not None for v in ratio) < 2
    ):
        form = "[mu, lam, mv] ≈ c²:b²:a² (one entry may be None)" if expected == 3 else "[mu, mv]"
        raise ValueError(f"the {name} lattice needs ratio='auto' or {form} of positive integers, got {ratio!r}")
    return [None if v is None else int(v) for v in ratio]


def _enumerate(lat_type: str, axis: tuple[int, int, int], ratio, cutoff: int) -> dict[int, list[float]]:
    """Σ → sorted rotation angles (degrees) up to ``cutoff``; a ``ValueError`` where pymatgen finds no CSL."""
    from pymatgen.core.interface import GrainBoundaryGenerator as Gen

    try:
        if lat_type == "c":
            sigmas = Gen.enum_sigma_cubic(cutoff, axis)
        elif lat_type == "t":
            sigmas = Gen.enum_sigma_tet(cutoff, axis, ratio)
        elif lat_type == "o":
            sigmas = Gen.enum_sigma_ort(cutoff, axis, ratio)
        elif lat_type == "h":
            sigmas = Gen.enum_sigma_hex(cutoff, axis, ratio)
        else:
            sigmas = Gen.enum_sigma_rho(cutoff, axis, ratio)
    except RuntimeError as error:  # pymatgen's "CSL only exists for ..." messages
        raise ValueError(f"no CSL for axis {list(axis)} with ratio {ratio}: {error}") from error
    return {s: sorted(float(a) for a in angles) for s, angles in sorted(sigmas.items())}


def csl_angles(
    structure: Structure,
    axis: Sequence[int],
    max_sigma: int = 50,
    ratio: Any = "auto",
    max_denominator: int = 5,
    symprec: float = 0.1,
) -> dict[int, list[float]]:
    """The CSL options for a rotation about ``axis``: Σ → rotation angles (degrees), for Σ ≤ ``max_sigma``.

    Wraps pymatgen's ``enum_sigma_*`` for the structure's lattice type; ``ratio`` as in :func:`build_grain_boundary`.
    Angles θ and 180° - θ (or other symmetry-equivalent ones) may give equivalent GBs.
    """
    axis = _int_triple(axis, "axis")
    generator = _generator(structure, symprec)
    used = _resolve_ratio(generator, axis, ratio, max_denominator)
    return _enumerate(generator.lat_type, axis, used, int(max_sigma))


def _format_options(options: Mapping[int, Sequence[float]], limit: int = 8) -> str:
    items = [f"Σ{s}: " + ", ".join(f"{a:.2f}°" for a in angles) for s, angles in list(options.items())[:limit]]
    return "; ".join(items) if items else "none"


def resolve_rotation(
    structure: Structure,
    axis: Sequence[int],
    sigma: int | None = None,
    angle: float | None = None,
    ratio: Any = "auto",
    max_denominator: int = 5,
    symprec: float = 0.1,
    max_sigma: int = 200,
) -> tuple[int, float, list[int | None] | None]:
    """``(sigma, exact angle in degrees, ratio used)`` for a rotation given by Σ, by angle, or by both.

    With Σ only, the smallest of its angles is taken. An angle alone is matched to the smallest Σ ≤ ``max_sigma``
    with a CSL angle within 0.05° of it, and replaced by the exact value (pymatgen needs it exact). Raises
    ``ValueError`` naming the possible Σ and angles otherwise.
    """
    axis = _int_triple(axis, "axis")
    if sigma is None and angle is None:
        raise ValueError("give the rotation as sigma (Σ), angle (degrees) or both")
    generator = _generator(structure, symprec)
    lat_type = generator.lat_type
    used = _resolve_ratio(generator, axis, ratio, max_denominator)
    where = f"axis {list(axis)} of this {_LATTICE_NAMES[lat_type]} lattice" + (f" (ratio {used})" if used else "")
    if sigma is not None:
        if not _is_integral(sigma) or sigma < 2:
            raise ValueError(f"sigma must be an integer ≥ 2, got {sigma!r}")
        sigma = int(sigma)
        options = _enumerate(lat_type, axis, used, sigma)
        if sigma not in options:
            raise ValueError(f"Σ{sigma} does not exist for {where}; Σ ≤ {sigma} that do: {_format_options(options)}")
        angles = options[sigma]
        if angle is None:
            return sigma, angles[0], used
        match = [a for a in angles if abs(a - float(angle)) <= _ANGLE_TOL]
        if not match:
            listed = ", ".join(f"{a:.4f}°" for a in angles)
            raise ValueError(f"angle {angle}° is not a Σ{sigma} angle of {where}; Σ{sigma} angles: {listed}")
        return sigma, match[0], used
    angle = float(angle)
    if not 0.0 < angle <= 180.0:
        raise ValueError(f"angle must be in (0, 180] degrees, got {angle}")
    options = _enumerate(lat_type, axis, used, int(max_sigma))
    for s, angles in options.items():
        for a in angles:
            if abs(a - angle) <= _ANGLE_TOL:
                return s, a, used
    nearest = sorted(((abs(a - angle), s, a) for s, angles in options.items() for a in angles))[:5]
    listed = ", ".join(f"Σ{s} {a:.2f}°" for _, s, a in nearest) or "none"
    raise ValueError(f"angle {angle}° is not a CSL rotation angle (Σ ≤ {max_sigma}) for {where}; nearest: {listed}")


# --------------------------------------------------------------------------------------------------------------------
def _default_plane(lat_type: str, axis: tuple[int, int, int], ratio) -> tuple[int, int, int]:
    """Twist plane (normal to the axis) as pymatgen computes it, in the metric of the (rational) ratio."""
    if lat_type == "c":
        return axis
    if lat_type in ("t", "h"):
        c2_a2 = 1.0 if ratio is None else ratio[0] / ratio[1]
        metric = (
            np.diag([1.0, 1.0, c2_a2]) if lat_type == "t" else np.array([[1, -0.5, 0], [-0.5, 1, 0], [0, 0, c2_a2]])
        )
    elif lat_type == "r":
        cos_alpha = 0.5 if ratio is None else 1.0 / (ratio[0] / ratio[1] - 2)
        metric = np.full((3, 3), cos_alpha) + (1 - cos_alpha) * np.eye(3)
    else:
        mu, lam, mv = (1 if v is None else v for v in ratio)
        metric = np.diag([1.0, lam / mv, mu / mv])
    fractions = [Fraction(float(x)).limit_denominator() for x in np.asarray(axis) @ metric]
    multiple = math.lcm(*(f.denominator for f in fractions))
    return _int_triple([round(f * multiple) for f in fractions], "plane")


def _classify(lattice: np.ndarray, axis: Sequence[int], plane: Sequence[int]) -> str:
    direction = np.asarray(axis, float) @ lattice
    normal = np.asarray(plane, float) @ np.linalg.inv(lattice).T
    cosine = abs(direction @ normal) / (np.linalg.norm(direction) * np.linalg.norm(normal))
    if cosine > 1 - 1e-4:
        return "twist"
    return "tilt" if cosine < 1e-3 else "mixed"


def _grain_strain(generator, axis, angle, ratio, plane, normal, max_search) -> float:
    """Largest principal strain that puts the rotated grain into the unrotated grain's cell (0 for exact CSLs)."""
    if generator.lat_type == "c":
        return 0.0
    t1, t2 = generator.get_trans_mat(
        r_axis=axis,
        angle=angle,
        normal=normal,
        trans_cry=np.eye(3),
        lat_type=generator.lat_type,
        ratio=None if ratio is None else list(ratio),
        surface=plane,
        max_search=max_search,
    )
    matrix = generator.initial_structure.lattice.matrix
    cell_1, cell_2 = np.asarray(t1) @ matrix, np.asarray(t2) @ matrix
    gradient = cell_1.T @ np.linalg.inv(cell_2.T)  # maps the rotated grain's own cell onto the imposed cell
    stretches = np.sqrt(np.linalg.eigvalsh(gradient.T @ gradient))
    return float(np.max(np.abs(stretches - 1.0)))


def _reduce_in_plane(structure: Structure) -> Structure:
    """Same bicrystal with a Gauss-reduced, right-handed in-plane basis (a, b) and c shortened by the nearest
    in-plane lattice vector (as normal to the GB as the lattice allows). Fractional heights along c are unchanged."""
    from pymatgen.core import Lattice, Structure

    a, b, c = np.array(structure.lattice.matrix)
    for _ in range(100):  # Lagrange-Gauss reduction of (a, b)
        if np.dot(b, b) < np.dot(a, a):
            a, b = b, -a  # swap keeping the orientation of a x b
        shift = round(float(np.dot(a, b) / np.dot(a, a)))
        if shift == 0:
            break
        b = b - shift * a
    x, y = np.linalg.lstsq(np.array([a, b]).T, c, rcond=None)[0]
    candidates = [c - (math.floor(x) + i) * a - (math.floor(y) + j) * b for i in (0, 1) for j in (0, 1)]
    cell = np.array([a, b, min(candidates, key=np.linalg.norm)])
    if np.linalg.det(cell) < 0:
        cell[0] *= -1  # right-handed; the fractional coordinate along c does not change
    return Structure(
        Lattice(cell),
        structure.species,
        structure.cart_coords,
        coords_are_cartesian=True,
        site_properties=structure.site_properties,
        to_unit_cell=True,
    )


def _heights(structure: Structure) -> tuple[np.ndarray, float, np.ndarray]:
    """Heights of the sites along the GB normal (Å, in [0, H)), the cell height H and the unit normal (along c)."""
    a, b, c = structure.lattice.matrix
    normal = np.cross(a, b)
    normal *= np.sign(np.dot(normal, c)) / np.linalg.norm(normal)
    height = float(np.dot(normal, c))
    return np.mod(structure.frac_coords[:, 2], 1.0) * height, height, normal


def _interfaces(heights: np.ndarray, height: float, rotated: np.ndarray):
    """GB positions (Å, ascending), interface gaps (Å, same order) and grain thicknesses (Å; rotated, unrotated).

    The sites sorted by height, read around the periodic cell, must change grain exactly twice: each change is a
    GB, placed midway between the last layer of one grain and the first of the other.
    """
    order = np.argsort(heights, kind="stable")
    z, grain = heights[order], rotated[order]
    n = len(z)
    changes = [k for k in range(n) if grain[k] != grain[(k + 1) % n]]
    if len(changes) != 2:
        raise RuntimeError(f"the grains change {len(changes)} times along the GB normal (expected 2)")
    found = []
    for k in changes:
        upper = z[(k + 1) % n] + (height if k == n - 1 else 0.0)
        found.append(((0.5 * (z[k] + upper)) % height, float(upper - z[k]), bool(grain[k])))
    top_of_rotated = next(p for p, _, below_is_rotated in found if below_is_rotated)
    bottom_of_rotated = next(p for p, _, below_is_rotated in found if not below_is_rotated)
    rotated_thickness = (top_of_rotated - bottom_of_rotated) % height
    found.sort()
    return (
        (float(found[0][0]), float(found[1][0])),
        (found[0][1], found[1][1]),
        (float(rotated_thickness), float(height - rotated_thickness)),
    )


def _remove_close_atoms(structure: Structure, min_distance: float, labels: list[str]):
    """Remove atoms until no pair is closer than ``min_distance`` (Å): each time the atom with the most close
    contacts, on ties the one of the unrotated grain (then the last), as pymatgen's ``rm_ratio`` merge deletes one
    atom of each too-close group. Returns the structure, the remaining labels and the removed atoms."""
    removed = []
    while True:
        centers, _, _, distances = structure.get_neighbor_list(min_distance)
        if len(centers) == 0:
            return structure, labels, removed
        counts = np.bincount(centers, minlength=len(structure))
        candidates = [int(i) for i in np.flatnonzero(counts == counts.max())]
        victim = max(candidates, key=lambda i: (labels[i] == "unrotated", i))
        removed.append(
            {
                "element": structure[victim].specie.symbol,
                "grain": labels[victim],
                "cart_coords": structure[victim].coords.copy(),
                "nearest_distance": float(distances[centers == victim].min()),
            }
        )
        structure.remove_sites([victim])
        labels = labels[:victim] + labels[victim + 1 :]


def build_grain_boundary(
    structure: Structure,
    axis: Sequence[int],
    *,
    sigma: int | None = None,
    angle: float | None = None,
    plane: Sequence[int] | None = None,
    expand_times: int | None = None,
    grain_thickness: float | None = None,
    ratio: Any = "auto",
    max_denominator: int = 5,
    min_distance: float | None = None,
    ab_shift: Sequence[float] = (0.0, 0.0),
    normal: bool = False,
    max_atoms: int = 400,
    max_strain: float = 0.02,
    max_search: int = 20,
    symprec: float = 0.1,
) -> tuple[Structure, GrainBoundaryRecord]:
    """Periodic CSL bicrystal (two GBs per cell) of ``structure`` and its :class:`GrainBoundaryRecord`.

    :param axis: rotation axis [u, v, w]; :param sigma: Σ; :param angle: rotation angle (degrees); give either or
        both (see :func:`resolve_rotation`, :func:`csl_angles` lists the options).
    :param plane: GB plane (h, k, l) of the unrotated grain; None: twist GB.
    :param expand_times: CSL repeat units per grain along the normal (default 2); or
    :param grain_thickness: minimum thickness of each grain (Å), from which expand_times is chosen.
    :param ratio: ``"auto"`` or the squared axial ratios (module docstring); :param max_denominator: of ``"auto"``.
    :param min_distance: atoms closer than this (Å) at the GBs are removed (None: 0.7 x the shortest bulk distance,
        pymatgen's ``rm_ratio``); must be below the shortest bulk distance.
    :param ab_shift: in-plane shift of the unrotated grain (fractions of the GB cell's a and b).
    :param normal: require the cell's c vector normal to the GB (can give much larger cells).
    :param max_atoms: refuse cells with more atoms. :param max_strain: refuse a ratio approximation straining the
        rotated grain by more than this fraction. :param max_search: pymatgen's cell search range.
    :returns: the bicrystal (site property ``grain_label``: ``rotated``/``unrotated``; a and b span the GB plane and
        are Gauss-reduced, c is shortened by in-plane lattice vectors; the rotated grain lies in the lower half of the
        cell along the normal) and the record. Atoms removed at the GBs are listed in the record; the cell may then
        be off-stoichiometric (``record.stoichiometric``).
    """
    from pymatgen.core import Composition, Structure

    axis = _int_triple(axis, "axis")
    if expand_times is not None and grain_thickness is not None:
        raise ValueError("give expand_times or grain_thickness, not both")
    if expand_times is not None and (not _is_integral(expand_times) or expand_times < 1):
        raise ValueError(f"expand_times must be a positive integer, got {expand_times!r}")
    if grain_thickness is not None and not float(grain_thickness) > 0:
        raise ValueError(f"grain_thickness must be positive (Å), got {grain_thickness!r}")
    if not _is_integral(max_atoms) or max_atoms < 1:
        raise ValueError(f"max_atoms must be a positive integer, got {max_atoms!r}")
    shift = tuple(float(x) for x in ab_shift)
    if len(shift) != 2:
        raise ValueError(f"ab_shift must be two fractions (of the GB cell's a and b), got {ab_shift!r}")

    generator = _generator(structure, symprec)
    bulk = generator.initial_structure
    n_bulk = len(bulk)
    repeats = 1 if expand_times is None and grain_thickness is not None else int(expand_times or 2)
    largest = max(2, int(max_atoms) // (2 * n_bulk * repeats))  # a bicrystal has at least 2 Σ n_bulk atoms per repeat
    sigma, angle, used_ratio = resolve_rotation(
        structure, axis, sigma, angle, ratio, max_denominator, symprec, max_sigma=largest
    )
    plane = _default_plane(generator.lat_type, axis, used_ratio) if plane is None else _int_triple(plane, "plane")

    distances = bulk.distance_matrix if len(bulk) > 1 else (bulk * (1, 1, 2)).distance_matrix
    shortest = float(np.min(distances[distances > 1e-8]))
    min_distance = _RM_RATIO * shortest if min_distance is None else float(min_distance)
    if not 0 < min_distance < shortest:
        raise ValueError(
            f"min_distance must be positive and below the shortest bulk distance {shortest:.3f} Å "
            f"(else bulk atoms would be removed), got {min_distance}"
        )

    lower_bound = 2 * sigma * n_bulk * repeats
    if lower_bound > max_atoms:
        raise ValueError(
            f"a Σ{sigma} bicrystal of this {n_bulk}-atom cell has at least {lower_bound} atoms > max_atoms = "
            f"{max_atoms}: choose a smaller Σ or fewer repetitions, or raise max_atoms"
        )
    try:
        strain = _grain_strain(generator, axis, angle, used_ratio, plane, normal, max_search)
    except RuntimeError as error:
        raise ValueError(f"pymatgen could not build Σ{sigma} {list(axis)}/{plane}: {error}") from error
    if strain > max_strain:
        raise ValueError(
            f"the axial ratio {used_ratio} strains the rotated grain by {100 * strain:.2f} % > max_strain = "
            f"{100 * max_strain:.2f} %: give a closer ratio (e.g. a larger max_denominator) or raise max_strain"
        )

    def generate(times: int):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                gb = generator.gb_from_parameters(
                    axis,
                    angle,
                    expand_times=times,
                    ab_shift=shift,
                    normal=bool(normal),
                    ratio=None if used_ratio is None else list(used_ratio),
                    plane=plane,
                    max_search=int(max_search),
                    rm_ratio=0.0,  # merges exact duplicates only; closer atoms are removed below, and reported
                )
            except (RuntimeError, ValueError) as error:
                raise ValueError(f"pymatgen could not build Σ{sigma} {list(axis)}/{plane}: {error}") from error
        for item in caught:
            if "max_search" in str(item.message):
                raise ValueError(f"pymatgen: {item.message} (Σ{sigma} {list(axis)}/{plane})")
            if issubclass(item.category, UserWarning):
                warnings.warn(item.message, stacklevel=3)
        return gb

    if expand_times is None and grain_thickness is not None:
        unit = generate(1)
        unit_height = abs(unit.lattice.volume / np.linalg.norm(np.cross(*unit.lattice.matrix[:2]))) / 2
        expand_times = max(1, math.ceil(float(grain_thickness) / unit_height - 1e-6))
        if len(unit) * expand_times > max_atoms:
            raise ValueError(
                f"grain_thickness {grain_thickness} Å needs {expand_times} repeat units of {unit_height:.2f} Å per "
                f"grain: {len(unit) * expand_times} atoms > max_atoms = {max_atoms}"
            )
    expand_times = int(expand_times or 2)
    gb = generate(expand_times)
    if len(gb) > max_atoms:  # before removal, so that the cap does not depend on min_distance
        raise ValueError(
            f"the Σ{sigma} {list(axis)}/{plane} bicrystal has {len(gb)} atoms > max_atoms = {max_atoms}: "
            "choose a smaller Σ, fewer repetitions or normal=False, or raise max_atoms"
        )
    n_expected = round(gb.lattice.volume / bulk.lattice.volume * n_bulk)
    expected = Composition({el: amount * n_expected / n_bulk for el, amount in bulk.composition.items()})

    labels = ["unrotated" if str(label).startswith("top") else "rotated" for label in gb.site_properties["grain_label"]]
    cell = _reduce_in_plane(Structure(gb.lattice, gb.species, gb.frac_coords, site_properties={"grain_label": labels}))
    heights, height, unit_normal = _heights(cell)
    positions, _, _ = _interfaces(heights, height, np.array([x == "rotated" for x in labels]))
    cell, labels, removed = _remove_close_atoms(cell, min_distance, labels)
    for atom in removed:
        z = float(np.dot(unit_normal, atom.pop("cart_coords"))) % height
        atom["height"] = z
        atom["distance_to_gb"] = float(min(min(abs(z - p), height - abs(z - p)) for p in positions))
    cell.add_site_property("grain_label", labels)
    heights, height, _ = _heights(cell)
    positions, gaps, thicknesses = _interfaces(heights, height, np.array([x == "rotated" for x in labels]))

    composition = {el.symbol: int(round(n)) for el, n in cell.composition.items()}
    removed_composition = {
        el.symbol: int(round(n - cell.composition[el])) for el, n in expected.items() if round(n - cell.composition[el])
    }
    record = GrainBoundaryRecord(
        rotation_axis=axis,
        rotation_angle=float(angle),
        sigma=int(sigma),
        plane=tuple(int(x) for x in plane),
        join_plane=tuple(int(x) for x in gb.join_plane),
        gb_type=_classify(bulk.lattice.matrix, axis, plane),
        lattice_type=_LATTICE_NAMES[generator.lat_type],
        setting_abc=tuple(float(x) for x in bulk.lattice.abc),
        ratio=None if used_ratio is None else list(used_ratio),
        grain_strain=strain,
        expand_times=expand_times,
        ab_shift=shift,
        normal_length=float(height),
        grain_thicknesses=thicknesses,
        gb_positions=positions,
        interface_gaps=gaps,
        gb_area=float(np.linalg.norm(np.cross(*cell.lattice.matrix[:2]))),
        min_distance=min_distance,
        n_atoms=len(cell),
        n_atoms_before_removal=n_expected,
        composition=composition,
        stoichiometric=cell.composition.reduced_formula == bulk.composition.reduced_formula,
        removed_composition=removed_composition,
        removed=removed,
    )
    return cell, record


def parse_grain_boundary_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`build_grain_boundary` from a parameter mapping (keys of
    ``GRAIN_BOUNDARY_DEFAULTS``), checked for what can be checked without the structure; ``ValueError`` otherwise."""
    unknown = sorted(set(parameters) - set(GRAIN_BOUNDARY_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown grain-boundary setting(s) {unknown}; known: {sorted(GRAIN_BOUNDARY_DEFAULTS)}")
    if parameters.get("axis") is None:
        raise ValueError("a grain boundary needs its rotation axis `axis` [u, v, w]")
    kwargs = {k: v for k, v in parameters.items() if v is not None or k == "ratio"}
    kwargs["axis"] = _int_triple(kwargs["axis"], "axis")
    if "plane" in kwargs:
        kwargs["plane"] = _int_triple(kwargs["plane"], "plane")
    if kwargs.get("sigma") is None and kwargs.get("angle") is None:
        raise ValueError("give the rotation as sigma (Σ), angle (degrees) or both")
    if "sigma" in kwargs:
        if not _is_integral(kwargs["sigma"]) or kwargs["sigma"] < 2:
            raise ValueError(f"sigma must be an integer ≥ 2, got {kwargs['sigma']!r}")
        kwargs["sigma"] = int(kwargs["sigma"])
    if "angle" in kwargs and (isinstance(kwargs["angle"], bool) or not isinstance(kwargs["angle"], (int, float))):
        raise ValueError(f"angle must be a number of degrees, got {kwargs['angle']!r}")
    for key in ("expand_times", "max_atoms", "max_denominator", "max_search"):
        if key in kwargs and (not _is_integral(kwargs[key]) or kwargs[key] < 1):
            raise ValueError(f"{key} must be a positive integer, got {kwargs[key]!r}")
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    for key in ("grain_thickness", "min_distance", "max_strain", "symprec"):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise ValueError(f"{key} must be a positive number, got {value!r}")
    if "expand_times" in kwargs and "grain_thickness" in kwargs:
        raise ValueError("give expand_times or grain_thickness, not both")
    shift = kwargs.get("ab_shift", (0.0, 0.0))
    if (
        not isinstance(shift, (list, tuple))
        or len(shift) != 2
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in shift)
    ):
        raise ValueError(f"ab_shift must be two fractions (of the GB cell's a and b), got {shift!r}")
    if "normal" in kwargs and not isinstance(kwargs["normal"], bool):
        raise ValueError(f"normal must be true or false, got {kwargs['normal']!r}")
    return kwargs
