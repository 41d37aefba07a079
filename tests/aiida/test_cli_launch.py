"""aiida-lps launch / show / plot on a tiny real LJ-argon lps.diffusion, and verdi data lps.potential."""

from __future__ import annotations

import re

import pytest
import yaml
from aiida import orm
from click.testing import CliRunner

from aiida_lps.cli import cli

TINY_LJ = {
    "parameters": {
        "timestep_fs": 5.0,
        "equilibration_steps": 300,
        "production_steps": 1200,
        "dump_interval": 10,
        "thermo_interval": 100,
        "initial_temperature": 400.0,
    }
}


@pytest.fixture
def stored_argon_potential(argon_potential):
    return argon_potential.store()


@pytest.mark.lammps
def test_launch_show_plot_diffusion(aiida_profile_clean, lammps_code, stored_argon_potential, tmp_path):
    """A structure file + YAML overrides run in the foreground with report lines; show and plot read the results."""
    from aiida_lps.reference import lennard_jones

    structure_file = tmp_path / "argon.extxyz"
    lennard_jones.argon_fcc(3).write(structure_file)
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump(TINY_LJ))
    runner = CliRunner()
    args = ["launch", "diffusion", "-X", lammps_code.full_label, "-S", str(structure_file)]
    args += ["-P", str(stored_argon_potential.pk), "-T", "94.4", "-T", "130", "--species", "Ar", "--charge", "0"]
    result = runner.invoke(cli, [*args, "--protocol", "fast", "--overrides", str(overrides)])
    assert result.exit_code == 0, result.output
    # progress: report lines of the work chain, prefixed by the elapsed time
    assert re.search(r"\[\s*\d+\.\d s\] \[\d+\|DiffusionWorkChain\|", result.output), result.output
    # progress bar: a line whenever the count of finished processes changes, full at the end
    bars = [line for line in result.output.splitlines() if line.startswith("progress [")]
    counts = [tuple(map(int, re.search(r"\] (\d+)/(\d+) processes", line).groups())) for line in bars]
    assert len(counts) >= 2 and counts == sorted(set(counts)), result.output
    finished, launched = counts[-1]
    assert finished == launched >= 4  # two MD work chains and their LAMMPS calculations
    assert bars[-1].startswith("progress [" + "#" * 24 + "]")
    pk = int(re.search(r"DiffusionWorkChain<(\d+)> finished: exit status 0", result.output).group(1))
    node = orm.load_node(pk)
    assert node.inputs.parameters["production_steps"] == 1200  # the overrides file reached the builder
    assert len(node.inputs.structure.sites) == 108

    shown = runner.invoke(cli, ["show", str(pk)])
    assert shown.exit_code == 0, shown.output
    d_94 = node.outputs.runs.T94p4K.results["species"]["Ar"]["D"]
    assert f"{d_94:.3e}" in shown.output  # the D(T) table row of 94.4 K
    ea = node.outputs.arrhenius["diffusivity"]["activation_energy"]
    assert f"Ea = {ea:.3f}" in shown.output

    plotted = runner.invoke(cli, ["plot", str(pk), "-o", str(tmp_path / "plots")])
    assert plotted.exit_code == 0, plotted.output
    files = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert files == [f"diffusion_{pk}_arrhenius.png", f"diffusion_{pk}_msd_T130K.png", f"diffusion_{pk}_msd_T94p4K.png"]
    for name in files:
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_bar_lines():
    """The bar follows the work chain's own count (lps_progress extra) when it has one, else the processes."""
    from aiida_lps.cli.launch import ProgressBar

    assert ProgressBar.render(1, 4, None, 3.0) == (
        "progress [" + "#" * 6 + "." * 18 + "] 1/4 processes finished |     3.0 s"
    )
    line = ProgressBar.render(5, 5, (2, 8, "iteration"), 60.0)
    assert line.startswith("progress [" + "#" * 6 + "." * 18 + "] 5/5 processes finished | iteration 2/8 |")
    assert ProgressBar.render(0, 0, None, 0.0).startswith("progress [" + "." * 24 + "] 0/0")


