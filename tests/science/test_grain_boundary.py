"""CSL grain-boundary bicrystals: Σ5 twist and tilt GBs of antifluorite Li2S and of orthorhombic β-Li3PS4."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aiida_lps.science.grain_boundary import (
    GrainBoundaryRecord,
    axial_ratio,
    build_grain_boundary,
    csl_angles,
    parse_grain_boundary_parameters,
)
from aiida_lps.structures.reference import load_structure

SIGMA5_001 = math.degrees(2 * math.atan(1 / 3))  # 36.87°: tan(θ/2) = 1/3


@pytest.fixture(scope="module")
def li2s():
    return load_structure("Li2S")  # conventional cubic cell, 12 atoms, a = 5.670 Å


@pytest.fixture(scope="module")
def beta():
    return load_structure("beta-Li3PS4")  # Pnma, 32 atoms, a < b < c


@pytest.fixture(scope="module")
def li2s_twist(li2s):
    return build_grain_boundary(li2s, [0, 0, 1], sigma=5, expand_times=2)


@pytest.fixture(scope="module")
def li2s_tilt(li2s):
    return build_grain_boundary(li2s, [0, 0, 1], sigma=5, plane=[1, 2, 0], expand_times=1)


def _normal(structure) -> np.ndarray:
    a, b, c = structure.lattice.matrix
    normal = np.cross(a, b)
    return normal * np.sign(normal @ c) / np.linalg.norm(normal)


def _circular(x: float, period: float) -> float:
    x %= period
    return min(x, period - x)


def _check_bicrystal(structure, record: GrainBoundaryRecord, bulk) -> None:
    """Properties every bicrystal must have, measured on the structure (not read back from the record)."""
    # atoms: the expected count of two perfect grains minus exactly the removed atoms, species by species
    n_grains = round(structure.lattice.volume / bulk.lattice.volume * len(bulk))
    assert record.n_atoms_before_removal == n_grains
    assert len(structure) == record.n_atoms == n_grains - len(record.removed)
    counted = {}
    for atom in record.removed:
        counted[atom["element"]] = counted.get(atom["element"], 0) + 1
    assert counted == record.removed_composition
    per_cell = n_grains / len(bulk)
    for element, amount in bulk.composition.items():
        present = structure.composition[element]
        assert present + record.removed_composition.get(element.symbol, 0) == pytest.approx(amount * per_cell)
    # no pair closer than min_distance (periodic images included)
    centers, _, _, _ = structure.get_neighbor_list(record.min_distance)
    assert len(centers) == 0
    # geometry along the normal: the two grains fill the cell, one GB in the middle, one at the cell boundary
    normal = _normal(structure)
    height = structure.lattice.volume / np.linalg.norm(np.cross(*structure.lattice.matrix[:2]))
    assert record.normal_length == pytest.approx(height)
    assert sum(record.grain_thicknesses) == pytest.approx(height)
    heights = (structure.cart_coords @ normal) % height
    rotated = np.array([label == "rotated" for label in structure.site_properties["grain_label"]])
    boundary, middle = sorted(record.gb_positions, key=lambda p: _circular(p, height))
    assert _circular(boundary, height) < 0.1 * height
    assert middle == pytest.approx(height / 2, abs=0.1 * height)
    # going up from the GB at the cell boundary, the rotated grain comes first, then the middle GB, then the other
    first = (heights - boundary) % height < (middle - boundary) % height
    assert np.all(first[rotated]) and not np.any(first[~rotated])
    # removed atoms were at the GBs
    assert all(atom["distance_to_gb"] < 2.0 for atom in record.removed)
    assert structure.lattice.volume > 0  # right-handed cell


def _inplane_angles(structure, element: str, grain: str, normal: np.ndarray, bond: float) -> set[int]:
    """In-plane directions (degrees mod 90, relative to x) of the nearest-neighbour vectors of one interior atom."""
    labels = structure.site_properties["grain_label"]
    height = structure.lattice.volume / np.linalg.norm(np.cross(*structure.lattice.matrix[:2]))
    heights = (structure.cart_coords @ normal) % height
    middle_of_grain = height / 4 if grain == "rotated" else 3 * height / 4
    candidates = [i for i, site in enumerate(structure) if site.specie.symbol == element and labels[i] == grain]
    centre = min(candidates, key=lambda i: abs(heights[i] - middle_of_grain))
    angles = set()
    for neighbour in structure.get_neighbors(structure[centre], bond + 0.05):
        vector = neighbour.coords - structure[centre].coords
        if neighbour.specie.symbol == element and abs(vector @ normal) < 0.05:
            angles.add(round(math.degrees(math.atan2(vector[1], vector[0])) % 90, 1) % 90)
    return angles


def test_csl_angles_cubic(li2s):
    options = csl_angles(li2s, [0, 0, 1], max_sigma=25)
    assert sorted(options) == [5, 13, 17, 25]
    assert options[5] == pytest.approx([SIGMA5_001, 90 - SIGMA5_001, 90 + SIGMA5_001, 180 - SIGMA5_001])
    assert options[13][0] == pytest.approx(math.degrees(2 * math.atan(1 / 5)))
    assert axial_ratio(li2s, [0, 0, 1]) is None


def test_li2s_sigma5_twist(li2s, li2s_twist):
    structure, record = li2s_twist
    _check_bicrystal(structure, record, li2s)
    assert (record.sigma, record.gb_type, record.plane, record.join_plane) == (5, "twist", (0, 0, 1), (0, 0, 1))
    assert record.rotation_angle == pytest.approx(SIGMA5_001, abs=1e-9)
    assert record.grain_strain == 0.0 and record.ratio is None
    # 2 grains x 2 repeats x Σ5 x 12 atoms; each repeat is one cubic cell thick along [001]
    assert record.n_atoms_before_removal == 240
    a = li2s.lattice.a
    assert record.normal_length == pytest.approx(4 * a)
    assert record.gb_area == pytest.approx(5 * a * a)
    normal = _normal(structure)
    assert abs(normal @ [0, 0, 1]) == pytest.approx(1.0)  # the unrotated grain keeps the input axes
    # the rotated grain is the unrotated one turned by 36.87° about [001]: compare the in-plane S-S bond directions
    bond = a / math.sqrt(2)
    unrotated = _inplane_angles(structure, "S", "unrotated", normal, bond)
    rotated = _inplane_angles(structure, "S", "rotated", normal, bond)
    assert unrotated == {45.0}
    assert rotated == {round((45.0 + SIGMA5_001) % 90, 1)} or rotated == {round((45.0 - SIGMA5_001) % 90, 1)}


def test_li2s_sigma5_tilt(li2s, li2s_tilt):
    structure, record = li2s_tilt
    _check_bicrystal(structure, record, li2s)
    assert (record.sigma, record.gb_type, record.plane) == (5, "tilt", (1, 2, 0))
    assert record.label == f"Σ5 [0,0,1] {SIGMA5_001:.2f}° (1,2,0) tilt"
    # one CSL repeat along [120] is sqrt(5) a; the GB normal is the (120) normal of the unrotated grain
    a = li2s.lattice.a
    assert record.normal_length == pytest.approx(2 * math.sqrt(5) * a)
    expected_normal = np.array([1.0, 2.0, 0.0]) / math.sqrt(5)
    assert abs(_normal(structure) @ expected_normal) == pytest.approx(1.0)
    # the tilt axis [001] lies in the GB plane
    assert abs(_normal(structure) @ [0, 0, 1]) < 1e-8
    # close Li pairs at the GBs are removed, so that no two atoms are closer than 0.7 x the Li-S bond
    assert record.min_distance == pytest.approx(0.7 * a * math.sqrt(3) / 4)
    assert len(record.removed) > 0 and all(atom["nearest_distance"] < record.min_distance for atom in record.removed)


def test_angle_snaps_to_exact_csl_angle_and_thickness_sets_repeats(li2s):
    structure, record = build_grain_boundary(li2s, [0, 0, 1], angle=36.87, plane=[1, 2, 0], grain_thickness=20.0)
    assert record.sigma == 5 and record.rotation_angle == pytest.approx(SIGMA5_001, abs=1e-9)
    assert record.expand_times == 2  # 2 x sqrt(5) a = 25.4 Å per grain ≥ 20 Å, one repeat (12.7 Å) is not
    assert min(record.grain_thicknesses) >= 20.0
    _check_bicrystal(structure, record, li2s)


def test_smaller_min_distance_removes_fewer_atoms(li2s, li2s_tilt):
    _, default = li2s_tilt
    _, record = build_grain_boundary(li2s, [0, 0, 1], sigma=5, plane=[1, 2, 0], expand_times=1, min_distance=1.0)
    assert record.min_distance == 1.0 and len(record.removed) < len(default.removed)
    assert record.n_atoms == 120 - len(record.removed)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sigma": 5, "angle": 40.0}, r"angle 40.0° is not a Σ5 angle .* Σ5 angles: 36.8699°, 53.1301°"),
        ({"angle": 40.0}, r"angle 40.0° is not a CSL rotation angle .* nearest: Σ5 36.87°"),
        ({"sigma": 7}, r"Σ7 does not exist for axis \[0, 0, 1\] .* Σ5: 36.87°"),
        ({"sigma": 5, "max_atoms": 200}, r"at least 240 atoms > max_atoms = 200"),
        ({"sigma": 13, "expand_times": 1, "max_atoms": 200}, r"at least 312 atoms > max_atoms = 200"),
        ({"sigma": 5, "ratio": [1, 2]}, r"cubic lattice needs no axial ratio"),
        ({"sigma": 5, "min_distance": 2.6}, r"below the shortest bulk distance 2.455 Å"),
        ({"sigma": 5, "expand_times": 1, "grain_thickness": 10.0}, r"expand_times or grain_thickness, not both"),
        ({}, r"give the rotation as sigma"),
    ],
)
def test_impossible_input(li2s, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_grain_boundary(li2s, [0, 0, 1], **kwargs)


def test_parse_parameters():
    kwargs = parse_grain_boundary_parameters({"axis": [0, 0, 2], "sigma": 5, "plane": [2, 4, 0], "expand_times": 1.0})
    assert kwargs == {"axis": (0, 0, 1), "sigma": 5, "plane": (1, 2, 0), "expand_times": 1}
    for params, message in [
        ({"axis": [0, 0, 1], "sigma": 5, "thickness": 3}, r"unknown grain-boundary setting\(s\) \['thickness'\]"),
        ({"sigma": 5}, "needs its rotation axis"),
        ({"axis": [0, 0, 0], "sigma": 5}, "axis must be three integers, not all zero"),
        ({"axis": [0, 0, 1], "sigma": 1}, "sigma must be an integer ≥ 2"),
        ({"axis": [0, 0, 1], "sigma": 5, "max_atoms": 0}, "max_atoms must be a positive integer"),
        ({"axis": [0, 0, 1], "sigma": 5, "min_distance": -1}, "min_distance must be a positive number"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_grain_boundary_parameters(params)


# -- orthorhombic β-Li3PS4 ------------------------------------------------------------------------------------------
def test_beta_li3ps4_ratio_and_options(beta):
    # c²:b²:a² = 169.9 : 64.3 : 38.1; about a only c²/b² = 2.64 ≈ 8/3 matters, a is left irrational
    assert axial_ratio(beta, [1, 0, 0]) == [8, 3, None]
    assert axial_ratio(beta, [0, 1, 0]) == [9, None, 2]
    assert axial_ratio(beta, [0, 0, 1]) == [None, 5, 3]
    options = csl_angles(beta, [1, 0, 0], max_sigma=11)
    assert sorted(options) == [5, 7, 11]
    # Σ5 about a in the rational metric: tan(θ/2) = (n/m) sqrt(d / (mu lam)) with d = 1, n/m = 4 -> 78.46°
    assert options[5][0] == pytest.approx(math.degrees(2 * math.atan(4 / math.sqrt(24))), abs=1e-9)


def test_beta_li3ps4_sigma5_tilt(beta):
    """The Σ5[001]/(120) tilt of Jalem et al. 2023 in Pnma (a = 13.1, b = 8.1, c = 6.3 Å) is Σ5[100]/(021) here."""
    structure, record = build_grain_boundary(beta, [1, 0, 0], sigma=5, plane=[0, 2, 1], expand_times=1)
    _check_bicrystal(structure, record, beta)
    assert (record.sigma, record.gb_type, record.lattice_type) == (5, "tilt", "orthorhombic")
    assert record.ratio == [8, 3, None]
    assert 0 < record.grain_strain < 0.01  # 8/3 vs 2.64: the rotated grain is strained by about 0.5 %
    assert record.n_atoms_before_removal == 2 * 5 * 32
    assert abs(_normal(structure) @ [1, 0, 0]) < 1e-6  # tilt axis a in the GB plane


def test_beta_li3ps4_sigma5_twist_and_strain_cap(beta):
    structure, record = build_grain_boundary(beta, [1, 0, 0], sigma=5, expand_times=1)
    _check_bicrystal(structure, record, beta)
    assert (record.gb_type, record.plane) == ("twist", (1, 0, 0))
    assert record.normal_length == pytest.approx(2 * beta.lattice.a)
    # a crude ratio (c²/a² = 4 instead of 4.46) gives Σ5 about b but strains the rotated grain by 4.4 %
    with pytest.raises(ValueError, match=r"strains the rotated grain by 4\.\d+ % > max_strain = 2\.00 %"):
        build_grain_boundary(beta, [0, 1, 0], sigma=5, ratio=[4, None, 1], expand_times=1, max_atoms=400)
    with pytest.raises(ValueError, match=r"needs ratio='auto' or \[mu, lam, mv\]"):
        build_grain_boundary(beta, [1, 0, 0], sigma=5, ratio=[8, 3])


def test_cap_on_the_built_cell(beta):
    """With c normal to the (0-12) plane the cell doubles (640 atoms): the cap applies to the built cell as well as
    to the lower bound 2 Σ n_bulk x expand_times (320 here)."""
    with pytest.raises(ValueError, match=r"bicrystal has 640 atoms > max_atoms = 400"):
        build_grain_boundary(beta, [1, 0, 0], sigma=5, plane=[0, -1, 2], expand_times=1, normal=True)
