"""``aiida-lps launch``: build a work chain from its protocol and run it (foreground) or submit it (``-D``).

Each work chain is built through ONE adapter function (``build_<name>``) with the common signature
``(code(s), structure(s), protocol=None, overrides=None, options=None, **kwargs)``; they are the only places that know
the current ``get_builder_from_protocol`` signatures.
"""

from __future__ import annotations

import contextlib
import logging
import pathlib
import re
import time
from collections.abc import Sequence
from typing import Any

import click
from aiida.cmdline.groups.verdi import VerdiCommandGroup
from aiida.cmdline.params import options as verdi_options
from aiida.cmdline.params import types

from aiida_lps.cli.params import CompositionParamType, StructureParamType, load_overrides
from aiida_lps.common.defaults import DIFFUSING_CHARGE, DIFFUSING_SPECIES

__all__ = (
    "launch",
    "build_diffusion",
    "build_xas",
    "build_active_learning",
    "build_sampling",
    "build_phase_diagram",
    "scheduler_options",
    "run_with_progress",
    "ProgressBar",
)

PROTOCOLS = ("fast", "moderate", "precise")


# --- adapters: one per work chain ------------------------------------------------------------------------------------
def build_diffusion(code, structure, protocol=None, overrides=None, options=None, **kwargs):
    """``lps.diffusion`` builder. :param kwargs: ``potential``, ``temperatures`` (K), ``species``, ``charge`` (e)."""
    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    return DiffusionWorkChain.get_builder_from_protocol(
        code,
        structure,
        protocol=protocol,
        overrides=overrides,
        options=options,
        potential=kwargs.pop("potential"),
        temperatures=kwargs.pop("temperatures"),
        **kwargs,
    )


def build_xas(code, structure, protocol=None, overrides=None, options=None, **kwargs):
    """``lps.xas`` builder. :param kwargs: ``engine`` (``gpaw`` or ``vasp``)."""
    from aiida_lps.workflows.xas import XasWorkChain

    return XasWorkChain.get_builder_from_protocol(
        code, structure, protocol=protocol, overrides=overrides, options=options, engine=kwargs.pop("engine", "gpaw")
    )


def build_active_learning(codes, structures, protocol=None, overrides=None, options=None, **kwargs):
    """``lps.mlip.active_learning`` builder.

    :param codes: mapping with ``dft``, ``lammps`` and ``python`` codes. :param structures: label → StructureData.
    :param options: scheduler options given to the DFT, fitting and exploration jobs. :param kwargs: ``dft_engine``.
    """
    from aiida import orm

    from aiida_lps.workflows.active_learning import ActiveLearningWorkChain

    builder = ActiveLearningWorkChain.get_builder_from_protocol(
        codes["dft"],
        codes["lammps"],
        codes["python"],
        structures,
        dft_engine=kwargs.pop("dft_engine", "gpaw"),
        protocol=protocol,
        overrides=overrides,
    )
    if options:
        for namespace in (builder.dft, builder.fitting, builder.exploration):
            namespace.options = orm.Dict(dict(options))
    return builder


def build_sampling(code, structure, protocol=None, overrides=None, options=None, **kwargs):
    """``lps.sampling.genetic`` builder. :param kwargs: ``potential``, ``dft_code``, ``dft_engine``, ``supercell``,
    ``n_li2s``, ``n_p2s5``, ``target_x``, ``x_tolerance``."""
    from aiida_lps.workflows.genetic import GeneticSamplingWorkChain

    kwargs = _given(kwargs)
    return GeneticSamplingWorkChain.get_builder_from_protocol(
        code,
        structure,
        protocol=protocol,
        overrides=overrides,
        options=options,
        potential=kwargs.pop("potential"),
        **kwargs,
    )


def build_phase_diagram(code, structures, protocol=None, overrides=None, options=None, **kwargs):
    """``lps.sampling.phase_diagram`` builder. :param structures: label → parent StructureData. :param kwargs:
    ``potential``, ``compositions`` (entries with ``parent`` = a label), ``dft_code``, ``dft_engine``,
    ``hull_energies`` (``None``: the builder's default)."""
    from aiida_lps.workflows.phase_diagram import PhaseDiagramWorkChain

    return PhaseDiagramWorkChain.get_builder_from_protocol(
        code, structures, protocol, overrides, options, **_given(kwargs)
    )


def _given(kwargs: dict) -> dict:
    """The keyword values the user set: unset command-line options (``None``) leave the protocol's values."""
    return {key: value for key, value in kwargs.items() if value is not None}


