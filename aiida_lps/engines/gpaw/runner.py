"""Stand-alone GPAW runner, copied next to the inputs and run as ``gpaw python run_gpaw.py`` (no AiiDA import).

Reads ``structure.json`` (ASE), ``parameters.json`` and the PAW datasets in ``setups/``; runs a single point or a
relaxation; writes ``results.json`` (energies eV, forces eV/Å, stress eV/Å³ in ASE's convention, Fermi level eV,
convergence flags, final structure) and keeps GPAW's text log in ``gpaw.txt``. ``results.json`` is the final
record, written last; while running, ``progress.json`` holds the last state reached (``started``, ``relax_steps`` and
the last structure of a relaxation, rewritten atomically after every step), so a job killed by the scheduler still
leaves where it stopped. GPAW looks for datasets only in
``setups/`` so that the datasets used are exactly the ones recorded as inputs.

``parameters.json``::

    {"task": "single_point" | "relax",
     "calculator": {GPAW keyword arguments; "mode": {"name": "pw", "ecut": 400} | "lcao",
                    "kpts": {"density": 2.5, "gamma": true} or [n1, n2, n3], "occupations": {...}, ...},
     "setup_kinds": {"3": "fch1s"},          # atom index -> dataset name for non-default datasets
     "magmoms": [..] | null,
     "relax": {"fmax": 0.02, "steps": 100, "cell": false, "optimizer": "BFGS"},
     "xas": null | {"absorber": 0, "relative_index_lumo": -1, "fixmagmom": true}}
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
import traceback

RESULTS = "results.json"
PROGRESS = "progress.json"
LOG = "gpaw.txt"


def _write(results: dict, name: str = RESULTS) -> None:
    """Write ``name`` atomically (a temporary file renamed over it), so a kill never leaves half a record."""
    temporary = pathlib.Path(f".{name}.tmp")
    temporary.write_text(json.dumps(results, indent=1))
    temporary.replace(name)


def _atoms_dict(atoms) -> dict:
    return {
        "symbols": atoms.get_chemical_symbols(),
        "positions": atoms.get_positions().tolist(),
        "cell": atoms.get_cell().tolist(),
        "pbc": atoms.get_pbc().tolist(),
    }


def _calculator(parameters: dict, legacy: bool):
    import gpaw
    from gpaw import GPAW, PW, FermiDirac, Mixer

    gpaw.setup_paths[:] = [str(pathlib.Path("setups").resolve())]
    kwargs = dict(parameters["calculator"])
    mode = kwargs.pop("mode", {"name": "pw", "ecut": 400})
    if isinstance(mode, dict) and mode.get("name") == "pw":
        kwargs["mode"] = PW(mode["ecut"])
    else:
        kwargs["mode"] = mode["name"] if isinstance(mode, dict) else mode
    occupations = kwargs.pop("occupations", None)
    if occupations:
        kwargs["occupations"] = (
            FermiDirac(occupations["width"]) if occupations.get("name") == "fermi-dirac" else occupations
        )
    mixer = kwargs.pop("mixer", None)
    if mixer:
        kwargs["mixer"] = Mixer(**mixer)
    setups = {int(index): name for index, name in (parameters.get("setup_kinds") or {}).items()}
    if setups:
        kwargs["setups"] = setups
    kwargs["txt"] = LOG
    if legacy:
        kwargs["legacy_gpaw"] = True
    return GPAW(**kwargs)


def main() -> int:
    import ase.io
    import gpaw
    import numpy as np

    parameters = json.loads(pathlib.Path("parameters.json").read_text())
    atoms = ase.io.read("structure.json")
    if parameters.get("magmoms") is not None:
        atoms.set_initial_magnetic_moments(parameters["magmoms"])
    task = parameters["task"]
    xas = parameters.get("xas")
    results: dict = {"task": task, "gpaw_version": gpaw.__version__, "error": None}
    start = time.time()
    _write({"task": task, "started": True, "relax_steps": 0}, PROGRESS)
    try:
        atoms.calc = _calculator(parameters, legacy=xas is not None)
        if xas is not None and xas.get("fixmagmom"):  # XCH: keep the excited electron's moment of 1 (spin 0)
            from gpaw import FermiDirac

            width = (parameters["calculator"].get("occupations") or {}).get("width", 0.05)
            atoms.calc.set(occupations=FermiDirac(width, fixmagmom=True))
        if task == "relax":
            from ase import optimize
            from ase.filters import FrechetCellFilter

            relax = parameters.get("relax", {})
            target = FrechetCellFilter(atoms) if relax.get("cell") else atoms
            optimizer = getattr(optimize, relax.get("optimizer", "BFGS"))(target, logfile="relax.log")

            def record_progress():
                _write(
                    {"task": task, "started": True, "relax_steps": int(optimizer.nsteps),
                     "structure": _atoms_dict(atoms)},
                    PROGRESS,
                )  # fmt: skip

            optimizer.attach(record_progress, interval=1)
            converged = optimizer.run(fmax=relax.get("fmax", 0.02), steps=relax.get("steps", 100))
            results["relax_converged"] = bool(converged)
            results["relax_steps"] = int(optimizer.get_number_of_steps())
        results["energy"] = float(atoms.get_potential_energy())
        results["free_energy"] = float(atoms.get_potential_energy(force_consistent=True))
        results["forces"] = atoms.get_forces().tolist()
        try:
            results["stress"] = atoms.get_stress(voigt=False).tolist()
        except Exception as exception:  # LCAO and some settings have no stress
            results["stress_error"] = str(exception)
        calc = atoms.calc
        if xas is not None and xas.get("fixmagmom"):  # XCH with a fixed moment: one Fermi level per spin
            results["fermi_levels"] = [float(level) for level in calc.get_fermi_levels()]
            results["fermi_energy"] = max(results["fermi_levels"])
        else:
            results["fermi_energy"] = float(calc.get_fermi_level())
        results["n_electrons"] = float(calc.get_number_of_electrons())
        results["scf_iterations"] = int(calc.get_number_of_iterations() or 0)
        results["reference_energy"] = float(calc.get_reference_energy())
        results["scf_converged"] = True
        if xas is not None:
            from gpaw.xas import XAS

            spectrum = XAS(calc, mode="xas", relative_index_lumo=xas.get("relative_index_lumo", -1))
            spectrum.write("xas.npz")
            results["xas_file"] = "xas.npz"
    except gpaw.KohnShamConvergenceError as exception:
        results["error"] = "scf_not_converged"
        results["message"] = str(exception)
        results["scf_converged"] = False
    except Exception as exception:  # reported to the parser; the traceback stays in the job's stderr
        traceback.print_exc()
        results["error"] = type(exception).__name__
        results["message"] = str(exception)
    results["final_structure"] = _atoms_dict(atoms)
    results["wall_time_s"] = time.time() - start
    results["max_rss_mib"] = _safe(_max_rss_mib)
    results["magnetic_moment"] = _safe(lambda: float(atoms.calc.get_magnetic_moment()))
    results["numpy_version"] = np.__version__
    _write(results)
    return 0


def _max_rss_mib() -> float:
    """Peak resident memory of this process (MiB; Linux reports ``ru_maxrss`` in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _safe(function):
    try:
        return function()
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main())
