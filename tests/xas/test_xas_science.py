"""Pure science of the XAS work chain: sites, supercells, alignment, broadening, averaging, VASP/GPAW readers."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from aiida_lps.calcfunctions.xas import SITE_DEFAULTS
from aiida_lps.engines.gpaw import xch as gpaw_xch
from aiida_lps.engines.vasp import xch as vasp_xch
from aiida_lps.protocols import default_inputs
from aiida_lps.science import xas
from aiida_lps.science.kpoints import mesh_from_spacing
from aiida_lps.science.supercell import minimum_repetitions
from aiida_lps.structures.reference import load_structure
from aiida_lps.testing.recorded import read_incar, read_kpoints_mesh, read_poscar

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
SITES = DATA / "xas" / "vasp-xch-Li7P3S11-sites"
GROUND = DATA / "vasp" / "vasp-xch-Li7P3S11" / "ground_state"
CONTCAR = DATA / "xas" / "structures" / "CONTCAR_Li7P3S11"
XCH_KPOINT_SPACING = default_inputs("xas")["engines"]["vasp"]["xch"]["kpoint_spacing"]  # Å⁻¹
#: the site-analysis settings of `lps.xas` (protocols/xas.yaml and SITE_DEFAULTS, their only source)
SETTINGS = {
    "symprec": SITE_DEFAULTS["symprec"],
    "angle_tolerance": SITE_DEFAULTS["angle_tolerance"],
    "neighbours": SITE_DEFAULTS["neighbours"],
    "cutoff": SITE_DEFAULTS["neighbour_cutoff"],
}


def _fwhm(grid: np.ndarray, y: np.ndarray) -> float:
    half = y.max() / 2
    above = np.where(y >= half)[0]
    left = np.interp(half, [y[above[0] - 1], y[above[0]]], [grid[above[0] - 1], grid[above[0]]])
    right = np.interp(half, [y[above[-1] + 1], y[above[-1]]], [grid[above[-1] + 1], grid[above[-1]]])
    return float(right - left)


# ------------------------------------------------------------------------------------------- sites


@pytest.mark.parametrize(("name", "expected"), [("Li2S", 1), ("beta-Li3PS4", 3), ("Li7P3S11", 11)])
def test_site_analysis_matches_pymatgen(name, expected):
    structure = load_structure(name)
    rows = xas.site_table(structure, "S", **{**SETTINGS, "symprec": 0.01})
    groups = [g for g in SpacegroupAnalyzer(structure, symprec=0.01).get_symmetrized_structure().equivalent_indices
              if structure[g[0]].specie.symbol == "S"]  # fmt: skip
    assert len(rows) == len(groups) == expected
    assert sorted(r["multiplicity"] for r in rows) == sorted(len(g) for g in groups)
    assert sum(r["multiplicity"] for r in rows) == structure.composition["S"]
    assert {tuple(r["equivalent_indices"]) for r in rows} == {tuple(sorted(g)) for g in groups}
    for row in rows:  # every S in these crystals has a P or Li neighbour within 3.2 Å
        env = row["environment"]
        assert env["P"]["count"] + env["Li"]["count"] >= 1
        assert env["Li"]["nearest"] is not None and env["Li"]["nearest"] > 2.0


def test_li2s_environment_is_eight_li_at_2_47_angstrom():
    row = xas.site_table(load_structure("Li2S"), "S", **SETTINGS)[0]
    assert row["multiplicity"] == 4 and row["environment"]["P"]["nearest"] is None
    assert row["environment"]["Li"]["count"] == 8
    assert row["environment"]["Li"]["nearest"] == pytest.approx(2.45, abs=0.05)


def test_user_sites_bypass_symmetry_and_bad_input_is_named():
    structure = load_structure("Li2S")
    s_indices = [i for i, site in enumerate(structure) if site.specie.symbol == "S"]
    rows = xas.site_table(structure, "S", sites={s_indices[0]: 3, s_indices[1]: 1}, **SETTINGS)
    assert [(r["index"], r["multiplicity"], r["method"]) for r in rows] == [
        (s_indices[0], 3, "user"), (s_indices[1], 1, "user")]  # fmt: skip
    with pytest.raises(ValueError, match="has no P atom"):
        xas.site_table(structure, "P", **SETTINGS)
    with pytest.raises(ValueError, match="is not a S atom"):
        xas.site_table(structure, "S", sites=[0 if structure[0].specie.symbol != "S" else 1], **SETTINGS)
    assert xas.has_core_1s("S") and xas.has_core_1s("Li") and not xas.has_core_1s("H") and not xas.has_core_1s("X")


def test_li7p3s11_sites_and_supercells_reproduce_the_published_inputs():
    """The 11 groups in the published order; the 1x2x1 supercell (faces >= 10 Å) in the standard orientation with
    the absorber first is the POSCAR of each recorded core-hole run (cell and positions to 1e-5 Å)."""
    structure = Structure.from_file(CONTCAR)
    rows = xas.site_table(structure, "S", **SETTINGS)
    assert len(rows) == 11 and all(r["multiplicity"] == 2 for r in rows)
    repetitions = minimum_repetitions(structure.lattice.matrix, 10.0)
    assert repetitions == (1, 2, 1)
    for number, row in enumerate(rows, start=1):
        supercell, original = xas.supercell_with_absorber(structure, repetitions, row["index"])
        assert original == 2 * row["index"]
        recorded = read_poscar(SITES / f"site_{number}" / "POSCAR")
        assert recorded.blocks == [("S", 1), ("Li", 28), ("P", 12), ("S", 43)]
        assert np.allclose(supercell.lattice.matrix, recorded.cell, atol=1e-5)
        assert supercell[0].specie.symbol == "S" and supercell.site_properties["absorber"][0]
        diff = supercell.frac_coords - recorded.frac
        diff -= np.round(diff)
        assert np.abs(diff @ recorded.cell).max() < 1e-5  # same order, too
        assert read_kpoints_mesh(SITES / f"site_{number}" / "KPOINTS", recorded.cell) == (
            "gamma",
            mesh_from_spacing(supercell.lattice.matrix, XCH_KPOINT_SPACING),
        )


def test_standard_orientation_keeps_the_lattice():
    cell = np.array([[4.0, 0.3, -0.2], [1.0, 5.0, 0.4], [-0.5, 0.8, 6.0]])
    rotated = xas.standard_orientation(cell)
    assert np.allclose(rotated @ rotated.T, cell @ cell.T)  # same lengths and angles
    assert rotated[0, 1] == rotated[0, 2] == rotated[1, 2] == 0.0


# ------------------------------------------------------------------------------------------- alignment


def test_delta_scf_scales_a_smaller_ground_state_cell():
    assert xas.delta_scf(-396.0, -203.5, 84, 42) == pytest.approx(-396.0 + 2 * 203.5)
    assert xas.delta_scf(-10.0, -4.0, 6, 3, reference_xch=-100.0, reference_gs=-45.0) == pytest.approx(-110 + 98)
    with pytest.raises(ValueError, match="not a repetition"):
        xas.delta_scf(-1.0, -1.0, 10, 4)


def test_alignment_puts_the_first_transition_on_the_delta_scf_energy():
    raw = np.array([2396.8, 2397.3, 2400.0])
    aligned = xas.align_energies(raw, raw_onset=2396.8, delta_e=11.0, calibration=2460.0)
    assert aligned[0] == pytest.approx(2471.0) and np.allclose(np.diff(aligned), np.diff(raw))
    # xas-tools keeps the raw onset: E + ΔE
    assert np.allclose(xas.xas_tools_energies(raw, -396.0, -203.5, 84, 42), raw + 11.0)
    assert xas.first_transition(np.arange(5.0), np.array([0, 0, 1e-6, 1, 2])) == 3.0


# ------------------------------------------------------------------------------------------- broadening


def test_gaussian_fwhm_and_area():
    grid = np.arange(-10, 10, 0.01)
    y = xas.broaden([0.0], [2.0], grid, gaussian_fwhm=0.5, lorentzian_fwhm0=0.0, sticks=True)
    assert np.trapezoid(y, grid) == pytest.approx(2.0, rel=1e-6)
    assert _fwhm(grid, y) == pytest.approx(0.5, abs=0.01)


def test_lorentzian_fwhm_area_and_energy_dependence():
    grid = np.arange(-60, 60, 0.01)
    y = xas.broaden([0.0], [1.0], grid, gaussian_fwhm=0.0, lorentzian_fwhm0=0.59, sticks=True)
    assert _fwhm(grid, y) == pytest.approx(0.59, abs=0.01)
    tail = 0.59 / (np.pi * 60)  # area of a Lorentzian beyond ±60 eV
    assert np.trapezoid(y, grid) == pytest.approx(1.0 - tail, abs=2e-4)
    # Γ(E) = Γ0 + a (E - E_cbm): a stick 10 eV above the onset is 1 eV wider with a = 0.1
    y10 = xas.broaden([10.0], [1.0], grid, gaussian_fwhm=0.0, lorentzian_fwhm0=0.59, slope=0.1, e_cbm=0.0,
                      sticks=True)  # fmt: skip
    assert _fwhm(grid, y10) == pytest.approx(1.59, abs=0.01)
    assert np.allclose(xas.lorentzian_fwhm([-1.0, 0.0, 5.0], 0.0, 0.59, 0.2), [0.59, 0.59, 1.59])


def test_voigt_of_a_raw_curve_conserves_area_on_a_coarse_grid():
    """A raw spectrum on VASP's 0.285 eV grid, broadened onto 0.05 eV: area kept (up to the Lorentzian tail)."""
    energy = np.arange(2390.0, 2440.0, 0.2855)
    mu = np.exp(-0.5 * ((energy - 2410) / 2.0) ** 2)[:, None] * np.array([1.0, 2.0, 3.0])
    grid = xas.common_grid([2400.0], step=0.05, below=200.0, above=230.0)
    y = xas.broaden(energy, mu, grid, 0.5, 0.59, 0.1, e_cbm=2400.0)
    assert y.shape == (len(grid), 3)
    area_raw = np.trapezoid(mu, energy, axis=0)
    assert np.allclose(np.trapezoid(y, grid, axis=0), area_raw, rtol=5e-3)


