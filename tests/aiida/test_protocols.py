"""The protocol loader (aiida_lps.protocols): unknown and None overrides are rejected, open sub-mappings are free,
and every protocol of every work chain gives a builder whose inputs pass the work chain's validation."""

from __future__ import annotations

import pytest
from aiida import orm

from aiida_lps import protocols
from aiida_lps.workflows.active_learning import ActiveLearningWorkChain
from aiida_lps.workflows.dft import DftWorkChain
from aiida_lps.workflows.diffusion import DiffusionWorkChain
from aiida_lps.workflows.gpaw_base import GpawBaseWorkChain
from aiida_lps.workflows.lammps_md import LammpsMDBaseWorkChain
from aiida_lps.workflows.xas import XasWorkChain

ALL_FILES = ("lammps_md", "diffusion", "xas", "active_learning", "gpaw", "vasp")


# ------------------------------------------------------------------------------------------------ the loader


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_protocol_loads_and_default_is_a_protocol(name):
    available = protocols.available_protocols(name)
    assert protocols.default_protocol(name) in available
    for protocol in available:
        inputs = protocols.protocol_inputs(name, protocol)
        assert "description" not in inputs
        assert set(protocols.default_inputs(name)) <= set(inputs)


def test_unknown_key_at_top_level_is_named_with_the_known_keys():
    with pytest.raises(ValueError, match=r"unknown xas override key\(s\) \['paramters'\] at the top level") as error:
        protocols.protocol_inputs("xas", overrides={"paramters": {"symprec": 0.1}})
    assert "known there: ['engines', 'parameters']" in str(error.value)


def test_unknown_nested_key_is_named_with_its_level():
    with pytest.raises(ValueError, match=r"\['gaussian'\] at parameters\.broadening") as error:
        protocols.protocol_inputs("xas", overrides={"parameters": {"broadening": {"gaussian": 0.3}}})
    assert "['gaussian_fwhm', 'lorentzian_fwhm', 'lorentzian_slope']" in str(error.value)
    with pytest.raises(ValueError, match=r"\['n_block'\] at analysis"):
        DiffusionWorkChain.get_protocol_inputs("fast", {"analysis": {"n_block": 3}})
    with pytest.raises(ValueError, match=r"\['temperature'\] at exploration"):
        ActiveLearningWorkChain.get_protocol_inputs(overrides={"exploration": {"temperature": [300.0]}})
    with pytest.raises(ValueError, match=r"unknown Gpaw\w* override key\(s\) \['kpoint_density'\] at the top level"):
        GpawBaseWorkChain.get_protocol_inputs(overrides={"kpoint_density": 3.0})


def test_a_mapping_is_required_where_the_protocol_has_one():
    with pytest.raises(ValueError, match="`analysis` must be a mapping"):
        DiffusionWorkChain.get_protocol_inputs("fast", {"analysis": 5})


@pytest.mark.parametrize(
    ("name", "overrides", "where"),
    [
        ("diffusion", {"analysis": None}, "analysis"),
        ("xas", {"parameters": {"broadening": None}}, "parameters.broadening"),
        ("xas", {"parameters": None}, "parameters"),
        ("gpaw", {"kpoint_spacing": None}, "kpoint_spacing"),
        ("vasp", {"kpoints_length": None}, "kpoints_length"),
    ],
)
def test_none_is_rejected_outside_open_mappings(name, overrides, where):
    with pytest.raises(ValueError, match=rf"override `{where}` is None: None is not a value here"):
        protocols.protocol_inputs(name, overrides=overrides)


def test_open_mappings_accept_any_key_and_pass_none_on():
    gpaw = protocols.protocol_inputs("gpaw", "fast", {"calculator": {"maxiter": 500, "mixer": {"beta": 0.05}}})
    assert gpaw["calculator"]["maxiter"] == 500 and gpaw["calculator"]["mode"] == {"name": "pw", "ecut": 300}
    xas = protocols.protocol_inputs("xas", overrides={"engines": {"vasp": {"xch": {"nbands": 400, "zval": None}}}})
    assert xas["engines"]["vasp"]["xch"]["nbands"] == 400 and xas["engines"]["vasp"]["xch"]["zval"] is None
    md = protocols.protocol_inputs("lammps_md", "fast", {"parameters": {"initial_temperature": 400.0}})
    assert md["parameters"]["initial_temperature"] == 400.0 and md["parameters"]["production_steps"] == 10000
    # the VASP consumer of the open `incar` defines None: the tag is removed
    from aiida_lps.engines.vasp.settings import get_protocol_settings

    assert "lreal" not in get_protocol_settings("relax", overrides={"incar": {"lreal": None}})["incar"]


