"""``lps.sampling.phase_diagram``: a composition scan on the Li2S–P2S5 line, parents × compositions → hull.

Guo, Wang, Urban, Artrith, Chem. Mater. 34, 6702 (2022), doi:10.1021/acs.chemmater.2c00267, Fig. 5: several parent
crystals, several compositions per parent reached by removing Li2S or P2S5 units, one ``lps.sampling.genetic`` per
(parent, composition), all concurrently; the end members Li2S and P2S5 and the parent crystals relaxed with the same
engine and settings (the GA's potential and relaxation settings, or its ``lps.dft`` engine and protocol); then
``lps.formation_energy`` per structure and ``lps.convex_hull`` over all of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
from aiida import orm
from aiida.engine import ToContext, WorkChain

from aiida_lps.calcfunctions.phase_diagram import convex_hull, formation_energy, summarise_phase_diagram
from aiida_lps.calculations.relax_batch import BatchRelaxCalculation
from aiida_lps.common.serialize import json_safe
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.science import phase_diagram as pd
from aiida_lps.utils.failures import describe_failure
from aiida_lps.utils.validation import validate_periodic
from aiida_lps.workflows.dft import DftWorkChain
from aiida_lps.workflows.genetic import GeneticSamplingWorkChain, resolve_removal, supercell_counts
from aiida_lps.workflows.launching import LaunchOnceMixin

__all__ = ("PhaseDiagramWorkChain", "parent_label", "resolve_compositions")

#: inputs of ``lps.sampling.genetic`` set per (parent, composition) by this work chain; the rest are shared
PER_JOB = ("structure", "supercell", "n_li2s", "n_p2s5", "target_x", "x_tolerance")
#: keys of one entry of ``compositions``
COMPOSITION_KEYS = {"parent", "supercell", "n_li2s", "n_p2s5", "target_x", "x_tolerance"}
#: the end members, always relaxed (or given) and always entries of the hull
END_MEMBERS = ("Li2S", "P2S5")
HULL_ENERGIES = ("mlip", "dft")


def parent_label(text: str) -> str:
    """A link label from a structure name (``beta-Li3PS4`` → ``beta_Li3PS4``)."""
    label = re.sub(r"_+", "_", re.sub(r"\W", "_", text)).strip("_")
    return f"s_{label}" if not label or label[0].isdigit() else label


class _Nodes(dict):
    """The composition entry as the ``inputs`` mapping :func:`resolve_removal` reads (``.value`` per key)."""

    def __init__(self, row: Mapping):
        super().__init__({k: orm.Float(v) if k in ("target_x", "x_tolerance") else orm.Int(v) for k, v in row.items()})


def resolve_compositions(
    compositions: Sequence, parents: Mapping[str, orm.StructureData]
) -> list[dict]:  # fmt: skip
    """One row per GA job: ``label``, ``parent``, ``supercell``, ``n_li2s``, ``n_p2s5``, ``x``, ``target_x``.

    :param compositions: entries ``{parent, supercell?, n_li2s? / n_p2s5? | target_x, x_tolerance?}``.
    :raises ValueError: no compositions, an unknown parent or key, an unreachable composition, more units than the
        parent holds, or two entries that resolve to the same job; the message names the entry.
    """
    if not compositions:
        raise ValueError("no compositions: give at least one {parent, n_li2s/n_p2s5 or target_x} entry")
    rows, seen = [], {}
    for index, entry in enumerate(compositions):
        where = f"composition {index} ({entry})"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: must be a mapping with `parent` and the units to remove or `target_x`")
        unknown = sorted(set(entry) - COMPOSITION_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; known {sorted(COMPOSITION_KEYS)}")
        parent = entry.get("parent")
        if parent not in parents:
            raise ValueError(f"{where}: unknown parent {parent!r}; the parents are {sorted(parents)}")
        repeats = entry.get("supercell")
        if repeats is not None and (
            len(repeats) != 3 or any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in repeats)
        ):
            raise ValueError(f"{where}: `supercell` must be three positive integers, got {repeats}")
        removal = {k: v for k, v in entry.items() if k not in ("parent", "supercell")}
        try:
            resolved = resolve_removal(supercell_counts(parents[parent], repeats), _Nodes(removal))
        except (TypeError, ValueError) as exception:
            raise ValueError(f"{where}: {exception}") from None
        cell = "" if repeats is None else "_" + "x".join(str(n) for n in repeats)
        label = f"{parent}{cell}_{resolved['n_li2s']}Li2S_{resolved['n_p2s5']}P2S5"
        if label in seen:
            raise ValueError(f"{where} resolves to the same job as composition {seen[label]} ({label})")
        seen[label] = index
        rows.append({"label": label, "parent": parent, "supercell": repeats, **resolved})
    return rows


def _validate_hull_energies(value: orm.Str, _) -> str | None:
    if value.value not in HULL_ENERGIES:
        return f"`hull_energies` must be one of {HULL_ENERGIES}, got {value.value!r}"
    return None


def _validate_inputs(inputs, _) -> str | None:
    parents = dict(inputs.get("parents", {}))
    if not parents:
        return "no parents: give at least one parent crystal in `parents`"
    clash = sorted(set(parents) & set(END_MEMBERS))
    if clash:
        return f"parent label(s) {clash} are the end members' labels: name the parent otherwise (e.g. `Li2S_parent`)"
    references = dict(inputs.get("references", {}))
    for name, structure in {**parents, **references}.items():
        message = validate_periodic(structure, name)
        if message:
            return message
    for name in END_MEMBERS:
        if name not in references:
            return f"the end member `references.{name}` is missing"
        try:
            pd.energy_per_unit(references[name].get_composition(), 0.0, name)
        except ValueError as exception:
            return f"`references.{name}`: {exception}"
    known = set(inputs.get("known_energies", {}))
    unknown = sorted(known - set(parents) - set(END_MEMBERS))
    if unknown:
        return f"`known_energies` for {unknown}: only parents {sorted(parents)} and {list(END_MEMBERS)} are relaxed"
    genetic = inputs.get("genetic", {})
    potential = genetic.get("potential")
    if potential is not None:
        for name, structure in {**parents, **references}.items():
            missing = sorted(set(structure.get_symbols_set()) - set(potential.elements))
            if missing:
                return f"the potential describes {potential.elements} but `{name}` also contains {missing}"
    try:
        resolve_compositions(inputs["compositions"].get_list() if "compositions" in inputs else [], parents)
    except ValueError as exception:
        return str(exception)
    if "hull_energies" in inputs and inputs["hull_energies"].value == "dft" and "code" not in genetic.get("dft", {}):
        return "`hull_energies` 'dft' needs the DFT engine and code in `genetic.dft`"
    return None


class PhaseDiagramWorkChain(LaunchOnceMixin, ProtocolMixin, WorkChain):
    """Composition scan: ``lps.sampling.genetic`` for every parent × composition, reference relaxations, the hull.

    Every GA child and every relaxation of an end member or parent crystal is launched in one step and runs
    concurrently. The hull is built from MLIP energies (``hull_energies`` ``mlip``: the crystals are relaxed by one
    ``lps.lammps.relax_batch`` job each with the GA's potential and relaxation settings; the GA structures are its
    MLIP-relaxed candidates) or DFT energies (``dft``: the crystals by ``lps.dft`` with the GA's engine, protocol and
    overrides; the GA structures are its DFT-relaxed candidates). Energies in ``known_energies`` replace the
    relaxation of that crystal (its input structure is then the entry). A failed GA child or parent relaxation is
    reported and left out; a failed end member stops the scan (every formation energy needs both).
    """

    _protocol_file = "phase_diagram"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.expose_inputs(
            GeneticSamplingWorkChain,
            namespace="genetic",
            exclude=PER_JOB,
            namespace_options={"help": "Inputs shared by every GA (potential, GA and relaxation settings, DFT)."},
        )
        spec.input_namespace(
            "parents", valid_type=orm.StructureData, dynamic=True, help="Parent crystals on the Li2S–P2S5 line."
        )
        spec.input(
            "compositions",
            valid_type=orm.List,
            help="One entry per GA: {parent, supercell?, n_li2s and/or n_p2s5 | target_x, x_tolerance?}.",
        )
        spec.input_namespace("references", valid_type=orm.StructureData, help="The end members `Li2S` and `P2S5`.")
        spec.input("references.Li2S", valid_type=orm.StructureData, help="Li2S crystal.")
        spec.input("references.P2S5", valid_type=orm.StructureData, help="P2S5 (P4S10) crystal.")
        spec.input_namespace(
            "known_energies",
            valid_type=orm.Float,
            dynamic=True,
            required=False,
            help="Total energies (eV per cell of the input structure) of end members (`Li2S`, `P2S5`) or parents, "
            "from the same engine and settings, used instead of relaxing them.",
        )
        spec.input(
            "hull_energies",
            valid_type=orm.Str,
            default=lambda: orm.Str("mlip"),
            validator=_validate_hull_energies,
            help="`mlip`: the hull from the potential's energies; `dft`: from the DFT relaxations.",
        )
        spec.input("tolerance", valid_type=orm.Float, required=False, help="On-hull tolerance (eV/atom).")
        spec.inputs.validator = _validate_inputs
        spec.outline(cls.setup, cls.run_all, cls.inspect_all, cls.build_hull)
        spec.output("phase_diagram", valid_type=orm.Dict, help="The hull with per-entry kind, parent and energy.")
        spec.output("arrays", valid_type=orm.ArrayData, help="The `lps.convex_hull` arrays (attribute `labels`).")
        spec.output_namespace(
            "structures", valid_type=orm.StructureData, dynamic=True, help="The structure of every hull entry."
        )
        spec.exit_code(
            401, "ERROR_REFERENCE_FAILED", message="The relaxation of the end member {name} failed: {message}"
        )
        spec.exit_code(402, "ERROR_ALL_SAMPLING_FAILED", message="Every genetic sampling failed.")
        spec.exit_code(403, "ERROR_HULL_FAILED", message="The convex hull failed: {message}")

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structures: Mapping[str, orm.StructureData | str] | Sequence[str],
        protocol: str | None = None,
        overrides: Mapping | None = None,
        options: Mapping | None = None,
        *,
        potential: InteratomicPotentialData,
        compositions: Sequence[Mapping],
        dft_code: orm.AbstractCode | None = None,
        dft_engine: str = "gpaw",
        references: Mapping[str, orm.StructureData] | None = None,
        known_energies: Mapping[str, float] | None = None,
        hull_energies: str | None = None,
    ):
        """Builder filled from ``protocol`` (``fast``, ``moderate``, ``precise``) with ``overrides`` on top.

        :param code: LAMMPS. :param structures: the parents, label → StructureData or packaged name
            (``aiida_lps.structures``), or a list of packaged names (labels: the names with ``-`` → ``_``).
        :param overrides: ``{"genetic": <overrides of the lps.sampling.genetic protocol>, "tolerance": ...}``.
        :param options: scheduler options of the LAMMPS jobs.
        :param compositions: ``[{parent: <label>, n_li2s / n_p2s5 | target_x, supercell?, x_tolerance?}, ...]``.
        :param dft_code: the DFT engine's code (GA candidates re-relaxed; the hull from DFT unless
            ``hull_energies="mlip"``). :param references: ``Li2S`` / ``P2S5`` crystals (default: the packaged ones).
        :param known_energies: label → total energy (eV) of a crystal that is not to be relaxed.
        """
        from pymatgen.io.ase import AseAtomsAdaptor

        from aiida_lps.structures.reference import load_structure

        def node(value) -> orm.StructureData:
            if isinstance(value, orm.StructureData):
                return value
            return orm.StructureData(ase=AseAtomsAdaptor.get_atoms(load_structure(value)))

        inputs = cls.get_protocol_inputs(protocol, overrides)
        if not isinstance(structures, Mapping):
            structures = {parent_label(name): name for name in structures}
        if not structures:
            raise ValueError("no parent structures given")
        parents = {label: node(value) for label, value in structures.items()}
        genetic = GeneticSamplingWorkChain.get_builder_from_protocol(
            code,
            next(iter(parents.values())),
            protocol,
            inputs.get("genetic") or None,
            options,
            potential=potential,
            dft_code=dft_code,
            dft_engine=dft_engine,
        )
        builder = cls.get_builder()
        builder.parents = parents
        builder.compositions = orm.List([dict(entry) for entry in compositions])
        references = dict(references or {})
        builder.references = {name: references.get(name) or node(name) for name in END_MEMBERS}
        if known_energies:
            builder.known_energies = {label: orm.Float(value) for label, value in known_energies.items()}
        builder.hull_energies = orm.Str(hull_energies or ("dft" if dft_code is not None else "mlip"))
        if inputs.get("tolerance") is not None:
            builder.tolerance = orm.Float(inputs["tolerance"])
        shared = {k: v for k, v in genetic._inputs(prune=True).items() if k not in (*PER_JOB, "metadata")}
        builder.genetic._update(shared)
        return builder

    # ------------------------------------------------------------------------------------------------------------
    def setup(self):
        """Resolve the compositions (one GA job each) and list the crystals to relax."""
        self.ctx.jobs = resolve_compositions(self.inputs.compositions.get_list(), dict(self.inputs.parents))
        self.ctx.source = self.inputs.hull_energies.value
        known = dict(self.inputs.get("known_energies", {}))
        self.ctx.crystals = {
            name: {"kind": "reference" if name in END_MEMBERS else "crystal", "known": name in known}
            for name in (*END_MEMBERS, *self.inputs.parents)
        }
        for job in self.ctx.jobs:
            self.report(
                f"{job['label']}: {job['parent']} x{job['supercell'] or [1, 1, 1]} minus {job['n_li2s']} Li2S + "
                f"{job['n_p2s5']} P2S5 → x = {job['x']:.4f}"
            )

    def _crystal(self, name: str) -> orm.StructureData:
        return self.inputs.references[name] if name in END_MEMBERS else self.inputs.parents[name]

    def run_all(self):
        """Launch every GA and every crystal relaxation not replaced by a known energy, concurrently."""
        futures = {}
        shared = self.exposed_inputs(GeneticSamplingWorkChain, namespace="genetic")
        for job in self.ctx.jobs:
            inputs = dict(shared)
            inputs["structure"] = self.inputs.parents[job["parent"]]
            if job["supercell"] is not None:
                inputs["supercell"] = orm.List(list(job["supercell"]))
            for name in ("n_li2s", "n_p2s5"):
                inputs[name] = orm.Int(job[name])
            label = f"ga_{job['label']}"
            futures[label] = self.launch_once(label, GeneticSamplingWorkChain, **inputs)
        for name, crystal in self.ctx.crystals.items():
            if crystal["known"]:
                continue
            label = f"relax_{name}"
            process, inputs = self._relaxation(name)
            futures[label] = self.launch_once(label, process, **inputs)
        n_relax = sum(1 for c in self.ctx.crystals.values() if not c["known"])
        self.report(
            f"launched {len(self.ctx.jobs)} genetic sampling(s) and {n_relax} crystal relaxation(s) "
            f"({'lps.dft' if self.ctx.source == 'dft' else 'lps.lammps.relax_batch'}); hull from {self.ctx.source}"
        )
        return ToContext(**futures)

    def _relaxation(self, name: str) -> tuple:
        """(process, inputs) of the relaxation of crystal ``name`` with the GA's engine and settings."""
        structure = self._crystal(name)
        genetic = self.inputs.genetic
        if self.ctx.source == "dft":
            inputs = {"engine": genetic.dft.get("engine", orm.Str("gpaw")), "task": orm.Str("relax")}
            inputs.update(structure=structure, code=genetic.dft.code)
            for key in ("protocol", "overrides", "options"):
                if key in genetic.dft:
                    inputs[key] = genetic.dft[key]
            return DftWorkChain, inputs
        sites = orm.ArrayData()
        sites.set_array("sites", np.zeros((1, 0), dtype=np.int64))  # one configuration: the crystal itself
        inputs = {
            "code": genetic.lammps.code,
            "structure": structure,
            "removed_sites": sites,
            "potential": genetic.potential,
            "parameters": genetic.lammps.parameters,
        }
        if "options" in genetic.lammps:
            inputs["metadata"] = {"options": genetic.lammps.options.get_dict()}
        return BatchRelaxCalculation, inputs

    def _relaxed(self, name: str) -> tuple[orm.StructureData, orm.Float] | str:
        """(structure, total energy) of crystal ``name``, or the reason there is none."""
        if self.ctx.crystals[name]["known"]:
            return self._crystal(name), self.inputs.known_energies[name]
        node = self.ctx[f"relax_{name}"]
        if not node.is_finished_ok:
            return describe_failure(node)
        if self.ctx.source == "dft":
            return node.outputs.structure, node.outputs.energy
        energy = float(node.outputs.energies.get_array("energy")[0])
        if not math.isfinite(energy) or "c0" not in node.outputs.relaxed:
            return f"no relaxed energy: {node.outputs.results.get_dict().get('failures')}"
        return node.outputs.relaxed.c0, orm.Float(energy)

    def inspect_all(self):
        """Collect the entries of the hull: crystals, and the candidates of every GA that finished."""
        entries = {}
        for name, crystal in self.ctx.crystals.items():
            found = self._relaxed(name)
            if isinstance(found, str):
                self.report(f"relaxation of {name} failed: {found}")
                if crystal["kind"] == "reference":
                    return self.exit_codes.ERROR_REFERENCE_FAILED.format(name=name, message=found)
                continue
            structure, energy = found
            entries[name] = {"kind": crystal["kind"], "parent": name, "structure": structure.uuid, "energy": energy}
        n_ok = 0
        for job in self.ctx.jobs:
            node = self.ctx[f"ga_{job['label']}"]
            if not node.is_finished_ok:
                self.report(f"genetic sampling {job['label']} failed: {describe_failure(node)}")
                continue
            n_ok += 1
            energies = node.outputs.candidate_energies.get_array(self.ctx.source)
            structures = node.outputs.dft_structures if self.ctx.source == "dft" else node.outputs.candidates
            for rank, value in enumerate(energies):
                if not math.isfinite(value) or f"c{rank}" not in structures:
                    self.report(f"{job['label']} candidate c{rank}: no {self.ctx.source} energy, left out")
                    continue
                entries[f"{job['label']}_c{rank}"] = {
                    "kind": "ga",
                    "parent": job["parent"],
                    "job": job["label"],
                    "structure": structures[f"c{rank}"].uuid,
                    "energy": orm.Float(float(value)),
                }
        if n_ok == 0:
            return self.exit_codes.ERROR_ALL_SAMPLING_FAILED
        self.ctx.entries = {
            label: {**entry, "energy": entry["energy"].store().uuid} for label, entry in entries.items()
        }
        return None

    def build_hull(self):
        """``lps.formation_energy`` per entry, ``lps.convex_hull`` over all; the phase-diagram data."""
        entries = self.ctx.entries
        li2s, e_li2s = orm.load_node(entries["Li2S"]["structure"]), orm.load_node(entries["Li2S"]["energy"])
        p2s5, e_p2s5 = orm.load_node(entries["P2S5"]["structure"]), orm.load_node(entries["P2S5"]["energy"])
        formation = {}
        for label, entry in entries.items():
            structure = orm.load_node(entry["structure"])
            result, node = formation_energy.run_get_node(
                structure=structure,
                energy=orm.load_node(entry["energy"]),
                li2s_structure=li2s,
                li2s_energy=e_li2s,
                p2s5_structure=p2s5,
                p2s5_energy=e_p2s5,
                metadata={"call_link_label": f"formation_{label}"},
            )
            if not node.is_finished_ok:
                self.report(f"{label}: formation energy rejected: {node.exit_message}")
                continue
            formation[label] = result
            self.out(f"structures.{label}", structure)
        kwargs = {"tolerance": self.inputs.tolerance} if "tolerance" in self.inputs else {}
        hull, node = convex_hull.run_get_node(**formation, **kwargs, metadata={"call_link_label": "convex_hull"})
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_HULL_FAILED.format(message=node.exit_message)
        details = {
            label: {k: v for k, v in entry.items() if k not in ("structure", "energy")}
            | {"total_energy": orm.load_node(entry["energy"]).value}
            for label, entry in entries.items()
            if label in formation
        }
        summary = summarise_phase_diagram(
            hull["result"],
            orm.Dict(json_safe({"hull_energies": self.ctx.source, "entries": details, "jobs": self.ctx.jobs})),
            metadata={"call_link_label": "summarise"},
        )
        self.out("phase_diagram", summary)
        self.out("arrays", hull["arrays"])
        result = summary.get_dict()
        stable = [k for k, e in result["entries"].items() if e["stability"] == "stable"]
        self.report(f"hull from {self.ctx.source} energies over {len(formation)} entries; on the hull: {stable}")
        return None
