"""``aiida-lps show PK``: a human summary of a workflow's results, per work-chain type."""

from __future__ import annotations

import math
from collections.abc import Callable

import click
from aiida.cmdline.params import arguments

__all__ = ("show", "summarise", "find_hull")


def _fmt(value, spec: str = ".3e", missing: str = "-") -> str:
    """``value`` formatted with ``spec``; ``missing`` for None/NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return format(value, spec)


def _table(headers: list[str], rows: list[list]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, disable_numparse=True)


def _diffusion(node) -> list[str]:
    from aiida_lps.workflows.diffusion import temperature_label

    outputs = node.outputs
    species = node.inputs.species.value
    lines = [f"diffusing species {species}, simulated cell: {len(outputs.supercell.sites)} atoms"]
    rows = []
    for temperature in node.inputs.temperatures.get_list():
        label = temperature_label(temperature)
        if label not in outputs.runs:
            rows.append([f"{temperature:g}", "failed", "", "", "", ""])
            continue
        result = outputs.runs[label].results.get_dict()
        entry = result["species"][species]
        rows.append(
            [
                f"{temperature:g}",
                _fmt(entry.get("D")),
                _fmt(entry.get("D_stderr"), ".1e"),
                _fmt(entry.get("loglog_slope"), ".2f"),
                _fmt(entry.get("conductivity_S_cm")),
                "sub-diffusive" if entry.get("subdiffusive") else "",
            ]
        )
    lines.append(_table(["T (K)", "D (cm²/s)", "± (cm²/s)", "log-log slope", "σ (S/cm)", "flag"], rows))
    if "arrhenius" in outputs:
        fit = outputs.arrhenius.get_dict()
        target = fit.get("target_temperature_K", 300.0)
        d = fit["diffusivity"]
        lines.append(
            f"Arrhenius (D): Ea = {_fmt(d['activation_energy'], '.3f')} ± {_fmt(d['activation_energy_stderr'], '.3f')}"
            f" eV; D({target:g} K) = {_fmt(d['at_target'].get('value'))} ± {_fmt(d['at_target'].get('stderr'), '.1e')}"
            " cm²/s"
        )
        if "conductivity" in fit:
            s = fit["conductivity"]
            lines.append(
                f"Arrhenius (σT): Ea = {_fmt(s['activation_energy'], '.3f')} ± "
                f"{_fmt(s['activation_energy_stderr'], '.3f')} eV; σ({target:g} K) = "
                f"{_fmt(s['at_target'].get('value'))} ± {_fmt(s['at_target'].get('stderr'), '.1e')} S/cm"
            )
    else:
        lines.append("no Arrhenius fit (fewer than two temperatures succeeded)")
    return lines


def _environment(environment) -> str:
    """``8 Li 2.46 Å, 1 P 2.05 Å`` from a site table's ``environment`` (element → count, nearest distance)."""
    if not isinstance(environment, dict):
        return str(environment or "")
    parts = [
        f"{value['count']} {element} {_fmt(value.get('nearest'), '.2f')} Å"
        for element, value in sorted(environment.items())
        if isinstance(value, dict) and value.get("count")
    ]
    return ", ".join(parts)


def _xas(node) -> list[str]:
    import numpy as np

    outputs = node.outputs
    lines = [f"absorber {node.inputs.absorber.value}, engine {node.inputs.engine.value}"]
    weights = outputs.weights.get_dict().get("weights", {}) if "weights" in outputs else {}
    onsets = outputs.alignment.get_dict().get("sites", {}) if "alignment" in outputs else {}
    rows = []
    for row in outputs.site_table.get_dict()["sites"]:
        label = row["label"]
        rows.append(
            [
                label,
                row.get("index"),
                row.get("multiplicity"),
                _fmt(weights.get(label), ".3f"),
                _fmt(onsets.get(label, {}).get("aligned_onset"), ".2f"),
                _environment(row.get("environment")),
            ]
        )
    lines.append(_table(["site", "atom", "multiplicity", "weight", "onset (eV)", "environment"], rows))
    if "spectrum" in outputs:
        energy, mu = outputs.spectrum.get_array("energy"), outputs.spectrum.get_array("mu_average")
        lines.append(
            f"averaged spectrum: {energy.size} points, {energy.min():.2f}–{energy.max():.2f} eV, "
            f"maximum at {energy[int(np.argmax(mu))]:.2f} eV"
        )
    return lines


def _active_learning(node) -> list[str]:
    metrics = node.outputs.metrics.get_dict()
    rows = [
        [
            row.get("iteration"),
            row.get("n_training", ""),
            _fmt(row.get("train_force_mae_eV_per_A"), ".3f"),
            _fmt(row.get("test_force_mae_eV_per_A"), ".3f"),
            _fmt(row.get("test_energy_mae_meV_per_atom"), ".2f"),
            row.get("n_selected", ""),
            row.get("n_labelled", ""),
        ]
        for row in metrics.get("iterations", [])
    ]
    headers = ["iteration", "training", "train F MAE (eV/Å)", "test F MAE (eV/Å)", "test E MAE (meV/at)"]
    lines = [_table([*headers, "selected", "labelled"], rows)]
    lines.append(
        f"model {metrics.get('model', '?')}, converged: {metrics.get('converged')}, labels used: "
        f"{metrics.get('labels_used')}, failed labels: {len(metrics.get('failed_labels', []))}"
    )
    potential = node.outputs.potential
    lines.append(f"potential: lps.potential<{potential.pk}> ({potential.pair_style}, {', '.join(potential.elements)})")
    return lines


