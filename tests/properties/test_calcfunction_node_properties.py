"""Property-based bad-input suites on the calcfunction NODES (hypothesis): each calcfunction runs as a process on the
test profile with generated inputs (empty, NaN, wrong-shape, wrong-type, absurd), and must end either finished ok or
with exit status 300 and a message, never Excepted, and a failed node has no output links (nothing half-written).
An input the AiiDA data types themselves refuse (before a node exists) counts as an input-time validation error.

Case counts (``max_examples``): 200 per suite, except ``lps.xas.site_average`` and ``lps.formation_energy`` (100:
their cases build the most nodes) and ``lps.structure_similarity`` (40: every case that reaches the descriptors runs
LAMMPS ``compute sna/atom``). The generated cases run without storing provenance (``store_provenance=False``: nodes
stay in memory, which keeps a suite near a minute); ``test_failed_nodes_store_no_outputs`` stores failed nodes and
checks the database for output links.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from aiida.common.links import LinkType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("aiida_profile")

SUITE = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
#: the two suites whose cases build the most nodes (structures, spectra) run 100 cases to stay near a minute
SMALLER_SUITE = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0.0, -1.0, 1e300, -1e-300, 1e-12]),
)
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=4), numbers, st.lists(numbers, max_size=2), st.just({}))

#: exceptions the AiiDA data types raise for values they cannot hold (before any calcfunction node exists)
NODE_ERRORS = (ValueError, TypeError, AttributeError, OverflowError)


def run_node(function, *args, store: bool = False, **kwargs):
    """Run ``function`` as a process; check the outcome is ok or exit 300 with a message and no outputs.

    :param store: store the provenance (slow: every case writes its nodes) and check the database's output links;
        without it the nodes stay in memory and the outputs the process returned are checked.
    :returns: (process node, outputs), or ``(None, None)`` when the inputs were refused at input time (a clear
        validation error).
    """
    from aiida.common.exceptions import ValidationError

    try:
        results, node = function.run_get_node(*args, metadata={"store_provenance": store}, **kwargs)
    except (ValueError, TypeError, ValidationError) as exception:  # input validation of the process (no node run)
        assert str(exception)
        return None, None
    assert not node.is_excepted, f"{node.process_label} excepted: {node.exception}"
    assert node.is_finished
    if not node.is_finished_ok:
        assert node.exit_status == 300 and node.exit_message, (node.exit_status, node.exit_message)
        assert not results, f"failed {node.process_label} returned outputs {sorted(results)}"
        if store:
            created = node.base.links.get_outgoing(link_type=LinkType.CREATE).all()
            assert not created, f"failed {node.process_label} left outputs {[link.link_label for link in created]}"
    return node, results


def output(results, name: str = "result"):
    """One output of a finished calcfunction: ``results`` is the node itself when it returned a single node."""
    return results[name] if isinstance(results, dict) else results


def build(factory, *args):
    """A data node, or ``None`` if its type refuses the value (its own input-time validation)."""
    try:
        return factory(*args)
    except NODE_ERRORS:
        return None


# ------------------------------------------------------------------------------------------------ lps.arrhenius
@SUITE
@given(
    st.lists(numbers, max_size=5),
    st.lists(numbers, max_size=5),
    st.one_of(st.none(), st.lists(numbers, max_size=5)),
    st.one_of(st.none(), numbers),
)
def test_arrhenius_node(temperatures, diffusivities, errors, target):
    from aiida import orm

    from aiida_lps.calcfunctions.arrhenius import arrhenius_fit

    inputs = {"temperatures": build(orm.List, temperatures), "diffusivities": build(orm.List, diffusivities)}
    if errors is not None:
        inputs["diffusivity_errors"] = build(orm.List, errors)
    if target is not None:
        inputs["target_temperature"] = build(orm.Float, target)
    if any(v is None for v in inputs.values()):
        return
    node, results = run_node(arrhenius_fit, **inputs)
    if node is not None and node.is_finished_ok:
        fit = output(results).get_dict()["diffusivity"]
        assert fit["activation_energy"] is not None and math.isfinite(fit["activation_energy"])


# ------------------------------------------------------------------------------------------------ lps.xas.site_average
spectrum_arrays = st.fixed_dictionaries(
    {
        "energy": st.one_of(
            st.just(np.linspace(2460.0, 2490.0, 31)),
            st.just(np.linspace(2490.0, 2460.0, 31)),  # decreasing axis
            st.just(np.array([])),
            st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=6).map(np.array),
        ),
        "mu": st.one_of(
            st.just(np.ones((31, 3))),
            st.just(np.full((31, 3), np.nan)),
            st.just(np.ones(31)),
            st.just(np.zeros((0, 3))),
            st.lists(st.floats(allow_nan=True, width=32), max_size=6).map(np.array),
        ),
    }
)
properties = st.dictionaries(st.sampled_from(["raw_onset", "n_atoms", "reference_energy", "nattoms"]), junk, max_size=3)
average_parameters = st.dictionaries(
    st.sampled_from(["grid", "broadening", "calibration_shift", "grd"]),
    st.one_of(
        junk,
        st.dictionaries(
            st.sampled_from(["step", "below", "above", "gaussian_fwhm", "lorentzian_fwhm", "lorentzian_slope", "x"]),
            numbers,
            max_size=3,
        ),
    ),
    max_size=2,
)


@SMALLER_SUITE
@given(
    st.lists(st.tuples(spectrum_arrays, numbers, properties, junk), min_size=0, max_size=2),
    numbers,
    properties,
    average_parameters,
    st.booleans(),
)
def test_site_average_node(sites, ground_energy, ground_properties, parameters, drop_site_row):
    from aiida import orm

    from aiida_lps.calcfunctions.xas import site_average

    kwargs = {
        "ground_state_energy": build(orm.Float, ground_energy),
        "ground_state_properties": build(orm.Dict, ground_properties),
    }
    rows = []
    for n, (arrays, energy, props, multiplicity) in enumerate(sites, start=1):
        spectrum = orm.ArrayData()
        for name, values in arrays.items():
            spectrum.set_array(name, np.asarray(values, dtype=float))
        kwargs[f"spectrum_site_{n}"] = spectrum
        kwargs[f"energy_site_{n}"] = build(orm.Float, energy)
        kwargs[f"properties_site_{n}"] = build(orm.Dict, props)
        if not (drop_site_row and n == 1):
            rows.append({"label": f"site_{n}", "multiplicity": multiplicity})
    table, params = build(orm.Dict, {"sites": rows}), build(orm.Dict, parameters)
    if table is None or params is None or any(v is None for v in kwargs.values()):
        return
    node, results = run_node(site_average, params, table, **kwargs)
    if node is not None and node.is_finished_ok:
        assert np.all(np.isfinite(results["spectrum"].get_array("mu")))


def test_site_average_node_valid_case_finishes_ok():
    """The generator above reaches the success path too: a well-formed two-site input averages."""
    from aiida import orm

    from aiida_lps.calcfunctions.xas import site_average

    energy = np.linspace(2460.0, 2490.0, 61)
    kwargs = {"ground_state_energy": orm.Float(-100.0), "ground_state_properties": orm.Dict({"n_atoms": 8})}
    for n in (1, 2):
        spectrum = orm.ArrayData()
        spectrum.set_array("energy", energy)
        spectrum.set_array("mu", np.tile(np.exp(-(((energy - 2470.0 - n) / 1.5) ** 2))[:, None], (1, 3)))
        kwargs[f"spectrum_site_{n}"] = spectrum
        kwargs[f"energy_site_{n}"] = orm.Float(-97.5)
        kwargs[f"properties_site_{n}"] = orm.Dict({"raw_onset": 2468.0, "n_atoms": 8})
    table = orm.Dict({"sites": [{"label": "site_1", "multiplicity": 2}, {"label": "site_2", "multiplicity": 1}]})
    node, results = run_node(site_average, orm.Dict({}), table, **kwargs)
    assert node.is_finished_ok and np.all(np.isfinite(results["spectrum"].get_array("mu_average")))


# ------------------------------------------------------------------------------------------------ lps.formation_energy
def _structure(counts: dict[str, int], length: float):
    from aiida import orm

    structure = orm.StructureData(cell=np.eye(3) * length)
    position = 0
    for symbol, count in counts.items():
        for _ in range(count):
            structure.append_atom(position=(0.1 * position, 0.0, 0.0), symbols=symbol)
            position += 1
    return structure


compositions = st.dictionaries(st.sampled_from(["Li", "P", "S", "O", "Ar"]), st.integers(1, 6), min_size=1, max_size=3)


@SMALLER_SUITE
@given(
    st.one_of(st.just({"Li": 3, "P": 1, "S": 4}), compositions),  # biased to valid ones: the success path runs too
    numbers,
    st.one_of(st.just({"Li": 2, "S": 1}), compositions),
    numbers,
    st.one_of(st.just({"P": 2, "S": 5}), compositions),
    numbers,
)
def test_formation_energy_node(composition, energy, li2s, li2s_energy, p2s5, p2s5_energy):
    from aiida import orm

    from aiida_lps.calcfunctions.phase_diagram import formation_energy

    energies = [build(orm.Float, e) for e in (energy, li2s_energy, p2s5_energy)]
    if any(e is None for e in energies):
        return
    node, results = run_node(
        formation_energy,
        _structure(composition, 10.0),
        energies[0],
        _structure(li2s, 10.0),
        energies[1],
        _structure(p2s5, 10.0),
        energies[2],
    )
    if node is not None and node.is_finished_ok:
        value = output(results)["formation_energy_per_atom"]
        assert value is not None and math.isfinite(value)


# ------------------------------------------------------------------------------------------------ lps.convex_hull
hull_entry = st.dictionaries(
    st.sampled_from(["formation_energy_per_atom", "atom_fraction", "x", "energy"]), junk, max_size=3
)


@SUITE
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), hull_entry, max_size=4), st.one_of(st.none(), numbers))
def test_convex_hull_node(entries, tolerance):
    from aiida import orm

    from aiida_lps.calcfunctions.phase_diagram import convex_hull

    nodes = {label: build(orm.Dict, entry) for label, entry in entries.items()}
    if any(v is None for v in nodes.values()):
        return
    if tolerance is not None:
        nodes["tolerance"] = build(orm.Float, tolerance)
        if nodes["tolerance"] is None:
            return
    node, results = run_node(convex_hull, **nodes)
    if node is not None and node.is_finished_ok:
        for row in output(results).get_dict()["entries"].values():
            assert row["e_above_hull_per_atom"] is not None and math.isfinite(row["e_above_hull_per_atom"])


# ------------------------------------------------------------------------------------------------ lps.partial_rdf
rdf_parameters = st.dictionaries(
    st.sampled_from(["pairs", "r_max", "bin_width", "smearing", "groups", "bins"]),
    st.one_of(
        junk,
        st.lists(st.lists(st.sampled_from(["Li", "S", "P", "Xx", ""]), max_size=3), max_size=2),
        st.dictionaries(st.sampled_from(["g1", "g2"]), st.lists(st.sampled_from(["s0", "s1", "s9"]), max_size=2)),
    ),
    max_size=3,
)


@SUITE
@given(rdf_parameters, st.integers(0, 2), st.sampled_from([4.0, 6.0]))
def test_partial_rdf_node(parameters, n_structures, length):
    from aiida import orm

    from aiida_lps.calcfunctions.similarity import partial_rdf

    params = build(orm.Dict, parameters)
    if params is None:
        return
    structures = {f"s{i}": _structure({"Li": 3, "P": 1, "S": 4}, length) for i in range(n_structures)}
    node, results = run_node(partial_rdf, params, **structures)
    if node is not None and node.is_finished_ok:
        arrays = output(results)
        assert all(np.all(np.isfinite(arrays.get_array(name))) for name in arrays.get_arraynames())


# ------------------------------------------------------------------------------------- lps.structure_similarity
similarity_parameters = st.dictionaries(
    st.sampled_from(["references", "species", "moments", "n_components", "n_clusters", "seed", "threshold", "x"]),
    st.one_of(junk, st.lists(st.sampled_from(["s0", "s1", "s7", "Li", "Xx"]), max_size=2)),
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(similarity_parameters, st.integers(0, 3))
def test_structure_similarity_node(parameters, n_structures):
    from aiida import orm

    from aiida_lps.calcfunctions.similarity import structure_similarity

    params = build(orm.Dict, {"references": ["s0"], "descriptor": {"twojmax": 2}, **parameters})
    if params is None:
        return
    structures = {f"s{i}": _structure({"Li": 2, "S": 1 + i % 2}, 4.0 + i) for i in range(n_structures)}
    run_node(structure_similarity, params, **structures)


# ------------------------------------------------------------------------------------------------ stored provenance
def test_failed_nodes_store_no_outputs():
    """With provenance stored, a failed calcfunction node has exit 300, a message and no output link in the database."""
    from aiida import orm

    from aiida_lps.calcfunctions.arrhenius import arrhenius_fit
    from aiida_lps.calcfunctions.phase_diagram import convex_hull, formation_energy
    from aiida_lps.calcfunctions.similarity import partial_rdf
    from aiida_lps.calcfunctions.xas import site_average

    li3ps4 = _structure({"Li": 3, "P": 1, "S": 4}, 10.0)
    cases = [
        (arrhenius_fit, (), {"temperatures": orm.List([700.0]), "diffusivities": orm.List([1e-5])}),
        (site_average, (orm.Dict({}), orm.Dict({"sites": []})), {}),
        (formation_energy, (_structure({"Li": 1, "S": 1}, 10.0), orm.Float(-1.0), li3ps4, orm.Float(-1.0),
                            li3ps4, orm.Float(-1.0)), {}),
        (convex_hull, (), {"a": orm.Dict({"formation_energy_per_atom": None, "atom_fraction": 0.5})}),
        (partial_rdf, (orm.Dict({"r_max": True}),), {"s0": li3ps4}),
    ]  # fmt: skip
    for function, args, kwargs in cases:
        node, _ = run_node(function, *args, store=True, **kwargs)
        assert node.is_stored and node.exit_status == 300, (function.__name__, node.exit_status, node.exit_message)
