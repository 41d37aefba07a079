"""Close-contact configurations and the short-range check of a potential (real LAMMPS, pair potentials)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.engines.lammps.mlip.short_range import (
    reference_frames,
    short_range_scan,
    shortest_contacts,
    worst_scans,
)
from aiida_lps.science.mlip.sampling import _min_distance, compressed_contact, contact_path
from aiida_lps.structures.reference import load_structure


@pytest.fixture(scope="module")
def beta():
    """The 32-atom β-Li3PS4 cell (ASE)."""
    return AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))


def _distance(atoms, positions, i, j):
    probe = atoms.copy()
    probe.positions = positions
    return probe.get_distance(i, j, mic=True)


@pytest.mark.parametrize(("first", "second", "distance"), [("S", "S", 1.7), ("P", "S", 1.5), ("Li", "Li", 1.0)])
def test_compressed_contact_moves_one_atom_to_the_distance_and_no_closer_to_the_rest(beta, first, second, distance):
    positions, moved, partner = compressed_contact(
        beta.positions, beta.cell.array, beta.get_chemical_symbols(), first, second, distance
    )
    symbols = beta.get_chemical_symbols()
    assert (symbols[moved], symbols[partner]) == (first, second)
    assert _distance(beta, positions, moved, partner) == pytest.approx(distance, abs=1e-9)
    changed = np.flatnonzero(np.linalg.norm(positions - beta.positions, axis=1) > 1e-12)
    assert changed.tolist() == [moved]
    assert _min_distance(positions, beta.cell.array) == pytest.approx(distance, abs=1e-9)


def test_contact_path_keeps_one_pair_and_skips_pairs_that_would_hit_a_third_atom(beta):
    """The nearest S-S pairs are tetrahedron edges (3.3 Å): shortening one to 1.7 Å would bring the S within 1.3 Å
    of its P, so another pair is taken, the same one for every distance."""
    symbols = beta.get_chemical_symbols()
    distances = [1.7, 2.0, 2.5]
    path, moved, partner, present = contact_path(beta.positions, beta.cell.array, symbols, "S", "S", distances)
    nearest_ss = min(
        beta.get_distance(i, j, mic=True)
        for i in range(len(beta))
        for j in range(i + 1, len(beta))
        if symbols[i] == symbols[j] == "S"
    )
    assert present > nearest_ss + 0.1
    assert [_distance(beta, p, moved, partner) for p in path] == pytest.approx(distances, abs=1e-9)


def test_contact_errors_name_the_problem(beta):
    symbols = beta.get_chemical_symbols()
    with pytest.raises(ValueError, match="no Li-O pair"):
        compressed_contact(beta.positions, beta.cell.array, symbols, "Li", "O", 1.0)
    with pytest.raises(ValueError, match="not shorter than"):
        compressed_contact(beta.positions, beta.cell.array, symbols, "Li", "Li", 9.0)


def _soft_lines(li_p_prefactor: float) -> list[str]:
    """``pair_style soft`` (A [1 + cos(π r / 2 Å)] inside 2 Å: nothing at the crystal's contacts, a smooth wall
    inside) for types Li, P, S with A = 10 eV; the Li-P prefactor ``li_p_prefactor`` (eV; negative: a pit)."""
    return ["pair_style soft 2.0", "pair_coeff * * 10.0", f"pair_coeff 1 2 {li_p_prefactor}"]


def test_short_range_scan_flags_the_pair_whose_core_is_attractive(beta):
    shortest = shortest_contacts([beta], cutoff=6.0)  # P-P: 5.0 Å
    assert set(shortest) == {("Li", "Li"), ("Li", "P"), ("Li", "S"), ("P", "P"), ("P", "S"), ("S", "S")}
    sound = short_range_scan(_soft_lines(10.0), beta, ["Li", "P", "S"], shortest)
    # every pair but P-P (5.0 Å apart: halving it runs a P into the S of its neighbours) can be shortened alone
    assert sorted(scan.pair for scan in sound) == ["Li-Li", "Li-P", "Li-S", "P-S", "S-S"]
    assert not any(scan.attractive for scan in sound)
    for scan in sound:  # the wall rises inside 2 Å
        assert scan.energies[0] > scan.energies[-1] + 1.0 and scan.barrier == pytest.approx(scan.energies.max())
        assert scan.distances[-1] == pytest.approx(shortest[tuple(scan.pair.split("-"))])
    broken = {scan.pair: scan for scan in short_range_scan(_soft_lines(-10.0), beta, ["Li", "P", "S"], shortest)}
    flagged = {pair for pair, scan in broken.items() if scan.attractive}
    # Li-P itself, and maybe other scans that move a Li (towards the P's pull); never the Li-free pairs
    assert "Li-P" in flagged and flagged <= {"Li-P", "Li-S", "Li-Li"}
    summary = broken["Li-P"].to_dict()
    assert summary["lowest_energy_eV"] < -0.1 and summary["lowest_at_A"] < summary["shortest_in_data_A"]
    assert summary["barrier_eV"] < 10.0  # falls before any wall


def test_a_wall_shields_a_fall_further_in():
    """Walking inwards: a fall behind a wall of at least `barrier` eV is shielded; a fall before it is not."""
    from aiida_lps.engines.lammps.mlip.short_range import _verdict

    assert _verdict(np.array([0.0, 5.0, 12.0, -500.0]), 0.1, 10.0) == (False, 12.0)
    assert _verdict(np.array([0.0, 5.0, 8.0, -500.0]), 0.1, 10.0) == (True, 8.0)
    assert _verdict(np.array([0.0, -0.05, 3.0]), 0.1, 10.0) == (False, 3.0)  # within the tolerance
    assert _verdict(np.array([0.0, 2.0, np.nan, 30.0]), 0.1, 10.0) == (True, 2.0)


def test_worst_scans_keep_the_least_safe_frame_per_pair(beta):
    """Over several frames (the crystal and rattled copies) a pair is attractive when any frame's scan is."""
    frames = []
    for seed, energy in ((0, -3.0), (1, -2.0), (2, -1.0)):
        atoms = beta.copy()
        atoms.rattle(0.05, seed=seed)
        atoms.info["energy"] = energy
        atoms.calc = _Energy(energy)
        frames.append(atoms)
    picked = reference_frames(frames, count=2)
    assert [a.get_potential_energy() for a in picked] == [-3.0, -2.0]  # the lower half of the ranking
    shortest = shortest_contacts(frames, cutoff=6.0)
    scans = worst_scans(_soft_lines(-10.0), picked, ["Li", "P", "S"], shortest)
    assert [scan.pair for scan in scans] == sorted(scan.pair for scan in scans)
    assert "Li-P" in {scan.pair for scan in scans if scan.attractive}


class _Energy:
    """A stand-in calculator holding a labelled energy (what a labelled extxyz frame carries)."""

    def __init__(self, energy: float):
        self.energy = energy

    def get_potential_energy(self, atoms=None, force_consistent=False):
        return self.energy