# --- running ---------------------------------------------------------------------------------------------------------
def scheduler_options(num_mpiprocs: int, max_wallclock_seconds: int | None) -> dict[str, Any]:
    """CalcJob ``metadata.options`` from the command-line values."""
    options: dict[str, Any] = {"resources": {"num_machines": 1, "num_mpiprocs_per_machine": num_mpiprocs}}
    if max_wallclock_seconds is not None:
        options["max_wallclock_seconds"] = max_wallclock_seconds
    return options


class _ReportLines(logging.Handler):
    """Echo the ``self.report`` lines of the running processes, prefixed with the elapsed time."""

    def __init__(self, start: float):
        super().__init__(level=logging.INFO)
        self.start = start
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        from aiida.common.log import LOG_LEVEL_REPORT

        if record.levelno < LOG_LEVEL_REPORT:
            return
        self.count += 1
        message = record.getMessage()
        level = "" if record.levelno == LOG_LEVEL_REPORT else f"{record.levelname}: "
        click.echo(f"[{time.monotonic() - self.start:7.1f} s] {level}{message}")


class ProgressBar:
    """A text progress bar of a workflow running in this interpreter, printed as one line whenever it changes.

    Two measures, both read from the database: the calculations and work chains the workflow has launched at any
    depth and how many of them have terminated, and the top work chain's own ``lps_progress`` extra (set by
    :meth:`~aiida_lps.workflows.launching.LaunchOnceMixin.set_progress`: ``iteration 2/8``, ``generation 5/20``).
    The bar follows the work chain's own count when it has one, else the launched processes. Lines, not a
    redrawn bar: the report lines interleave with it, and the output stays readable in a log file.
    """

    WIDTH = 24

    def __init__(self, node, start: float, echo=click.echo):
        self.node = node
        self.start = start
        self.echo = echo
        self.last: tuple | None = None
        self.lines = 0

    def state(self) -> tuple:
        """(finished, launched, stage) of the workflow now; ``stage`` is the ``lps_progress`` extra or None."""
        from aiida import orm

        children = [n for n in self.node.called_descendants if not isinstance(n, orm.CalcFunctionNode)]
        finished = sum(1 for n in children if n.is_terminated)
        stage = self.node.base.extras.get("lps_progress", None)
        stage = (int(stage["done"]), int(stage["total"]), str(stage["unit"])) if isinstance(stage, dict) else None
        return finished, len(children), stage

    @classmethod
    def render(cls, finished: int, launched: int, stage: tuple | None, elapsed: float) -> str:
        """The bar line, e.g. ``[#########...............]  3/8 processes finished | generation 2/5 |   12.0 s``."""
        done, total = (stage[0], stage[1]) if stage and stage[1] > 0 else (finished, launched)
        filled = round(cls.WIDTH * min(done, total) / total) if total else 0
        parts = [f"[{'#' * filled}{'.' * (cls.WIDTH - filled)}] {finished}/{launched} processes finished"]
        if stage:
            parts.append(f"{stage[2]} {stage[0]}/{stage[1]}")
        parts.append(f"{elapsed:7.1f} s")
        return "progress " + " | ".join(parts)

    def update(self) -> None:
        """Print the bar if it changed since the last line (nothing before the first launch)."""
        finished, launched, stage = self.state()
        if (finished, launched, stage) == self.last or (launched == 0 and stage is None):
            return
        self.last = (finished, launched, stage)
        self.lines += 1
        self.echo(self.render(finished, launched, stage, time.monotonic() - self.start))


def run_with_progress(builder, interval: float = 1.0):
    """Run ``builder`` in this interpreter, echoing each report line of the work chain and its children as it comes,
    and a :class:`ProgressBar` line whenever the progress changes (checked every ``interval`` seconds on the runner's
    event loop, so in the same thread as the processes).

    aiida-core's own terminal handlers (``console``, ``cli``) are muted to WARNING meanwhile: no line printed twice.

    :returns: (results, node)
    """
    from aiida.common.log import AIIDA_LOGGER
    from aiida.engine.utils import instantiate_process, loop_scope
    from aiida.manage import get_manager

    start = time.monotonic()
    runner = get_manager().get_runner()
    with loop_scope(runner.loop):
        process = instantiate_process(runner, builder)
    bar = ProgressBar(process.node, start)
    handler = _ReportLines(start)
    from aiida.orm.utils.log import DBLogHandler

    muted = [(h, h.level) for h in AIIDA_LOGGER.handlers if not isinstance(h, (DBLogHandler, logging.FileHandler))]
    for stream_handler, _ in muted:
        stream_handler.setLevel(logging.WARNING)
    previous_level = AIIDA_LOGGER.level
    AIIDA_LOGGER.addHandler(handler)
    if AIIDA_LOGGER.getEffectiveLevel() > logging.INFO:
        AIIDA_LOGGER.setLevel(logging.INFO)
    timer = None

    def tick() -> None:
        nonlocal timer
        bar.update()
        timer = runner.loop.call_later(interval, tick)

    timer = runner.loop.call_later(interval, tick)
    try:
        return runner.run_get_node(process)
    finally:
        timer.cancel()
        bar.update()
        AIIDA_LOGGER.removeHandler(handler)
        AIIDA_LOGGER.setLevel(previous_level)
        for stream_handler, level in muted:
            stream_handler.setLevel(level)


