"""Bad input to lps.diffusion is rejected before anything runs, with a message naming the problem."""

from __future__ import annotations

import pytest
from aiida import orm

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.workflows.diffusion import DiffusionWorkChain, temperature_label


def _builder(code, structure, potential, temperatures=(300.0,), species="Ar", **overrides):
    return DiffusionWorkChain.get_builder_from_protocol(
        code,
        structure,
        protocol="fast",
        potential=potential,
        temperatures=temperatures,
        species=species,
        charge=1.0,
        overrides=overrides,
    )


def _validation_message(builder) -> str:
    """Instantiate the work chain's input validation and return the error text (empty when valid)."""
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    runner = get_manager().get_runner()
    try:
        instantiate_process(runner, builder)
    except ValueError as exception:
        return str(exception)
    return ""


@pytest.mark.parametrize(
    ("temperatures", "fragment"),
    [([], "empty"), ([-300.0, 600.0], "positive"), ([0.0], "positive"), ([600, 600.0], "duplicates")],
)
def test_bad_temperatures(lammps_code, argon_structure, argon_potential, temperatures, fragment):
    builder = _builder(lammps_code, argon_structure(1), argon_potential)
    with pytest.raises(ValueError, match=fragment):
        builder.temperatures = orm.List(list(temperatures))


def test_species_absent(lammps_code, argon_structure, argon_potential):
    message = _validation_message(_builder(lammps_code, argon_structure(1), argon_potential, species="Li"))
    assert "['Li'] are not in the structure" in message


def test_potential_must_cover_structure(lammps_code, argon_potential):
    structure = orm.StructureData(cell=[[5, 0, 0], [0, 5, 0], [0, 0, 5]])
    structure.append_atom(position=(0, 0, 0), symbols="Li")
    structure.append_atom(position=(2.5, 2.5, 2.5), symbols="Ar")
    message = _validation_message(_builder(lammps_code, structure, argon_potential, species="Li"))
    assert "also contains ['Li']" in message


def test_bad_md_parameters(lammps_code, argon_structure, argon_potential):
    with pytest.raises(ValueError, match="ensemble must be one of"):
        _builder(lammps_code, argon_structure(1), argon_potential, parameters={"ensemble": "nve"})
    with pytest.raises(ValueError, match=r"unknown MD setting\(s\) \['timestep'\]"):
        _builder(lammps_code, argon_structure(1), argon_potential, parameters={"timestep": 1.0})


def test_valid_builder_passes(lammps_code, argon_structure, argon_potential):
    assert _validation_message(_builder(lammps_code, argon_structure(1), argon_potential)) == ""


def test_protocols_and_labels():
    assert set(DiffusionWorkChain.get_available_protocols()) == {"fast", "moderate", "precise"}
    assert DiffusionWorkChain.get_default_protocol() == "moderate"
    precise = DiffusionWorkChain.get_protocol_inputs("precise")["parameters"]
    assert precise["thermostat_damping"] == 100.0 and precise["barostat_damping"] == 1000.0
    with pytest.raises(ValueError, match="unknown DiffusionWorkChain protocol 'ultra'"):
        DiffusionWorkChain.get_protocol_inputs("ultra")
    assert temperature_label(700) == "T700K" and temperature_label(812.5) == "T812p5K"


def test_potential_data_hash_and_files(tmp_path):
    coeff = tmp_path / "pot.snapcoeff"
    coeff.write_text("# coefficients\n")
    potential = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * pot.snapcoeff pot.snapparam {elements}"],
        elements=["Li", "P", "S"],
        cutoff=5.0,
        files={"pot.snapcoeff": coeff, "pot.snapparam": "rcutfac 4.5\n"},
        metadata={"source": "test"},
    ).store()
    assert potential.filenames == ["pot.snapcoeff", "pot.snapparam"]
    assert potential.get_file_content("pot.snapparam") == b"rcutfac 4.5\n"
    assert potential.lammps_commands() == [
        "pair_style snap",
        "pair_coeff * * pot.snapcoeff pot.snapparam Li P S",
    ]
    changed = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * pot.snapcoeff pot.snapparam {elements}"],
        elements=["Li", "P", "S"],
        cutoff=5.0,
        files={"pot.snapcoeff": "# other coefficients\n", "pot.snapparam": "rcutfac 4.5\n"},
    )
    assert changed.sha256 != potential.sha256 and len(potential.sha256) == 64