def _sampling(node) -> list[str]:
    summary = node.outputs.summary.get_dict()
    lines = [f"composition: {summary.get('composition')}", f"stop reason: {summary.get('stop_reason')}"]
    history = node.outputs.history
    best = history.get_array("best")
    if best.size:
        lines.append(f"{best.size} generations, best MLIP energy {_fmt(float(best[-1]), '.4f')} eV per cell")
    rows = [
        [
            c.get("label"),
            _fmt(c.get("mlip_energy"), ".4f"),
            _fmt(c.get("dft_energy"), ".4f"),
            c.get("generation", ""),
            c.get("removed_sites", ""),
        ]
        for c in summary.get("candidates", [])
    ]
    lines.append(_table(["candidate", "MLIP (eV/cell)", "DFT (eV/cell)", "generation", "removed sites"], rows))
    return lines


def _hull(result: dict) -> list[str]:
    rows = [
        [
            label,
            _fmt(e["x"], ".3f"),
            _fmt(e["formation_energy_per_atom"] * 1000, ".1f"),
            _fmt(e["e_above_hull_per_atom"] * 1000, ".1f"),
            e["stability"],
        ]
        for label, e in sorted(result["entries"].items(), key=lambda item: item[1]["atom_fraction"])
    ]
    return ["convex hull:", _table(["entry", "x", "E_f (meV/atom)", "E above hull (meV/atom)", "stability"], rows)]


def _phase_diagram(node) -> list[str]:
    """Per GA job of the scan: x, candidates on the hull and the lowest energy above the hull (the hull follows)."""
    diagram = node.outputs.phase_diagram.get_dict()
    lines = [f"hull energies: {diagram.get('hull_energies')}"]
    rows = []
    for job in diagram.get("jobs", []):
        mine = [e for e in diagram["entries"].values() if e.get("job") == job["label"]]
        lowest = min((e["e_above_hull_per_atom"] for e in mine), default=None)
        rows.append(
            [
                job["label"],
                _fmt(job["x"], ".4f"),
                len(mine),
                _fmt(None if lowest is None else lowest * 1000, ".1f"),
            ]
        )
    lines.append(_table(["genetic sampling", "x", "candidates", "lowest E above hull (meV/atom)"], rows))
    return [*lines, *_hull(diagram)]


SUMMARIES: dict[str, Callable] = {
    "lps.diffusion": _diffusion,
    "lps.xas": _xas,
    "lps.mlip.active_learning": _active_learning,
    "lps.sampling.genetic": _sampling,
    "lps.sampling.phase_diagram": _phase_diagram,
}


def entry_point_name(node) -> str | None:
    """``lps.diffusion`` for a node of process type ``aiida.workflows:lps.diffusion``, else None."""
    process_type = node.process_type or ""
    return process_type.split(":", 1)[1] if ":" in process_type else None


def find_hull(node):
    """The ``result`` Dict of the latest ``lps.convex_hull`` run by ``node`` or its descendants (or ``node`` itself)."""
    from aiida import orm

    if entry_point_name(node) == "lps.convex_hull":
        return node.outputs.result
    query = orm.QueryBuilder()
    query.append(orm.WorkflowNode, filters={"id": node.pk}, tag="top")
    query.append(
        orm.CalcFunctionNode,
        with_ancestors="top",
        filters={"process_type": "aiida.calculations:lps.convex_hull"},
        tag="hull",
    )
    query.append(orm.Dict, with_incoming="hull", edge_filters={"label": "result"}, project="*")
    query.order_by({orm.Dict: {"id": "desc"}})
    found = query.first()
    return None if found is None else found[0]


def summarise(node) -> str:
    """The summary text of ``node`` (any process): header, state, and the results of known work chains."""
    name = entry_point_name(node)
    header = f"{node.process_label}<{node.pk}> ({name or node.process_type}) uuid {node.uuid}"
    state = node.process_state.value if node.process_state else "unknown"
    exit_line = f"state: {state}" + (f", exit status {node.exit_status}" if node.is_terminated else "")
    if node.exit_message:
        exit_line += f": {node.exit_message}"
    lines = [header, exit_line]
    summary = SUMMARIES.get(name)
    if summary is not None:
        try:
            lines.extend(summary(node))
        except Exception as exc:  # outputs missing on failed/unfinished runs
            lines.append(f"(results incomplete: {type(exc).__name__}: {exc})")
    elif node.is_finished:
        lines.append("outputs: " + ", ".join(sorted(node.outputs)))
    hull = None
    if name != "lps.sampling.phase_diagram" and isinstance(node, _workflow_or_function()):  # (its summary has it)
        hull = find_hull(node)
    if hull is not None:
        lines.extend(_hull(hull.get_dict()))
    if not node.is_terminated:
        lines.append(f"still running: `verdi process report {node.pk}` shows its progress")
    return "\n".join(lines)


def _workflow_or_function():
    from aiida import orm

    return (orm.WorkflowNode, orm.CalcFunctionNode)


@click.command("show")
@arguments.PROCESS()
def show(process):
    """Summary of the results of workflow PROCESS (D(T) and Ea; XAS sites and onsets; fit errors; GA candidates)."""
    click.echo(summarise(process))
