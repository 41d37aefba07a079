"""``lps.xas`` with engine ``vasp`` on the 11 recorded Li7P3S11 core-hole runs and their ground state (replayed).

The work chain generates the POSCAR/INCAR/KPOINTS of every run; the replay code only finds a recorded run if
they reproduce the published inputs (cell, absorber-first species blocks, positions, INCAR physics tags, k-mesh).
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil

import ase.io
import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching

from aiida_lps.engines.vasp import outputs
from aiida_lps.engines.vasp.xch import read_xch_outcar
from aiida_lps.science import xas
from aiida_lps.testing import REPLAY_PARSER_SETTINGS, fake_potcar_family, replay_code
from aiida_lps.workflows.xas import XasWorkChain

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
GROUND_REGISTRY = DATA / "vasp"  # ground_state of the same structure (vasp-xch-Li7P3S11/ground_state)
SITES = DATA / "xas" / "vasp-xch-Li7P3S11-sites"
CONTCAR = DATA / "xas" / "structures" / "CONTCAR_Li7P3S11"
VASP_CALCULATION = "aiida.calculations:vasp.vasp"
NORMALISER = "aiida_lps.dft.vasp.normalise_vasp_xch"  # the one parse of each OUTCAR, cached with its CalcJob
LOCAL = {"withmpi": False, "resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}}


def _e0(folder: pathlib.Path) -> float:
    return outputs.read_oszicar(folder / "OSZICAR")[-1]["E0"]


@pytest.fixture
def lda_family(tmp_path) -> str:
    """Fake LDA POTCARs (headers only) with the ZVALs of the recorded runs: GW for the core-hole runs, the
    standard Li/P/S for the ground state (the published ground state used them, at ENCUT 520 eV)."""
    zval = {"Li_GW": 1, "P_GW": 5, "S_GW": 6, "Li": 1, "P": 5, "S": 6}
    potcars = {symbol: {"titel": f"PAW {symbol} FAKE", "zval": z, "lexch": "CA"} for symbol, z in zval.items()}
    return fake_potcar_family("LPS-TEST-FAKE-LDA-XAS", potcars, tmp_path / "potcars")


def _builder(code, family, structure):
    overrides = {
        "parameters": {"ground_state_cell": "unit_cell"},  # the published ground state is the 42-atom cell
        "engines": {"vasp": {
            "xch": {"potential_family": family, "max_iterations": 1,
                    "settings": {"parser_settings": REPLAY_PARSER_SETTINGS}},  # the recordings have no vasprun.xml
            # ... computed with other POTCARs, ENCUT 520 eV and VASP's automatic k-mesh R_k = 25 Å
            "ground_state": {"incar": {"encut": 520}, "kpoints_length": 25.0,
                             "potential_mapping": {"Li": "Li", "P": "P", "S": "S"}},
        }},
    }  # fmt: skip
    return XasWorkChain.get_builder_from_protocol(code, structure, overrides=overrides, options=LOCAL, engine="vasp")


@contextlib.contextmanager
def _caching():
    """AiiDA caching of the VASP CalcJobs and of the OUTCAR parser calcfunction (see docs/xas.md)."""
    with enable_caching(identifier=VASP_CALCULATION), enable_caching(identifier=NORMALISER):
        yield


def _calculations(node: orm.WorkflowNode) -> dict[str, orm.CalcJobNode]:
    """The VASP calculation of each run (``ground_state``, ``xch_site_<n>``) called by the ``lps.xas`` ``node``."""
    links = node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()
    return {link.link_label: link.node.called[-1] for link in links}


def _replayed_run(node: orm.WorkflowNode, label: str) -> str:
    """What the replay code printed for the run called ``label`` by ``node``."""
    return _calculations(node)[label].outputs.retrieved.get_object_content("vasp_output")


def test_li7p3s11_xas_replayed_with_failure_and_cached_rerun(aiida_localhost, lda_family, tmp_path):
    aiida_localhost.set_minimum_job_poll_interval(0.0)
    structure = orm.StructureData(ase=ase.io.read(CONTCAR, format="vasp"))

    # 1. a registry without site_11: its run fails, the ground state and the other 10 sites are kept
    partial = tmp_path / "partial"
    shutil.copytree(SITES, partial, ignore=shutil.ignore_patterns("site_11"))
    code = replay_code(aiida_localhost, [GROUND_REGISTRY, partial], directory=tmp_path / "bin", label="replay")
    with _caching():
        _, failed = run_get_node(_builder(code, lda_family, structure))
    assert failed.exit_status == XasWorkChain.exit_codes.ERROR_SITES_FAILED.status
    assert "['site_11']" in failed.exit_message and "site_10" in failed.exit_message
    raw = failed.outputs.raw
    assert "ground_state_energy" in raw and "spectrum_site_10" in raw and "spectrum_site_11" not in raw
    assert "spectrum" not in failed.outputs

    # 2. once site_11 is recorded, a rerun of the same inputs with caching takes the 11 finished runs from the
    # cache (AiiDA does not reuse the failed one: its exit code invalidates the cache) and runs only site_11
    shutil.copytree(SITES / "site_11", partial / "site_11")
    with _caching():
        results, node = run_get_node(_builder(code, lda_family, structure))
    assert node.is_finished_ok, node.exit_message
    calculations = _calculations(node)
    assert len(calculations) == 12
    sources = {label: calc.base.caching.get_cache_source() for label, calc in calculations.items()}
    assert [label for label, source in sources.items() if source is None] == ["xch_site_11"]
    # each run's OUTCAR was parsed once, by one normalise_vasp_xch calcfunction that made the nodes used
    normalisers = [called for called in node.called if called.process_label == "normalise_vasp_xch"]
    assert sorted(n.inputs.retrieved.uuid for n in normalisers) == sorted(
        calc.outputs.retrieved.uuid for calc in calculations.values()
    )
    # the OUTCARs of the 11 reused runs were not read again: their parses came from the cache as well
    assert sum(1 for n in normalisers if n.base.caching.get_cache_source()) == 11
    first = {calc.uuid: label for label, calc in _calculations(failed).items()}
    assert all(first[source] == label for label, source in sources.items() if source is not None)
    assert "replayed recorded run" in _replayed_run(node, "xch_site_11") and "site_11" in _replayed_run(
        node, "xch_site_11"
    )
    for number in range(1, 11):  # each site of the first run found its own recording
        assert f"site_{number}\n" in _replayed_run(failed, f"xch_site_{number}") + "\n"

    # site table: 11 inequivalent S, two each, 1x2x1 supercell of 84 atoms
    table = results["site_table"].get_dict()
    assert [row["label"] for row in table["sites"]] == [f"site_{n}" for n in range(1, 12)]
    assert all(row["multiplicity"] == 2 for row in table["sites"]) and table["repetitions"] == [1, 2, 1]
    assert table["n_atoms_supercell"] == 84 and table["n_atoms_ground_state"] == 42

    # alignment: ΔSCF = E0(site) − 2·E0(ground state) from the OSZICARs; first transition at ΔSCF
    alignment = results["alignment"].get_dict()["sites"]
    e0_gs = _e0(GROUND_REGISTRY / "vasp-xch-Li7P3S11" / "ground_state")
    deltas = []
    for number in range(1, 12):
        label, folder = f"site_{number}", SITES / f"site_{number}"
        parsed = read_xch_outcar(folder / "OUTCAR.bz2")
        delta = _e0(folder) - 2 * e0_gs
        deltas.append(delta)
        assert alignment[label]["delta_scf"] == pytest.approx(delta, abs=2e-5)
        assert alignment[label]["raw_onset"] == pytest.approx(parsed["fermi_energy"] - parsed["ecore"])
        assert alignment[label]["aligned_onset"] == pytest.approx(delta, abs=2e-5)
        # xas-tools: E_raw + ΔE, i.e. our onset + (E_F − ECORE)
        assert alignment[label]["xas_tools_onset"] == pytest.approx(delta + parsed["fermi_energy"] - parsed["ecore"])
        assert np.allclose(
            xas.xas_tools_energies(parsed["spectrum_energy"], _e0(folder), e0_gs, 84, 42),
            parsed["spectrum_energy"] + delta,
        )
    assert 10.9 < min(deltas) and max(deltas) < 11.8  # engineering notes: 10.94–11.74 eV
    ours = np.array([alignment[f"site_{n}"]["aligned_onset"] for n in range(1, 12)])
    theirs = np.array([alignment[f"site_{n}"]["xas_tools_onset"] for n in range(1, 12)])
    relative = (theirs - theirs.mean()) - (ours - ours.mean())  # = E_F,i − mean(E_F): Fermi levels of the runs
    assert np.abs(relative).max() < 0.35

    # averaged spectrum: equal weights, mean of the aligned and broadened site spectra on one grid
    weights = results["weights"].get_dict()["weights"]
    assert weights == pytest.approx({f"site_{n}": 1 / 11 for n in range(1, 12)})
    average = results["spectrum"]
    grid, mu = average.get_array("energy"), average.get_array("mu")
    assert mu.shape == (len(grid), 3) and np.allclose(average.get_array("mu_average"), mu.mean(axis=1))
    sites = [results["aligned"][f"site_{n}"].get_array("mu") for n in range(1, 12)]
    assert np.allclose(mu, np.mean(sites, axis=0))
    assert grid[0] < ours.min() - 4.9 and grid[-1] > ours.max() + 34.9
    # the average rises at the onsets: little intensity 3 eV below the lowest one, a peak within 10 eV above
    peak = grid[np.argmax(average.get_array("mu_average"))]
    assert ours.min() < peak < ours.max() + 10
    assert average.get_array("mu_average")[grid < ours.min() - 3].max() < 0.1 * average.get_array("mu_average").max()

    # provenance: lps.xas.site_average took the 11 raw spectra
    creator = average.creator
    assert creator.process_type == "aiida.calculations:lps.xas.site_average"
    spectra = [link.link_label for link in creator.base.links.get_incoming().all()
               if link.link_label.startswith("spectrum_")]  # fmt: skip
    assert sorted(spectra) == sorted(f"spectrum_site_{n}" for n in range(1, 12))
