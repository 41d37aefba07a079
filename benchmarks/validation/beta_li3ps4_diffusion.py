#!/usr/bin/env python
"""β-Li3PS4 Li-ion transport from the campaign's learned potential: ``lps.diffusion`` → Ea and σ(300 K).

The user's path, from the committed labels only (``data/beta_li3ps4_labels.xyz``):

1. ``lps.mlip.active_learning`` with the campaign's training frames as ``training_set``, its held-out MD frames as
   ``test_set`` and ``max_iterations`` 0: the ``moderate`` grid of SNAP and POD points is fitted (the same fit as the
   campaign's last one), the held-out errors are measured, and the potential carries its active set;
2. ``lps.diffusion`` with that potential on a 2×2×2 supercell of the 32-atom cell (256 atoms) at seed 001's AIMD
   temperatures (700, 900, 1200, 1500 K): ``moderate`` protocol (NPT equilibration 20 ps, then NVT production,
   2 fs), ``--production-ps`` per temperature, γ recorded along every production run;
3. the Arrhenius fit of the work chain (temperatures whose run left the training domain are excluded, the fit
   names the ones it used; ``--keep-extrapolating`` fits all of them) and, for comparison, a fit of every
   temperature;
4. ``data/beta_li3ps4_diffusion.json``: the potential's held-out errors, per temperature D, σ, γ record and lattice
   after NPT, Ea ± error and σ(300 K) ± error, against seed 001 (Ea = 0.236 eV, σ300 = 14.3 mS/cm).

The profile lives in ``.campaign/md-aiida`` (``verdi presto --no-broker`` and ``aiida-lps setup``, first use), apart
from the labelling campaign's, so both can run at the same time; the temperatures run concurrently.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 5 python benchmarks/validation/beta_li3ps4_diffusion.py \
        [--production-ps 100] [--temperatures 700 900 1200 1500]
    python benchmarks/validation/beta_li3ps4_diffusion.py --summary      # print the committed result

About 40 CPU minutes for 4 × 120 ps of 256 atoms with a POD potential (one core per temperature).
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import re
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import beta_li3ps4_campaign as campaign  # noqa: E402  (the campaign's profile helper and label reader)

from aiida_lps.common.defaults import DIFFUSING_SPECIES  # noqa: E402

RESULT = campaign.DATA / "beta_li3ps4_diffusion.json"
PROFILE = "md"
SEED001 = {"activation_energy_eV": 0.236, "sigma_300K_S_cm": 14.3e-3, "temperatures_K": [700, 900, 1200, 1500]}
SEED002_MTP = {"activation_energy_eV": 0.29, "sigma_300K_S_cm": 7.4e-5}


def fit_potential(train: list, test: list, grid: list | None = None):
    """``lps.mlip.active_learning`` without exploration: the fit + held-out errors; returns (outputs, node).

    ``grid``: the fit's grid points instead of the ``moderate`` protocol's (e.g. one POD point)."""
    from aiida.engine import run_get_node

    builder = campaign.active_learning_builder(
        {
            **({"fitting": {"grid": grid}} if grid else {}),
            "max_iterations": 0,
            "sampling": {"initial": {"count": 0}, "test": {"count": 0}},
            "dft": {
                "protocol": campaign.DFT_PROTOCOL,
                "overrides": campaign.dft_overrides(campaign.ECUT, campaign.KMESH),
            },
        }
    )
    builder.metadata.label = f"beta-Li3PS4 production potential ({len(train)} training frames)"
    builder.training_set = campaign.training_set_node(train)
    builder.test_set = campaign.training_set_node(test)
    return run_get_node(builder)


def run_diffusion(potential, temperatures: list[float], production_ps: float, keep_extrapolating: bool):
    """``lps.diffusion`` (moderate protocol, 2×2×2 supercell); returns (outputs, node)."""
    from aiida import orm
    from aiida.engine import run_get_node
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.structures.reference import load_structure
    from aiida_lps.workflows.diffusion import DiffusionWorkChain

    cell = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4")).repeat((2, 2, 2)))
    timestep = 2.0  # fs, the moderate protocol's
    builder = DiffusionWorkChain.get_builder_from_protocol(
        orm.load_code("lmp@localhost"),
        cell,
        protocol="moderate",
        potential=potential,
        temperatures=temperatures,
        overrides={"parameters": {"production_steps": int(round(production_ps * 1000 / timestep))}},
        options={"resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}, "withmpi": False},
    )
    builder.exclude_extrapolating = orm.Bool(not keep_extrapolating)
    builder.metadata.label = f"beta-Li3PS4 diffusion, {len(cell.sites)} atoms, {production_ps:g} ps"
    return run_get_node(builder)


def fit_all(runs: dict) -> dict:
    """Arrhenius fit of every temperature that finished (``lps.arrhenius``, as the work chain calls it)."""
    from aiida import orm

    from aiida_lps.calcfunctions.arrhenius import arrhenius_fit

    entries = [
        (run["results"]["temperature_target_K"], run["results"]["species"][DIFFUSING_SPECIES]) for run in runs.values()
    ]
    if len(entries) < 2:
        return {}
    return arrhenius_fit(
        temperatures=orm.List([t for t, _ in entries]),
        diffusivities=orm.List([e["D"] for _, e in entries]),
        diffusivity_errors=orm.List([e["D_stderr"] for _, e in entries]),
        conductivities=orm.List([e["conductivity_S_cm"] for _, e in entries]),
        conductivity_errors=orm.List([e["conductivity_stderr_S_cm"] for _, e in entries]),
    ).get_dict()


def summarise(al_node, al, diffusion_node, diffusion, all_fit: dict, args, seconds: float) -> dict:
    """The JSON record of one production run."""
    metrics = al["metrics"].get_dict()
    runs = {}
    for label, run in diffusion.get("runs", {}).items():
        results = run["results"].get_dict()
        li = results["species"][DIFFUSING_SPECIES]
        runs[label] = {
            "temperature_K": results["temperature_target_K"],
            "temperature_mean_K": results["temperature_mean_K"],
            "volume_mean_A3": results["volume_mean_A3"],
            "production_time_ps": results["production_time_ps"],
            "D_cm2_s": li["D"],
            "D_stderr_cm2_s": li["D_stderr"],
            "conductivity_S_cm": li.get("conductivity_S_cm"),
            "conductivity_stderr_S_cm": li.get("conductivity_stderr_S_cm"),
            "loglog_slope": li.get("loglog_slope"),
            "subdiffusive": li.get("subdiffusive"),
            "extrapolation": results.get("extrapolation"),
        }
    failed = {}
    for child in diffusion_node.called:
        if child.process_label == "LammpsMDBaseWorkChain" and not child.is_finished_ok:
            temperature = child.inputs.lammps.parameters["temperature"]
            calcs = [c for c in child.called if c.process_label == "LammpsMDCalculation"]
            failed[f"{temperature:g} K"] = {
                "exit_status": child.exit_status,
                "calculations": [f"[{c.exit_status}] {c.exit_message}" for c in calcs],
            }
    fit = diffusion["arrhenius"].get_dict() if "arrhenius" in diffusion else {}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(sys.argv),
        "potential": {
            "workchain": al_node.uuid,
            "model": metrics.get("model"),
            "hyperparameters": metrics.get("hyperparameters"),
            "n_training": metrics["final_training_metrics"]["n_configurations"],
            "test_metrics": metrics.get("test_metrics"),
        },
        "diffusion": {
            "workchain": diffusion_node.uuid,
            "exit_status": diffusion_node.exit_status,
            "exit_message": diffusion_node.exit_message,
            "atoms": len(diffusion["supercell"].sites) if "supercell" in diffusion else None,
            "production_ps": args.production_ps,
            "temperatures_K": args.temperatures,
            "runs": runs,
            "failed": failed,
            "arrhenius": fit,
            "arrhenius_all_temperatures": all_fit,
        },
        "reference": {"seed001_pbe_aimd": SEED001, "seed002_mtp_optb88": SEED002_MTP},
        "wall_s": round(seconds, 1),
        "md_loop_time_s": md_loop_times(diffusion_node),
    }


def md_loop_times(diffusion_node) -> dict[str, float]:
    """Per temperature: the wall time of LAMMPS's own loops (``Loop time``, s) in the retrieved log of each MD run."""
    times = {}
    for node in diffusion_node.called_descendants:
        if node.process_label != "LammpsMDCalculation" or "retrieved" not in node.outputs:
            continue
        try:
            log = node.outputs.retrieved.base.repository.get_object_content("log.lammps")
        except FileNotFoundError:
            continue
        label = f"{node.inputs.parameters['temperature']:g} K"
        loops = sum(float(x) for x in re.findall(r"^Loop time of ([0-9.eE+-]+) on", log, re.MULTILINE))
        times[label] = round(times.get(label, 0.0) + loops, 1)
    return times


