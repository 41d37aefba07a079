"""The array-based StructureData conversions give what the site-by-site AiiDA ones give."""

from __future__ import annotations

import ase.build
import numpy as np
from aiida import orm

from aiida_lps.utils.structures import atoms_from_structure, n_sites, structure_from_arrays, structure_symbols


def test_round_trip_matches_aiida():
    atoms = ase.build.bulk("Li", "bcc", a=3.5).repeat((3, 2, 2))
    atoms.symbols[[1, 5]] = "S"
    atoms.rattle(0.05, seed=3)
    fast = structure_from_arrays(atoms.get_chemical_symbols(), atoms.positions, atoms.cell[:], atoms.pbc).store()
    slow = orm.StructureData(ase=atoms).store()
    assert fast.get_formula() == slow.get_formula()
    assert {(k.name, k.symbol) for k in fast.kinds} == {(k.name, k.symbol) for k in slow.kinds}
    assert [site.kind_name for site in fast.sites] == [site.kind_name for site in slow.sites]
    np.testing.assert_allclose(fast.get_ase().positions, slow.get_ase().positions)
    np.testing.assert_allclose(fast.cell, slow.cell)
    for node in (fast, slow):
        converted = atoms_from_structure(node)
        assert converted.get_chemical_symbols() == atoms.get_chemical_symbols()
        np.testing.assert_allclose(converted.positions, atoms.positions)
        np.testing.assert_allclose(converted.cell[:], atoms.cell[:])
        assert list(converted.pbc) == list(atoms.pbc)
        assert n_sites(node) == len(node.sites) == len(atoms)
        assert structure_symbols(node) == set(node.get_symbols_set()) == {"Li", "S"}


def test_partly_periodic_and_empty_structures_are_read_from_their_attributes():
    structure = orm.StructureData(cell=[[4, 0, 0], [0, 4, 0], [0, 0, 9]], pbc=(True, True, False))
    assert n_sites(structure) == 0 and structure_symbols(structure) == set()
    structure.append_atom(position=(0, 0, 0), symbols="Li")
    structure.store()
    atoms = atoms_from_structure(structure)
    assert list(atoms.pbc) == [True, True, False] and n_sites(structure) == 1


def test_special_kinds_take_the_aiida_path():
    structure = orm.StructureData(cell=[[4, 0, 0], [0, 4, 0], [0, 0, 4]])
    structure.append_atom(position=(0, 0, 0), symbols="S", name="S_ch")
    structure.append_atom(position=(2, 2, 2), symbols="Li")
    atoms = atoms_from_structure(structure)
    assert atoms.get_chemical_symbols() == ["S", "Li"] and atoms.get_tags()[0] != atoms.get_tags()[1]
