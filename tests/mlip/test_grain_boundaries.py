"""Grain boundaries in ``lps.mlip.active_learning``: the ``make_grain_boundary`` calcfunction, validation of
``exploration.grain_boundaries``, and the setup/explore steps that build and explore them (no DFT or MD is run)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from aiida import orm

from aiida_lps.calcfunctions.mlip import make_grain_boundary
from aiida_lps.science.grain_boundary import build_grain_boundary
from aiida_lps.workflows.active_learning import ActiveLearningWorkChain

TILT = {"axis": [0, 0, 1], "sigma": 5, "plane": [1, 2, 0], "expand_times": 1}


@pytest.fixture
def codes(aiida_code_installed):
    """Placeholder DFT, LAMMPS and Python codes: nothing is run here."""
    return tuple(aiida_code_installed(label=label) for label in ("dft", "lmp", "python"))


def _builder(codes, structures, grain_boundaries, strains=(0.0,)):
    overrides = {
        "exploration": {"temperatures": [300.0, 600.0], "strains": list(strains), "grain_boundaries": grain_boundaries}
    }
    return ActiveLearningWorkChain.get_builder_from_protocol(
        *codes, structures, dft_engine="gpaw", protocol="fast", overrides=overrides
    )


def _instantiate(builder):
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    return instantiate_process(get_manager().get_runner(), builder)


def _validation_message(builder) -> str:
    """The error text of the work chain's input validation (empty when valid)."""
    try:
        _instantiate(builder)
    except ValueError as exception:
        return str(exception)
    return ""


def test_make_grain_boundary_calcfunction(reference_structure):
    li2s = reference_structure("Li2S")
    results, node = make_grain_boundary.run_get_node(li2s, orm.Dict(TILT))
    assert node.is_finished_ok
    structure, record = results["structure"], results["record"].get_dict()
    # the output is the science module's bicrystal, atom for atom
    expected, expected_record = build_grain_boundary(li2s.get_pymatgen_structure(), **TILT)
    assert np.allclose(structure.cell, expected.lattice.matrix)
    assert np.allclose(structure.get_ase().positions, expected.cart_coords)
    assert [site.kind_name for site in structure.sites] == [site.specie.symbol for site in expected]
    assert record["label"] == expected_record.label
    assert record["gb_positions"] == pytest.approx(list(expected_record.gb_positions))
    assert record["removed_composition"] == expected_record.removed_composition
    assert record["n_atoms"] == len(structure.sites) == 120 - len(record["removed"])
    assert record["sigma"] == 5 and record["gb_type"] == "tilt" and len(record["gb_positions"]) == 2
    assert structure.label == "Σ5 [0,0,1] 36.87° (1,2,0) tilt GB of Li8S4"
    # provenance: both outputs are created by the calcfunction from the structure and the parameters
    assert structure.creator.pk == node.pk and results["record"].creator.pk == node.pk
    assert {link.link_label for link in node.base.links.get_incoming().all()} == {"structure", "parameters"}


def test_make_grain_boundary_rejects_impossible_input(reference_structure):
    with pytest.raises(ValueError, match="angle 40.0° is not a Σ5 angle"):
        make_grain_boundary(reference_structure("Li2S"), orm.Dict({"axis": [0, 0, 1], "sigma": 5, "angle": 40.0}))