def test_potential_data_analytic_and_errors():
    buck = InteratomicPotentialData(
        pair_style="buck 8.0",
        pair_coeff=["{Li} {S} 1000.0 0.3 0.0", "{S} {S} 1000.0 0.3 50.0"],
        elements=["Li", "S"],
        cutoff=8.0,
    )
    assert buck.lammps_commands() == [
        "pair_style buck 8.0",
        "pair_coeff 1 2 1000.0 0.3 0.0",
        "pair_coeff 2 2 1000.0 0.3 50.0",
    ]
    with pytest.raises(ValueError, match="placeholder {P}"):
        InteratomicPotentialData(pair_style="lj/cut 5", pair_coeff=["{P} {P} 1 1"], elements=["Li"], cutoff=5.0)
    with pytest.raises(ValueError, match="cutoff"):
        InteratomicPotentialData(pair_style="lj/cut 5", pair_coeff=["* * 1 1"], elements=["Li"], cutoff=-1)
    with pytest.raises(ValueError, match="plain file name"):
        InteratomicPotentialData(pair_style="snap", pair_coeff=["* *"], elements=["Li"], cutoff=5, files={"../x": "1"})


@pytest.mark.parametrize(
    ("temperatures", "fragment"),
    [([True, 600.0], "positive numbers"), ([1e9, 600.0], "at most"), ([700.0, 700.001], "too close")],
)
def test_nonsense_temperatures(lammps_code, argon_structure, argon_potential, temperatures, fragment):
    builder = _builder(lammps_code, argon_structure(1), argon_potential)
    with pytest.raises(ValueError, match=fragment):
        builder.temperatures = orm.List(list(temperatures))


@pytest.mark.parametrize("target", [-300.0, 0.0, float("nan"), 1e7])
def test_bad_target_temperature_is_rejected_before_md(lammps_code, argon_structure, argon_potential, target):
    builder = _builder(lammps_code, argon_structure(1), argon_potential)
    with pytest.raises(ValueError, match="target_temperature"):
        builder.target_temperature = orm.Float(target)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"parameters": {"seed": 0}}, "seed"),
        ({"parameters": {"seed": 2.5}}, "seed"),
        ({"parameters": {"production_steps": 200, "dump_interval": 10}}, "frames"),
        ({"analysis": {"window": [0.5, 0.1]}}, "window"),
        ({"analysis": {"trajectory_stride": 2.5}}, "trajectory_stride"),
        ({"analysis": {"n_blocks": True}}, "n_blocks"),
        ({"analysis": {"regions": {"axis": 2, "boundaries": [[0.0, 0.6], [0.5, 1.0]]}}}, "overlap"),
        ({"supercell_min_width": 300.0}, "atoms"),
    ],
)
def test_rejected_before_anything_runs(lammps_code, argon_structure, argon_potential, overrides, fragment):
    try:
        message = _validation_message(_builder(lammps_code, argon_structure(1), argon_potential, **overrides))
    except ValueError as exception:  # a port validator fires when the builder is filled
        message = str(exception)
    assert fragment in message


def test_partial_pbc_is_rejected(lammps_code, argon_structure, argon_potential):
    structure = argon_structure(1).clone()
    structure.pbc = (True, True, False)
    message = _validation_message(_builder(lammps_code, structure, argon_potential))
    assert "pbc=(True, True, False)" in message


def test_size_guard_can_be_raised(lammps_code, argon_structure, argon_potential):
    builder = _builder(lammps_code, argon_structure(1), argon_potential, supercell_min_width=120.0)
    assert "above the guard" in _validation_message(builder)
    builder.max_atoms = orm.Int(10**6)
    assert _validation_message(builder) == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"files": {"pot.snapcoeff": "/some/path/pot.snapcoeff"}}, TypeError, "pathlib.Path"),
        ({"elements": "LiPS"}, TypeError, "list of strings"),
        ({"elements": ["Li", "Xx"]}, ValueError, "not element symbols"),
        ({"pair_coeff": "* * pot.snapcoeff pot.snapparam {elements}"}, TypeError, "list of strings"),
        ({"files": {}}, ValueError, "not in `files`"),
        ({"cutoff": True}, TypeError, "cutoff"),
    ],
)
def test_potential_data_refuses_silent_coercions(kwargs, error, fragment):
    arguments = {
        "pair_style": "snap",
        "pair_coeff": ["* * pot.snapcoeff pot.snapparam {elements}"],
        "elements": ["Li", "P", "S"],
        "cutoff": 5.0,
        "files": {"pot.snapcoeff": b"# coefficients\n", "pot.snapparam": "rcutfac 4.5\n"},
    }
    with pytest.raises(error, match=fragment):
        InteratomicPotentialData(**{**arguments, **kwargs})