def print_summary(record: dict) -> None:
    """Human-readable table of a record."""
    pot = record["potential"]
    test = pot.get("test_metrics") or {}
    print(
        f"potential: {pot['model']} on {pot['n_training']} training frames; held-out "
        f"{test.get('n_configurations', 0)} frames: "
        f"E {test.get('energy_mae_meV_per_atom', float('nan')):.1f} meV/atom, "
        f"F {test.get('force_mae_eV_per_A', float('nan')):.3f} eV/Å"
    )
    diff = record["diffusion"]
    print(
        f"lps.diffusion: {diff['atoms']} atoms, {diff['production_ps']:g} ps per temperature, "
        f"exit {diff['exit_status']}"
    )
    print(f"{'run':>10} {'D (cm²/s)':>12} {'± (cm²/s)':>10} {'σ (S/cm)':>10} {'γ max':>7} {'γ>sel':>7} left domain")
    for label, run in diff["runs"].items():
        gamma = run.get("extrapolation") or {}
        print(
            f"{label:>10} {run['D_cm2_s']:12.3e} {run['D_stderr_cm2_s'] or float('nan'):10.2e} "
            f"{run['conductivity_S_cm'] or float('nan'):10.3e} {gamma.get('max_gamma', float('nan')):7.2f} "
            f"{gamma.get('fraction_above_select', float('nan')):7.3f} {gamma.get('left_training_domain', '-')}"
        )
    for temperature, failure in diff.get("failed", {}).items():
        print(f"{temperature:>10} failed [{failure['exit_status']}]: {'; '.join(failure['calculations'])}")
    for name, fit in (("work chain fit", diff["arrhenius"]), ("all temperatures", diff["arrhenius_all_temperatures"])):
        if not fit:
            print(f"{name}: no fit")
            continue
        d, c = fit["diffusivity"], fit.get("conductivity", {})
        sigma = c.get("at_target", {})
        print(
            f"{name} ({fit.get('temperatures_K', '?')} K): Ea(D) = {d['activation_energy']:.3f} ± "
            f"{d['activation_energy_stderr']:.3f} eV; Ea(σT) = {c.get('activation_energy', float('nan')):.3f} ± "
            f"{c.get('activation_energy_stderr', float('nan')):.3f} eV; "
            f"σ(300 K) = {sigma.get('value', float('nan')):.3g} ± {sigma.get('stderr', float('nan')):.2g} S/cm"
        )
    ref = record["reference"]["seed001_pbe_aimd"]
    print(f"seed 001 (PBE AIMD): Ea = {ref['activation_energy_eV']} eV, σ(300 K) = {ref['sigma_300K_S_cm']:.3g} S/cm")
    loops = record.get("md_loop_time_s", {})
    print(f"wall {record['wall_s']:.0f} s; LAMMPS loop time per temperature (s): {loops}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--temperatures", type=float, nargs="+", default=SEED001["temperatures_K"])
    parser.add_argument("--production-ps", type=float, default=100.0, help="NVT production per temperature (ps)")
    parser.add_argument("--keep-extrapolating", action="store_true", help="fit temperatures flagged by γ too")
    parser.add_argument("--summary", action="store_true", help=f"print {RESULT.name} and stop")
    parser.add_argument("--potential-from", help="PK/UUID of a finished fit (lps.mlip.active_learning) to reuse")
    parser.add_argument(
        "--grid",
        type=json.loads,
        nargs="+",
        help='fit grid points (JSON) instead of the moderate grid, e.g. \'{"model": "pod", "rcut": 4.5}\'',
    )
    parser.add_argument("--output", type=pathlib.Path, default=RESULT)
    args = parser.parse_args()
    if args.summary:
        print_summary(json.loads(args.output.read_text()))
        return

    started = time.time()
    campaign.load_campaign_profile(profile=PROFILE, lock=False)
    frames = campaign.read_labels()
    train = [f for f in frames if f.info["subset"] == "train"]
    test = [f for f in frames if f.info["subset"] == "test"]
    print(f"{len(train)} training + {len(test)} held-out labels from {campaign.LABELS.name}", flush=True)
    if args.potential_from:
        from aiida import orm

        al_node = orm.load_node(args.potential_from)
        al = al_node.outputs
        print(f"potential of {al_node.process_label}<{al_node.pk}> reused", flush=True)
    else:
        al, al_node = fit_potential(train, test, args.grid)
    if not al_node.is_finished_ok:
        raise SystemExit(f"the fit failed: [{al_node.exit_status}] {al_node.exit_message}")
    diffusion, diffusion_node = run_diffusion(
        al["potential"], args.temperatures, args.production_ps, args.keep_extrapolating
    )
    runs = diffusion.get("runs", {})
    record = summarise(al_node, al, diffusion_node, diffusion, fit_all(runs), args, time.time() - started)
    args.output.write_text(json.dumps(record, indent=1, default=str))
    print_summary(record)


if __name__ == "__main__":
    main()
