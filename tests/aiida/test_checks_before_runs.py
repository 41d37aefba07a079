"""Inputs that the work chains use only after their MD/DFT (extrapolation target, XAS grid and sites, fit settings,
sampling recipes, the DFT re-relaxation of the GA) are checked when the process is built or validated, before any
calculation runs, also when they arrive through ``overrides`` of ``get_builder_from_protocol``."""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_lps.structures.reference import load_structure


def _validation_message(builder) -> str:
    """The error of the process's input validation (empty when valid); nothing runs."""
    try:
        instantiate_process(get_manager().get_runner(), builder)
    except ValueError as exception:
        return str(exception)
    return ""


# ------------------------------------------------------------------------------------------------ lps.diffusion
def _diffusion(code, structure, potential, **overrides):
    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    return DiffusionWorkChain.get_builder_from_protocol(
        code, structure, protocol="fast", overrides=overrides, potential=potential, temperatures=[300, 600],
        species="Ar",
    )  # fmt: skip


@pytest.mark.parametrize("target", [-300.0, 0.0, float("nan"), float("inf"), 1e7, True, "300"])
def test_diffusion_target_temperature_override_rejected(lammps_code, argon_structure, argon_potential, target):
    with pytest.raises(ValueError, match="target_temperature"):
        _diffusion(lammps_code, argon_structure(1), argon_potential, target_temperature=target)


def test_diffusion_target_temperature_override_reaches_the_port(lammps_code, argon_structure, argon_potential):
    builder = _diffusion(lammps_code, argon_structure(1), argon_potential, target_temperature=350.0)
    assert builder.target_temperature.value == 350.0
    assert _validation_message(builder) == ""
    builder.target_temperature = orm.Float(350.0)  # any other path in meets the port validator
    with pytest.raises(ValueError, match="target_temperature"):
        builder.target_temperature = orm.Float(-1.0)


@pytest.mark.parametrize("width", [True, -5.0, 0.0, float("nan")])
def test_diffusion_supercell_width_override_rejected(lammps_code, argon_structure, argon_potential, width):
    with pytest.raises(ValueError, match="supercell_min_width"):
        _diffusion(lammps_code, argon_structure(1), argon_potential, supercell_min_width=width)


# ------------------------------------------------------------------------------------------------ lps.xas
def _xas(code, **overrides):
    from aiida_lps.workflows.xas import XasWorkChain

    structure = orm.StructureData(pymatgen=load_structure("Li2S").get_primitive_structure())
    return XasWorkChain.get_builder_from_protocol(
        code, structure, protocol="fast", overrides={"parameters": overrides}, engine="gpaw"
    )


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({"grid": {"step": 0.001, "below": 1000.0, "above": 1000.0}}, "points"),
        ({"grid": {"step": 0.002, "above": 900.0}}, "points"),
        ({"absorber": "P"}, "no P atom"),
        ({"sites": [7]}, "the structure has 3 atoms"),
        ({"sites": [1]}, "not a S atom"),
        ({"sites": [[0, 0]]}, "positive integer multiplicity"),
        ({"sites": [[0, 2.5]]}, "positive integer multiplicity"),
        ({"sites": [True]}, "indices"),
    ],
)
def test_xas_checks_before_the_dft(aiida_localhost, parameters, fragment):
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable="/bin/true").store()
    try:  # a port validator already fires when the builder is filled, the others when the process is validated
        message = _validation_message(_xas(code, **parameters))
    except ValueError as exception:
        message = str(exception)
    assert fragment in message, message


def test_xas_valid_sites_and_grid_pass(aiida_localhost):
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable="/bin/true").store()
    symbols = [site.specie.symbol for site in load_structure("Li2S").get_primitive_structure()]
    sulfur = symbols.index("S")
    builder = _xas(code, sites=[[sulfur, 1]], grid={"step": 0.01, "below": 10.0, "above": 40.0})
    assert _validation_message(builder) == ""


# ------------------------------------------------------------------------------------------------ active learning
def _active_learning(aiida_localhost, **overrides):
    from aiida_lps.workflows.active_learning import ActiveLearningWorkChain

    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable="/bin/true").store()
    structure = orm.StructureData(pymatgen=load_structure("Li2S").get_primitive_structure())
    return ActiveLearningWorkChain.get_builder_from_protocol(
        code, code, code, {"Li2S": structure}, protocol="fast", overrides=overrides
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"sampling": {"initial": {"seed": -5}}}, "sampling.initial.seed"),
        ({"sampling": {"initial": {"seed": 1.5}}}, "sampling.initial.seed"),
        ({"sampling": {"test": {"count": 2.5}}}, "sampling.test.count"),
        ({"sampling": {"initial": {"rattle": -0.1}}}, "sampling.initial.rattle"),
        ({"sampling": {"initial": {"strain": 3.0}}}, "sampling.initial.strain"),
        ({"fitting": {"ridge": -1.0}}, "ridge"),
        ({"fitting": {"grid": [{"twojmax": 3, "rcutfac": 4.0}]}}, "SNAP"),
        ({"fitting": {"grid": [{"twojmax": 4, "rcutfac": -4.0}]}}, "SNAP"),
    ],
)
def test_active_learning_checks_before_the_first_label(aiida_localhost, overrides, fragment):
    try:
        builder = _active_learning(aiida_localhost, **overrides)
    except ValueError as exception:  # the protocol loader may already refuse it
        assert fragment.split(".")[-1] in str(exception)
        return
    message = _validation_message(builder)
    assert fragment in message, message


def test_active_learning_protocol_passes(aiida_localhost):
    assert _validation_message(_active_learning(aiida_localhost)) == ""


# ------------------------------------------------------------------------------------------------ genetic sampling
def test_genetic_dft_engine_and_overrides_checked_before_the_ga(aiida_localhost):
    from aiida_lps.workflows.genetic import GeneticSamplingWorkChain

    ports = GeneticSamplingWorkChain.spec().inputs
    assert "castep" in ports["dft"]["engine"].validate(orm.Str("castep")).message
    structure = orm.StructureData(pymatgen=load_structure("Li2S"))  # Li8S4: one Li2S unit can go
    dft_code = orm.InstalledCode(computer=aiida_localhost, filepath_executable="/bin/true").store()
    inputs = {
        "structure": structure,
        "n_li2s": orm.Int(1),
        "dft": {"engine": orm.Str("gpaw"), "code": dft_code, "overrides": orm.Dict({"calculatr": {}})},
    }
    message = ports.validator(inputs, None)
    assert message and "dft.overrides" in message and "calculatr" in message, message
