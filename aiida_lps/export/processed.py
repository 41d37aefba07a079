"""Processed data that a reader can use without AiiDA, written per work-chain type from a process node's outputs.

Every writer takes a process node and a folder and returns the files it wrote. The files are deterministic (same
node → same bytes, on the same software versions): floats written with ``repr``, JSON with sorted keys, plots with a
fixed PDF creation date. Plots use :mod:`aiida_lps.plotting` and :mod:`aiida_lps.plotting_mlip`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pathlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from aiida import orm

from aiida_lps.common.defaults import DIFFUSING_SPECIES
from aiida_lps.common.serialize import json_safe

__all__ = ("PLOT_SUFFIXES", "WRITERS", "write_processed", "writer_for")

#: Suffixes of plot files (compared by hash only on identical matplotlib versions).
PLOT_SUFFIXES = (".png", ".pdf")

#: A fixed SOURCE_DATE_EPOCH for PDF metadata, so that a re-export writes the same bytes.
_EPOCH = "0"


@contextlib.contextmanager
def _reproducible_dates() -> Iterator[None]:
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = _EPOCH
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def _write_csv(path: pathlib.Path, header: Sequence[str], rows: Sequence[Sequence[Any]], comment: str = "") -> None:
    """CSV with optional ``#`` comment lines first (units, provenance)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        for line in comment.splitlines():
            handle.write(f"# {line}\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else repr(float(v)) if isinstance(v, float) else v for v in row])


def _write_json(path: pathlib.Path, data: Any) -> None:
    path.write_text(json.dumps(json_safe(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _save_figure(fig: Any, stem: pathlib.Path) -> list[pathlib.Path]:
    paths = []
    with _reproducible_dates():
        for suffix in PLOT_SUFFIXES:
            path = stem.with_suffix(suffix)
            fig.savefig(path, dpi=120, metadata={"Software": None} if suffix == ".png" else {"Creator": None})
            paths.append(path)
    return paths


def _header(node: orm.ProcessNode) -> str:
    return f"{node.process_label} {node.uuid} (entry point {node.process_type})"


# --------------------------------------------------------------------------------------------------- diffusion


def _arrhenius_rows(temperatures, entries) -> list[list[Any]]:
    return [
        [
            float(t),
            e.get("D"),
            e.get("D_stderr"),
            e.get("conductivity_S_cm"),
            e.get("conductivity_stderr_S_cm"),
            e.get("isotropy"),
            e.get("loglog_slope"),
            e.get("subdiffusive"),
            e.get("n_atoms"),
        ]
        for t, e in zip(temperatures, entries, strict=True)
    ]


_ARRHENIUS_HEADER = (
    "T_K",
    "D_cm2_s",
    "D_stderr_cm2_s",
    "sigma_S_cm",
    "sigma_stderr_S_cm",
    "isotropy",
    "msd_loglog_slope",
    "subdiffusive",
    "n_atoms",
)


def _plot_arrhenius(folder: pathlib.Path, temperatures, entries, fit: Mapping | None) -> list[pathlib.Path]:
    from aiida_lps.plotting import plot_arrhenius
    from aiida_lps.science.arrhenius import ArrheniusFit

    fit_object = None
    if fit and "diffusivity" in fit:
        fields = {k: v for k, v in fit["diffusivity"].items() if k in ArrheniusFit.__dataclass_fields__}
        fields["covariance"] = tuple(tuple(row) for row in fields["covariance"])
        fit_object = ArrheniusFit(**fields)
    errors = [e.get("D_stderr") for e in entries]
    fig = plot_arrhenius(
        temperatures,
        [e["D"] for e in entries],
        errors=None if any(x is None for x in errors) else errors,
        fit=fit_object,
    )
    return _save_figure(fig, folder / "arrhenius")


def write_diffusion(node: orm.ProcessNode, folder: pathlib.Path, plots: bool = True) -> list[pathlib.Path]:
    """``lps.diffusion``: ``arrhenius.csv`` (per T: D, σ with errors), ``arrhenius_fit.json``, MSD CSVs, plots."""
    from aiida_lps.plotting import plot_msd
    from aiida_lps.workflows.diffusion import temperature_label

    species = node.inputs.species.value if "species" in node.inputs else DIFFUSING_SPECIES
    runs = node.outputs.runs if "runs" in node.outputs else {}
    temperatures, entries, written = [], [], []
    for temperature in node.inputs.temperatures.get_list():
        label = temperature_label(temperature)
        if label not in runs:
            continue
        results = runs[label]["results"].get_dict()
        temperatures.append(float(temperature))
        entries.append(results["species"][species])
        msd = runs[label]["msd"]
        time_ps, msd_axes = msd.get_array("time_ps"), msd.get_array(f"msd_{species}")
        path = folder / f"msd_{label}.csv"
        _write_csv(
            path,
            ("time_ps", "msd_x_A2", "msd_y_A2", "msd_z_A2"),
            [[float(t), *map(float, row)] for t, row in zip(time_ps, msd_axes, strict=True)],
            f"{_header(node)}\nMSD of {species} at {temperature} K; time in ps, MSD in Å^2",
        )
        written.append(path)
        if plots:
            figure = plot_msd(time_ps, msd_axes, label=f"{species} {temperature:g} K")
            written += _save_figure(figure, folder / f"msd_{label}")
    path = folder / "arrhenius.csv"
    _write_csv(
        path,
        _ARRHENIUS_HEADER,
        _arrhenius_rows(temperatures, entries),
        f"{_header(node)}\ndiffusing species {species}; D in cm^2/s, sigma (Nernst-Einstein) in S/cm, standard errors",
    )
    written.append(path)
    fit = node.outputs.arrhenius.get_dict() if "arrhenius" in node.outputs else None
    if fit is not None:
        written.append(folder / "arrhenius_fit.json")
        _write_json(written[-1], fit)
    if plots and len(temperatures) >= 2:
        written += _plot_arrhenius(folder, temperatures, entries, fit)
    return written


def write_arrhenius(node: orm.ProcessNode, folder: pathlib.Path, plots: bool = True) -> list[pathlib.Path]:
    """``lps.arrhenius`` on its own: the fitted table (from its inputs), ``arrhenius_fit.json`` and the plot."""
    inputs = node.inputs
    temperatures = inputs.temperatures.get_list()
    d = inputs.diffusivities.get_list()
    d_err = inputs.diffusivity_errors.get_list() if "diffusivity_errors" in inputs else [None] * len(d)
    sigma = inputs.conductivities.get_list() if "conductivities" in inputs else [None] * len(d)
    s_err = inputs.conductivity_errors.get_list() if "conductivity_errors" in inputs else [None] * len(d)
    entries = [
        {"D": a, "D_stderr": b, "conductivity_S_cm": c, "conductivity_stderr_S_cm": e}
        for a, b, c, e in zip(d, d_err, sigma, s_err, strict=True)
    ]
    path = folder / "arrhenius.csv"
    _write_csv(
        path,
        _ARRHENIUS_HEADER[:5],
        [row[:5] for row in _arrhenius_rows(temperatures, entries)],
        f"{_header(node)}\nD in cm^2/s, sigma in S/cm, standard errors",
    )
    written = [path]
    fit = node.outputs.result.get_dict() if "result" in node.outputs else None
    if fit is not None:
        written.append(folder / "arrhenius_fit.json")
        _write_json(written[-1], fit)
    if plots:
        written += _plot_arrhenius(folder, temperatures, entries, fit)
    return written


# --------------------------------------------------------------------------------------------------------- XAS


def write_xas(node: orm.ProcessNode, folder: pathlib.Path, plots: bool = True) -> list[pathlib.Path]:
    """``lps.xas``: averaged and per-site spectra (CSV, eV), site table, weights and alignment (JSON), plot."""
    from aiida_lps.plotting import plot_xas

    outputs, written = node.outputs, []
    if "site_table" in outputs:
        written.append(folder / "site_table.json")
        _write_json(written[-1], outputs.site_table.get_dict())
    if "spectrum" not in outputs:
        return written
    spectrum = outputs.spectrum
    energy, mu, average = (spectrum.get_array(n) for n in ("energy", "mu", "mu_average"))
    path = folder / "spectrum_average.csv"
    _write_csv(
        path,
        ("energy_eV", "mu_average", "mu_x", "mu_y", "mu_z"),
        [[float(e), float(a), *map(float, m)] for e, a, m in zip(energy, average, mu, strict=True)],
        f"{_header(node)}\nsite-averaged absorption; energy in eV (aligned, calibrated), mu in arbitrary units",
    )
    written.append(path)
    aligned = outputs.aligned if "aligned" in outputs else {}
    labels = sorted(aligned, key=lambda s: (len(s), s))
    sites = {label: aligned[label].get_array("mu_average") for label in labels}
    if sites:
        path = folder / "spectra_sites.csv"
        _write_csv(
            path,
            ("energy_eV", *labels),
            [[float(e), *(float(sites[label][i]) for label in labels)] for i, e in enumerate(energy)],
            f"{_header(node)}\nper-site aligned, broadened spectra (polarisation average); energy in eV, mu arb. units",
        )
        written.append(path)
    weights = outputs.weights.get_dict() if "weights" in outputs else {}
    for name in ("weights", "alignment"):
        if name in outputs:
            written.append(folder / f"{name}.json")
            _write_json(written[-1], outputs[name].get_dict())
    if plots:
        fig = plot_xas(energy, average, sites=sites, weights=weights.get("weights"))
        written += _save_figure(fig, folder / "spectrum")
    return written


# ---------------------------------------------------------------------------------------------- active learning


def write_potential(potential, folder: pathlib.Path) -> list[pathlib.Path]:
    """The potential's files and ``potential.json`` (pair style, coefficients, elements, cut-off Å, SHA-256)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in potential.filenames:
        path = folder / name
        path.write_bytes(potential.get_file_content(name))
        written.append(path)
    description = {
        "uuid": potential.uuid,
        "pair_style": potential.pair_style,
        "pair_coeff": potential.pair_coeff,
        "elements": potential.elements,
        "cutoff_A": potential.cutoff,
        "extra_commands": potential.extra_commands,
        "sha256": potential.sha256,
        "metadata": potential.metadata,
        "lammps_commands": potential.lammps_commands(),
    }
    written.append(folder / "potential.json")
    _write_json(written[-1], description)
    return written


def write_active_learning(node: orm.ProcessNode, folder: pathlib.Path, plots: bool = True) -> list[pathlib.Path]:
    """``lps.mlip.active_learning``: training/test sets (extended XYZ), the potential files, metrics, plots."""
    from aiida_lps.plotting_mlip import plot_learning_curve, plot_parity

    outputs, written = node.outputs, []
    for name in ("training_set", "test_set"):
        if name in outputs:
            path = folder / f"{name}.xyz"
            path.write_text(outputs[name].get_text(), encoding="utf-8")
            written.append(path)
    if "potential" in outputs:
        written += write_potential(outputs.potential, folder / "potential")
    if "metrics" in outputs:
        metrics = outputs.metrics.get_dict()
        written.append(folder / "metrics.json")
        _write_json(written[-1], metrics)
        if plots and metrics.get("iterations"):
            with _reproducible_dates():
                for suffix in PLOT_SUFFIXES:
                    written.append(plot_learning_curve(metrics, folder / f"learning_curve{suffix}"))
    if plots and "parity" in outputs:
        parity = {n: outputs.parity.get_array(n) for n in outputs.parity.get_arraynames()}
        for prefix in ("train", "test"):
            if f"{prefix}_energy_reference" in parity:
                with _reproducible_dates():
                    for suffix in PLOT_SUFFIXES:
                        written.append(plot_parity(parity, folder / f"parity_{prefix}{suffix}", prefix=prefix))
    return written


# ------------------------------------------------------------------------------------------ phase diagram (hull)


def write_table_outputs(node: orm.ProcessNode, folder: pathlib.Path, plots: bool = True) -> list[pathlib.Path]:
    """Generic writer of a calcfunction's Dict outputs: JSON, and CSV for each table inside.

    A table is a list of rows (dicts), a mapping label → row (first column ``label``) or a mapping of equal-length
    lists (columns).
    """
    written = []
    for link in sorted(node.base.links.get_outgoing(link_type=_create_or_return()).all(), key=lambda x: x.link_label):
        label, output = link.link_label, link.node
        if not isinstance(output, orm.Dict):
            continue
        data = output.get_dict()
        written.append(folder / f"{label}.json")
        _write_json(written[-1], data)
        for key, value in sorted(data.items()):
            table = _as_table(value)
            if table is not None:
                path = folder / f"{label}_{key}.csv"
                units = data.get("units")
                comment = _header(node) + (f"\nunits: {json.dumps(units, ensure_ascii=False)}" if units else "")
                _write_csv(path, table[0], table[1], comment)
                written.append(path)
    return written


def _as_table(value: Any) -> tuple[list[str], list[list[Any]]] | None:
    if isinstance(value, list) and value and all(isinstance(row, Mapping) for row in value):
        header = list(dict.fromkeys(k for row in value for k in row))
        return header, [[_cell(row.get(k)) for k in header] for row in value]
    if isinstance(value, Mapping) and value and all(isinstance(row, Mapping) for row in value.values()):
        header = list(dict.fromkeys(k for row in value.values() for k in row))
        return ["label", *header], [[name, *(_cell(row.get(k)) for k in header)] for name, row in value.items()]
    if isinstance(value, Mapping) and value and all(isinstance(col, list) for col in value.values()):
        lengths = {len(col) for col in value.values()}
        if len(lengths) == 1:
            return list(value), [list(map(_cell, row)) for row in zip(*value.values(), strict=True)]
    return None


def write_convex_hull(node: orm.ProcessNode, folder: pathlib.Path, plots: bool = True) -> list[pathlib.Path]:
    """``lps.convex_hull``: the hull tables (entries, hull polyline; eV/atom) as CSV and JSON, and the phase diagram."""
    written = write_table_outputs(node, folder)
    if not plots or "result" not in node.outputs:
        return written
    try:
        from aiida_lps.plotting_phase_diagram import plot_phase_diagram
    except ImportError:  # the plot helper ships with the phase-diagram module
        return written
    return written + _save_figure(plot_phase_diagram(node.outputs.result.get_dict()), folder / "phase_diagram")


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def _create_or_return():
    from aiida.common.links import LinkType

    return (LinkType.CREATE, LinkType.RETURN)


#: Writers by entry point name of the process (its ``process_type`` after the colon).
WRITERS: dict[str, Callable[..., list[pathlib.Path]]] = {
    "lps.diffusion": write_diffusion,
    "lps.arrhenius": write_arrhenius,
    "lps.xas": write_xas,
    "lps.mlip.active_learning": write_active_learning,
    "lps.convex_hull": write_convex_hull,
}


def writer_for(node: orm.ProcessNode) -> tuple[str, Callable] | None:
    """The (entry point, writer) of a process node, or None when the package has no writer for it."""
    entry_point = (node.process_type or "").rpartition(":")[2]
    writer = WRITERS.get(entry_point)
    return (entry_point, writer) if writer else None


def folder_name(node: orm.ProcessNode) -> str:
    """``<ProcessLabel>-<first 8 of UUID>``: stable across export/import (PKs are not)."""
    return f"{node.process_label or 'process'}-{node.uuid[:8]}"


def write_processed(
    roots: Sequence[orm.ProcessNode], folder: pathlib.Path, plots: bool = True
) -> dict[str, list[pathlib.Path]]:
    """Write the processed data of every process in ``roots`` or below them that has a writer (``plots``: also plots).

    A process with a writer is written and its sub-processes are not visited (the diffusion work chain covers its
    own Arrhenius fit); other processes (e.g. a top-level driver) are searched through their called processes.

    :returns: folder name → files, per written process.
    """
    written: dict[str, list[pathlib.Path]] = {}
    seen: set[str] = set()

    def visit(node: orm.ProcessNode) -> None:
        if node.uuid in seen:
            return
        seen.add(node.uuid)
        found = writer_for(node)
        if found is None:
            for child in sorted(node.called, key=lambda n: n.ctime):
                visit(child)
            return
        target = folder / folder_name(node)
        target.mkdir(parents=True, exist_ok=True)
        files = found[1](node, target, plots=plots)
        if files:
            written[target.name] = files
        else:
            target.rmdir()

    for root in roots:
        visit(root)
    return written
