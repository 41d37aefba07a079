"""Genetic-algorithm sampling of (Li2S)x(P2S5)1−x arrangements on a fixed parent lattice (no AiiDA).

After Guo, Wang, Urban, Artrith, Chem. Mater. 34, 6702 (2022), doi:10.1021/acs.chemmater.2c00267, and the ævo code
(Artrith, Urban, Ceder, J. Chem. Phys. 148, 241711 (2018), doi:10.1063/1.5017661): a composition x is reached by
removing Li2S units (2 Li + 1 S) or P2S5 units (2 P + 5 S) from a supercell of a crystal, and the arrangement of the
removed atoms is optimised by a GA whose fitness is the relaxed energy.

- An individual is the set of removed sites (a boolean mask over the parent supercell's sites); crossover is uniform
  per sublattice (element), mutation swaps a removed and a kept site of the same element (by default a local hop: a
  removed site moves to one of its nearest sites of that element), and a repair step restores the exact removed
  count of every element. Generational (ævo) or steady state (``n_offspring`` never-evaluated children per
  generation, the best of parents and children survive); ``n_refine`` shortest-hop neighbours of the best are
  evaluated each generation.
- Duplicates are recognised by a symmetry-canonical key: the lexicographically smallest packed mask over the site
  permutations of the parent supercell's space-group operations (pure translations of the parent cell included), so
  equivalent arrangements share one fitness-cache entry and no arrangement is evaluated twice.
- :class:`GeneticSearch` is the driver: ``propose_generation()`` → removed-site lists to evaluate, ``tell(energies)``;
  its whole state is a JSON-serialisable dictionary (``to_dict``/``from_dict``), so a work chain keeps it in its
  context. Several independent seeds (populations) share one fitness cache and one evaluation batch per generation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from aiida_lps.common.settings import DictSettings

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = (
    "UNITS",
    "GASettings",
    "check_removal",
    "deduplicate",
    "removed_counts",
    "GeneticSearch",
    "RemovalProblem",
    "li2s_fraction",
    "reachable_compositions",
    "resolve_target",
    "site_permutations",
)

#: atoms removed per unit
UNITS = {"Li2S": {"Li": 2, "S": 1}, "P2S5": {"P": 2, "S": 5}}
SELECTIONS = ("tournament", "roulette")
MUTATIONS = ("local", "swap")


def li2s_fraction(n_li: int, n_p: int) -> float:
    """x of (Li2S)x(P2S5)1−x for a cell with ``n_li`` Li and ``n_p`` P atoms (x = n_Li / (n_Li + n_P))."""
    if n_li + n_p == 0:
        raise ValueError("a cell without Li and P has no Li2S fraction")
    return n_li / (n_li + n_p)


def _check_on_line(counts: Mapping[str, int]) -> None:
    """Raise unless the composition lies on the Li2S–P2S5 line (n_S = n_Li/2 + 5 n_P/2, only Li, P, S)."""
    others = sorted(set(counts) - {"Li", "P", "S"})
    if others:
        raise ValueError(f"the parent contains {others}; only Li, P and S lie on the Li2S–P2S5 line")
    li, p, s = (int(counts.get(el, 0)) for el in ("Li", "P", "S"))
    if 2 * s != li + 5 * p:
        raise ValueError(
            f"the parent Li{li}P{p}S{s} is not on the Li2S–P2S5 line "
            f"(needs n_S = n_Li/2 + 5 n_P/2 = {(li + 5 * p) / 2})"
        )


def reachable_compositions(counts: Mapping[str, int]) -> list[dict]:
    """Every (n_Li2S, n_P2S5) removal (at least one unit) from a parent with element ``counts`` that leaves Li or P.

    :returns: dictionaries ``{n_li2s, n_p2s5, x, n_removed}`` sorted by x.
    """
    _check_on_line(counts)
    li, p, s = (int(counts.get(el, 0)) for el in ("Li", "P", "S"))
    rows = []
    for n1 in range(li // 2 + 1):
        for n2 in range(p // 2 + 1):
            if (n1, n2) == (0, 0) or n1 + 5 * n2 > s or (li - 2 * n1) + (p - 2 * n2) == 0:
                continue
            rows.append(
                {
                    "n_li2s": n1,
                    "n_p2s5": n2,
                    "x": li2s_fraction(li - 2 * n1, p - 2 * n2),
                    "n_removed": 3 * n1 + 7 * n2,
                }
            )
    return sorted(rows, key=lambda r: (r["x"], r["n_removed"]))


def resolve_target(counts: Mapping[str, int], x: float, tolerance: float | None = None) -> dict:
    """The removal reaching the x nearest to ``x`` with the fewest atoms removed.

    :param tolerance: largest accepted |x_reached − x|; ``None`` accepts any.
    :raises ValueError: x outside [0, 1], or no reachable composition within ``tolerance``.
    """
    x = float(x)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"target x = {x} is outside [0, 1] for (Li2S)x(P2S5)1-x")
    rows = reachable_compositions(counts)
    best = min(rows, key=lambda r: (round(abs(r["x"] - x), 12), r["n_removed"]))
    if tolerance is not None and abs(best["x"] - x) > tolerance:
        raise ValueError(
            f"target x = {x} is unreachable from this parent within {tolerance}: the nearest reachable composition "
            f"is x = {best['x']:.4f} (remove {best['n_li2s']} Li2S and {best['n_p2s5']} P2S5)"
        )
    return best


def removed_counts(n_li2s: int, n_p2s5: int) -> dict[str, int]:
    """Atoms removed per element by ``n_li2s`` Li2S and ``n_p2s5`` P2S5 units (elements with a zero count omitted)."""
    counts: dict[str, int] = {}
    for unit, n in (("Li2S", n_li2s), ("P2S5", n_p2s5)):
        for element, per_unit in UNITS[unit].items():
            counts[element] = counts.get(element, 0) + per_unit * int(n)
    return {el: c for el, c in counts.items() if c}


def check_removal(counts: Mapping[str, int], n_li2s: int, n_p2s5: int) -> None:
    """Raise ``ValueError`` naming the problem if the removal is impossible for a parent with element ``counts``."""
    _check_on_line(counts)
    for name, value in (("n_li2s", n_li2s), ("n_p2s5", n_p2s5)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value}")
    if n_li2s == 0 and n_p2s5 == 0:
        raise ValueError("nothing to remove: n_li2s and n_p2s5 are both 0")
    removed = removed_counts(n_li2s, n_p2s5)
    for element in ("Li", "P", "S"):
        count = removed.get(element, 0)
        if count > counts.get(element, 0):
            raise ValueError(
                f"removing {n_li2s} Li2S and {n_p2s5} P2S5 units takes {count} {element} atoms, "
                f"but the parent holds only {counts.get(element, 0)}"
            )
    if counts.get("Li", 0) + counts.get("P", 0) == removed.get("Li", 0) + removed.get("P", 0):
        raise ValueError("this removal leaves no Li and no P: not a (Li2S)x(P2S5)1-x composition")


def deduplicate(structures: Sequence[Structure], matcher_kwargs: Mapping | None = None) -> list[int]:
    """Indices of the first structure of every StructureMatcher-equivalence class, in input order (lowest first when
    the input is sorted by energy). Cost grows with the square of the number of classes: use it on a few tens."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(**{"primitive_cell": False, "attempt_supercell": False, **dict(matcher_kwargs or {})})
    kept: list[int] = []
    for index, structure in enumerate(structures):
        if not any(matcher.fit(structures[k], structure) for k in kept):
            kept.append(index)
    return kept