@pytest.mark.parametrize(
    ("grain_boundaries", "fragment"),
    [
        ({"structure": "Li2S"}, "exploration.grain_boundaries must be a list"),
        (["Li2S"], r"exploration.grain_boundaries\[0\] must be a mapping"),
        ([TILT], r"exploration.grain_boundaries\[0\] needs `structure`"),
        (
            [{"structure": "Li2S", **TILT, "thickness": 3}],
            r"\[0\]: unknown grain-boundary setting\(s\) \['thickness'\]",
        ),
        ([{"structure": "Li2S", "axis": [0, 0], "sigma": 5}], r"\[0\]: axis must be three integers"),
        ([{"structure": "Li2S", "axis": [0, 0, 1]}], r"\[0\]: give the rotation as sigma"),
    ],
)
def test_bad_specifications_are_refused_by_the_port(codes, reference_structure, grain_boundaries, fragment):
    with pytest.raises(ValueError, match=fragment):
        _builder(codes, {"Li2S": reference_structure("Li2S")}, grain_boundaries)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"structure": "beta", **TILT}, r"\[0\]: no structure 'beta' in `structures` \(\['Li2S'\]\)"),
        ({"structure": "Li2S", "axis": [0, 0, 1], "sigma": 7}, r"\[0\] \(Li2S\): Σ7 does not exist for axis"),
        ({"structure": "Li2S", **TILT, "max_atoms": 100}, r"\[0\] \(Li2S\): .* at least 120 atoms > max_atoms = 100"),
        ({"structure": "Li2S", **TILT, "min_distance": 3.0}, r"below the shortest bulk distance 2.455 Å"),
    ],
)
def test_specifications_checked_against_the_structure(codes, reference_structure, spec, fragment):
    message = _validation_message(_builder(codes, {"Li2S": reference_structure("Li2S")}, [spec]))
    assert re.search(fragment, message), message


def test_setup_builds_and_explore_runs_grain_boundaries_at_every_temperature(codes, reference_structure, monkeypatch):
    structures = {"Li2S": reference_structure("Li2S")}
    builder = _builder(codes, structures, [{"structure": "Li2S", **TILT}], strains=(0.0, 0.05))
    assert _validation_message(builder) == ""
    process = _instantiate(builder)
    process.setup()
    assert len(process.ctx.grain_boundaries) == 1
    gb = orm.load_node(process.ctx.grain_boundaries[0])
    assert gb.creator.process_label == "make_grain_boundary" and gb.label.startswith("Σ5 [0,0,1]")
    assert len(gb.sites) == gb.creator.outputs.record["n_atoms"]

    submitted = []
    monkeypatch.setattr(process, "submit", lambda _cls, **inputs: submitted.append(inputs) or len(submitted))
    process.ctx.potential = orm.Data()
    process.ctx.active_set = orm.Data()
    process.explore()
    # 1 structure x 2 strains x 2 temperatures, then the GB (unstrained) x 2 temperatures
    assert len(submitted) == 6
    on_gb = [inputs for inputs in submitted if inputs["structure"].uuid == gb.uuid]
    assert [inputs["parameters"]["temperature"] for inputs in on_gb] == [300.0, 600.0]
    assert [inputs["metadata"]["call_link_label"] for inputs in on_gb] == ["explore_1_4", "explore_1_5"]
    bulk = [inputs["structure"] for inputs in submitted[:4]]
    assert bulk[0].uuid == structures["Li2S"].uuid and bulk[2].creator.process_label == "strain_structure"
    # a second iteration explores the same GB node (built once)
    submitted.clear()
    process.explore()
    assert [inputs["structure"].uuid for inputs in submitted[4:]] == [gb.uuid, gb.uuid]


@pytest.mark.parametrize("protocol", ["fast", "moderate", "precise"])
def test_every_protocol_gives_valid_inputs(codes, reference_structure, protocol):
    """Each protocol of lps.mlip.active_learning passes the work chain's validation, and its fit grid (SNAP and POD
    points, per-point ridge) passes lps.mlip.train's validator."""
    from aiida_lps.calculations.mlip_training import validate_fit_parameters

    builder = ActiveLearningWorkChain.get_builder_from_protocol(
        *codes, {"Li2S": reference_structure("Li2S")}, dft_engine="gpaw", protocol=protocol
    )
    process = _instantiate(builder)
    fitting = process.inputs.fitting.parameters
    assert validate_fit_parameters(fitting, None) is None
    assert len(fitting.get_dict()["grid"]) >= 2
