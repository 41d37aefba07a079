"""VaspEngine: builder of aiida-vasp's `vasp.vasp` work chain, and the end-to-end path with a replayed real run."""

from __future__ import annotations

import pathlib

import ase.io
import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_lps.dft.base import TASKS
from aiida_lps.dft.vasp import VaspEngine, normalise_vasp_outputs
from aiida_lps.engines.vasp import outputs, settings
from aiida_lps.testing import REPLAY_PARSER_SETTINGS, fake_potcar_family, replay_code

REGISTRY = pathlib.Path(__file__).resolve().parents[1] / "data" / "vasp"
GROUND = REGISTRY / "vasp-xch-Li7P3S11" / "ground_state"
LOCAL = {"withmpi": False, "resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}}


def _titels_of_recorded_run() -> dict[str, str]:
    """POTCAR titles of the recorded run (from its OUTCAR), keyed by element."""
    return {titel.split()[1].split("_")[0]: titel for titel in outputs.read_outcar(GROUND / "OUTCAR.bz2")["potcars"]}


@pytest.fixture
def structure() -> orm.StructureData:
    return orm.StructureData(ase=ase.io.read(GROUND / "POSCAR", format="vasp"))


@pytest.fixture
def pbe_family(tmp_path) -> str:
    """A fake PBE family with the symbols of Guo et al. 2022 (headers only; never a real POTCAR)."""
    potcars = {
        "Li_sv": {"titel": "PAW_PBE Li_sv FAKE", "zval": 3},
        "P": {"titel": "PAW_PBE P FAKE", "zval": 5},
        "S": {"titel": "PAW_PBE S FAKE", "zval": 6},
    }
    return fake_potcar_family("LPS-TEST-FAKE-PBE", potcars, tmp_path)


@pytest.fixture
def recorded_family(tmp_path) -> str:
    """A fake family whose headers carry the titles of the POTCARs the recorded run used (standard Li, P, S)."""
    potcars = {element: {"titel": titel, "lexch": "CA"} for element, titel in _titels_of_recorded_run().items()}
    return fake_potcar_family("LPS-TEST-FAKE-RECORDED", potcars, tmp_path)


@pytest.fixture
def dummy_code(aiida_localhost) -> orm.InstalledCode:
    return orm.InstalledCode(label="vasp-std", computer=aiida_localhost, filepath_executable="/usr/bin/true").store()


def test_engine_is_registered_with_the_common_tasks():
    from aiida_lps.dft import get_engine

    assert get_engine("vasp") is VaspEngine  # the `aiida_lps.dft.engines` entry point
    assert settings.TASKS == TASKS
    assert set(VaspEngine.get_available_protocols()) == {"fast", "moderate", "precise"}
    assert "Guo et al. (2022)" in VaspEngine.get_available_protocols()["moderate"]["description"]


def test_builder_of_a_relaxation_with_the_seed_protocol(structure, dummy_code, pbe_family):
    builder = VaspEngine.get_builder(
        "relax", structure, dummy_code, overrides={"potential_family": pbe_family}, options={"withmpi": False}
    )
    assert builder.process_class.__name__ == "VaspWorkChain"
    incar = builder.parameters.get_dict()["incar"]
    assert {key: incar[key] for key in ("encut", "ismear", "sigma", "ediff", "ediffg", "ibrion", "isif")} == {
        "encut": 520,
        "ismear": 0,
        "sigma": 0.05,
        "ediff": 1e-5,
        "ediffg": -0.02,
        "ibrion": 2,
        "isif": 3,
    }
    mesh, offset = builder.kpoints.get_kpoints_mesh()
    vasp_mesh = outputs.read_outcar(GROUND / "OUTCAR.bz2")["kpoint_mesh"]  # what VASP made of `Auto 25`
    assert list(mesh) == vasp_mesh and list(offset) == [0.0, 0.0, 0.0]
    assert builder.potential_family.value == pbe_family
    assert builder.potential_mapping.get_dict() == {"Li": "Li_sv", "P": "P", "S": "S"}
    assert builder.calc.metadata.options["withmpi"] is False
    assert builder.calc.metadata.options["resources"] == {"num_machines": 1}
    assert builder.structure is structure and builder.code is dummy_code


def test_builder_options(structure, dummy_code, pbe_family):
    gamma = VaspEngine.get_builder(
        "single_point", structure, dummy_code, overrides={"potential_family": pbe_family, "gamma_only": True}
    )
    assert list(gamma.kpoints.get_kpoints_mesh()[0]) == [1, 1, 1]
    assert gamma.parameters.get_dict()["incar"]["nsw"] == 0
    gw = VaspEngine.get_builder(
        "single_point",
        structure,
        dummy_code,
        overrides={"potential_family": pbe_family, "potential_set": "gw", "settings": {"poscar_precision": 12}},
    )
    assert gw.potential_mapping.get_dict() == {"Li": "Li_GW", "P": "P_GW", "S": "S_GW"}
    assert gw.settings.get_dict() == {"poscar_precision": 12}


def test_bad_input_is_named(structure, dummy_code, pbe_family):
    with pytest.raises(ValueError, match="unknown DFT task 'phonons'"):
        VaspEngine.get_builder("phonons", structure, dummy_code)
    with pytest.raises(ValueError, match="unknown VASP protocol 'slow'"):
        VaspEngine.get_builder("relax", structure, dummy_code, protocol="slow")
    iron = orm.StructureData(cell=np.eye(3) * 3.0)
    iron.append_atom(position=(0, 0, 0), symbols="Fe")
    with pytest.raises(ValueError, match="no POTCAR mapping for element 'Fe'"):
        VaspEngine.get_builder("relax", iron, dummy_code, overrides={"potential_family": pbe_family})


def test_single_point_replayed_end_to_end(aiida_localhost, structure, recorded_family, tmp_path):
    """aiida-vasp's work chain writes INCAR/POSCAR/KPOINTS/POTCAR, the replay code matches them to the recorded
    run and copies its OUTCAR, aiida-vasp parses it, and `normalise` returns the energy of the real OUTCAR."""
    aiida_localhost.set_minimum_job_poll_interval(0.0)
    code = replay_code(aiida_localhost, [REGISTRY], directory=tmp_path / "bin")
    overrides = {
        "potential_family": recorded_family,
        "potential_mapping": {"Li": "Li"},  # the recorded run used the standard Li POTCAR
        "incar": {"ispin": 2},  # ... and was spin-polarised; everything else is the seed protocol
        "settings": {"parser_settings": REPLAY_PARSER_SETTINGS},  # the recording has no vasprun.xml
    }
    builder = VaspEngine.get_builder("single_point", structure, code, overrides=overrides, options=LOCAL)
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    calc = node.called[-1]
    assert "replayed recorded run" in calc.outputs.retrieved.get_object_content("vasp_output")
    assert calc.outputs.misc["run_status"]["electronic_converged"] is True

    common = VaspEngine.normalise(node)
    assert set(common) == {"energy", "forces", "stress", "structure", "properties"}
    last = (GROUND / "OSZICAR").read_text().strip().splitlines()[-1].split()
    assert common["energy"].value == pytest.approx(float(last[last.index("E0=") + 1]), abs=1e-5)
    reference = outputs.read_outcar(GROUND / "OUTCAR.bz2")
    assert common["energy"].value == reference["energy"]
    assert np.array_equal(common["forces"].get_array("forces"), reference["forces"])
    assert common["forces"].get_array("forces").shape == (len(structure.sites), 3)
    assert np.array_equal(common["stress"].get_array("stress"), reference["stress"])
    assert np.allclose(common["structure"].get_ase().positions, structure.get_ase().positions)
    properties = common["properties"].get_dict()
    assert properties["engine"] == "vasp" and properties["engine_version"] == reference["vasp_version"]
    assert properties["task"] == "single_point"
    assert properties["converged_electronic"] is True and properties["converged_ionic"] is True
    assert properties["n_electrons"] == reference["nelect"]
    assert properties["fermi_energy"] == reference["fermi_energy"]

    creator = common["energy"].creator
    assert creator.process_class is normalise_vasp_outputs
    incoming = {link.link_label: link.node for link in creator.base.links.get_incoming().all()}
    assert incoming["retrieved"].uuid == calc.outputs.retrieved.uuid
    assert incoming["misc"].uuid == node.outputs.misc.uuid


def test_lps_dft_runs_the_vasp_engine_on_a_replayed_run(aiida_localhost, structure, recorded_family, tmp_path):
    """The engine-independent `lps.dft` work chain with engine `vasp`: common outputs from the real OUTCAR."""
    from aiida.plugins import WorkflowFactory

    aiida_localhost.set_minimum_job_poll_interval(0.0)
    code = replay_code(aiida_localhost, [REGISTRY], directory=tmp_path / "bin")
    overrides = {
        "potential_family": recorded_family,
        "potential_mapping": {"Li": "Li"},
        "incar": {"ispin": 2},
        "settings": {"parser_settings": REPLAY_PARSER_SETTINGS},
    }
    results, node = run_get_node(
        WorkflowFactory("lps.dft"),
        engine=orm.Str("vasp"),
        task=orm.Str("single_point"),
        structure=structure,
        code=code,
        protocol=orm.Str("moderate"),
        overrides=orm.Dict(overrides),
        options=orm.Dict(LOCAL),
    )
    assert node.is_finished_ok, node.exit_message
    assert results["energy"].value == outputs.read_outcar(GROUND / "OUTCAR.bz2")["energy"]
    assert results["properties"]["engine"] == "vasp"
