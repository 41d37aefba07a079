"""k-point meshes from a spacing: the DFT builders use aiida's ``KpointsData.set_kpoints_mesh_from_density``.

The meshes are those of the rule used before (n_i = ceil(|b_i| / spacing), written out here as the reference) for
every packaged crystal, its primitive cell and the Li7P3S11 XAS supercell at every spacing of the GPAW and XAS
protocols; the AiiDA-free :func:`mesh_from_spacing` of scripts gives the same meshes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from aiida import orm

from aiida_lps.dft import get_engine
from aiida_lps.dft.base import kpoints_from_spacing
from aiida_lps.protocols import load_protocol_file
from aiida_lps.science.kpoints import mesh_from_spacing
from aiida_lps.structures.reference import structure_names


def _spacings() -> list[float]:
    """Every k-point spacing of the GPAW protocols and of the XAS protocols (GPAW and VASP core-hole runs)."""
    gpaw = load_protocol_file("gpaw")
    values = {gpaw["default_inputs"]["kpoint_spacing"]}
    values |= {body["kpoint_spacing"] for body in gpaw["protocols"].values() if "kpoint_spacing" in body}
    xas = load_protocol_file("xas")
    for body in [xas["default_inputs"], *xas["protocols"].values()]:
        for engine in body.get("engines", {}).values():
            if "kpoint_spacing" in engine.get("xch", {}):
                values.add(engine["xch"]["kpoint_spacing"])
    return sorted(values)


def _reference_mesh(cell: np.ndarray, spacing: float) -> tuple[int, ...]:
    """The rule before ``KpointsData``: n_i = max(1, ceil(|b_i| / spacing - 1e-9)), b = 2π (A⁻¹)ᵀ."""
    lengths = [math.sqrt(sum(x * x for x in row)) for row in (2 * math.pi * np.linalg.inv(cell).T).tolist()]
    return tuple(max(1, math.ceil(length / spacing - 1e-9)) for length in lengths)


def test_protocol_meshes_are_unchanged_for_the_packaged_structures(reference_structure):
    spacings = _spacings()
    assert {0.2, 0.25, 0.3, 0.4, 0.5} <= set(spacings)
    structures = [reference_structure(name, primitive) for name in structure_names() for primitive in (False, True)]
    li7p3s11 = reference_structure("Li7P3S11")
    structures.append(orm.StructureData(ase=li7p3s11.get_ase().repeat((1, 2, 1))))  # the XAS supercell
    checked = set()
    for structure in structures:
        cell = np.asarray(structure.cell)
        for spacing in spacings:
            mesh, offset = kpoints_from_spacing(structure, spacing).get_kpoints_mesh()
            assert tuple(mesh) == _reference_mesh(cell, spacing) == mesh_from_spacing(cell, spacing)
            assert list(offset) == [0.0, 0.0, 0.0]
            checked.add(tuple(mesh))
    assert len(checked) > 10  # the cases differ: the comparison is not between trivial meshes


def test_rounding_and_bad_spacing_follow_aiida():
    # |b_1| / spacing = 3 + 1e-7: aiida rounds it to 3 (no fourth point for a rounding error), as does the script rule
    spacing = 2 * math.pi / 4.0 / (3 + 1e-7)
    structure = orm.StructureData(cell=np.eye(3) * 4.0)
    assert list(kpoints_from_spacing(structure, spacing).get_kpoints_mesh()[0]) == [3, 3, 3]
    assert mesh_from_spacing(np.eye(3) * 4.0, spacing) == (3, 3, 3)
    slab = orm.StructureData(cell=np.eye(3) * 4.0, pbc=(True, True, False))
    assert list(kpoints_from_spacing(slab, 0.5).get_kpoints_mesh()[0]) == [4, 4, 1]  # 1 along a non-periodic axis
    for bad in (0.0, -0.3):
        with pytest.raises(ValueError, match="k-point spacing must be positive"):
            kpoints_from_spacing(structure, bad)


def test_gpaw_builder_takes_the_kpointsdata_mesh(aiida_localhost, reference_structure):
    code = orm.InstalledCode(label="gpaw-unused", computer=aiida_localhost, filepath_executable="/bin/true").store()
    structure = reference_structure("Li7P3S11")
    for protocol, spacing in (("fast", 0.5), ("moderate", 0.3), ("precise", 0.2)):
        builder = get_engine("gpaw").get_builder("single_point", structure, code, protocol)
        assert builder.gpaw.parameters["calculator"]["kpts"] == {
            "size": list(kpoints_from_spacing(structure, spacing).get_kpoints_mesh()[0]),
            "gamma": True,
        }
    explicit = get_engine("gpaw").get_builder(
        "single_point", structure, code, overrides={"calculator": {"kpts": {"size": [1, 1, 1], "gamma": True}}}
    )
    assert explicit.gpaw.parameters["calculator"]["kpts"]["size"] == [1, 1, 1]
