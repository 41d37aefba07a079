"""``lps.sampling.genetic``: lowest-energy (Li2S)x(P2S5)1−x arrangements from a parent crystal by a genetic algorithm.

Method of Guo, Wang, Urban, Artrith, Chem. Mater. 34, 6702 (2022), doi:10.1021/acs.chemmater.2c00267: remove Li2S
(2 Li + 1 S) or P2S5 (2 P + 5 S) units from a supercell of a crystal, find low-energy arrangements of the removed
atoms with a GA whose fitness is the energy after relaxation with an interatomic potential (MLIP), re-relax the best
geometrically distinct structures with DFT. The GA itself is :mod:`aiida_lps.science.genetic`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from aiida import orm
from aiida.engine import ToContext, WorkChain, if_, while_

from aiida_lps.calcfunctions.genetic import repeat_structure, select_candidates, summarise_search
from aiida_lps.calculations.relax_batch import BatchRelaxCalculation
from aiida_lps.common.serialize import json_safe
from aiida_lps.data.potential import InteratomicPotentialData
from aiida_lps.dft.base import get_engine, validate_engine_port
from aiida_lps.engines.lammps.relax import RelaxSettings
from aiida_lps.protocols import ProtocolMixin
from aiida_lps.science.genetic import GASettings, GeneticSearch, RemovalProblem, check_removal, resolve_target
from aiida_lps.utils.failures import describe_failure
from aiida_lps.utils.validation import positive_port, validate_periodic
from aiida_lps.workflows.dft import DftWorkChain
from aiida_lps.workflows.launching import LaunchOnceMixin

__all__ = ("GeneticSamplingWorkChain",)


def _validate_ga(value: orm.Dict, _) -> str | None:
    try:
        GASettings.from_dict(value.get_dict())
    except (TypeError, ValueError) as exception:
        return f"invalid GA settings: {exception}"
    return None


def _validate_relax(value: orm.Dict, _) -> str | None:
    try:
        RelaxSettings.from_dict(value.get_dict())
    except (TypeError, ValueError) as exception:
        return f"invalid relaxation settings: {exception}"
    return None


def _validate_supercell(value: orm.List, _) -> str | None:
    repeats = value.get_list()
    if len(repeats) != 3 or any(not isinstance(n, int) or n < 1 for n in repeats):
        return f"`supercell` must be three positive integers [na, nb, nc], got {repeats}"
    return None


def _positive(name: str):
    return positive_port(name, 1.0 if name == "symprec" else None)


def supercell_counts(structure: orm.StructureData, repeats: list[int] | None) -> dict[str, int]:
    """Element counts of ``structure`` repeated ``repeats`` times."""
    factor = int(np.prod(repeats)) if repeats else 1
    symbols = [site.kind_name for site in structure.sites]
    kinds = {kind.name: kind.symbol for kind in structure.kinds}
    counts: dict[str, int] = {}
    for name in symbols:
        counts[kinds[name]] = counts.get(kinds[name], 0) + factor
    return counts


def resolve_removal(counts: Mapping[str, int], inputs) -> dict:
    """``{n_li2s, n_p2s5, x, target_x}`` from the inputs (units given, or the target x resolved); ``ValueError``."""
    has_units = "n_li2s" in inputs or "n_p2s5" in inputs
    if has_units == ("target_x" in inputs):
        raise ValueError("give the units to remove (`n_li2s` and/or `n_p2s5`) or `target_x`, not both or neither")
    if has_units:
        n_li2s = inputs["n_li2s"].value if "n_li2s" in inputs else 0
        n_p2s5 = inputs["n_p2s5"].value if "n_p2s5" in inputs else 0
        check_removal(counts, n_li2s, n_p2s5)
        li, p = counts.get("Li", 0) - 2 * n_li2s, counts.get("P", 0) - 2 * n_p2s5
        return {"n_li2s": n_li2s, "n_p2s5": n_p2s5, "x": li / (li + p), "target_x": None}
    tolerance = inputs["x_tolerance"].value if "x_tolerance" in inputs else None
    target = inputs["target_x"].value
    row = resolve_target(counts, target, tolerance)
    return {"n_li2s": row["n_li2s"], "n_p2s5": row["n_p2s5"], "x": row["x"], "target_x": target}


def _validate_inputs(inputs, _) -> str | None:
    structure, potential = inputs.get("structure"), inputs.get("potential")
    if structure is None:
        return None
    message = validate_periodic(structure)
    if message:
        return message
    if potential is not None:
        missing = sorted(set(structure.get_symbols_set()) - set(potential.elements))
        if missing:
            return f"the potential describes {potential.elements} but the parent structure also contains {missing}"
    repeats = inputs["supercell"].get_list() if "supercell" in inputs else None
    if repeats is not None and _validate_supercell(inputs["supercell"], None):
        return None  # the port validator reports it
    try:
        resolve_removal(supercell_counts(structure, repeats), inputs)
    except ValueError as exception:
        return str(exception)
    if "n_candidates" in inputs and "candidate_pool" in inputs:
        if not 0 <= inputs["n_candidates"].value <= inputs["candidate_pool"].value:
            return "`n_candidates` must lie in [0, candidate_pool] (candidate_pool: structures compared for duplicates)"
    dft = inputs.get("dft", {})
    if dft and "code" not in dft:
        return "the `dft` namespace needs a `code` (and an `engine`)"
    if "engine" in dft and "overrides" in dft and not validate_engine_port(dft["engine"], None):
        try:  # the DFT re-relaxation comes after the whole GA: its overrides are checked now
            get_engine(dft["engine"].value).validate_overrides(
                dft["protocol"].value if "protocol" in dft else None, dft["overrides"].get_dict()
            )
        except ValueError as exception:
            return f"dft.overrides: {exception}"
    return None


class GeneticSamplingWorkChain(LaunchOnceMixin, ProtocolMixin, WorkChain):
    """GA sampling of removal arrangements with batch MLIP relaxations, then DFT re-relaxation of the best.

    Per generation one ``lps.lammps.relax_batch`` job relaxes every new arrangement of every seed (the parent
    supercell plus the removed sites per arrangement are its inputs, so each relaxed structure's origin is in the
    provenance). Arrangements are identified by a symmetry-canonical key; the fitness cache means none is relaxed
    twice. The GA state is a JSON dictionary in the context: a restarted daemon resumes at the last finished
    generation. A relaxation that fails gives its arrangement an infinite fitness; the generation goes on.
    After the GA the ``candidate_pool`` lowest arrangements are deduplicated geometrically (StructureMatcher) and the
    ``n_candidates`` best go to ``lps.dft`` relaxations; a failed DFT run is reported and the others continue.
    """

    _protocol_file = "genetic"

    @classmethod
    def define(cls, spec):
        """Define the specification."""
        super().define(spec)
        spec.input("structure", valid_type=orm.StructureData, help="Parent crystal (on the Li2S–P2S5 line).")
        spec.input(
            "supercell",
            valid_type=orm.List,
            required=False,
            validator=_validate_supercell,
            help="Repetitions [na, nb, nc] of the parent (default: the parent cell itself).",
        )
        spec.input("n_li2s", valid_type=orm.Int, required=False, help="Li2S units (2 Li + 1 S) to remove.")
        spec.input("n_p2s5", valid_type=orm.Int, required=False, help="P2S5 units (2 P + 5 S) to remove.")
        spec.input(
            "target_x",
            valid_type=orm.Float,
            required=False,
            help="Target x of (Li2S)x(P2S5)1-x instead of unit counts; resolved to the nearest reachable x.",
        )
        spec.input(
            "x_tolerance",
            valid_type=orm.Float,
            required=False,
            help="Largest accepted |x_reached - target_x|; a farther nearest composition is rejected.",
        )
        spec.input("potential", valid_type=InteratomicPotentialData, help="Interatomic potential (the GA fitness).")
        spec.input(
            "ga",
            valid_type=orm.Dict,
            validator=_validate_ga,
            help="GA settings (aiida_lps.science.genetic.GASettings): population_size, mutation_rate, n_elite, "
            "selection, tournament_size, max_generations, stall_generations, stall_tolerance (eV), seeds, n_refine, "
            "n_offspring (null: generational; a number: steady state), mutation (local/swap), n_neighbours.",
        )
        spec.input(
            "symprec",
            valid_type=orm.Float,
            default=lambda: orm.Float(0.01),
            validator=_positive("symprec"),
            help="Symmetry tolerance (Å) of the parent supercell's space group (canonical keys).",
        )
        spec.input("n_candidates", valid_type=orm.Int, default=lambda: orm.Int(10), help="Candidates sent to DFT.")
        spec.input(
            "candidate_pool",
            valid_type=orm.Int,
            default=lambda: orm.Int(30),
            validator=_positive("candidate_pool"),
            help="Lowest GA structures compared with StructureMatcher to pick the distinct candidates.",
        )
        spec.input_namespace("lammps", help="Batch relaxations (`lps.lammps.relax_batch`).")
        spec.input("lammps.code", valid_type=orm.AbstractCode, help="LAMMPS (`lmp`).")
        spec.input(
            "lammps.parameters",
            valid_type=orm.Dict,
            validator=_validate_relax,
            help="Relaxation settings (etol, ftol eV/Å, maxiter, cell_relax, ...).",
        )
        spec.input("lammps.options", valid_type=orm.Dict, required=False, help="Scheduler options.")
        spec.input_namespace("dft", required=False, populate_defaults=False, help="DFT re-relaxation (`lps.dft`).")
        spec.input(
            "dft.engine", valid_type=orm.Str, required=False, validator=validate_engine_port, help="`gpaw` or `vasp`."
        )
        spec.input("dft.code", valid_type=orm.AbstractCode, required=False)
        spec.input("dft.protocol", valid_type=orm.Str, required=False)
        spec.input("dft.overrides", valid_type=orm.Dict, required=False)
        spec.input("dft.options", valid_type=orm.Dict, required=False)
        spec.inputs.validator = _validate_inputs

        spec.outline(
            cls.setup,
            while_(cls.should_continue)(cls.run_generation, cls.inspect_generation),
            cls.select,
            if_(cls.should_run_dft)(cls.run_dft, cls.inspect_dft),
            cls.finalize,
        )
        spec.output("supercell", valid_type=orm.StructureData, help="The parent supercell the GA works on.")
        spec.output("history", valid_type=orm.ArrayData, help="Per generation: best, mean (eV), evaluations, ...")
        spec.output_namespace(
            "candidates", valid_type=orm.StructureData, dynamic=True, help="MLIP-relaxed distinct best `c<rank>`."
        )
        spec.output_namespace(
            "dft_structures", valid_type=orm.StructureData, dynamic=True, help="DFT-relaxed candidates `c<rank>`."
        )
        spec.output(
            "candidate_energies",
            valid_type=orm.ArrayData,
            help="Arrays `mlip` and `dft` (eV per cell, NaN where missing), one entry per candidate.",
        )
        spec.output("summary", valid_type=orm.Dict, help="Composition, seeds, evaluations, stop reason, candidates.")
        spec.exit_code(
            401, "ERROR_RELAX_FAILED", message="The batch relaxation of generation {generation} failed: {msg}"
        )
        spec.exit_code(402, "ERROR_NO_FINITE_FITNESS", message="No arrangement relaxed to a finite energy.")
        spec.exit_code(403, "ERROR_ALL_DFT_FAILED", message="Every DFT relaxation failed; the GA outputs are kept.")

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        protocol: str | None = None,
        overrides: Mapping | None = None,
        options: Mapping | None = None,
        *,
        potential: InteratomicPotentialData,
        dft_code: orm.AbstractCode | None = None,
        dft_engine: str = "gpaw",
        **kwargs,
    ):
        """Builder filled from ``protocol`` (``fast``, ``moderate``, ``precise``) with ``overrides`` on top.

        :param code: LAMMPS. :param potential: the interatomic potential (``lps.potential``) of the GA relaxations.
        :param options: scheduler options of the LAMMPS jobs.
        :param dft_code: the DFT engine's code; without it no DFT re-relaxation is done.
        :param kwargs: ``supercell`` ([na, nb, nc]), ``n_li2s``, ``n_p2s5``, ``target_x``, ``x_tolerance``.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.structure = structure
        builder.potential = potential
        builder.ga = orm.Dict(inputs["ga"])
        builder.symprec = orm.Float(inputs["symprec"])
        builder.n_candidates = orm.Int(inputs["n_candidates"])
        builder.candidate_pool = orm.Int(inputs["candidate_pool"])
        builder.lammps.code = code
        builder.lammps.parameters = orm.Dict(inputs["relax"])
        if options:
            builder.lammps.options = orm.Dict(dict(options))
        for name, node_type in (("n_li2s", orm.Int), ("n_p2s5", orm.Int), ("target_x", orm.Float)):
            if kwargs.get(name) is not None:
                builder[name] = node_type(kwargs.pop(name))
        if kwargs.get("supercell") is not None:
            builder.supercell = orm.List(list(kwargs.pop("supercell")))
        tolerance = kwargs.pop("x_tolerance", inputs.get("x_tolerance"))
        if "target_x" in builder and tolerance is not None:
            builder.x_tolerance = orm.Float(tolerance)
        if kwargs:
            raise ValueError(f"unknown argument(s) {sorted(kwargs)}")
        if dft_code is not None:
            dft = inputs.get("dft", {})
            builder.dft.engine = orm.Str(dft_engine)
            builder.dft.code = dft_code
            if dft.get("protocol"):
                builder.dft.protocol = orm.Str(dft["protocol"])
            if dft.get("overrides"):
                builder.dft.overrides = orm.Dict(dft["overrides"])
            if dft.get("options"):
                builder.dft.options = orm.Dict(dft["options"])
        return builder

    # ------------------------------------------------------------------------------------------------------------
    def _problem(self) -> RemovalProblem:
        """The removal problem on the supercell (symmetry permutations computed once per process instance)."""
        if getattr(self, "_cached_problem", None) is None:
            supercell = orm.load_node(self.ctx.supercell)
            self._cached_problem = RemovalProblem.from_structure(
                supercell.get_pymatgen_structure(),
                n_li2s=self.ctx.composition["n_li2s"],
                n_p2s5=self.ctx.composition["n_p2s5"],
                symprec=self.inputs.symprec.value,
            )
        return self._cached_problem

    def setup(self):
        """Build the supercell, resolve the composition and start the GA state."""
        if "supercell" in self.inputs:
            supercell = repeat_structure(self.inputs.structure, self.inputs.supercell)
        else:
            supercell = self.inputs.structure
        self.ctx.supercell = supercell.uuid
        repeats = self.inputs.supercell.get_list() if "supercell" in self.inputs else None
        self.ctx.composition = resolve_removal(supercell_counts(self.inputs.structure, repeats), self.inputs)
        problem = self._problem()
        settings = GASettings.from_dict(self.inputs.ga.get_dict())
        self.ctx.ga = GeneticSearch(problem, settings).to_dict()
        composition = self.ctx.composition
        target = f" (target x = {composition['target_x']})" if composition["target_x"] is not None else ""
        self.report(
            f"removing {composition['n_li2s']} Li2S + {composition['n_p2s5']} P2S5 from {len(problem.species)} sites: "
            f"x = {composition['x']:.4f}{target}; {len(problem.permutations)} symmetry operations, "
            f"{problem.n_arrangements()} arrangements before symmetry; seeds {settings.seeds}"
        )

    def _search(self) -> GeneticSearch:
        return GeneticSearch.from_dict(self._problem(), self.ctx.ga)

    def should_continue(self) -> bool:
        """Whether the GA goes on (generation and stall limits, exhausted search space)."""
        search = self._search()
        if search.done:
            self.report(f"GA stopped: {search.stop_reason}")
        return not search.done

    def run_generation(self):
        """Propose the next generation and relax its new arrangements in one batch job."""
        search = self._search()
        removed = search.propose_generation()
        self.ctx.ga = search.to_dict()
        self.ctx.relax_label = None
        if not removed:
            return None
        sites = orm.ArrayData()
        sites.set_array("sites", np.array(removed, dtype=np.int64))
        inputs = {
            "code": self.inputs.lammps.code,
            "structure": orm.load_node(self.ctx.supercell),
            "removed_sites": sites,
            "potential": self.inputs.potential,
            "parameters": self.inputs.lammps.parameters,
            "metadata": {"call_link_label": f"generation_{search.generation}"},
        }
        if "options" in self.inputs.lammps:
            inputs["metadata"]["options"] = self.inputs.lammps.options.get_dict()
        self.ctx.relax_label = f"generation_{search.generation}"
        node = self.launch_once(inputs["metadata"].pop("call_link_label"), BatchRelaxCalculation, **inputs)
        return ToContext(**{self.ctx.relax_label: node})

    def inspect_generation(self):
        """Give the GA the energies (failed relaxations: infinite fitness) and report the generation."""
        search = self._search()
        generation = search.generation
        energies, refs = [], []
        if self.ctx.relax_label is not None:
            node = self.ctx[self.ctx.relax_label]
            n = len(search.to_evaluate)
            if node.is_finished_ok:
                values = node.outputs.energies.get_array("energy")
                relaxed = node.outputs.relaxed
                energies = [float(v) if math.isfinite(v) else None for v in values]
                refs = [relaxed[f"c{i}"].uuid if f"c{i}" in relaxed else None for i in range(n)]
                failures = node.outputs.results.get_dict()["failures"]
                if failures:
                    self.report(f"generation {generation}: {len(failures)} relaxation(s) failed, e.g. {failures[0]}")
            elif node.exit_status == BatchRelaxCalculation.exit_codes.ERROR_ALL_FAILED.status and generation > 0:
                energies, refs = [None] * n, [None] * n
                self.report(f"generation {generation}: every relaxation failed ({node.exit_message}); GA goes on")
            else:
                self.report(f"generation {generation}: batch relaxation failed: {describe_failure(node)}")
                return self.exit_codes.ERROR_RELAX_FAILED.format(
                    generation=generation, msg=f"[{node.exit_status}] {node.exit_message}"
                )
        entry = search.tell(energies, refs)
        self.ctx.ga = search.to_dict()
        best = "none" if entry["best"] is None else f"{entry['best']:.4f} eV"
        mean = "none" if entry["mean"] is None else f"{entry['mean']:.4f} eV"
        self.report(
            f"generation {generation}: best {best}, mean {mean}, {entry['n_evaluated']} evaluated "
            f"({entry['n_failed']} failed), {entry['cache_hits']} cache hits, "
            f"{entry['n_unique_total']} distinct arrangements so far"
        )
        self.set_progress(len(search.history), search.settings.max_generations, "generation")
        return None

    def select(self):
        """Deduplicate the lowest ``candidate_pool`` structures geometrically; keep the best ``n_candidates``."""
        search = self._search()
        ranking = [row for row in search.ranking() if row.get("ref")][: self.inputs.candidate_pool.value]
        if not ranking:
            return self.exit_codes.ERROR_NO_FINITE_FITNESS
        structures = {f"r{i}": orm.load_node(row["ref"]) for i, row in enumerate(ranking)}
        parameters = {
            "labels": list(structures),
            "energies": [row["energy"] for row in ranking],
            "n_candidates": max(1, self.inputs.n_candidates.value),
        }
        outputs = select_candidates(orm.Dict(parameters), **structures)
        summary = outputs["summary"].get_dict()
        by_label = dict(zip(structures, ranking, strict=True))
        self.ctx.candidates = [
            {
                "label": f"c{rank}",
                "uuid": outputs[f"c{rank}"].uuid,
                "mlip_energy": by_label[label]["energy"],
                "removed_sites": by_label[label]["removed"],
                "key": by_label[label]["key"],
                "generation": by_label[label]["generation"],
                "dft_energy": None,
            }
            for rank, label in enumerate(summary["labels"])
        ]
        self.report(
            f"{len(ranking)} lowest structures compared: {summary['n_distinct']} distinct, "
            f"best {len(self.ctx.candidates)} kept (MLIP {self.ctx.candidates[0]['mlip_energy']:.4f} eV first)"
        )
        return None

    def should_run_dft(self) -> bool:
        """Whether a DFT engine was given and candidates are to be re-relaxed."""
        return "code" in self.inputs.get("dft", {}) and self.inputs.n_candidates.value > 0

    def run_dft(self):
        """One ``lps.dft`` relaxation per candidate, concurrently."""
        futures = {}
        for candidate in self.ctx.candidates:
            inputs = {
                "engine": self.inputs.dft.get("engine", orm.Str("gpaw")),
                "task": orm.Str("relax"),
                "structure": orm.load_node(candidate["uuid"]),
                "code": self.inputs.dft.code,
                "metadata": {"call_link_label": f"dft_{candidate['label']}"},
            }
            for key in ("protocol", "overrides", "options"):
                if key in self.inputs.dft:
                    inputs[key] = self.inputs.dft[key]
            label = inputs["metadata"].pop("call_link_label")
            futures[label] = self.launch_once(label, DftWorkChain, **inputs)
        self.report(f"DFT relaxation of {len(futures)} candidate(s) with {inputs['engine'].value}")
        return ToContext(**futures)

    def inspect_dft(self):
        """Collect DFT energies; report failures and go on."""
        ok = 0
        for candidate in self.ctx.candidates:
            node = self.ctx[f"dft_{candidate['label']}"]
            if not node.is_finished_ok:
                self.report(f"DFT relaxation of {candidate['label']} failed: {describe_failure(node)}")
                continue
            candidate["dft_energy"] = node.outputs.energy.value
            candidate["dft_uuid"] = node.outputs.structure.uuid
            ok += 1
        self.ctx.dft_ok = ok
        return None

    def finalize(self):
        """Attach the supercell, the GA history, the candidates with their energies and the summary."""
        search = self._search()
        self.out("supercell", orm.load_node(self.ctx.supercell))
        for candidate in self.ctx.candidates:
            self.out(f"candidates.{candidate['label']}", orm.load_node(candidate["uuid"]))
            if candidate.get("dft_uuid"):
                self.out(f"dft_structures.{candidate['label']}", orm.load_node(candidate["dft_uuid"]))
        rows = [{k: v for k, v in c.items() if k not in ("uuid", "dft_uuid")} for c in self.ctx.candidates]
        extra = {"composition": self.ctx.composition, "stop_reason": search.stop_reason, "candidates": rows}
        outputs = summarise_search(
            orm.Dict(json_safe(search.to_dict())),
            orm.Dict(json_safe(extra)),
            metadata={"call_link_label": "summarise"},
        )
        for name in ("history", "candidate_energies", "summary"):
            self.out(name, outputs[name])
        if self.should_run_dft() and self.ctx.get("dft_ok", 0) == 0:
            return self.exit_codes.ERROR_ALL_DFT_FAILED
        return None