def site_permutations(structure: Structure, symprec: float = 0.01, angle_tolerance: float = 5.0) -> np.ndarray:
    """Site permutations of the space-group operations of ``structure`` (its own cell, translations included).

    Row g maps site i onto site ``perm[g, i]`` of the same element. Shape (n_operations, n_sites).
    :raises ValueError: non-positive tolerances (spglib crashes on them), or an operation that maps a site onto none.
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    if not (symprec > 0 and angle_tolerance > 0):
        raise ValueError(f"symprec ({symprec}) and angle_tolerance ({angle_tolerance}) must be positive")
    operations = SpacegroupAnalyzer(
        structure, symprec=symprec, angle_tolerance=angle_tolerance
    ).get_symmetry_operations(cartesian=False)
    frac = np.asarray(structure.frac_coords) % 1.0
    species = np.array([site.specie.symbol for site in structure])
    same = species[:, None] == species[None, :]
    lattice = structure.lattice.matrix
    perms = []
    for op in operations:
        image = frac @ op.rotation_matrix.T + op.translation_vector
        delta = image[:, None, :] - frac[None, :, :]
        delta -= np.round(delta)
        distance = np.linalg.norm(delta @ lattice, axis=-1)
        distance[~same] = np.inf
        target = distance.argmin(axis=1)
        if not np.all(distance[np.arange(len(frac)), target] < max(10 * symprec, 0.05)) or len(set(target)) != len(
            target
        ):
            raise ValueError("a symmetry operation does not map the structure onto itself; raise symprec")
        perms.append(target)
    perms = np.unique(np.array(perms, dtype=np.int32), axis=0)
    return perms


@dataclasses.dataclass
class RemovalProblem:
    """Which sites of a parent supercell may be removed, how many of each element, and its symmetry permutations.

    :ivar species: element of every parent site.
    :ivar n_li2s, n_p2s5: units removed.
    :ivar permutations: (n_operations, n_sites) site permutations (``site_permutations``).
    :ivar distances: (n_sites, n_sites) minimum-image distances (Å) between the parent sites; they make mutation and
        refinement local (a removed site hops to a nearby site of its element). ``None``: any site of the element.
    """

    species: list[str]
    n_li2s: int
    n_p2s5: int
    permutations: np.ndarray
    distances: np.ndarray | None = None

    def __post_init__(self):
        check_removal({el: self.species.count(el) for el in set(self.species)}, self.n_li2s, self.n_p2s5)
        self.permutations = np.asarray(self.permutations, dtype=np.int32)
        if self.permutations.ndim != 2 or self.permutations.shape[1] != len(self.species):
            raise ValueError(f"permutations must have shape (n_operations, {len(self.species)})")
        if self.distances is not None:
            self.distances = np.asarray(self.distances, dtype=float)
            if self.distances.shape != (len(self.species),) * 2:
                raise ValueError(f"distances must have shape ({len(self.species)}, {len(self.species)})")
        symbols = np.array(self.species)
        self.sublattices = {
            el: np.nonzero(symbols == el)[0] for el in ("Li", "P", "S") if self.removed_counts.get(el, 0)
        }

    @classmethod
    def from_structure(
        cls, structure: Structure, n_li2s: int = 0, n_p2s5: int = 0, symprec: float = 0.01, angle_tolerance: float = 5.0
    ) -> RemovalProblem:
        """Problem on a parent (super)cell given as a pymatgen structure."""
        return cls(
            species=[site.specie.symbol for site in structure],
            n_li2s=n_li2s,
            n_p2s5=n_p2s5,
            permutations=site_permutations(structure, symprec, angle_tolerance),
            distances=structure.distance_matrix,
        )

    @property
    def n_sites(self) -> int:
        """Number of parent sites."""
        return len(self.species)

    @property
    def removed_counts(self) -> dict[str, int]:
        """Atoms removed per element."""
        return removed_counts(self.n_li2s, self.n_p2s5)

    @property
    def x(self) -> float:
        """Li2S fraction after the removal."""
        li = self.species.count("Li") - self.removed_counts.get("Li", 0)
        p = self.species.count("P") - self.removed_counts.get("P", 0)
        return li2s_fraction(li, p)

    # --- masks ---------------------------------------------------------------------------------------------------
    def mask(self, removed: Sequence[int]) -> np.ndarray:
        """Boolean mask (True = removed) of a list of removed site indices."""
        mask = np.zeros(self.n_sites, dtype=bool)
        mask[np.asarray(removed, dtype=int)] = True
        return mask

    def check(self, mask: np.ndarray) -> None:
        """Raise ``ValueError`` unless ``mask`` removes exactly the required atoms of every element."""
        for element, count in self.removed_counts.items():
            got = int(mask[self.sublattices[element]].sum())
            if got != count:
                raise ValueError(f"mask removes {got} {element} atoms, expected {count}")
        if int(mask.sum()) != sum(self.removed_counts.values()):
            raise ValueError("mask removes sites outside the Li, P and S sublattices being thinned")

    def random_mask(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random mask with the exact counts."""
        mask = np.zeros(self.n_sites, dtype=bool)
        for element, sites in self.sublattices.items():
            mask[rng.choice(sites, self.removed_counts[element], replace=False)] = True
        return mask

    def repair(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Restore the exact removed count of every sublattice by (un)removing random sites of that element."""
        mask = np.array(mask, dtype=bool)
        allowed = np.zeros(self.n_sites, dtype=bool)
        for element, sites in self.sublattices.items():
            allowed[sites] = True
            removed = sites[mask[sites]]
            kept = sites[~mask[sites]]
            excess = len(removed) - self.removed_counts[element]
            if excess > 0:
                mask[rng.choice(removed, excess, replace=False)] = False
            elif excess < 0:
                mask[rng.choice(kept, -excess, replace=False)] = True
        mask[~allowed] = False
        return mask

    def crossover(self, first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Uniform crossover per site (sites where the parents agree are inherited), then repair."""
        take_first = rng.random(self.n_sites) < 0.5
        return self.repair(np.where(take_first, first, second), rng)

    def mutate(self, mask: np.ndarray, rng: np.random.Generator, n_neighbours: int | None = None) -> np.ndarray:
        """Swap one removed and one kept site of a randomly chosen sublattice that has both.

        :param n_neighbours: local mutation: the removed site moves to one of the ``n_neighbours`` kept sites of its
            element nearest to it (a vacancy hops to a neighbouring site); ``None`` (or no ``distances``): any kept
            site of the element (ævo's swap).
        """
        mask = np.array(mask, dtype=bool)
        choices = [sites for el, sites in self.sublattices.items() if 0 < self.removed_counts[el] < len(sites)]
        if not choices:
            return mask
        sites = choices[rng.integers(len(choices))]
        removed = rng.choice(sites[mask[sites]])
        kept = sites[~mask[sites]]
        if n_neighbours is not None and self.distances is not None:
            kept = kept[np.argsort(self.distances[removed, kept], kind="stable")[: max(1, int(n_neighbours))]]
        mask[removed] = False
        mask[rng.choice(kept)] = True
        return mask

    def local_moves(self, mask: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
        """Every single swap ``(removed site, kept site)`` within a sublattice, shortest hop first (ties in random
        order; all in random order without ``distances``)."""
        mask = np.asarray(mask, dtype=bool)
        moves = [
            (int(i), int(j))
            for sites in self.sublattices.values()
            for i in sites[mask[sites]]
            for j in sites[~mask[sites]]
        ]
        order = rng.permutation(len(moves))
        if self.distances is not None:
            hop = np.array([self.distances[i, j] for i, j in moves])[order]
            order = order[np.argsort(np.round(hop, 6), kind="stable")]
        return [moves[k] for k in order]

    def key(self, mask: np.ndarray) -> str:
        """Symmetry-canonical key: hex of the smallest packed mask over all site permutations."""
        images = np.packbits(np.asarray(mask, dtype=bool)[self.permutations], axis=1)
        return np.unique(images, axis=0)[0].tobytes().hex()

    def n_arrangements(self) -> int:
        """Number of masks with the exact counts (not reduced by symmetry)."""
        total = 1
        for element, sites in self.sublattices.items():
            total *= math.comb(len(sites), self.removed_counts[element])
        return total


@dataclasses.dataclass
class GASettings(DictSettings):
    """GA settings. Energies are eV (lower is fitter); ``max_generations`` counts the initial population."""

    settings_name: ClassVar[str] = "GA"

    population_size: int = 32
    mutation_rate: float = 0.1  # probability that a child gets one swap mutation
    n_elite: int = 2
    selection: str = "tournament"
    tournament_size: int = 3
    max_generations: int = 50
    stall_generations: int = 10  # stop after this many generations without improving the best by stall_tolerance
    stall_tolerance: float = 1e-4  # eV
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    max_attempts: int = 50  # tries per new individual before accepting fewer
    # unevaluated single-swap neighbours of each seed's best arrangement added per generation, shortest hop first
    # (local refinement in place of as many crossover children; 0 = plain GA as in ævo)
    n_refine: int = 4
    # new arrangements per seed and generation after the initial population: ``None`` = generational (the elite plus
    # population_size - n_elite children, as ævo); a number = steady state: that many unevaluated children, the
    # population_size best of parents and children survive
    n_offspring: int | None = None
    mutation: str = "local"  # "local": a removed site hops to one of its n_neighbours nearest sites; "swap": anywhere
    n_neighbours: int = 4

    def __post_init__(self):
        if int(self.population_size) != self.population_size or self.population_size < 2:
            raise ValueError(f"population_size must be an integer >= 2, got {self.population_size}")
        if not 0.0 <= self.mutation_rate <= 1.0:
            raise ValueError(f"mutation_rate must lie in [0, 1], got {self.mutation_rate}")
        if int(self.n_elite) != self.n_elite or not 0 <= self.n_elite < self.population_size:
            raise ValueError(f"n_elite must be an integer in [0, population_size), got {self.n_elite}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        if int(self.tournament_size) != self.tournament_size or self.tournament_size < 1:
            raise ValueError(f"tournament_size must be a positive integer, got {self.tournament_size}")
        if int(self.n_refine) != self.n_refine or not 0 <= self.n_refine <= self.population_size - self.n_elite:
            raise ValueError(f"n_refine must be an integer in [0, population_size - n_elite], got {self.n_refine}")
        if self.n_offspring is not None and (
            int(self.n_offspring) != self.n_offspring or not 1 <= self.n_offspring <= self.population_size
        ):
            raise ValueError(f"n_offspring must be null or an integer in [1, population_size], got {self.n_offspring}")
        if self.n_offspring is not None and self.n_refine > self.n_offspring:
            raise ValueError(f"n_refine ({self.n_refine}) must not exceed n_offspring ({self.n_offspring})")
        if self.mutation not in MUTATIONS:
            raise ValueError(f"mutation must be one of {MUTATIONS}, got {self.mutation!r}")
        if int(self.n_neighbours) != self.n_neighbours or self.n_neighbours < 1:
            raise ValueError(f"n_neighbours must be a positive integer, got {self.n_neighbours}")
        for name in ("max_generations", "stall_generations", "max_attempts"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if self.stall_tolerance < 0:
            raise ValueError(f"stall_tolerance must be non-negative (eV), got {self.stall_tolerance}")
        seeds = list(self.seeds) if isinstance(self.seeds, (list, tuple)) else [self.seeds]
        if not seeds or any(int(s) != s or s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a non-empty list of distinct non-negative integers, got {self.seeds}")
        self.seeds = [int(s) for s in seeds]


def _finite(energy) -> float:
    """Energy as a float; ``None``/NaN become +inf (a failed evaluation)."""
    if energy is None:
        return math.inf
    value = float(energy)
    return value if math.isfinite(value) else math.inf


def _json_energy(value: float) -> float | None:
    return value if math.isfinite(value) else None


class GeneticSearch:
    """The GA driver: one population per seed, a shared fitness cache keyed on the canonical key.

    Usage: ``while not search.done: removed = search.propose_generation(); search.tell(energies_of(removed))``.
    ``propose_generation`` returns only arrangements not yet evaluated (cache misses, one per canonical key).
    The state (``to_dict``) is JSON: settings, generation counter, populations (keys), the cache
    ``key -> {removed, energy, generation, seed, ref}`` and the per-generation history.
    """

    def __init__(self, problem: RemovalProblem, settings: GASettings, state: Mapping | None = None):
        self.problem = problem
        self.settings = settings
        state = dict(state or {})
        self.generation: int = int(state.get("generation", 0))
        self.populations: dict[str, list[str]] = {
            str(s): list(state.get("populations", {}).get(str(s), [])) for s in settings.seeds
        }
        self.cache: dict[str, dict] = {k: dict(v) for k, v in state.get("cache", {}).items()}
        self.pending: dict[str, list[str]] = {k: list(v) for k, v in state.get("pending", {}).items()}
        self.to_evaluate: list[str] = list(state.get("to_evaluate", []))
        self.history: list[dict] = [dict(h) for h in state.get("history", [])]
        self.stall: int = int(state.get("stall", 0))
        self.exhausted: bool = bool(state.get("exhausted", False))
        self.cache_hits_pending: int = int(state.get("cache_hits_pending", 0))

    # --- serialisation --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The whole state as JSON-serialisable data (the problem is rebuilt from the parent structure)."""
        return {
            "settings": self.settings.to_dict(),
            "generation": self.generation,
            "populations": self.populations,
            "cache": self.cache,
            "pending": self.pending,
            "to_evaluate": self.to_evaluate,
            "history": self.history,
            "stall": self.stall,
            "exhausted": self.exhausted,
            "cache_hits_pending": self.cache_hits_pending,
        }

    @classmethod
    def from_dict(cls, problem: RemovalProblem, state: Mapping) -> GeneticSearch:
        """Restore a driver from ``to_dict`` output."""
        return cls(problem, GASettings.from_dict(state["settings"]), state)

    # --- the loop -------------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Whether the generation limit, the stall limit or the end of the search space was reached."""
        if self.pending:
            return False
        if self.generation >= self.settings.max_generations or self.exhausted:
            return True
        return self.generation > 0 and self.stall >= self.settings.stall_generations

    @property
    def stop_reason(self) -> str | None:
        """Why the search stopped (``None`` while it runs)."""
        if not self.done:
            return None
        if self.exhausted:
            return "no new arrangement could be generated (search space exhausted)"
        if self.generation >= self.settings.max_generations:
            return f"generation limit ({self.settings.max_generations})"
        return f"no improvement for {self.stall} generations (stall limit)"

    def _rng(self, seed: int, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([int(seed), self.generation, salt])

    def _fitness(self, key: str) -> float:
        return _finite(self.cache[key]["energy"])

    def _select(self, population: list[str], rng: np.random.Generator) -> str:
        fitness = np.array([self._fitness(k) for k in population])
        if self.settings.selection == "tournament":
            size = min(self.settings.tournament_size, len(population))
            contenders = rng.choice(len(population), size, replace=False)
            return population[contenders[np.argmin(fitness[contenders])]]
        finite = np.isfinite(fitness)
        if not finite.any():
            return population[rng.integers(len(population))]
        # roulette on the energy below the worst finite one (plus 1 % of the spread so that the worst can be drawn)
        worst, best = fitness[finite].max(), fitness[finite].min()
        weights = np.where(finite, worst - fitness + 0.01 * (worst - best) + 1e-12, 0.0)
        return population[rng.choice(len(population), p=weights / weights.sum())]

    def _neighbours(self, key: str, count: int, exclude: set[str], rng: np.random.Generator):
        """Up to ``count`` unevaluated single-swap neighbours ``(key, removed)`` of an arrangement, shortest hop
        first (random order without site distances)."""
        mask = self.problem.mask(self.cache[key]["removed"])
        found: dict[str, list[int]] = {}
        for i, j in self.problem.local_moves(mask, rng):
            neighbour = mask.copy()
            neighbour[i], neighbour[j] = False, True
            new_key = self.problem.key(neighbour)
            if new_key not in self.cache and new_key not in exclude and new_key not in found:
                found[new_key] = [int(k) for k in np.nonzero(neighbour)[0]]
                if len(found) == count:
                    break
        return list(found.items())

    def propose_generation(self) -> list[list[int]]:
        """Create the next generation of every seed; return the removed-site lists that need an energy (in order).

        Children already in the cache take the cached energy (a cache hit, not re-evaluated). Call :meth:`tell`
        with one energy per returned list before proposing again.
        """
        if self.pending:
            raise RuntimeError("the previous generation has not been told its energies")
        if self.done:
            raise RuntimeError(f"the search has stopped: {self.stop_reason}")
        new: dict[str, list[int]] = {}
        hits = 0
        settings = self.settings
        steady = settings.n_offspring is not None
        local = settings.n_neighbours if settings.mutation == "local" else None
        for seed in settings.seeds:
            rng = self._rng(seed)
            members: list[str] = []
            old = self.populations[str(seed)]
            initial = self.generation == 0 or not old
            if initial:
                target = settings.population_size
            elif steady:
                members = list(old)  # parents compete with their children for survival (tell)
                target = settings.n_offspring
            else:
                ranked = sorted(old, key=self._fitness)
                members = ranked[: settings.n_elite]
                target = settings.population_size - len(members)
            children: list[str] = []
            if not initial and settings.n_refine:
                best = min(old, key=self._fitness)
                for key, removed in self._neighbours(best, settings.n_refine, set(new), rng):
                    new[key] = removed
                    children.append(key)
            for _ in range(target - len(children)):
                for attempt in range(settings.max_attempts):
                    if initial:
                        mask = self.problem.random_mask(rng)
                    else:
                        first = self.problem.mask(self.cache[self._select(old, rng)]["removed"])
                        second = self.problem.mask(self.cache[self._select(old, rng)]["removed"])
                        mask = self.problem.crossover(first, second, rng)
                        # after half the attempts failed to give a new arrangement, every child is mutated
                        if rng.random() < settings.mutation_rate or 2 * attempt >= settings.max_attempts:
                            mask = self.problem.mutate(mask, rng, local)
                    key = self.problem.key(mask)
                    if key in members or key in children:
                        continue
                    if key in self.cache:
                        hits += 1
                        if steady or initial:
                            continue  # an evaluated arrangement adds nothing here: draw again
                    elif key not in new:
                        new[key] = [int(i) for i in np.nonzero(mask)[0]]
                    children.append(key)
                    break
            self.pending[str(seed)] = members + children
        if steady and self.generation > 0:
            short = any(len(p) < len(self.populations[s]) + settings.n_offspring for s, p in self.pending.items())
        else:
            short = any(len(p) < settings.population_size for p in self.pending.values())
        if not new and short:
            # fewer distinct arrangements than the population needs, and all of them are known
            self.exhausted = True
        self.to_evaluate = list(new)
        self.cache_hits_pending = hits
        for key, removed in new.items():
            self.cache[key] = {"removed": removed, "energy": None, "generation": self.generation, "ref": None}
        return [new[key] for key in self.to_evaluate]

    def tell(self, energies: Sequence[float | None], refs: Sequence | None = None) -> dict:
        """Record the energies (eV; ``None``/NaN/inf = failed, infinite fitness) of the proposed arrangements.

        :param refs: optional JSON-able reference per arrangement (e.g. the UUID of the relaxed structure).
        :returns: this generation's history entry.
        """
        if len(energies) != len(self.to_evaluate):
            raise ValueError(f"expected {len(self.to_evaluate)} energies, got {len(energies)}")
        if refs is not None and len(refs) != len(energies):
            raise ValueError("refs must have one entry per energy")
        previous_best = self.best_energy
        for index, key in enumerate(self.to_evaluate):
            self.cache[key]["energy"] = _json_energy(_finite(energies[index]))
            if refs is not None:
                self.cache[key]["ref"] = refs[index]
        if self.settings.n_offspring is not None and self.generation > 0:
            # steady state: the population_size best of parents and children survive (stable order on ties)
            self.populations = {
                seed: sorted(members, key=self._fitness)[: self.settings.population_size]
                for seed, members in self.pending.items()
            }
        else:
            self.populations = {seed: members for seed, members in self.pending.items()}
        fitness = [self._fitness(k) for members in self.populations.values() for k in members]
        finite = [f for f in fitness if math.isfinite(f)]
        entry = {
            "generation": self.generation,
            "n_evaluated": len(self.to_evaluate),
            "n_failed": sum(1 for k in self.to_evaluate if self.cache[k]["energy"] is None),
            "cache_hits": self.cache_hits_pending,
            "best": min(finite) if finite else None,
            "mean": float(np.mean(finite)) if finite else None,
            "best_per_seed": {
                seed: _json_energy(min((self._fitness(k) for k in members), default=math.inf))
                for seed, members in self.populations.items()
            },
            "n_unique_total": sum(1 for v in self.cache.values() if "removed" in v),
        }
        self.history.append(entry)
        best = self.best_energy
        improved = best is not None and (previous_best is None or best < previous_best - self.settings.stall_tolerance)
        self.stall = 0 if improved else self.stall + 1
        self.pending = {}
        self.to_evaluate = []
        self.cache_hits_pending = 0
        self.generation += 1
        return entry

    # --- results --------------------------------------------------------------------------------------------------
    @property
    def best_energy(self) -> float | None:
        """Lowest finite energy evaluated so far (eV)."""
        values = [v["energy"] for v in self.cache.values() if v.get("energy") is not None]
        return min(values) if values else None

    def ranking(self, limit: int | None = None) -> list[dict]:
        """Evaluated arrangements (finite energies), lowest first: ``{key, removed, energy, generation, ref}``."""
        rows = [{"key": k, **v} for k, v in self.cache.items() if v.get("energy") is not None]
        rows.sort(key=lambda r: r["energy"])
        return rows[:limit] if limit is not None else rows

    @property
    def n_evaluations(self) -> int:
        """Arrangements evaluated (failed ones included)."""
        return sum(entry["n_evaluated"] for entry in self.history)