def test_optional_inputs_are_accepted_and_merging_keeps_siblings():
    inputs = DiffusionWorkChain.get_protocol_inputs(
        "precise", {"supercell_min_width": 12.0, "analysis": {"drift": "none"}}
    )
    assert inputs["supercell_min_width"] == 12.0
    assert inputs["analysis"] == {**protocols.default_inputs("lammps_md")["analysis"], "n_blocks": 10, "drift": "none"}


def test_extends_merges_same_named_protocols():
    for protocol in protocols.available_protocols("lammps_md"):
        assert DiffusionWorkChain.get_protocol_inputs(protocol) == LammpsMDBaseWorkChain.get_protocol_inputs(protocol)


def test_defaults_are_read_from_the_protocol_files():
    from aiida_lps.calcfunctions.xas import XAS_DEFAULTS
    from aiida_lps.utils.validation import ANALYSIS_DEFAULTS

    assert XAS_DEFAULTS == protocols.default_inputs("xas")["parameters"]
    assert XasWorkChain.spec().inputs["broadening"].default().get_dict() == XAS_DEFAULTS["broadening"]
    assert XasWorkChain.spec().inputs["supercell_min_width"].default().value == XAS_DEFAULTS["supercell_min_width"]
    assert {k: ANALYSIS_DEFAULTS[k] for k in ("window", "n_blocks", "drift")} == {
        k: protocols.default_inputs("lammps_md")["analysis"][k] for k in ("window", "n_blocks", "drift")
    }


def test_unknown_protocol_and_file():
    with pytest.raises(ValueError, match="unknown XasWorkChain protocol 'ultra'; available"):
        XasWorkChain.get_protocol_inputs("ultra")
    with pytest.raises(ValueError, match="no protocol file 'nope'"):
        protocols.protocol_inputs("nope")


# ------------------------------------------------------------------------------------------------ every builder


def _validation_message(builder) -> str:
    """Instantiate the process (its input validation) and return the error text, empty when valid."""
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    try:
        instantiate_process(get_manager().get_runner(), builder)
    except ValueError as exception:
        return str(exception)
    return ""


