"""OUTCAR/OSZICAR readers on the real ground-state run of Li7P3S11 (VASP 6.1.1, xas-tools, MPL-2.0)."""

from __future__ import annotations

import bz2
import pathlib

import ase.io
import numpy as np
import pytest
from ase.units import GPa

from aiida_lps.engines.vasp import outputs

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "vasp" / "vasp-xch-Li7P3S11" / "ground_state"


@pytest.fixture(scope="module")
def outcar_text() -> str:
    return bz2.decompress((DATA / "OUTCAR.bz2").read_bytes()).decode()


@pytest.fixture(scope="module")
def parsed():
    return outputs.read_vasp_outputs(DATA)


def _line(text: str, marker: str, last: bool = True) -> str:
    lines = [line for line in text.splitlines() if marker in line]
    return lines[-1] if last else lines[0]


def test_energy_is_the_e0_of_the_last_oszicar_line(parsed):
    last = (DATA / "OSZICAR").read_text().strip().splitlines()[-1].split()
    e0 = float(last[last.index("E0=") + 1])
    assert parsed["energy"] == pytest.approx(e0, abs=1e-5)  # OSZICAR prints 8 significant digits
    assert parsed["oszicar"][-1]["E0"] == e0


def test_energy_is_outcars_final_sigma_to_zero(parsed, outcar_text):
    final = _line(outcar_text, "energy(sigma->0)")
    assert parsed["energy"] == float(final.rsplit("=", 1)[1])
    assert parsed["energy_free"] == float(_line(outcar_text, "free  energy   TOTEN").split()[-2])
    assert parsed["energies"] == [parsed["energy"]] and parsed["n_ionic_steps"] == 1


def test_forces(parsed, tmp_path, outcar_text):
    n_atoms = sum(int(n) for n in (DATA / "POSCAR").read_text().splitlines()[6].split())
    assert parsed["forces"].shape == (n_atoms, 3) == (parsed["nions"], 3)
    assert np.abs(parsed["forces"].sum(axis=0)).max() < 1e-3  # VASP removes the net force
    (tmp_path / "OUTCAR").write_text(outcar_text)
    atoms = ase.io.read(tmp_path / "OUTCAR", format="vasp-out")
    assert np.array_equal(parsed["forces"], atoms.get_forces())


def test_stress_sign_convention_from_the_kb_line(parsed, outcar_text, tmp_path):
    kb = [float(x) for x in _line(outcar_text, "in kB").split()[2:8]]  # xx yy zz xy yz zx, VASP's sign
    assert parsed["stress_kb"] == kb
    stress = parsed["stress"]
    assert stress.shape == (3, 3) and np.allclose(stress, stress.T)
    # by hand: kB -> GPa is x0.1, and ASE's stress is minus VASP's
    assert stress[0, 0] == pytest.approx(-0.1 * kb[0] * GPa)
    assert stress[1, 1] == pytest.approx(-0.1 * kb[1] * GPa)
    assert stress[2, 2] == pytest.approx(-0.1 * kb[2] * GPa)
    assert stress[0, 1] == pytest.approx(-0.1 * kb[3] * GPa)
    assert stress[1, 2] == pytest.approx(-0.1 * kb[4] * GPa)
    assert stress[0, 2] == pytest.approx(-0.1 * kb[5] * GPa)
    # VASP's "external pressure" (negative here: the cell pulls inwards) is -trace(σ)/3 in ASE's convention
    pressure_kb = float(_line(outcar_text, "external pressure").split("=")[1].split()[0])
    assert pressure_kb < 0 and np.all(np.diag(stress) > 0)
    assert -np.trace(stress) / 3 / GPa * 10 == pytest.approx(pressure_kb, abs=0.01)
    (tmp_path / "OUTCAR").write_text(outcar_text)
    assert np.allclose(stress, ase.io.read(tmp_path / "OUTCAR", format="vasp-out").get_stress(voigt=False))


def test_scalars_and_convergence(parsed, outcar_text):
    assert parsed["fermi_energy"] == float(_line(outcar_text, "E-fermi").split()[2])
    assert parsed["nelect"] == float(_line(outcar_text, "NELECT", last=False).split()[2])
    assert parsed["vasp_version"] == outcar_text.split()[0].removeprefix("vasp.")
    assert parsed["nelm"] == 200 and parsed["ispin"] == 2 and parsed["encut"] == 520.0
    assert parsed["potcars"] == ["PAW Li 15Mar2012", "PAW P 26Mar2009", "PAW S 27Mar2009"]
    oszicar_scf = [line for line in (DATA / "OSZICAR").read_text().splitlines() if line[:4] in ("DAV:", "RMM:")]
    assert parsed["n_electronic_steps"] == len(oszicar_scf) == parsed["oszicar"][-1]["n_electronic"]
    assert parsed["n_electronic_steps"] < parsed["nelm"] and "aborting loop because EDIFF is reached" in outcar_text
    assert parsed["converged_electronic"] is True
    assert parsed["converged_ionic"] is True  # a single point (NSW = 0) that completed its step
    assert parsed["finished"] is True


def test_compressed_and_plain_files_agree(tmp_path, outcar_text, parsed):
    (tmp_path / "OUTCAR").write_text(outcar_text)
    plain = outputs.read_outcar(tmp_path / "OUTCAR")
    with (tmp_path / "OUTCAR").open() as handle:
        from_handle = outputs.read_outcar(handle)
    for other in (plain, from_handle):
        assert other["energy"] == parsed["energy"]
        assert np.array_equal(other["forces"], parsed["forces"])
        assert np.array_equal(other["stress"], parsed["stress"])
    assert outputs.find_output(DATA, "OUTCAR").name == "OUTCAR.bz2"
    with pytest.raises(FileNotFoundError, match="no vasprun.xml"):
        outputs.find_output(DATA, "vasprun.xml")


def test_unconverged_runs_are_flagged(tmp_path, outcar_text):
    """The same OUTCAR edited the way VASP reports failures: NELM reached, and a relaxation stopped at NSW."""
    scf = outcar_text.replace(
        "aborting loop because EDIFF is reached", "aborting loop EDIFF was not reached (unconverged)"
    )
    (tmp_path / "scf").write_text(scf)
    assert outputs.read_outcar(tmp_path / "scf")["converged_electronic"] is False
    nsw_line = _line(outcar_text, "NSW    =", last=False)
    ibrion_line = _line(outcar_text, "IBRION =", last=False)
    relax = outcar_text.replace(nsw_line, nsw_line.replace("=      0", "=      1")).replace(
        ibrion_line, ibrion_line.replace("=     -1", "=      2")
    )
    (tmp_path / "relax").write_text(relax)
    result = outputs.read_outcar(tmp_path / "relax")
    assert (result["nsw"], result["ibrion"]) == (1, 2)
    assert result["converged_ionic"] is False  # no "reached required accuracy"
    (tmp_path / "done").write_text(relax + "\n reached required accuracy - stopping structural energy minimisation\n")
    assert outputs.read_outcar(tmp_path / "done")["converged_ionic"] is True
