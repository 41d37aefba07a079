"""Processed-data writers of lps.xas and lps.mlip.active_learning on real output nodes.

The XAS outputs come from the real ``lps.xas.site_average`` calcfunction on synthetic raw spectra; the active-learning
outputs are real ``lps.training_set``/``lps.potential``/Dict/ArrayData nodes. Running either work chain takes minutes,
so the work-chain node is stood in for by its output namespace (the names of the work chains' output specs).
"""

from __future__ import annotations

import csv
import json
import pathlib
import uuid

import numpy as np
from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import calcfunction

from aiida_lps.export.processed import write_active_learning, write_xas


class Outputs:
    """A process node's interface as the writers use it: outputs, label, UUID, process type."""

    def __init__(self, process_type: str, label: str, outputs: dict):
        self.process_type = process_type
        self.process_label = label
        self.uuid = str(uuid.uuid4())
        self.outputs = AttributeDict(outputs)


def read_csv(path: pathlib.Path) -> tuple[list[str], list[list[float]]]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.reader(lines))
    return rows[0], [[float(x) for x in row] for row in rows[1:]]


def test_xas_writer(aiida_profile, tmp_path):
    from aiida_lps.calcfunctions.xas import site_average

    energy = np.linspace(2460.0, 2490.0, 301)
    kwargs = {"ground_state_energy": orm.Float(-100.0), "ground_state_properties": orm.Dict({"n_atoms": 8})}
    for n, centre in ((1, 2470.0), (2, 2472.0)):
        raw = orm.ArrayData()
        raw.set_array("energy", energy)
        raw.set_array("mu", np.tile(np.exp(-(((energy - centre) / 1.5) ** 2))[:, None], (1, 3)))
        kwargs[f"spectrum_site_{n}"] = raw
        kwargs[f"energy_site_{n}"] = orm.Float(-97.5 + 0.2 * n)
        kwargs[f"properties_site_{n}"] = orm.Dict({"raw_onset": centre - 2.0, "n_atoms": 8})
    site_table = orm.Dict({"sites": [{"label": "site_1", "multiplicity": 3}, {"label": "site_2", "multiplicity": 1}]})
    results = site_average(orm.Dict({}), site_table, **kwargs)
    outputs = {
        "site_table": site_table,
        "spectrum": results["spectrum"],
        "weights": results["weights"],
        "alignment": results["alignment"],
        "aligned": {"site_1": results["aligned_site_1"], "site_2": results["aligned_site_2"]},
    }
    written = write_xas(Outputs("aiida.workflows:lps.xas", "XasWorkChain", outputs), tmp_path)
    assert {p.name for p in written} == {
        "site_table.json", "spectrum_average.csv", "spectra_sites.csv", "weights.json", "alignment.json",
        "spectrum.png", "spectrum.pdf",
    }  # fmt: skip
    header, rows = read_csv(tmp_path / "spectrum_average.csv")
    assert header == ["energy_eV", "mu_average", "mu_x", "mu_y", "mu_z"]
    np.testing.assert_array_equal([r[0] for r in rows], results["spectrum"].get_array("energy"))
    np.testing.assert_array_equal([r[1] for r in rows], results["spectrum"].get_array("mu_average"))
    assert "energy in eV" in (tmp_path / "spectrum_average.csv").read_text()
    header, rows = read_csv(tmp_path / "spectra_sites.csv")
    assert header == ["energy_eV", "site_1", "site_2"]
    np.testing.assert_array_equal([r[2] for r in rows], results["aligned_site_2"].get_array("mu_average"))
    assert json.loads((tmp_path / "weights.json").read_text()) == results["weights"].get_dict()


