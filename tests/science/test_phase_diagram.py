"""Formation energies and the Li2S–P2S5 hull, cross-checked against pymatgen's CompoundPhaseDiagram."""

import math

import numpy as np
import pytest
from pymatgen.analysis.phase_diagram import CompoundPhaseDiagram, PDEntry
from pymatgen.core import Composition

from aiida_lps.science.phase_diagram import (
    atom_fraction_to_formula_fraction,
    convex_hull,
    energy_per_unit,
    formation_energy_per_atom,
    formula_fraction_to_atom_fraction,
    lower_hull,
    phase_diagram,
    pseudo_binary_composition,
)

TERMINALS = [Composition("Li2S"), Composition("P2S5")]


def pymatgen_hull(compositions, energies):
    """e_above_hull (eV/atom) and the set of stable entry indices from pymatgen."""
    entries = [PDEntry(Composition(c), e) for c, e in zip(compositions, energies, strict=True)]
    diagram = CompoundPhaseDiagram(entries, TERMINALS, normalize_terminal_compositions=True)
    index = {id(e): i for i, e in enumerate(entries)}
    above = np.full(len(entries), np.nan)
    for transformed in diagram.all_entries:
        above[index[id(transformed.original_entry)]] = diagram.get_e_above_hull(transformed)
    stable = {index[id(e.original_entry)] for e in diagram.stable_entries}
    return above, stable