OPTIONS = {"resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}, "max_wallclock_seconds": 600}


@pytest.mark.parametrize("protocol", sorted(protocols.available_protocols("diffusion")))
def test_every_md_protocol_builds(lammps_code, argon_structure, argon_potential, protocol):
    structure = argon_structure(1)
    diffusion = DiffusionWorkChain.get_builder_from_protocol(
        lammps_code, structure, protocol, None, OPTIONS, potential=argon_potential, temperatures=[90.0], species="Ar"
    )
    assert _validation_message(diffusion) == ""
    assert diffusion.md.lammps.metadata.options.max_wallclock_seconds == 600
    md = LammpsMDBaseWorkChain.get_builder_from_protocol(
        lammps_code, structure, protocol, options=OPTIONS, potential=argon_potential, temperature=90.0, species="Ar"
    )
    assert _validation_message(md) == ""
    assert md.lammps.parameters.get_dict() == {**diffusion.parameters.get_dict(), "temperature": 90.0}
    assert md.lammps.analysis.get_dict() == diffusion.analysis.get_dict()


@pytest.mark.parametrize("engine", ["gpaw", "vasp"])
@pytest.mark.parametrize("protocol", sorted(protocols.available_protocols("xas")))
def test_every_xas_protocol_builds(aiida_code_installed, reference_structure, engine, protocol):
    code = aiida_code_installed(label=f"xas-{engine}")
    builder = XasWorkChain.get_builder_from_protocol(
        code, reference_structure("Li2S"), protocol, options=OPTIONS, engine=engine
    )
    assert _validation_message(builder) == ""
    assert builder.options.get_dict() == OPTIONS
    with pytest.raises(ValueError, match="no settings for engine 'cp2k'"):
        XasWorkChain.get_builder_from_protocol(code, reference_structure("Li2S"), protocol, engine="cp2k")


@pytest.mark.parametrize("engine", ["gpaw", "vasp"])
@pytest.mark.parametrize("protocol", ["fast", "moderate", "precise"])
def test_every_dft_protocol_builds_and_bad_overrides_fail_early(
    aiida_code_installed, reference_structure, engine, protocol
):
    code = aiida_code_installed(label=f"dft-{engine}")
    builder = DftWorkChain.get_builder_from_protocol(
        code, reference_structure("Li2S"), protocol, options=OPTIONS, engine=engine, task="relax"
    )
    assert _validation_message(builder) == ""
    with pytest.raises(ValueError, match=r"\['ecut'\] at the top level"):
        DftWorkChain.get_builder_from_protocol(code, reference_structure("Li2S"), protocol, {"ecut": 1}, engine=engine)
    builder.overrides = orm.Dict({"ecut": 1})  # given directly: the input validator names it
    assert "['ecut']" in _validation_message(builder)


@pytest.mark.parametrize("protocol", sorted(protocols.available_protocols("gpaw")))
def test_every_gpaw_protocol_builds(gpaw_code, reference_structure, protocol):
    builder = GpawBaseWorkChain.get_builder_from_protocol(
        gpaw_code, reference_structure("Li2S", primitive=True), protocol, options=OPTIONS, task="relax"
    )
    assert _validation_message(builder) == ""
    assert builder.gpaw.parameters.get_dict()["task"] == "relax"
    assert builder.gpaw.metadata.options.max_wallclock_seconds == 600


@pytest.mark.parametrize("protocol", sorted(protocols.available_protocols("active_learning")))
def test_every_active_learning_protocol_builds(aiida_code_installed, reference_structure, protocol):
    codes = [aiida_code_installed(label=label) for label in ("al-dft", "al-lmp", "al-python")]
    builder = ActiveLearningWorkChain.get_builder_from_protocol(
        *codes, {"Li2S": reference_structure("Li2S")}, protocol, options=OPTIONS, dft_engine="gpaw"
    )
    assert _validation_message(builder) == ""
    for namespace in (builder.dft, builder.fitting, builder.exploration):
        assert namespace.options.get_dict() == OPTIONS
    builder.dft.overrides = orm.Dict({"encut": 400})  # given directly: the input validator names it
    assert "dft.overrides: unknown gpaw override key(s) ['encut']" in _validation_message(builder)
    with pytest.raises(ValueError, match=r"unknown gpaw override key\(s\) \[.encut.\]"):
        ActiveLearningWorkChain.get_builder_from_protocol(
            *codes, {"Li2S": reference_structure("Li2S")}, protocol, {"dft": {"overrides": {"encut": 400}}}
        )


@pytest.mark.parametrize(("engine", "xch"), [("gpaw", {"ecut": 300}), ("vasp", {"encut": 400})])
def test_xas_engine_overrides_are_checked_by_the_engine(aiida_code_installed, reference_structure, engine, xch):
    code = aiida_code_installed(label=f"xas-check-{engine}")
    structure = reference_structure("Li2S")
    key = next(iter(xch))
    with pytest.raises(ValueError, match=rf"\['{key}'\] at the top level"):
        XasWorkChain.get_builder_from_protocol(
            code, structure, overrides={"engines": {engine: {"xch": xch}}}, engine=engine
        )
    with pytest.raises(ValueError, match=rf"\['{key}'\] at the top level"):
        XasWorkChain.get_builder_from_protocol(
            code, structure, overrides={"engines": {engine: {"ground_state": xch}}}, engine=engine
        )
    # the core-hole keys of the engine (nbands, ...) are accepted on top of its protocol's
    builder = XasWorkChain.get_builder_from_protocol(
        code, structure, overrides={"engines": {engine: {"xch": {"nbands": 40}}}}, engine=engine
    )
    assert builder.xch_overrides.get_dict()["nbands"] == 40
