"""GPAW PAW datasets as aiida-pseudo families, and the DFT engine registry (entry points); no GPAW run."""

from __future__ import annotations

import gzip
import hashlib
import io

import pytest
from aiida import orm
from aiida_pseudo.data.pseudo import JthXmlData

from aiida_lps.dft import available_engines, get_engine
from aiida_lps.dft.gpaw import GpawEngine
from aiida_lps.dft.gpaw_setups import (
    GpawSetupFamily,
    add_core_hole_setup,
    core_hole_family_label,
    gpaw_data_family,
    gpaw_data_family_label,
    gpaw_data_path,
    setups_for_structure,
)


def _content(element: str, xc: str) -> bytes:
    return gzip.decompress((gpaw_data_path() / f"{element}.{xc}.gz").read_bytes())


def test_gpaw_data_family_reuses_stored_datasets(reference_structure):
    """The family holds gpaw-data's datasets as JthXmlData; a dataset already stored (same MD5) is reused."""
    known = JthXmlData(io.BytesIO(_content("Li", "RPBE")), filename="Li.RPBE").store()
    family = gpaw_data_family("RPBE", ["Li", "S"])
    assert isinstance(family, GpawSetupFamily) and family.label == gpaw_data_family_label("RPBE")
    assert sorted(family.elements) == ["Li", "S"]
    assert family.get_pseudo("Li").uuid == known.uuid
    assert family.get_pseudo("S").md5 == hashlib.md5(_content("S", "RPBE")).hexdigest()
    # asking again (or for a structure of the same elements) adds nothing and stores no new node
    count = orm.QueryBuilder().append(JthXmlData).count()
    setups = setups_for_structure(reference_structure("Li2S", primitive=True), "RPBE")
    assert {kind: node.uuid for kind, node in setups.items()} == {
        "Li": known.uuid,
        "S": family.get_pseudo("S").uuid,
    }
    assert orm.QueryBuilder().append(JthXmlData).count() == count
    assert len(GpawSetupFamily.collection.get(label=family.label).nodes) == 2


def test_gpaw_data_family_bad_requests(reference_structure):
    with pytest.raises(ValueError, match=r"no RPBE dataset for \['Xx'\]"):
        gpaw_data_family("RPBE", ["Xx"])
    with pytest.raises(ValueError, match="no NoSuchXC datasets"):
        gpaw_data_family("NoSuchXC")
    structure = reference_structure("Li2S", primitive=True)
    structure.append_atom(position=(0.0, 0.0, 0.5), symbols="S", name="S_ch")
    with pytest.raises(ValueError, match="kind 'S_ch' is not an element name"):
        setups_for_structure(structure, "RPBE")


def test_core_hole_family_keeps_the_first_dataset_per_element():
    """Generated core-hole datasets go to a family of their own, labelled with the hole and the functional."""
    first = JthXmlData(io.BytesIO(_content("S", "LDA")), filename="S.S_ch.LDA").store()
    second = JthXmlData(io.BytesIO(_content("S", "LDA") + b"\n"), filename="S.S_ch.LDA").store()
    family = add_core_hole_setup(first, "LDA")
    assert family.label == core_hole_family_label("LDA") and "/1s/LDA" in family.label
    assert add_core_hole_setup(second, "LDA").get_pseudo("S").uuid == first.uuid
    assert family.label != gpaw_data_family_label("LDA")


def test_engine_registry_from_entry_points():
    """Engines come from the `aiida_lps.dft.engines` entry points; an unknown name lists the known ones."""
    assert {"gpaw", "vasp"} <= set(available_engines())
    assert get_engine("gpaw") is GpawEngine
    assert get_engine("vasp").name == "vasp"
    with pytest.raises(ValueError, match=r"unknown DFT engine 'abinit'; available: \[.*'gpaw'.*'vasp'.*\]"):
        get_engine("abinit")
