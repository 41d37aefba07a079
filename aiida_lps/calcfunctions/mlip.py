"""Calcfunctions of the active-learning loop: configurations, grain boundaries, training-set assembly, batch MaxVol
selection.

Each keeps provenance: generated configurations link to their parent structure, the training set links to every
DFT output it contains, and the selected structures link to the exploration frames and the active set.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_lps.data.training_set import TrainingSetData, atoms_with_labels
from aiida_lps.science.grain_boundary import build_grain_boundary, parse_grain_boundary_parameters
from aiida_lps.science.mlip.maxvol import ActiveSet, select_add
from aiida_lps.science.mlip.sampling import perturbed_copies, strained_cell
from aiida_lps.utils.active_set import active_set_settings

__all__ = (
    "generate_configurations",
    "strain_structure",
    "assemble_training_set",
    "select_configurations",
    "merge_metrics",
    "make_grain_boundary",
)


@calcfunction
def generate_configurations(structure: orm.StructureData, parameters: orm.Dict) -> dict:
    """Rattled and strained copies ``c0``, ``c1``, … of ``structure``.

    ``parameters``: ``count``, ``rattle`` (Å, Gaussian σ per component), ``strain`` (max |ε_ij|), ``seed``,
    ``min_distance`` (Å; copies with closer atoms are redrawn), ``repeat`` ([n1, n2, n3] supercell first).
    """
    params = parameters.get_dict()
    atoms = structure.get_ase()
    if params.get("repeat"):
        atoms = atoms.repeat(params["repeat"])
    copies = perturbed_copies(
        atoms.positions,
        atoms.cell.array,
        int(params.get("count", 4)),
        rattle=float(params.get("rattle", 0.1)),
        strain=float(params.get("strain", 0.03)),
        seed=int(params.get("seed", 0)),
        min_distance=params.get("min_distance", 1.5),
    )
    outputs = {}
    for index, (positions, cell) in enumerate(copies):
        new = atoms.copy()
        new.set_cell(cell)
        new.positions = positions
        outputs[f"c{index}"] = orm.StructureData(ase=new)
    return outputs


@calcfunction
def strain_structure(structure: orm.StructureData, strain: orm.Float) -> orm.StructureData:
    """``structure`` with the cell scaled isotropically by (1 + strain), atoms following (fractional coordinates)."""
    atoms = structure.get_ase()
    atoms.set_cell(strained_cell(atoms.cell.array, strain.value), scale_atoms=True)
    return orm.StructureData(ase=atoms)


@calcfunction
def assemble_training_set(**labels) -> TrainingSetData:
    """Training set from an optional ``previous`` set plus labels ``structure_<k>``, ``energy_<k>``, ``forces_<k>``
    and optionally ``stress_<k>`` (the common DFT outputs of ``lps.dft``: eV, eV/Å, eV/Å³).

    The UUID of each label's energy node is stored as the configuration's ``source``.
    """
    previous = labels.pop("previous", None)
    configurations = previous.get_configurations() if previous is not None else []
    keys = sorted({name.split("_", 1)[1] for name in labels if name.startswith("structure_")}, key=_natural)
    for key in keys:
        energy = labels[f"energy_{key}"]
        stress = labels.get(f"stress_{key}")
        configurations.append(
            atoms_with_labels(
                labels[f"structure_{key}"].get_ase(),
                energy.value,
                labels[f"forces_{key}"].get_array("forces"),
                stress.get_array("stress") if stress is not None else None,
                info={"source": energy.uuid, "label": key},
            )
        )
    return TrainingSetData(configurations)


def _natural(key: str):
    return [int(p) if p.isdigit() else p for p in key.split("_")]


@calcfunction
def select_configurations(active_set: orm.ArrayData, parameters: orm.Dict, **candidates) -> dict:
    """Batch MaxVol (select-add) over all candidate frames of the exploration runs.

    ``candidates``: ``TrajectoryData`` with arrays ``atom_rows`` (frames, atoms, 1 + n_features) and ``gamma_max``.
    ``parameters``: ``max_select`` (cap per iteration). Outputs ``report`` (Dict: candidates, owners, selected with
    their γ and origin) and the selected structures ``s0``, ``s1``, ….
    """
    params = parameters.get_dict()
    _, settings = active_set_settings(active_set)  # SNAP or POD descriptors (lps.mlip.train)
    elements = settings["elements"]
    names = active_set.get_arraynames()
    active_sets = {
        el: ActiveSet.from_arrays({n: active_set.get_array(n) for n in names if n.startswith(f"{el}_")}, el)
        for el in elements
        if f"{el}_inverse" in names
    }
    frames, rows, gammas = [], [], []
    for label in sorted(candidates, key=_natural):
        trajectory = candidates[label]
        atom_rows = trajectory.get_array("atom_rows")
        symbols = np.array(trajectory.symbols)
        for index, gamma in enumerate(trajectory.get_array("gamma_max")):
            frames.append((label, index))
            rows.append({el: atom_rows[index][symbols == el] for el in elements})
            gammas.append(float(gamma))
    report = {"n_candidates": len(frames), "selected": []}
    outputs = {}
    if frames:
        result = select_add(active_sets, rows, params.get("max_select"), np.array(gammas))
        report["n_owning"] = result.n_owning
        for out_index, (candidate, owned) in enumerate(zip(result.selected, result.owners, strict=True)):
            label, index = frames[candidate]
            atoms = candidates[label].get_step_structure(index).get_ase()
            outputs[f"s{out_index}"] = orm.StructureData(ase=atoms)
            report["selected"].append(
                {"source": label, "frame": int(index), "gamma": gammas[candidate], "owned_rows": int(owned)}
            )
    report["n_selected"] = len(report["selected"])
    outputs["report"] = orm.Dict(report)
    return outputs


@calcfunction
def merge_metrics(fit_metrics: orm.Dict, loop: orm.Dict) -> orm.Dict:
    """The loop summary (per-iteration metrics, failures, convergence) with the final fit's test errors."""
    fit = fit_metrics.get_dict()
    return orm.Dict({**loop.get_dict(), "final_fit": {k: fit[k] for k in ("fit", "n_training", "n_test") if k in fit}})


@calcfunction
def make_grain_boundary(structure: orm.StructureData, parameters: orm.Dict) -> dict:
    """CSL bicrystal (two grain boundaries per cell) of ``structure``, by ``aiida_lps.science.grain_boundary``.

    ``parameters``: the keyword arguments of ``build_grain_boundary`` (``axis``, ``sigma`` and/or ``angle`` in
    degrees, ``plane``, ``expand_times`` or ``grain_thickness`` in Å, ``ratio``, ``min_distance`` in Å, ``ab_shift``,
    ``normal``, ``max_atoms``, ``max_strain``, ...). Outputs ``structure`` (labelled e.g. ``Σ5 [0,0,1] 36.87° (1,2,0)
    tilt``) and ``record`` (Dict: Σ, angle, planes, ratio, grain strain, GB positions along the normal in Å, atoms
    removed at the GBs, composition). Impossible input raises ``ValueError`` with the reason.
    """
    kwargs = parse_grain_boundary_parameters(parameters.get_dict())
    bicrystal, record = build_grain_boundary(structure.get_pymatgen_structure(), **kwargs)
    bicrystal.remove_site_property("grain_label")
    output = orm.StructureData(pymatgen=bicrystal)
    output.label = f"{record.label} GB of {structure.get_formula()}"
    return {"structure": output, "record": orm.Dict(record.as_dict())}
