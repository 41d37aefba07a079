"""The GA core: exact counts, the symmetry-canonical key, composition resolution, the driver, bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from aiida_lps.science.genetic import (
    GASettings,
    GeneticSearch,
    RemovalProblem,
    reachable_compositions,
    resolve_target,
)
from aiida_lps.structures.reference import load_structure


@pytest.fixture(scope="module")
def li2s():
    return load_structure("Li2S")


@pytest.fixture(scope="module")
def beta_2x1():
    structure = load_structure("beta-Li3PS4")
    structure.make_supercell([2, 1, 1])
    return structure


def _counts(problem: RemovalProblem, mask: np.ndarray) -> dict[str, int]:
    symbols = np.array(problem.species)
    return {el: int(mask[symbols == el].sum()) for el in ("Li", "P", "S")}


def test_counts_exact_after_operators(beta_2x1):
    problem = RemovalProblem.from_structure(beta_2x1, n_li2s=2, n_p2s5=1)
    expected = {"Li": 4, "P": 2, "S": 7}
    rng = np.random.default_rng(1)
    for _ in range(200):
        first, second = problem.random_mask(rng), problem.random_mask(rng)
        child = problem.crossover(first, second, rng)
        assert _counts(problem, child) == expected
        mutated = problem.mutate(child, rng)
        assert _counts(problem, mutated) == expected
        assert (mutated != child).sum() in (0, 2)  # one swap (or none when a sublattice is fully removed)
        broken = rng.random(problem.n_sites) < 0.3
        assert _counts(problem, problem.repair(broken, rng)) == expected
        problem.check(mutated)


def test_local_mutation_moves_a_removed_site_to_a_near_site_of_its_element(beta_2x1):
    problem = RemovalProblem.from_structure(beta_2x1, n_li2s=2)
    symbols = np.array(problem.species)
    rng = np.random.default_rng(2)
    for n_neighbours in (1, 3):
        for _ in range(100):
            mask = problem.random_mask(rng)
            mutated = problem.mutate(mask, rng, n_neighbours)
            (left,), (entered,) = np.nonzero(mask & ~mutated)[0], np.nonzero(mutated & ~mask)[0]
            assert symbols[left] == symbols[entered]
            kept = np.nonzero((symbols == symbols[left]) & ~mask)[0]
            nearest = np.sort(problem.distances[left, kept])[n_neighbours - 1]
            assert problem.distances[left, entered] <= nearest + 1e-9
    # the hop list of an arrangement: every same-element swap once, shortest first
    mask = problem.random_mask(rng)
    moves = problem.local_moves(mask, rng)
    hops = [problem.distances[i, j] for i, j in moves]
    assert np.all(np.diff(np.round(hops, 6)) >= 0)
    expected = sum(int(mask[s].sum()) * int((~mask[s]).sum()) for s in problem.sublattices.values())
    assert len(set(moves)) == len(moves) == expected
    assert all(mask[i] and not mask[j] and symbols[i] == symbols[j] for i, j in moves)


def _coordinate_orbit_key(structure, problem, mask, operations):
    """Orbit of a mask by transforming coordinates (independent of the permutation tables)."""
    frac = structure.frac_coords % 1.0
    removed = frac[mask]
    images = []
    for op in operations:
        moved = (removed @ op.rotation_matrix.T + op.translation_vector) % 1.0
        delta = moved[:, None, :] - frac[None, :, :]
        delta -= np.round(delta)
        sites = np.linalg.norm(delta @ structure.lattice.matrix, axis=-1).argmin(axis=1)
        images.append(frozenset(sites.tolist()))
    return min(tuple(sorted(s)) for s in images)


@pytest.mark.parametrize("name", ["Li2S", "gamma-Li3PS4"])
def test_canonical_key_matches_brute_force_orbits(name):
    structure = load_structure(name)
    problem = RemovalProblem.from_structure(structure, n_li2s=1)
    operations = SpacegroupAnalyzer(structure, symprec=0.01).get_symmetry_operations(cartesian=False)
    li, s = problem.sublattices["Li"], problem.sublattices["S"]
    masks = [problem.mask([*pair, site]) for pair in itertools.combinations(li, 2) for site in s]
    keys = [problem.key(m) for m in masks]
    orbits = [_coordinate_orbit_key(structure, problem, m, operations) for m in masks]
    # same key <=> same orbit under the space group applied to coordinates
    assert len(set(keys)) == len(set(orbits))
    assert len(set(zip(keys, orbits, strict=True))) == len(set(keys))
    assert 1 < len(set(keys)) < len(masks)
    # invariance: every permuted image of a mask has the mask's key
    rng = np.random.default_rng(0)
    for mask in rng.choice(np.array(masks), 10, replace=False):
        for perm in problem.permutations[:: max(1, len(problem.permutations) // 16)]:
            image = np.zeros_like(mask)
            image[perm] = mask
            assert problem.key(image) == problem.key(mask)


def test_canonical_key_agrees_with_structure_matcher(li2s):
    from pymatgen.analysis.structure_matcher import StructureMatcher

    problem = RemovalProblem.from_structure(li2s, n_li2s=1)
    li, s = problem.sublattices["Li"], problem.sublattices["S"]
    by_key: dict[str, list] = {}
    for pair in itertools.combinations(li, 2):
        for site in s:
            mask = problem.mask([*pair, site])
            by_key.setdefault(problem.key(mask), []).append(mask)

    def vacancy_structure(mask):
        out = li2s.copy()
        out.remove_sites(list(np.nonzero(mask)[0]))
        return out

    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    representatives = [vacancy_structure(group[0]) for group in by_key.values()]
    for a, b in itertools.combinations(representatives, 2):
        assert not matcher.fit(a, b)
    for group in by_key.values():
        assert matcher.fit(vacancy_structure(group[0]), vacancy_structure(group[-1]))


def test_reachable_composition_resolution():
    counts = {"Li": 12, "P": 4, "S": 16}  # β-Li3PS4 cell, x = 0.75
    rows = reachable_compositions(counts)
    assert all((r["n_li2s"], r["n_p2s5"]) != (0, 0) for r in rows)
    chosen = resolve_target(counts, 0.7)
    assert (chosen["n_li2s"], chosen["n_p2s5"]) == (1, 0)
    assert chosen["x"] == pytest.approx(10 / 14)
    assert resolve_target(counts, 0.8)["x"] == pytest.approx(0.8)  # 2 Li2S + 1 P2S5: Li8P2S9
    chosen = resolve_target(counts, 0.86)
    assert (chosen["n_li2s"], chosen["n_p2s5"]) == (0, 1)
    assert chosen["x"] == pytest.approx(12 / 14)
    with pytest.raises(ValueError, match="unreachable"):
        resolve_target(counts, 0.93, tolerance=0.02)
    with pytest.raises(ValueError, match="outside"):
        resolve_target(counts, 1.2)
    with pytest.raises(ValueError, match="not on the Li2S"):
        resolve_target({"Li": 3, "P": 1, "S": 5}, 0.5)


def test_bad_input_names_the_problem(li2s, beta_2x1):
    with pytest.raises(ValueError, match="takes 10 Li atoms, but the parent holds only 8"):
        RemovalProblem.from_structure(li2s, n_li2s=5)
    with pytest.raises(ValueError, match="takes 2 P atoms, but the parent holds only 0"):
        RemovalProblem.from_structure(li2s, n_p2s5=1)
    with pytest.raises(ValueError, match="nothing to remove"):
        RemovalProblem.from_structure(beta_2x1)
    with pytest.raises(ValueError, match="n_li2s must be a non-negative"):
        RemovalProblem.from_structure(beta_2x1, n_li2s=-1)
    with pytest.raises(ValueError, match="symprec"):
        RemovalProblem.from_structure(beta_2x1, n_li2s=1, symprec=-0.1)
    with pytest.raises(ValueError, match="population_size"):
        GASettings(population_size=1)
    with pytest.raises(ValueError, match="mutation_rate"):
        GASettings(mutation_rate=-0.1)
    with pytest.raises(ValueError, match="stall_tolerance"):
        GASettings(stall_tolerance=-1.0)
    with pytest.raises(ValueError, match="n_elite"):
        GASettings(population_size=4, n_elite=4)
    with pytest.raises(ValueError, match="n_refine"):
        GASettings(n_refine=-1)
    with pytest.raises(ValueError, match="selection"):
        GASettings(selection="best")
    with pytest.raises(ValueError, match="n_offspring"):
        GASettings(n_offspring=0)
    with pytest.raises(ValueError, match="must not exceed n_offspring"):
        GASettings(n_offspring=2, n_refine=4)
    with pytest.raises(ValueError, match="mutation must be one of"):
        GASettings(mutation="flip")
    with pytest.raises(ValueError, match="n_neighbours"):
        GASettings(n_neighbours=0)
    with pytest.raises(ValueError, match="unknown GA setting"):
        GASettings.from_dict({"populaton_size": 8})
    with pytest.raises(ValueError, match="seeds"):
        GASettings(seeds=[1, 1])


def _pair_energy(structure):
    """A toy fitness: removed sites attract each other (exp(−d/2) per pair); ground state = clustered vacancies."""
    distances = structure.distance_matrix

    def energy(removed):
        r = np.asarray(removed)
        return float(-np.triu(np.exp(-distances[np.ix_(r, r)] / 2.0), 1).sum())

    return energy


@pytest.mark.parametrize(
    ("selection", "scheme"),
    [
        ("tournament", {}),
        ("roulette", {}),
        ("tournament", {"n_offspring": 4, "n_refine": 2}),
        ("tournament", {"mutation": "swap"}),
    ],
)
def test_driver_finds_enumerated_minimum_without_reevaluation(beta_2x1, selection, scheme):
    problem = RemovalProblem.from_structure(beta_2x1, n_li2s=1)
    energy = _pair_energy(beta_2x1)
    li, s = problem.sublattices["Li"], problem.sublattices["S"]
    distinct = {}
    for pair in itertools.combinations(li, 2):
        for site in s:
            removed = [*pair, site]
            distinct.setdefault(problem.key(problem.mask(removed)), energy(removed))
    minimum = min(distinct.values())

    settings = GASettings(
        population_size=12, max_generations=30, stall_generations=10, selection=selection, seeds=[0, 1, 2], **scheme
    )
    search = GeneticSearch(problem, settings)
    seen, best_so_far = set(), np.inf
    while not search.done:
        batch = search.propose_generation()
        keys = [problem.key(problem.mask(r)) for r in batch]
        assert not seen & set(keys) and len(set(keys)) == len(keys)  # nothing evaluated twice
        seen |= set(keys)
        entry = search.tell([energy(r) for r in batch])
        assert entry["best"] <= best_so_far + 1e-12  # elitism keeps the best
        best_so_far = entry["best"]
        search = GeneticSearch.from_dict(problem, json.loads(json.dumps(search.to_dict())))
    assert search.best_energy == pytest.approx(minimum)
    assert search.n_evaluations < len(distinct)
    assert search.stop_reason is not None


def test_failed_evaluations_get_infinite_fitness_and_state_round_trip(beta_2x1):
    problem = RemovalProblem.from_structure(beta_2x1, n_li2s=1)
    energy = _pair_energy(beta_2x1)
    settings = GASettings(population_size=6, max_generations=3, seeds=[0, 1])

    def run(round_trip: bool):
        search = GeneticSearch(problem, settings)
        entries = []
        while not search.done:
            batch = search.propose_generation()
            energies = [None if i % 4 == 0 else energy(r) for i, r in enumerate(batch)]
            entries.append(search.tell(energies))
            if round_trip:
                search = GeneticSearch.from_dict(problem, json.loads(json.dumps(search.to_dict())))
        return search, entries

    plain, entries = run(False)
    restored, restored_entries = run(True)
    assert entries == restored_entries  # the JSON state carries everything (deterministic per seed and generation)
    assert len(entries) == 3 and plain.stop_reason.startswith("generation limit")
    assert all(e["n_failed"] >= 1 for e in entries if e["n_evaluated"])
    assert all(row["energy"] is not None for row in plain.ranking())
    assert set(entries[0]["best_per_seed"]) == {"0", "1"}
    with pytest.raises(RuntimeError, match="stopped"):
        plain.propose_generation()


def test_steady_state_evaluates_only_new_offspring_and_keeps_the_best(beta_2x1):
    problem = RemovalProblem.from_structure(beta_2x1, n_li2s=1)
    energy = _pair_energy(beta_2x1)
    settings = GASettings(population_size=8, n_offspring=3, n_refine=1, max_generations=12, seeds=[4, 5])
    search = GeneticSearch(problem, settings)
    seen: dict[str, float] = {}
    lineage = {seed: set() for seed in ("4", "5")}
    first = True
    while not search.done:
        batch = search.propose_generation()
        keys = [problem.key(problem.mask(r)) for r in batch]
        assert not set(keys) & set(seen) and len(set(keys)) == len(keys)  # children never evaluated before
        # the initial population is population_size distinct arrangements per seed; later n_offspring per seed
        per_seed = settings.population_size if first else settings.n_offspring
        assert len(batch) <= len(settings.seeds) * per_seed
        assert all(len(set(members)) == len(members) for members in search.pending.values())
        energies = [energy(r) for r in batch]
        seen.update(zip(keys, energies, strict=True))
        search.tell(energies)
        for seed, members in search.populations.items():
            assert len(members) == settings.population_size
            lineage[seed] |= set(members)
            # survivors: the population_size best of everything this seed has held (parents and children)
            ranked = sorted(lineage[seed], key=lambda k: seen[k])[: settings.population_size]
            assert sorted(seen[k] for k in members) == pytest.approx(sorted(seen[k] for k in ranked))
            lineage[seed] = set(members)
        first = False
        search = GeneticSearch.from_dict(problem, json.loads(json.dumps(search.to_dict())))
    assert search.n_evaluations == len(seen)
    assert [h["n_evaluated"] for h in search.history][1:] == [len(settings.seeds) * 3] * (search.generation - 1)