# ------------------------------------------------------------------------------------------- averaging


def test_interpolation_and_weighted_average():
    grid = np.linspace(0, 10, 101)
    a = xas.interpolate([0.0, 5.0, 10.0], [0.0, 5.0, 10.0], grid)
    assert np.allclose(a, grid)
    b = xas.interpolate([2.0, 4.0], np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]), grid)
    assert b.shape == (101, 3) and b[0].sum() == 0 and np.allclose(b[30], [1, 2, 3])
    average, weights = xas.weighted_average([np.ones(4), 3 * np.ones(4)], [2, 6])
    assert np.allclose(weights, [0.25, 0.75]) and np.allclose(average, 2.5)
    with pytest.raises(ValueError, match="positive"):
        xas.weighted_average([np.ones(2)], [0])
    grid = xas.common_grid([10.0, 12.0], step=0.1, below=2.0, above=3.0)
    assert grid[0] <= 8.0 and grid[-1] >= 15.0 and np.allclose(np.diff(grid), 0.1)


# ------------------------------------------------------------------------------------------- VASP and GPAW


def test_vasp_xch_inputs_reproduce_the_recorded_incar():
    assert vasp_xch.xch_nbands(352) == 704  # Li28 P12 S44 with GW POTCARs: 28 + 60 + 264 electrons
    incar = vasp_xch.core_hole_incar(nbands=704)
    recorded = read_incar(SITES / "site_1" / "INCAR")
    for key in ("encut", "ismear", "sigma", "ediff", "ispin", "nbands", "icorelevel", "clnt", "cln", "cll", "clz",
                "ch_lspec", "ch_sigma"):  # fmt: skip
        assert recorded[key] == incar[key], key
    assert vasp_xch.zval_from_potcar("  POMASS =   32.066; ZVAL   =    6.000    mass and valenz") == 6.0


