#!/usr/bin/env python
"""Main job: lps.diffusion on Rahman's Lennard-Jones liquid argon at three temperatures (about a minute).

Run through ``bash scripts/run-main.sh`` (which creates the profile, computer and code), or directly with a loaded
profile that has ``lmp@localhost``::

    python examples/diffusion_lj_argon.py [--temperatures 94.4 110 130] [--output run-output]

It prints D(T) with errors, the Arrhenius fit, Rahman's reference value (2.43e-5 cm²/s at 94.4 K) and writes the
MSD and Arrhenius plots to the output folder.
"""

from __future__ import annotations

import argparse
import pathlib

from aiida import load_profile, orm
from aiida.engine import run_get_node

from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.plotting import plot_arrhenius, plot_msd
from aiida_lps.reference import lennard_jones
from aiida_lps.science.arrhenius import fit_arrhenius
from aiida_lps.workflows.diffusion import DiffusionWorkChain, temperature_label

LJ_OVERRIDES = {
    "parameters": {
        "timestep_fs": 5.0,
        "equilibration_steps": 2000,
        "production_steps": 8000,
        "dump_interval": 20,
        "thermo_interval": 200,
        "initial_temperature": 400.0,
    }
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[94.4, 110.0, 130.0])
    parser.add_argument("--code", default="lmp@localhost")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("run-output"))
    args = parser.parse_args()

    load_profile()
    builder = DiffusionWorkChain.get_builder_from_protocol(
        orm.load_code(args.code),
        orm.StructureData(ase=lennard_jones.argon_fcc(6)),
        potential=InteratomicPotentialData(**lennard_jones.potential_arguments()),
        temperatures=args.temperatures,
        protocol="fast",
        overrides=LJ_OVERRIDES,
        species="Ar",
        charge=0.0,
    )
    results, node = run_get_node(builder)
    print(f"\nDiffusionWorkChain<{node.pk}> finished with exit status {node.exit_status}")
    temps, values, errors = [], [], []
    args.output.mkdir(parents=True, exist_ok=True)
    for temperature in args.temperatures:
        label = temperature_label(temperature)
        if label not in results.get("runs", {}):
            print(f"  {temperature:7.1f} K  failed")
            continue
        ar = results["runs"][label]["results"]["species"]["Ar"]
        temps.append(temperature)
        values.append(ar["D"])
        errors.append(ar["D_stderr"])
        print(
            f"  {temperature:7.1f} K  D = {ar['D']:.3e} ± {ar['D_stderr']:.1e} cm²/s"
            f"  (log-log slope {ar['loglog_slope']:.2f})"
        )
        msd = results["runs"][label]["msd"]
        plot_msd(msd.get_array("time_ps"), msd.get_array("msd_Ar"), label=f"{temperature:g} K").savefig(
            args.output / f"msd_{label}.png"
        )
    print(f"  Rahman (1964), 94.4 K: D = {lennard_jones.D_REFERENCE_CM2_S:.2e} cm²/s")
    if "arrhenius" in results:
        fit = results["arrhenius"]["diffusivity"]
        print(f"  Arrhenius: Ea = {fit['activation_energy']:.4f} ± {fit['activation_energy_stderr']:.4f} eV")
        line = fit_arrhenius(temps, values, errors)  # the same weighted fit as lps.arrhenius, for the plotted line
        figure = plot_arrhenius(temps, values, errors, fit=line, ylabel="D (cm$^2$/s)")
        figure.savefig(args.output / "arrhenius.png")
    print(f"  plots in {args.output}/")


if __name__ == "__main__":
    main()
