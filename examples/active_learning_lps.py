#!/usr/bin/env python
"""Active learning of a Li-P-S SNAP potential with GPAW labels (tiny protocol: minutes on 2 cores), then lps.diffusion.

Needs a loaded profile with ``gpaw@localhost`` and ``lmp@localhost`` (``aiida-lps setup``); the ``python@localhost``
code for the fits (also made by ``aiida-lps setup``) is created from this interpreter if missing::

    python examples/active_learning_lps.py [--iterations 2] [--output run-output] [--diffusion]

Structures: primitive Li2S (3 atoms) and an 8-atom Li3PS4 cell on a rock-salt lattice (a cheap Li-P-S configuration,
not a real phase). DFT: GPAW PBE, 200 eV, k-spacing 1.5/Å. Prints the per-iteration metrics and the test errors and
writes parity and learning-curve plots. With ``--diffusion`` it runs a short ``lps.diffusion`` with the potential.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from aiida import load_profile, orm
from aiida.engine import run_get_node
from ase.build import bulk
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.cli.setup import ensure_code, ensure_localhost
from aiida_lps.plotting_mlip import plot_learning_curve, plot_parity
from aiida_lps.structures.reference import load_structure
from aiida_lps.workflows.active_learning import ActiveLearningWorkChain

TINY_DFT = {"calculator": {"mode": {"name": "pw", "ecut": 200}, "convergence": {"energy": 1e-3}}, "kpoint_spacing": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("run-output"))
    parser.add_argument("--diffusion", action="store_true", help="run a short lps.diffusion with the potential")
    args = parser.parse_args()

    load_profile()
    computer, _ = ensure_localhost()
    python_code, _ = ensure_code(
        "python", sys.executable, computer, "Python of aiida-lps (runs the lps.mlip.train fits)"
    )
    li2s = AseAtomsAdaptor.get_atoms(load_structure("Li2S").get_primitive_structure())
    lps = bulk("NaCl", "rocksalt", a=5.7, cubic=True)
    lps.set_chemical_symbols(["Li", "S", "P", "S", "Li", "S", "Li", "S"])
    overrides = {
        "max_iterations": args.iterations,
        "max_labels_per_iteration": 3,
        "gamma_break_schedule": [10.0, 5.0, 2.0],
        "sampling": {"initial": {"count": 3}, "test": {"count": 2}},
        "fitting": {
            "grid": [{"twojmax": 2, "rcutfac": 3.5}, {"twojmax": 2, "rcutfac": 4.0}, {"twojmax": 4, "rcutfac": 4.0}],
            "ridge": 1e-3,
        },
        "exploration": {"temperatures": [400.0, 800.0], "strains": [0.0], "steps": 400},
        "dft": {"protocol": "fast", "overrides": TINY_DFT},
    }
    builder = ActiveLearningWorkChain.get_builder_from_protocol(
        orm.load_code("gpaw@localhost"),
        orm.load_code("lmp@localhost"),
        python_code,
        {"Li2S": orm.StructureData(ase=li2s), "Li3PS4_rocksalt": orm.StructureData(ase=lps)},
        dft_engine="gpaw",
        protocol="fast",
        overrides=overrides,
    )
    results, node = run_get_node(builder)
    print(f"\nActiveLearningWorkChain<{node.pk}> finished: exit status {node.exit_status} {node.exit_message or ''}")
    if not node.is_finished_ok:
        raise SystemExit(1)
    metrics = results["metrics"].get_dict()
    for row in metrics["iterations"]:
        print(json.dumps({k: v for k, v in row.items() if k != "fit_pk"}))
    print("test errors:", json.dumps({k: v for k, v in metrics["test_metrics"].items() if k != "units"}))
    print(
        f"converged: {metrics['converged']}, labels used: {metrics['labels_used']}, "
        f"failed labels: {len(metrics['failed_labels'])}"
    )
    args.output.mkdir(parents=True, exist_ok=True)
    parity = {n: results["parity"].get_array(n) for n in results["parity"].get_arraynames()}
    print("wrote", plot_parity(parity, args.output / "mlip_parity_test.png", "test"))
    print("wrote", plot_learning_curve(metrics, args.output / "mlip_learning_curve.png"))
    print(f"potential: lps.potential<{results['potential'].pk}> {results['potential'].pair_style}")
    if args.diffusion:
        from aiida_lps.workflows.diffusion import DiffusionWorkChain

        diff = DiffusionWorkChain.get_builder_from_protocol(
            orm.load_code("lmp@localhost"),
            orm.StructureData(ase=lps),
            potential=results["potential"],
            temperatures=[600, 900],
            protocol="fast",
        )
        _, dnode = run_get_node(diff)
        print(f"lps.diffusion with the fitted potential: exit status {dnode.exit_status}")


if __name__ == "__main__":
    main()
