"""The recorded-output replay (`lps-replay`): which recorded run matches a job's inputs, and what it copies."""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pytest

from aiida_lps.engines.vasp import outputs, settings
from aiida_lps.testing import recorded

REGISTRY = pathlib.Path(__file__).resolve().parents[1] / "data" / "vasp"
GROUND = REGISTRY / "vasp-xch-Li7P3S11" / "ground_state"
SITES = pathlib.Path(__file__).resolve().parents[1] / "data" / "xas" / "vasp-xch-Li7P3S11-sites"


def _write_incar(path: pathlib.Path, tags: dict) -> None:
    def fmt(value):
        return (".TRUE." if value else ".FALSE.") if isinstance(value, bool) else str(value)

    path.write_text("".join(f"{key.upper()} = {fmt(value)}\n" for key, value in tags.items()))


def _job(tmp_path: pathlib.Path, incar: dict | None = None, mesh=(2, 4, 2)) -> pathlib.Path:
    """A job folder as the VaspCalculation writes it: protocol INCAR (single point, spin-polarised), Γ mesh."""
    workdir = tmp_path / "job"
    workdir.mkdir()
    shutil.copy(GROUND / "POSCAR", workdir / "POSCAR")
    tags = settings.get_protocol_settings("single_point", overrides={"incar": {"ispin": 2}})["incar"]
    _write_incar(workdir / "INCAR", {**tags, **(incar or {})})
    (workdir / "KPOINTS").write_text(f"mesh\n0\nGamma\n{mesh[0]} {mesh[1]} {mesh[2]}\n0 0 0\n")
    return workdir


def test_replay_copies_the_outputs_of_the_matching_run(tmp_path):
    workdir = _job(tmp_path)
    assert recorded.replay(workdir, [REGISTRY]) == GROUND
    assert {"OUTCAR", "OSZICAR", "CONTCAR"} <= {p.name for p in workdir.iterdir()}
    assert not (workdir / "OUTCAR.bz2").exists() and not (workdir / "LICENSE.MPL-2.0").exists()
    assert (workdir / "INCAR").read_text() != (GROUND / "INCAR").read_text()  # inputs are left alone
    assert outputs.read_outcar(workdir / "OUTCAR")["energy"] == outputs.read_outcar(GROUND / "OUTCAR.bz2")["energy"]


@pytest.mark.parametrize(
    ("incar", "mesh", "reason"),
    [
        ({"encut": 400}, (2, 4, 2), "INCAR ENCUT"),
        ({"ispin": 1}, (2, 4, 2), "INCAR ISPIN"),
        ({"ismear": -5}, (2, 4, 2), "INCAR ISMEAR"),
        ({}, (3, 3, 3), "k-points"),
    ],
)
def test_mismatches_are_explained(tmp_path, incar, mesh, reason):
    workdir = _job(tmp_path, incar, mesh)
    with pytest.raises(recorded.NoRecordingError, match=reason):
        recorded.find_recorded(workdir, [REGISTRY])


def test_structure_must_match_within_tolerance(tmp_path):
    workdir = _job(tmp_path)
    poscar = recorded.read_poscar(workdir / "POSCAR")
    lines = (workdir / "POSCAR").read_text().splitlines()
    # move the first atom by 0.01 Å along a
    shift = 0.01 / np.linalg.norm(poscar.cell[0])
    first = [float(x) for x in lines[8].split()]
    lines[8] = f"{first[0] + shift:.12f} {first[1]:.12f} {first[2]:.12f}"
    (workdir / "POSCAR").write_text("\n".join(lines) + "\n")
    with pytest.raises(recorded.NoRecordingError, match="positions differ"):
        recorded.find_recorded(workdir, [REGISTRY])
    assert recorded.find_recorded(workdir, [REGISTRY], tolerance=0.02) == GROUND
    # a permutation inside a species block is the same structure
    atoms = lines[8:22]
    lines[8:22] = atoms[::-1]
    (workdir / "POSCAR").write_text("\n".join(lines) + "\n")
    assert recorded.find_recorded(workdir, [REGISTRY], tolerance=0.02) == GROUND


def test_incar_check_can_be_switched_off(tmp_path):
    workdir = _job(tmp_path, {"encut": 400})
    assert recorded.find_recorded(workdir, [REGISTRY], incar_keys=()) == GROUND


def test_cli_entry_point(tmp_path, monkeypatch, capsys):
    workdir = _job(tmp_path)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv(recorded.ENV_REGISTRY, str(REGISTRY))
    assert recorded.main([]) == 0
    assert "replayed recorded run" in capsys.readouterr().out
    _write_incar(workdir / "INCAR", {"encut": 400})
    assert recorded.main([]) == 1
    assert "ENCUT" in capsys.readouterr().err
    monkeypatch.delenv(recorded.ENV_REGISTRY)
    assert recorded.main([]) == 2


def test_each_core_hole_site_finds_its_own_run(tmp_path):
    """The XAS case: 11 sites with the same supercell, told apart by the absorber block (first in POSCAR)."""
    registries = [SITES, REGISTRY]
    runs = recorded.list_recorded(registries)
    assert len(runs) == 12
    for run in runs:
        workdir = tmp_path / run.name
        workdir.mkdir()
        for name in ("POSCAR", "INCAR", "KPOINTS"):
            shutil.copy(run / name, workdir / name)
        assert recorded.find_recorded(workdir, registries) == run