@contextlib.contextmanager
def _inputs_checked():
    """Turn the input validation of a process (plumpy raises ``ValueError(PortValidationError)`` when the process is
    created, before anything runs) into a click error that names the problem, instead of a traceback."""
    from plumpy.ports import PortValidationError

    try:
        yield
    except ValueError as exc:
        if exc.args and isinstance(exc.args[0], PortValidationError):
            raise click.ClickException(f"invalid inputs, nothing was run: {exc.args[0]}") from exc
        raise


def _launch(builder, daemon: bool) -> None:
    """Submit ``builder`` to the daemon or run it here; then print the summary of ``aiida-lps show``."""
    from aiida.manage import get_manager

    process_label = builder.process_class.__name__
    if daemon:
        from aiida.engine import submit

        profile = get_manager().get_profile()
        if profile.process_control_backend is None:
            raise click.ClickException(
                f"profile {profile.name!r} has no broker, so nothing can be submitted to a daemon: run in the "
                "foreground (leave out -D) or configure RabbitMQ (docs: production set-up)"
            )
        with _inputs_checked():
            node = submit(builder)
        click.echo(f"submitted {process_label}<{node.pk}> (uuid {node.uuid}) to the daemon")
        from aiida.engine.daemon.client import get_daemon_client

        if not get_daemon_client().is_daemon_running:
            click.echo("warning: the daemon is not running; start it with `verdi daemon start`", err=True)
        click.echo(f"follow it with `verdi process report {node.pk}`; results: `aiida-lps show {node.pk}`")
        return
    click.echo(f"running {process_label} in the foreground (Ctrl-C kills it; use -D to submit to a daemon)")
    with _inputs_checked():
        _, node = run_with_progress(builder)
    from aiida_lps.cli.show import summarise

    click.echo(f"{process_label}<{node.pk}> finished: exit status {node.exit_status} {node.exit_message or ''}")
    click.echo(summarise(node))
    if not node.is_finished_ok:
        raise SystemExit(1)


def _build_or_fail(adapter, codes, structures, protocol, overrides, num_mpiprocs, max_wallclock_seconds, **kwargs):
    """Call ``adapter`` with the command line's protocol, overrides file and scheduler options; turn the builders'
    ValueErrors (bad protocol, bad overrides) into click errors."""
    try:
        return adapter(
            codes,
            structures,
            protocol=protocol,
            overrides=load_overrides(overrides),
            options=scheduler_options(num_mpiprocs, max_wallclock_seconds),
            **kwargs,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"cannot build the work chain: {exc}") from exc


# --- shared options --------------------------------------------------------------------------------------------------
STRUCTURE = click.option(
    "-S",
    "--structure",
    "structure",
    type=StructureParamType(),
    required=True,
    help="Packaged reference name (aiida-lps structures list), structure file (ASE/pymatgen) or PK/UUID.",
)
POTENTIAL = click.option(
    "-P",
    "--potential",
    type=types.DataParamType(sub_classes=("aiida.data:lps.potential",)),
    required=True,
    help="An lps.potential node (PK, UUID or label).",
)
PROTOCOL = click.option(
    "--protocol", type=click.Choice(PROTOCOLS), default=None, help="Protocol of the defaults [default: moderate]."
)
OVERRIDES = click.option(
    "--overrides",
    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    default=None,
    help="YAML file with nested overrides merged over the protocol.",
)
DAEMON = click.option(
    "-D", "--daemon", is_flag=True, default=False, help="Submit to the daemon instead of running in the foreground."
)
NUM_MPIPROCS = click.option(
    "-m", "--num-mpiprocs", type=click.IntRange(min=1), default=1, show_default=True, help="MPI processes per job."
)
WALLCLOCK = click.option(
    "-w", "--max-wallclock-seconds", type=click.IntRange(min=1), default=None, help="Wall-time limit per job (s)."
)