def test_active_learning_writer(aiida_profile, tmp_path):
    from ase import Atoms
    from ase.io import read

    from aiida_lps.data.potential import InteratomicPotentialData
    from aiida_lps.data.training_set import TrainingSetData, atoms_with_labels

    rng = np.random.default_rng(0)

    def labelled(n: int):
        return [
            atoms_with_labels(
                Atoms("Li2S", positions=rng.random((3, 3)) * 3, cell=[4, 4, 4], pbc=True),
                energy=-3.0 - i,
                forces=rng.normal(size=(3, 3)),
            )  # fmt: skip
            for i in range(n)
        ]

    potential = InteratomicPotentialData(
        pair_style="snap",
        pair_coeff=["* * lps.snapcoeff lps.snapparam {elements}"],
        elements=["Li", "S"],
        cutoff=5.0,
        files={"lps.snapcoeff": "# coefficients\n", "lps.snapparam": "rcutfac 5.0\n"},
    )
    parity = orm.ArrayData()
    for prefix in ("train", "test"):
        parity.set_array(f"{prefix}_energy_reference", np.array([-3.0, -3.1]))
        parity.set_array(f"{prefix}_energy_predicted", np.array([-3.01, -3.08]))
        parity.set_array(f"{prefix}_force_reference", np.array([0.1, -0.2, 0.3]))
        parity.set_array(f"{prefix}_force_predicted", np.array([0.12, -0.18, 0.29]))
    metrics = {"iterations": [
        {"iteration": 0, "n_training": 4, "test_force_mae_eV_per_A": 0.2, "max_gamma": 3.0},
        {"iteration": 1, "n_training": 8, "test_force_mae_eV_per_A": 0.1, "max_gamma": 1.5},
    ]}  # fmt: skip
    outputs = {
        "training_set": TrainingSetData(labelled(4)),
        "test_set": TrainingSetData(labelled(2)),
        "potential": potential,
        "metrics": orm.Dict(metrics),
        "parity": parity,
    }
    node = Outputs("aiida.workflows:lps.mlip.active_learning", "ActiveLearningWorkChain", outputs)
    written = {p.relative_to(tmp_path).as_posix() for p in write_active_learning(node, tmp_path)}
    assert written == {
        "training_set.xyz", "test_set.xyz", "potential/lps.snapcoeff", "potential/lps.snapparam",
        "potential/potential.json", "metrics.json", "learning_curve.png", "learning_curve.pdf",
        "parity_train.png", "parity_train.pdf", "parity_test.png", "parity_test.pdf",
    }  # fmt: skip
    training = read(tmp_path / "training_set.xyz", index=":")
    assert [a.get_potential_energy() for a in training] == [-3.0, -4.0, -5.0, -6.0]
    assert (tmp_path / "potential" / "lps.snapparam").read_text() == "rcutfac 5.0\n"
    description = json.loads((tmp_path / "potential" / "potential.json").read_text())
    assert description["sha256"] == potential.sha256 and description["lammps_commands"][0] == "pair_style snap"


@calcfunction
def hull_layout(energies: orm.List) -> orm.Dict:
    """The layout of lps.convex_hull's ``result`` (entries by label, hull polyline, vertices, units; eV/atom)."""
    fractions = [0.0, 0.5, 0.6, 1.0]
    labels = ["P2S5", "Li3PS4", "Li7P3S11", "Li2S"]
    values = energies.get_list()
    return orm.Dict(
        {
            "units": {"formation_energy": "eV/atom", "e_above_hull": "eV/atom"},
            "tolerance_eV_per_atom": 1e-6,
            "entries": {
                label: {
                    "atom_fraction": f,
                    "x": f,
                    "formation_energy_per_atom": e,
                    "e_above_hull_per_atom": 0.0,
                    "stability": "stable",
                }  # fmt: skip
                for label, f, e in zip(labels, fractions, values, strict=True)
            },
            "vertices": labels,
            "hull": {"atom_fraction": fractions, "x": fractions, "formation_energy_per_atom": values},
        }
    )


def test_convex_hull_writer(aiida_profile, tmp_path):
    import importlib.util

    from aiida_lps.export.processed import write_convex_hull

    _, node = hull_layout.run_get_node(orm.List([0.0, -0.2, -0.15, 0.0]))
    written = {p.name for p in write_convex_hull(node, tmp_path)}
    assert {"result.json", "result_entries.csv", "result_hull.csv"} <= written
    header, rows = read_csv_text(tmp_path / "result_entries.csv")
    assert header[:3] == ["label", "atom_fraction", "x"] and [r[0] for r in rows] == [
        "P2S5",
        "Li3PS4",
        "Li7P3S11",
        "Li2S",
    ]
    assert float(rows[1][3]) == -0.2 and rows[1][5] == "stable"
    header, rows = read_csv_text(tmp_path / "result_hull.csv")
    assert header == ["atom_fraction", "x", "formation_energy_per_atom"] and len(rows) == 4
    assert "eV/atom" in (tmp_path / "result_entries.csv").read_text().splitlines()[1]
    has_plot = importlib.util.find_spec("aiida_lps.plotting_phase_diagram") is not None
    assert ("phase_diagram.png" in written) == has_plot


def read_csv_text(path: pathlib.Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(line for line in path.read_text().splitlines() if not line.startswith("#")))
    return rows[0], rows[1:]