def test_vasp_spectrum_reader_agrees_with_vasps_core_dielectric_file():
    """The OUTCAR block (read through pymatgen) against VASP's own CORE_DIELECTRIC_IMAG.dat (energy, ε₂ trace)."""
    parsed = vasp_xch.read_xch_outcar(SITES / "site_4" / "OUTCAR.bz2")
    written = np.loadtxt(SITES / "site_4" / "CORE_DIELECTRIC_IMAG.dat")
    assert parsed["has_spectrum"] and parsed["mu"].shape == (1000, 3) and parsed["spectrum_components"].shape[1] == 6
    assert np.allclose(parsed["spectrum_energy"], written[:, 0], rtol=0, atol=1e-6)
    assert np.allclose(parsed["mu"].sum(axis=1), written[:, 1], rtol=0, atol=1e-12)
    assert written[:, 1].max() > 0
    assert parsed["raw_onset"] == pytest.approx(3.4565 + 2393.17085973796)
    assert parsed["nelect"] == 353 and parsed["converged_electronic"]
    with pytest.raises(vasp_xch.MissingSpectrumError):
        vasp_xch.read_xch_spectrum(GROUND / "OUTCAR.bz2")


def test_gpaw_sticks_and_raw_spectrum():
    eps_kn = np.array([[1.0, 2.0], [1.5, 3.0]])
    sigma = np.zeros((3, 1, 2, 2), complex)
    sigma[0, 0, 0, 0] = 1.0
    sigma[2, 0, 1, 1] = 1j * 2.0
    energies, strengths = gpaw_xch.sticks(eps_kn, sigma)
    assert np.allclose(energies, [1.0, 1.5, 2.0, 3.0])
    assert np.allclose(strengths[0], [1, 0, 0]) and np.allclose(strengths[3], [0, 0, 4])
    grid, mu = gpaw_xch.raw_spectrum(energies, strengths, step=0.01)
    assert np.trapezoid(mu, grid, axis=0) == pytest.approx([1.0, 0.0, 4.0], rel=0.01, abs=1e-9)  # Lorentz tails
    params = gpaw_xch.xch_parameters({"calculator": {"xc": "PBE"}}, 0, 3, "400%")
    assert params["calculator"]["charge"] == -1 and params["magmoms"] == [1.0, 0.0, 0.0]
    assert params["xas"]["relative_index_lumo"] == -1
    assert gpaw_xch.gpaw_has_core_1s("S") is None and "no frozen core" in gpaw_xch.gpaw_has_core_1s("H")
    assert gpaw_xch.core_hole_command("S", "LDA", "S_ch") == [
        "gpaw-setup", "-f", "LDA", "S", "--name=S_ch", "--core-hole=1s,1.0"]  # fmt: skip


