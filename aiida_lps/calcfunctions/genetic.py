"""Calcfunctions of the genetic sampling: supercell of the parent, geometric deduplication of the best arrangements."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_lps.science.genetic import deduplicate

__all__ = ("repeat_structure", "select_candidates", "summarise_search")


@calcfunction
def repeat_structure(structure: orm.StructureData, repeats: orm.List) -> orm.StructureData:
    """``structure`` repeated ``repeats`` = [na, nb, nc] times along its cell vectors."""
    return orm.StructureData(ase=structure.get_ase().repeat([int(n) for n in repeats.get_list()]))


@calcfunction
def select_candidates(parameters: orm.Dict, **structures: orm.StructureData) -> dict:
    """The ``n_candidates`` lowest geometrically distinct structures (pymatgen StructureMatcher).

    :param parameters: ``labels`` (keys of ``structures``, lowest energy first), ``energies`` (eV, same order),
        ``n_candidates``, optional ``matcher`` (StructureMatcher keyword arguments).
    :returns: ``c0``, ``c1``, … (copies, lowest first) and ``summary`` (Dict: labels, energies, duplicates).
    """
    params = parameters.get_dict()
    labels = list(params["labels"])
    ordered = [structures[label].get_pymatgen_structure() for label in labels]
    distinct = deduplicate(ordered, params.get("matcher"))
    kept = distinct[: int(params["n_candidates"])]
    outputs = {f"c{rank}": structures[labels[index]].clone() for rank, index in enumerate(kept)}
    energies = np.asarray(params["energies"], dtype=float)
    outputs["summary"] = orm.Dict(
        {
            "labels": [labels[i] for i in kept],
            "energies": [float(energies[i]) for i in kept],
            "n_compared": len(labels),
            "n_distinct": len(distinct),
        }
    )
    return outputs


@calcfunction
def summarise_search(state: orm.Dict, candidates: orm.Dict) -> dict:
    """GA history (ArrayData), candidate energies (ArrayData) and a summary (Dict) from the final GA state.

    :param state: ``GeneticSearch.to_dict()`` of the finished search (every arrangement evaluated and its energy).
    :param candidates: ``composition``, ``stop_reason`` and ``candidates`` (label, mlip_energy, dft_energy, ...).
    """
    data = state.get_dict()
    extra = candidates.get_dict()
    entries = data["history"]
    seeds = [str(s) for s in data["settings"]["seeds"]]
    history = orm.ArrayData()
    history.set_array("generation", np.array([e["generation"] for e in entries], dtype=np.int64))
    for name in ("best", "mean"):
        history.set_array(name, np.array([np.nan if e[name] is None else e[name] for e in entries], dtype=float))
    for name in ("n_evaluated", "n_failed", "cache_hits", "n_unique_total"):
        history.set_array(name, np.array([e[name] for e in entries], dtype=np.int64))
    per_seed = [[np.nan if e["best_per_seed"][s] is None else e["best_per_seed"][s] for s in seeds] for e in entries]
    history.set_array("best_per_seed", np.array(per_seed, dtype=float).reshape(len(entries), len(seeds)))
    history.base.attributes.set("seeds", data["settings"]["seeds"])
    history.base.attributes.set("units", {"best": "eV", "mean": "eV", "best_per_seed": "eV"})

    rows = extra["candidates"]
    energies = orm.ArrayData()
    energies.set_array("mlip", np.array([r["mlip_energy"] for r in rows], dtype=float))
    energies.set_array("dft", np.array([np.nan if r["dft_energy"] is None else r["dft_energy"] for r in rows]))
    energies.base.attributes.set("labels", [r["label"] for r in rows])
    energies.base.attributes.set("units", "eV per supercell")

    finite = [v["energy"] for v in data["cache"].values() if v.get("energy") is not None]
    summary = {
        **extra,
        "seeds": data["settings"]["seeds"],
        "ga_settings": data["settings"],
        "generations": data["generation"],
        "n_evaluations": sum(e["n_evaluated"] for e in entries),
        "n_failed": sum(e["n_failed"] for e in entries),
        "cache_hits": sum(e["cache_hits"] for e in entries),
        "best_energy": min(finite) if finite else None,
        "units": {"energy": "eV per supercell"},
    }
    return {"history": history, "candidate_energies": energies, "summary": orm.Dict(summary)}
