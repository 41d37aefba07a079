"""VASP input choices: the protocol of Guo et al. 2022, POTCAR symbols, VASP's automatic k-point rule (no AiiDA)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from aiida_lps.engines.vasp import outputs, settings

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "vasp" / "vasp-xch-Li7P3S11" / "ground_state"


def test_moderate_relax_reproduces_seed_001():
    """Guo et al. 2022, Methods: PAW-PBE, 520 eV, Gaussian 0.05 eV, 1e-5 eV, forces < 0.02 eV/Å, R_k = 25 Å."""
    result = settings.get_protocol_settings("relax", "moderate")
    incar = result["incar"]
    assert incar["encut"] == 520
    assert incar["ismear"] == 0  # Gaussian
    assert incar["sigma"] == 0.05
    assert incar["ediff"] == 1e-5
    assert incar["ediffg"] == -0.02  # negative: a force criterion in eV/Å
    assert incar["ibrion"] == 2 and incar["isif"] == 3 and incar["nsw"] > 0
    assert result["kpoints_length"] == 25.0 and result["gamma_only"] is False
    assert result["potential_set"] == "pbe"
    assert all(key == key.lower() for key in incar)


def test_single_point_has_no_ionic_loop_and_default_protocol_is_the_seed():
    incar = settings.get_protocol_settings("single_point")["incar"]
    assert incar["nsw"] == 0 and incar["ibrion"] == -1
    assert "ediffg" not in incar and "isif" not in incar
    assert settings.get_protocol_settings("single_point")["protocol"] == "moderate"


def test_protocols_are_ordered_by_precision():
    assert set(settings.available_protocols()) == {"fast", "moderate", "precise"}
    fast, moderate, precise = (settings.get_protocol_settings("relax", p) for p in ("fast", "moderate", "precise"))
    assert fast["incar"]["encut"] < moderate["incar"]["encut"] < precise["incar"]["encut"]
    assert fast["incar"]["ediff"] > moderate["incar"]["ediff"] > precise["incar"]["ediff"]
    assert abs(fast["incar"]["ediffg"]) > abs(moderate["incar"]["ediffg"]) > abs(precise["incar"]["ediffg"])
    assert fast["kpoints_length"] < moderate["kpoints_length"] < precise["kpoints_length"]


def test_overrides_merge_remove_and_reject():
    result = settings.get_protocol_settings(
        "relax", overrides={"incar": {"ISPIN": 2, "lreal": None}, "gamma_only": True, "options": {"withmpi": False}}
    )
    assert result["incar"]["ispin"] == 2 and "lreal" not in result["incar"]
    assert result["gamma_only"] is True
    assert result["options"]["withmpi"] is False and result["options"]["resources"] == {"num_machines": 1}
    with pytest.raises(ValueError, match="unknown DFT task 'md'"):
        settings.get_protocol_settings("md")
    with pytest.raises(ValueError, match="unknown VASP protocol 'ultra'"):
        settings.get_protocol_settings("relax", "ultra")
    with pytest.raises(ValueError, match=r"unknown VASP override key\(s\) \['encut'\]"):
        settings.get_protocol_settings("relax", overrides={"encut": 400})
    with pytest.raises(ValueError, match="unknown POTCAR set 'lda'"):
        settings.get_protocol_settings("relax", overrides={"potential_set": "lda"})


def test_potcar_symbols():
    assert settings.potcar_mapping(["Li", "P", "S"]) == {"Li": "Li_sv", "P": "P", "S": "S"}
    assert settings.potcar_mapping(["Li", "P", "S"], "gw") == {"Li": "Li_GW", "P": "P_GW", "S": "S_GW"}
    # a core-hole absorber kind takes its element's POTCAR unless named explicitly
    kinds = {"S_abs": "S", "Li": "Li", "S": "S"}
    assert settings.potcar_mapping(kinds, "gw")["S_abs"] == "S_GW"
    assert settings.potcar_mapping(kinds, overrides={"Li": "Li"}) == {"S_abs": "S", "Li": "Li", "S": "S"}
    assert settings.potcar_mapping(kinds, overrides={"S_abs": "S_h", "S": "S"})["S_abs"] == "S_h"
    with pytest.raises(ValueError, match="no POTCAR mapping for element 'Fe'"):
        settings.potcar_mapping(["Li", "Fe"])
    assert settings.potcar_mapping(["Fe"], overrides={"Fe": "Fe_pv"}) == {"Fe": "Fe_pv"}


@pytest.mark.parametrize(
    ("a", "length", "expected"),
    [
        (5.0, 25.0, 5),  # 25/5 + 0.5 = 5.5 -> 5
        (4.0, 25.0, 6),  # 6.25 + 0.5 = 6.75 -> 6
        (10.0, 25.0, 3),  # 2.5 + 0.5 = 3.0 -> 3
        (12.0, 25.0, 2),  # 2.08 + 0.5 -> 2
        (100.0, 25.0, 1),  # 0.25 + 0.5 -> 0 -> at least 1
    ],
)
def test_kmesh_cubic(a, length, expected):
    assert settings.kpoint_mesh_from_length(np.eye(3) * a, length) == (expected,) * 3


def test_kmesh_triclinic_by_hand():
    cell = np.array([[5.0, 0.0, 0.0], [1.5, 6.0, 0.0], [0.7, -1.1, 8.0]])
    volume = np.dot(cell[0], np.cross(cell[1], cell[2]))
    b = [np.cross(cell[1], cell[2]) / volume, np.cross(cell[2], cell[0]) / volume, np.cross(cell[0], cell[1]) / volume]
    expected = tuple(max(1, int(20.0 * np.linalg.norm(bi) + 0.5)) for bi in b)
    assert settings.kpoint_mesh_from_length(cell, 20.0) == expected
    # the rule uses plane spacings, not vector lengths: |b_2| = 1/d_010 here differs from 1/|a_2|
    assert np.allclose(settings.reciprocal_lengths(cell), [np.linalg.norm(bi) for bi in b])


def test_kmesh_rule_reproduces_vasp_on_the_real_triclinic_cell():
    """The recorded Li7P3S11 run used `Auto 25`; VASP printed the mesh it generated in the OUTCAR."""
    lines = (DATA / "POSCAR").read_text().splitlines()
    cell = float(lines[1]) * np.array([[float(x) for x in lines[i].split()] for i in (2, 3, 4)])
    kpoints = (DATA / "KPOINTS").read_text().splitlines()
    assert kpoints[2].strip().lower().startswith("a")
    length = float(kpoints[3])
    vasp_mesh = outputs.read_outcar(DATA / "OUTCAR.bz2")["kpoint_mesh"]
    assert settings.kpoint_mesh_from_length(cell, length) == tuple(vasp_mesh)


def test_gamma_only_and_explicit_mesh():
    cell = np.eye(3) * 10.0
    assert settings.kpoint_mesh(cell, settings.get_protocol_settings("relax", overrides={"gamma_only": True})) == (
        1,
        1,
        1,
    )
    chosen = settings.get_protocol_settings("relax", overrides={"kpoints_mesh": [2, 3, 4]})
    assert settings.kpoint_mesh(cell, chosen) == (2, 3, 4)
    with pytest.raises(ValueError, match="kpoints_mesh must be three positive integers"):
        settings.kpoint_mesh(cell, {"kpoints_mesh": [0, 1, 1]})
    with pytest.raises(ValueError, match="must be positive"):
        settings.kpoint_mesh_from_length(cell, 0.0)