def test_free_electron_band_count_and_paw_valence():
    """The band count of the GPAW XCH runs: free-electron states up to E_F + ΔE, valence read from the datasets."""
    import gzip
    import math

    # 8 electrons in 100 Å³: k_F = (3π² · 0.08)^(1/3), E_F = 3.81 k_F²; with ΔE = 0 exactly the occupied bands
    assert gpaw_xch.free_electron_bands(100.0, 8.0, 0.0) == 4
    k_f = (3 * math.pi**2 * 0.08) ** (1 / 3)
    e = 3.80998212 * k_f**2 + 30.0
    assert gpaw_xch.free_electron_bands(100.0, 8.0, 30.0) == math.ceil(
        100.0 * (e / 3.80998212) ** 1.5 / (6 * math.pi**2)
    )
    # twice the volume and electrons: twice the bands (up to rounding); more range: more bands
    assert (
        abs(gpaw_xch.free_electron_bands(200.0, 16.0, 30.0) - 2 * gpaw_xch.free_electron_bands(100.0, 8.0, 30.0)) <= 1
    )
    assert gpaw_xch.free_electron_bands(100.0, 8.0, 40.0) > gpaw_xch.free_electron_bands(100.0, 8.0, 30.0)
    nbands, converge = gpaw_xch.xch_band_counts(100.0, 7.0, 30.0)  # the excited electron is added
    assert converge == gpaw_xch.free_electron_bands(100.0, 8.0, 30.0) and nbands == math.ceil(1.2 * converge)
    with pytest.raises(ValueError, match="volume > 0"):
        gpaw_xch.free_electron_bands(0.0, 8.0, 30.0)
    xml = '<?xml version="1.0"?>\n<paw_setup>\n  <atom symbol="S" Z="16" core="9.0" valence="6"/>\n</paw_setup>\n'
    assert gpaw_xch.paw_valence(xml) == 6.0 and gpaw_xch.paw_valence(gzip.compress(xml.encode())) == 6.0
    with pytest.raises(ValueError, match="valence"):
        gpaw_xch.paw_valence("<paw_setup/>")


def test_xch_parameters_converge_the_requested_bands():
    params = gpaw_xch.xch_parameters({"calculator": {"convergence": {"energy": 1e-4}}}, 0, 3, 41, converge_bands=34)
    assert params["calculator"]["nbands"] == 41
    assert params["calculator"]["convergence"] == {"energy": 1e-4, "bands": 34}
    assert "bands" not in gpaw_xch.xch_parameters({"calculator": {}}, 0, 3, "400%")["calculator"].get("convergence", {})


def test_spectrum_peaks_finds_the_local_maxima():
    energy = np.linspace(2470, 2490, 2001)
    mu = sum(h * np.exp(-((energy - e) ** 2) / 0.5) for e, h in ((2474, 1.0), (2476.5, 0.8), (2484, 0.5)))
    np.testing.assert_allclose(xas.spectrum_peaks(energy, mu), [2474.0, 2476.5, 2484.0], atol=0.02)
    assert len(xas.spectrum_peaks(energy, mu + 0.001 * np.sin(50 * energy), prominence=0.03)) == 3