def test_launch_errors_are_clear(aiida_profile_clean, lammps_code, stored_argon_potential, tmp_path):
    """Unknown structure names, non-mapping overrides and a wrong node type fail before anything runs."""
    runner = CliRunner()
    base = ["launch", "diffusion", "-X", lammps_code.full_label, "-P", str(stored_argon_potential.pk), "-T", "300"]
    unknown = runner.invoke(cli, [*base, "-S", "no-such-crystal"])
    assert unknown.exit_code == 2
    assert "neither a packaged structure" in unknown.output and "Li2S" in unknown.output

    bad = tmp_path / "overrides.yaml"
    bad.write_text("- just\n- a list\n")
    listed = runner.invoke(cli, [*base, "-S", "Li2S", "--overrides", str(bad)])
    assert listed.exit_code == 2 and "must hold a mapping" in listed.output

    not_structure = runner.invoke(cli, [*base, "-S", str(stored_argon_potential.pk)])
    assert not_structure.exit_code == 2 and "not a StructureData" in not_structure.output

    no_reducer = runner.invoke(cli, [*base, "-S", "Li2S", "--delete-dump"])
    assert no_reducer.exit_code == 2 and "needs --reduce-code" in no_reducer.output

    scan = ["launch", "phase-diagram", "-X", lammps_code.full_label, "-P", str(stored_argon_potential.pk)]
    for composition, message in (
        ("beta-Li3PS4", "expected PARENT:KEY=VALUE"),
        ("beta-Li3PS4:n_li3s=1", "'n_li3s=1' is not KEY=VALUE with KEY one of n_li2s, n_p2s5"),
        ("beta-Li3PS4:n_li2s=one", "n_li2s = 'one' is not a valid value"),
        ("no-such-crystal:n_li2s=1", "neither a packaged structure"),
    ):
        refused = runner.invoke(cli, [*scan, "-c", composition])
        assert refused.exit_code == 2 and message in refused.output, refused.output
    # a potential that does not cover the parent: the port validation, as a message (no traceback), nothing run
    uncovered = runner.invoke(cli, [*scan, "-c", "beta-Li3PS4:n_p2s5=1"])
    assert uncovered.exit_code == 1 and "invalid inputs, nothing was run" in uncovered.output, uncovered.output
    assert "the potential describes ['Ar']" in uncovered.output and "Traceback" not in uncovered.output
    assert orm.QueryBuilder().append(orm.WorkflowNode).count() == 0


def test_structure_by_name_is_imported_once(aiida_profile_clean):
    """A packaged name becomes the stored reference node (with its provenance extras), found again the second time."""
    from aiida_lps.cli.params import StructureParamType

    param = StructureParamType()
    first = param.convert("li2s", None, None)
    second = param.convert("Li2S", None, None)
    assert first.is_stored and first.pk == second.pk
    assert first.base.extras.get("lps_reference")["name"] == "Li2S"
    assert param.convert(str(first.pk), None, None).pk == first.pk


def test_daemon_flag_without_broker_says_so(aiida_profile_clean, lammps_code, stored_argon_potential, tmp_path):
    """-D on a profile without a broker fails with a message instead of aiida-core's traceback."""
    from aiida.manage import get_manager

    if get_manager().get_profile().process_control_backend is not None:
        pytest.fail("this test needs the broker-less test profile (aiida-core's fixtures make one)")
    runner = CliRunner()
    args = ["launch", "diffusion", "-X", lammps_code.full_label, "-S", "Li2S", "-D"]
    result = runner.invoke(cli, [*args, "-P", str(stored_argon_potential.pk), "-T", "300"])
    assert result.exit_code == 1
    assert "has no broker" in result.output and "leave out -D" in result.output


def test_verdi_data_potential_show_and_export(aiida_profile_clean, tmp_path):
    """`verdi data lps.potential` is found through the aiida.cmdline.data entry point; export writes the files."""
    from aiida.cmdline.commands.cmd_data import verdi_data

    from aiida_lps.data.potential import InteratomicPotentialData

    potential = InteratomicPotentialData(
        pair_style="table linear 100",
        pair_coeff=["{Li} {Li} li.table LI"],
        elements=["Li"],
        cutoff=4.0,
        files={"li.table": "# table\n"},
    ).store()
    runner = CliRunner()
    shown = runner.invoke(verdi_data, ["lps.potential", "show", str(potential.pk)])
    assert shown.exit_code == 0, shown.output
    assert "pair_coeff 1 1 li.table LI" in shown.output and "li.table (8 bytes)" in shown.output
    exported = runner.invoke(verdi_data, ["lps.potential", "export", str(potential.pk), str(tmp_path / "pot")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "pot" / "li.table").read_text() == "# table\n"
    assert (tmp_path / "pot" / "potential.lammps").read_text().splitlines()[0] == "pair_style table linear 100"
    again = runner.invoke(verdi_data, ["lps.potential", "export", str(potential.pk), str(tmp_path / "pot")])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_active_learning_adapter_fills_codes_and_options(aiida_profile_clean):
    """The active-learning adapter: three codes in their namespaces, scheduler options on every job, unique labels."""
    from aiida_lps.cli.launch import _structure_labels, build_active_learning, scheduler_options
    from aiida_lps.cli.params import StructureParamType

    runner = CliRunner()
    assert runner.invoke(cli, ["setup"]).exit_code == 0
    codes = {name: orm.load_code(f"{name}@localhost") for name in ("gpaw", "lmp", "python")}
    li2s = StructureParamType().convert("Li2S", None, None)
    labelled = _structure_labels([li2s, li2s])
    assert list(labelled) == ["Li2S", "Li2S_2"]
    options = scheduler_options(4, 600)
    builder = build_active_learning(
        {"dft": codes["gpaw"], "lammps": codes["lmp"], "python": codes["python"]},
        labelled,
        protocol="fast",
        options=options,
        dft_engine="gpaw",
    )
    assert builder.dft.code.pk == codes["gpaw"].pk and builder.fitting.code.pk == codes["python"].pk
    assert builder.exploration.code.pk == codes["lmp"].pk
    for namespace in (builder.dft, builder.fitting, builder.exploration):
        assert namespace.options.get_dict() == {
            "resources": {"num_machines": 1, "num_mpiprocs_per_machine": 4},
            "max_wallclock_seconds": 600,
        }
