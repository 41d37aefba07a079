"""``aiida-lps plot PK``: write the plots of a workflow's results with the package's plotting helpers."""

from __future__ import annotations

import dataclasses
import pathlib

import click
from aiida.cmdline.params import arguments

__all__ = ("plot", "write_plots")


def _save(figure, path: pathlib.Path) -> pathlib.Path:
    figure.savefig(path, dpi=150)
    return path


def _diffusion(node, out: pathlib.Path, fmt: str) -> list[pathlib.Path]:
    from aiida_lps.plotting import plot_arrhenius, plot_msd
    from aiida_lps.science.arrhenius import ArrheniusFit
    from aiida_lps.workflows.diffusion import temperature_label

    species = node.inputs.species.value
    written, temps, values, errors = [], [], [], []
    for temperature in node.inputs.temperatures.get_list():
        label = temperature_label(temperature)
        if label not in node.outputs.runs:
            continue
        run = node.outputs.runs[label]
        entry = run.results.get_dict()["species"][species]
        temps.append(temperature)
        values.append(entry["D"])
        errors.append(entry["D_stderr"])
        msd = run.msd
        figure = plot_msd(msd.get_array("time_ps"), msd.get_array(f"msd_{species}"), label=f"{temperature:g} K")
        written.append(_save(figure, out / f"diffusion_{node.pk}_msd_{label}.{fmt}"))
    if len(temps) >= 2:
        fit = None
        if "arrhenius" in node.outputs:
            stored = node.outputs.arrhenius.get_dict()["diffusivity"]
            names = {f.name for f in dataclasses.fields(ArrheniusFit)}
            fit = ArrheniusFit(**{k: v for k, v in stored.items() if k in names})
        figure = plot_arrhenius(temps, values, errors, fit=fit, ylabel=f"D({species}) (cm$^2$/s)")
        written.append(_save(figure, out / f"diffusion_{node.pk}_arrhenius.{fmt}"))
    return written


def _xas(node, out: pathlib.Path, fmt: str) -> list[pathlib.Path]:
    from aiida_lps.plotting import plot_xas

    spectrum = node.outputs.spectrum
    sites = {label: node.outputs.aligned[label].get_array("mu_average") for label in node.outputs.aligned}
    weights = node.outputs.weights.get_dict()["weights"]
    figure = plot_xas(spectrum.get_array("energy"), spectrum.get_array("mu_average"), sites, weights)
    return [_save(figure, out / f"xas_{node.pk}.{fmt}")]


def _active_learning(node, out: pathlib.Path, fmt: str) -> list[pathlib.Path]:
    from aiida_lps.plotting_mlip import plot_learning_curve, plot_parity

    parity = {name: node.outputs.parity.get_array(name) for name in node.outputs.parity.get_arraynames()}
    written = [plot_learning_curve(node.outputs.metrics.get_dict(), out / f"active_learning_{node.pk}_curve.{fmt}")]
    for prefix in ("train", "test"):
        if f"{prefix}_energy_reference" in parity:
            written.append(plot_parity(parity, out / f"active_learning_{node.pk}_parity_{prefix}.{fmt}", prefix))
    return written


def _sampling(node, out: pathlib.Path, fmt: str) -> list[pathlib.Path]:
    from matplotlib.figure import Figure

    history = node.outputs.history
    figure = Figure(figsize=(5, 3.6), layout="constrained")
    ax = figure.add_subplot()
    generation = history.get_array("generation")
    ax.plot(generation, history.get_array("best"), "o-", label="best")
    ax.plot(generation, history.get_array("mean"), "s--", label="mean")
    ax.set_xlabel("generation")
    ax.set_ylabel("MLIP energy (eV per cell)")
    ax.legend(fontsize="small")
    return [_save(figure, out / f"sampling_{node.pk}_history.{fmt}")]


def _phase_diagram(node, out: pathlib.Path, fmt: str) -> list[pathlib.Path]:
    from aiida_lps.plotting_phase_diagram import plot_phase_diagram

    result = node.outputs.phase_diagram.get_dict()
    figure = plot_phase_diagram(result, kinds=result["kinds"])
    figure.axes[0].set_title(f"formation energies from {result['hull_energies']} energies", fontsize="small")
    return [_save(figure, out / f"phase_diagram_{node.pk}.{fmt}")]


PLOTTERS = {
    "lps.diffusion": _diffusion,
    "lps.xas": _xas,
    "lps.mlip.active_learning": _active_learning,
    "lps.sampling.genetic": _sampling,
    "lps.sampling.phase_diagram": _phase_diagram,
}
#: plotters that draw the work chain's hull themselves (with the kinds of its entries)
PLOTS_OWN_HULL = {"lps.sampling.phase_diagram"}


def write_plots(node, output: pathlib.Path, fmt: str = "png") -> list[pathlib.Path]:
    """Write the plots of ``node``'s results (and of its convex hull, if it computed one) to ``output``."""
    from aiida_lps.cli.show import entry_point_name, find_hull

    output.mkdir(parents=True, exist_ok=True)
    name = entry_point_name(node)
    plotter = PLOTTERS.get(name)
    written = []
    if plotter is not None:
        if not node.is_finished_ok:
            raise click.ClickException(f"{node.process_label}<{node.pk}> did not finish successfully: nothing to plot")
        written.extend(plotter(node, output, fmt))
    hull = None if name in PLOTS_OWN_HULL else find_hull(node)
    if hull is not None:
        from aiida_lps.plotting_phase_diagram import plot_phase_diagram

        written.append(_save(plot_phase_diagram(hull.get_dict()), output / f"hull_{node.pk}.{fmt}"))
    if not written:
        known = ", ".join(PLOTTERS)
        raise click.ClickException(f"no plot for {node.process_label}<{node.pk}> ({name}): known types {known}")
    return written


@click.command("plot")
@arguments.PROCESS()
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=pathlib.Path), default=pathlib.Path("."),
    show_default=True, help="Folder for the figures.",
)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(("png", "pdf", "svg")), default="png", show_default=True)
def plot(process, output: pathlib.Path, fmt: str):
    """Write the plots of workflow PROCESS: MSD + Arrhenius, XAS spectra, parity + learning curve, GA history, hull,
    phase diagram (composition scan)."""
    for path in write_plots(process, output, fmt):
        click.echo(f"wrote {path}")