def random_entries(rng, n):
    """Compositions Li_a P_b S_c on the line (half units included) with random per-atom energies."""
    comps = [{"Li": 2, "S": 1}, {"P": 2, "S": 5}]
    while len(comps) < n:
        li, p = int(rng.integers(0, 13)), int(rng.integers(0, 7))
        if (li + 5 * p) % 2 or li + p == 0:
            continue
        comps.append({"Li": li, "P": p, "S": (li + 5 * p) // 2})
    natoms = np.array([sum(c.values()) for c in comps])
    energies = rng.uniform(-4.6, -3.9, len(comps)) * natoms
    return comps, energies


@pytest.mark.parametrize("seed", range(40))
def test_hull_matches_pymatgen_on_random_energies(seed):
    rng = np.random.default_rng(seed)
    comps, energies = random_entries(rng, int(rng.integers(3, 25)))
    result = phase_diagram(comps, energies)
    above, stable = pymatgen_hull(comps, energies)
    assert np.max(np.abs(result.e_above_hull - above)) < 1e-6
    assert set(result.vertices.tolist()) == stable
    assert set(np.flatnonzero(result.stable).tolist()) == set(np.flatnonzero(above < 1e-6).tolist())


def test_realistic_energies_reproduce_pymatgen_and_the_published_distances():
    """Formation energies shaped like Guo et al. 2022 (Fig. 5): γ-Li3PS4 on the hull, β 3.2 and Li7P3S11
    17.2 meV/atom above it; Li2S −4.1 and P2S5 −4.4 eV/atom references (GGA-like magnitudes)."""
    e_li2s, e_p2s5 = -4.1 * 3, -4.4 * 7
    phases = {"Li2S": "Li8S4", "P2S5": "P8S20", "gamma": "Li12P4S16", "LiPS3": "Li4P4S12", "Li7PS6": "Li28P4S24"}
    formation = {"gamma": -0.250, "LiPS3": -0.150, "Li7PS6": -0.120}
    comps = {k: Composition(v) for k, v in phases.items()}
    # hull of the three "crystals" first, then put β and Li7P3S11 at the published distances above it
    energy = {
        k: (formation.get(k, 0.0) * c.num_atoms + c["Li"] / 2 * e_li2s + c["P"] / 2 * e_p2s5) for k, c in comps.items()
    }
    first = phase_diagram([comps[k] for k in energy], list(energy.values()), list(energy))
    hull_at = dict(zip(first.hull_atom_fraction, first.hull_energy, strict=True))
    for name, formula, distance in (("beta", "Li12P4S16", 0.0032), ("Li7P3S11", "Li28P12S44", 0.0172)):
        comp = pseudo_binary_composition(formula)
        e_hull = np.interp(comp.atom_fraction, list(hull_at), list(hull_at.values()))
        comps[name] = Composition(formula)
        energy[name] = (e_hull + distance) * comp.natoms + comp.n_li2s * e_li2s + comp.n_p2s5 * e_p2s5
    labels = list(energy)
    result = phase_diagram([comps[k] for k in labels], [energy[k] for k in labels], labels)
    above, stable = pymatgen_hull([comps[k] for k in labels], [energy[k] for k in labels])
    assert np.max(np.abs(result.e_above_hull - above)) < 1e-6
    by_label = result.to_dict()["entries"]
    assert by_label["beta"]["e_above_hull_per_atom"] == pytest.approx(0.0032, abs=1e-9)
    assert by_label["Li7P3S11"]["e_above_hull_per_atom"] == pytest.approx(0.0172, abs=1e-9)
    assert by_label["gamma"]["stability"] == "stable" and by_label["beta"]["stability"] == "metastable"
    assert {labels[i] for i in stable} == {labels[i] for i in result.vertices}


def test_per_atom_energies_against_formula_fraction_give_a_wrong_hull():
    """LiPS3 (x = 0.5), Li7P3S11 (x = 0.7), Li3PS4 (x = 0.75): Li7P3S11 is 1.7 meV/atom below the LiPS3–Li3PS4
    chord (on the hull) in the atom fraction, but 1.0 meV/atom above it when per-atom energies are drawn against x."""
    comps = ["Li2S", "P2S5", "LiPS3", "Li7P3S11", "Li3PS4"]
    formation = [0.0, 0.0, -0.18, -0.235, -0.25]
    pbc = [pseudo_binary_composition(Composition(c).as_dict()) for c in comps]
    right = convex_hull([c.atom_fraction for c in pbc], formation, comps)
    wrong = convex_hull([c.x for c in pbc], formation, comps)
    energies = [f * c.natoms + c.n_li2s * (-12.0) + c.n_p2s5 * (-30.0) for f, c in zip(formation, pbc, strict=True)]
    above, stable = pymatgen_hull(comps, energies)
    assert np.max(np.abs(right.e_above_hull - above)) < 1e-6
    assert right.to_dict()["entries"]["Li7P3S11"]["stability"] == "stable"
    # the error the atom fraction avoids: a stable phase pushed off the hull
    assert wrong.to_dict()["entries"]["Li7P3S11"]["e_above_hull_per_atom"] == pytest.approx(0.001, abs=1e-4)
    assert {comps[i] for i in stable} == {comps[i] for i in right.vertices}


def test_compositions_and_eq1():
    beta = pseudo_binary_composition("Li12P4S16")
    assert (beta.x, beta.atom_fraction, beta.n_li2s, beta.n_p2s5) == (0.75, 0.5625, 6.0, 2.0)
    # eq. 1 per formula unit (7 − 4x atoms) equals the per-structure expression
    e_li2s, e_p2s5, total = -12.3, -30.8, -140.0
    x = beta.x
    per_formula_unit = total / (beta.n_li2s + beta.n_p2s5)
    eq1 = (per_formula_unit - x * e_li2s - (1 - x) * e_p2s5) / (7 - 4 * x)
    assert formation_energy_per_atom({"Li": 12, "P": 4, "S": 16}, total, e_li2s, e_p2s5) == pytest.approx(eq1)
    y = np.linspace(0, 1, 11)
    assert np.allclose(formula_fraction_to_atom_fraction(atom_fraction_to_formula_fraction(y)), y)
    assert energy_per_unit("Li8S4", -49.2, "Li2S") == pytest.approx(-12.3)
    assert energy_per_unit({"P": 8, "S": 20}, -123.2, "P2S5") == pytest.approx(-30.8)


def test_lower_hull_skips_collinear_and_duplicate_points():
    f = [0.0, 0.25, 0.5, 0.5, 1.0, 0.75]
    e = [0.0, -0.1, -0.2, -0.1, 0.0, -0.1]
    assert lower_hull(f, e).tolist() == [0, 2, 4]


@pytest.mark.parametrize(
    ("composition", "message"),
    [
        ("Li3PS5", "not on the Li2S–P2S5 line"),
        ("Li3PS3", "1 S too few"),
        ("Li2O", "only Li, P and S"),
        ({"Li": 1.5, "S": 0.75}, "non-negative integer"),
        ({}, "no atoms"),
    ],
)
def test_bad_compositions(composition, message):
    with pytest.raises(ValueError, match=message):
        pseudo_binary_composition(composition)


def test_bad_energies_and_missing_end_members():
    with pytest.raises(ValueError, match="not finite"):
        convex_hull([0.2, 0.5], [math.nan, -0.1])
    with pytest.raises(ValueError, match="total energy"):
        formation_energy_per_atom("Li3PS4", math.nan, -12.0, -30.0)
    with pytest.raises(ValueError, match="P2S5 reference energy"):
        formation_energy_per_atom("Li3PS4", -35.0, -12.0, math.inf)
    with pytest.raises(ValueError, match=r"no end-member entry for P2S5 \(x = 0\)"):
        phase_diagram(["Li2S", "Li3PS4"], [-12.0, -35.0])
    with pytest.raises(ValueError, match="Li2S \\(x = 1\\) and P2S5"):
        phase_diagram(["Li3PS4"], [-35.0])
    with pytest.raises(ValueError, match="must be pure Li2S"):
        energy_per_unit("Li3PS4", -35.0, "Li2S")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        convex_hull([1.2], [-0.1])
    with pytest.raises(ValueError, match="labels must be unique"):
        convex_hull([0.2, 0.3], [-0.1, -0.1], ["a", "a"])