def _code_option(*names: str, help: str, required: bool = True):
    """An option like verdi's ``-X/--code`` (aiida-core's CodeParamType: PK, UUID or ``label@computer``)."""
    if names == ("-X", "--code"):
        return verdi_options.CODE(required=required, help=help)
    return click.option(*names, type=types.CodeParamType(), required=required, help=help)


@click.group("launch", cls=VerdiCommandGroup)
def launch():
    """Build a work chain from its protocol and run it here (default) or submit it to the daemon (-D)."""


@launch.command("diffusion")
@_code_option("-X", "--code", help="LAMMPS code (e.g. lmp@localhost).")
@STRUCTURE
@POTENTIAL
@click.option(
    "-T", "--temperatures", type=click.FloatRange(min=0, min_open=True), multiple=True, required=True,
    help="Temperature in K; repeat for several (-T 600 -T 800 ...).",
)  # fmt: skip
@click.option("--species", default=DIFFUSING_SPECIES, show_default=True, help="Diffusing species.")
@click.option("--charge", type=float, default=DIFFUSING_CHARGE, show_default=True, help="Its ionic charge (e), for σ.")
@_code_option(
    "--reduce-code",
    required=False,
    help="Python of aiida-lps on the LAMMPS computer (python@localhost of `aiida-lps setup`): reduce each "
    "trajectory in its job, retrieve only the MSD arrays (production-scale runs).",
)
@click.option("--delete-dump", is_flag=True, help="With --reduce-code: delete each dump after its reduction.")
@PROTOCOL
@OVERRIDES
@NUM_MPIPROCS
@WALLCLOCK
@DAEMON
def launch_diffusion(
    code, structure, potential, temperatures, species, charge, reduce_code, delete_dump, protocol, overrides,
    num_mpiprocs, max_wallclock_seconds, daemon,
):  # fmt: skip
    """lps.diffusion: MD at each temperature, D(T), σ, Arrhenius Ea."""
    if delete_dump and reduce_code is None:
        raise click.BadParameter("needs --reduce-code (without it the dump is retrieved and parsed)")
    builder = _build_or_fail(
        build_diffusion,
        code,
        structure,
        protocol,
        overrides,
        num_mpiprocs,
        max_wallclock_seconds,
        potential=potential,
        temperatures=list(temperatures),
        species=species,
        charge=charge,
    )
    if reduce_code is not None:
        builder.md.lammps.reduce_code = reduce_code
        builder.md.lammps.metadata.options.keep_dump = not delete_dump
    _launch(builder, daemon)


@launch.command("xas")
@_code_option("-X", "--code", help="The DFT engine's code (gpaw@localhost or an aiida-vasp code).")
@STRUCTURE
@click.option("--engine", type=click.Choice(("gpaw", "vasp")), default="gpaw", show_default=True, help="DFT engine.")
@PROTOCOL
@OVERRIDES
@NUM_MPIPROCS
@WALLCLOCK
@DAEMON
def launch_xas(code, structure, engine, protocol, overrides, num_mpiprocs, max_wallclock_seconds, daemon):
    """lps.xas: S K-edge XAS by the core-hole method, per site and averaged."""
    builder = _build_or_fail(
        build_xas,
        code,
        structure,
        protocol,
        overrides,
        num_mpiprocs,
        max_wallclock_seconds,
        engine=engine,
    )
    _launch(builder, daemon)


def _structure_labels(structures: Sequence) -> dict[str, Any]:
    """Link-label-safe, unique labels for the structures (from their labels or formulae)."""
    labelled: dict[str, Any] = {}
    for node in structures:
        base = re.sub(r"\W+", "_", node.label or node.get_formula()).strip("_") or "structure"
        if not base[0].isalpha():
            base = f"s_{base}"
        label, n = base, 1
        while label in labelled:
            n += 1
            label = f"{base}_{n}"
        labelled[label] = node
    return labelled


@launch.command("active-learning")
@_code_option("--dft-code", help="The DFT engine's code (labels).")
@_code_option("--lammps-code", help="LAMMPS code (exploration MD).")
@_code_option("--python-code", help="Python of aiida-lps (the fits; `aiida-lps setup` creates python@localhost).")
@click.option(
    "-S", "--structure", "structures", type=StructureParamType(), multiple=True, required=True,
    help="Initial structure (name, file or PK); repeat for several.",
)  # fmt: skip
@click.option("--dft-engine", type=click.Choice(("gpaw", "vasp")), default="gpaw", show_default=True)
@PROTOCOL
@OVERRIDES
@NUM_MPIPROCS
@WALLCLOCK
@DAEMON
def launch_active_learning(
    dft_code, lammps_code, python_code, structures, dft_engine, protocol, overrides, num_mpiprocs,
    max_wallclock_seconds, daemon,
):  # fmt: skip
    """lps.mlip.active_learning: a SNAP/POD potential from DFT labels chosen by batch MaxVol."""
    builder = _build_or_fail(
        build_active_learning,
        {"dft": dft_code, "lammps": lammps_code, "python": python_code},
        _structure_labels(structures),
        protocol,
        overrides,
        num_mpiprocs,
        max_wallclock_seconds,
        dft_engine=dft_engine,
    )
    _launch(builder, daemon)


