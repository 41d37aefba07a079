"""LAMMPS adapter: script generation, dump and log readers, error classification (no LAMMPS run needed)."""

from __future__ import annotations

import io

import ase.build
import ase.io
import numpy as np
import pytest

from aiida_lps.engines.lammps.inputs import MDSettings, md_script, write_data_file
from aiida_lps.engines.lammps.outputs import LammpsError, classify_errors, read_dump, read_thermo_blocks


def test_md_script_npt_then_nvt():
    settings = MDSettings(temperature=600, timestep_fs=2.0, ensemble="nvt", equilibration_ensemble="npt")
    script = md_script(settings, ["pair_style lj/cut 5", "pair_coeff 1 1 0.01 3.4"])
    assert "fix integrate all npt temp 600 600 0.2 aniso 1.0 1.0 2" in script
    assert "fix integrate all nvt temp 600 600 0.2" in script
    assert script.index("npt") < script.index("reset_timestep 0") < script.index("nvt temp")
    assert "dump trajectory all custom 10 trajectory.dump id type xu yu zu" in script
    assert "timestep 0.002" in script


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"temperature": -1}, "temperature must be positive"),
        ({"ensemble": "nve"}, "ensemble must be one of"),
        ({"production_steps": 50, "dump_interval": 10}, "at least 10 stored frames"),
        ({"npt_coupling": "xyz"}, "npt_coupling"),
    ],
)
def test_md_settings_validation(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        MDSettings(**{"temperature": 300, **changes})


def test_triclinic_data_file_round_trip():
    """A triclinic cell read back from the data file has the same cell shape, species and geometry."""
    atoms = ase.build.bulk("Li", "bcc", a=3.5).repeat((2, 2, 2))  # rhombohedral primitive cell: triclinic
    atoms.symbols[[1, 4]] = "S"
    atoms.rattle(0.05, seed=1)
    text = write_data_file(atoms, ["Li", "S"])
    assert "2 atom types" in text and "xy xz yz" in text and f"{len(atoms)} atoms" in text
    back = ase.io.read(
        io.StringIO(text), format="lammps-data", atom_style="atomic", units="metal", Z_of_type={1: 3, 2: 16}
    )
    # the cell is rotated into LAMMPS's upper-triangular frame: lengths, angles and fractional coordinates survive
    np.testing.assert_allclose(back.cell.cellpar(), atoms.cell.cellpar(), atol=1e-5)
    assert back.get_chemical_symbols() == atoms.get_chemical_symbols()
    np.testing.assert_allclose(back.get_all_distances(mic=True), atoms.get_all_distances(mic=True), atol=1e-5)
    frac_diff = back.get_scaled_positions(wrap=False) - atoms.get_scaled_positions(wrap=False)
    np.testing.assert_allclose(frac_diff - np.round(frac_diff), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="no LAMMPS atom type"):
        write_data_file(atoms, ["S"])


def _dump_text(frames, tilt=False):
    out = []
    for step, positions in frames:
        out += ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(len(positions))]
        if tilt:
            out += ["ITEM: BOX BOUNDS xy xz yz pp pp pp", "0.0 11.0 1.0", "0.0 10.0 0.0", "0.0 10.0 0.0"]
        else:
            out += ["ITEM: BOX BOUNDS pp pp pp", "0.0 10.0", "0.0 10.0", "0.0 10.0"]
        out.append("ITEM: ATOMS id type xu yu zu")
        order = [1, 0, 2][: len(positions)]  # unsorted ids as written by several MPI ranks
        out += [f"{i + 1} {1 + i % 2} {x:.6f} {y:.6f} {z:.6f}" for i, (x, y, z) in ((i, positions[i]) for i in order)]
    return "\n".join(out) + "\n"


def test_read_dump_sorts_ids_and_drops_truncated_frame():
    rng = np.random.default_rng(0)
    frames = [(10 * k, rng.normal(size=(3, 3))) for k in range(4)]
    text = _dump_text(frames, tilt=True)
    text = text[: text.rindex("ITEM: ATOMS") + 40]  # cut the last frame mid-way
    trajectory = read_dump(io.StringIO(text), expected_frames=2)
    assert trajectory.positions.shape == (3, 3, 3)
    np.testing.assert_allclose(trajectory.positions[1], frames[1][1], atol=1e-6)
    assert list(trajectory.types) == [1, 2, 1]
    np.testing.assert_allclose(trajectory.cells[0], [[10, 0, 0], [1, 10, 0], [0, 0, 10]])
    assert list(trajectory.timesteps) == [0, 10, 20]


def test_read_dump_requires_unwrapped_columns():
    text = _dump_text([(0, np.zeros((3, 3)))]).replace("xu yu zu", "x y z")
    with pytest.raises(ValueError, match="unwrapped"):
        read_dump(io.StringIO(text))


LOG = """LAMMPS (22 Jul 2025 - Update 4)
Step Time Temp Press PotEng KinEng TotEng Volume
         0   0              100   -50.1   -10.0   1.0  -9.0   1000
        10   0.02           101   -49.1   -10.1   1.1  -9.0   1000
Loop time of 0.1 on 1 procs for 10 steps with 32 atoms
WARNING: something harmless
Step Time Temp Press PotEng KinEng TotEng Volume
         0   0              102   -48.1   -10.2   1.2  -9.0   1001
        10   0.02           nan   -47.1   -10.3   1.3  -9.0   1002
Loop time of 0.1 on 1 procs for 10 steps with 32 atoms
Total wall time: 0:00:01
"""


def test_thermo_blocks_and_non_finite_detection():
    blocks = read_thermo_blocks(LOG)
    assert len(blocks) == 2
    assert blocks[0].finite and not blocks[1].finite
    np.testing.assert_allclose(blocks[1].columns["Volume"], [1001, 1002])
    assert blocks[0].summary()["Temp"]["mean"] == pytest.approx(100.5)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("ERROR: Lost atoms: original 32 current 31 (src/thermo.cpp:494)", LammpsError.LOST_ATOMS),
        ("ERROR on proc 0: Cannot open SNAP coefficient file missing.snapcoeff", LammpsError.POTENTIAL_FILE),
        (
            "ERROR: Incorrect format in SNAP coefficient file (src/ML-SNAP/pair_snap.cpp:123)",
            LammpsError.POTENTIAL_FILE,
        ),
        ("ERROR: Non-numeric atom coords - simulation unstable (src/domain.cpp:1)", LammpsError.NAN_ENERGY),
        ("ERROR: Unknown command: foo (src/input.cpp:1)", LammpsError.OTHER),
    ],
)
def test_error_classification(line, kind):
    assert classify_errors(f"some output\n{line}\nLast command: x\n") == (kind, line.split(":", 1)[1].strip())


def test_no_error():
    assert classify_errors(LOG) is None