@launch.command("sampling")
@_code_option("-X", "--code", help="LAMMPS code (batch relaxations).")
@STRUCTURE
@POTENTIAL
@click.option("--n-li2s", type=click.IntRange(min=0), default=None, help="Li2S units to remove.")
@click.option("--n-p2s5", type=click.IntRange(min=0), default=None, help="P2S5 units to remove.")
@click.option("--target-x", type=click.FloatRange(0, 1), default=None, help="Target x of (Li2S)x(P2S5)1-x.")
@click.option(
    "--supercell", nargs=3, type=click.IntRange(min=1), default=None, metavar="N1 N2 N3",
    help="Repetitions of the parent cell.",
)  # fmt: skip
@_code_option("--dft-code", help="DFT code for the re-relaxation of the best candidates.", required=False)
@click.option("--dft-engine", type=click.Choice(("gpaw", "vasp")), default="gpaw", show_default=True)
@PROTOCOL
@OVERRIDES
@NUM_MPIPROCS
@WALLCLOCK
@DAEMON
def launch_sampling(
    code, structure, potential, n_li2s, n_p2s5, target_x, supercell, dft_code, dft_engine, protocol, overrides,
    num_mpiprocs, max_wallclock_seconds, daemon,
):  # fmt: skip
    """lps.sampling.genetic: GA over removed Li2S/P2S5 units of a parent crystal, best candidates (+ DFT)."""
    builder = _build_or_fail(
        build_sampling,
        code,
        structure,
        protocol,
        overrides,
        num_mpiprocs,
        max_wallclock_seconds,
        potential=potential,
        dft_code=dft_code,
        dft_engine=dft_engine,
        supercell=list(supercell) if supercell else None,
        n_li2s=n_li2s,
        n_p2s5=n_p2s5,
        target_x=target_x,
    )
    _launch(builder, daemon)


@launch.command("phase-diagram")
@_code_option("-X", "--code", help="LAMMPS code (batch relaxations of the GAs and the crystals).")
@POTENTIAL
@click.option(
    "-c", "--composition", "compositions", type=CompositionParamType(), multiple=True, required=True,
    help="PARENT:KEY=VALUE[,...] with KEY n_li2s, n_p2s5, target_x, x_tolerance or supercell (2x1x1); repeat for "
    "each composition (-c beta-Li3PS4:n_li2s=1 -c Li7P3S11:target_x=0.6).",
)  # fmt: skip
@_code_option("--dft-code", help="DFT code: GA candidates re-relaxed, the hull from DFT energies.", required=False)
@click.option("--dft-engine", type=click.Choice(("gpaw", "vasp")), default="gpaw", show_default=True)
@click.option(
    "--hull-energies", type=click.Choice(("mlip", "dft")), default=None,
    help="Energies of the hull [default: dft with --dft-code, else mlip].",
)  # fmt: skip
@PROTOCOL
@OVERRIDES
@NUM_MPIPROCS
@WALLCLOCK
@DAEMON
def launch_phase_diagram(
    code, potential, compositions, dft_code, dft_engine, hull_energies, protocol, overrides, num_mpiprocs,
    max_wallclock_seconds, daemon,
):  # fmt: skip
    """lps.sampling.phase_diagram: one GA per parent × composition, the crystals relaxed, formation energies, hull."""
    from aiida_lps.workflows.phase_diagram import parent_label

    parents, entries = {}, []
    for text, structure, entry in compositions:
        label = parent_label(text)
        parents.setdefault(label, structure)
        entries.append({"parent": label, **entry})
    builder = _build_or_fail(
        build_phase_diagram,
        code,
        parents,
        protocol,
        overrides,
        num_mpiprocs,
        max_wallclock_seconds,
        potential=potential,
        compositions=entries,
        dft_code=dft_code,
        dft_engine=dft_engine if dft_code is not None else None,
        hull_energies=hull_energies,
    )
    _launch(builder, daemon)
