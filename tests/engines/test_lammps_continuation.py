"""Continuing an MD from a restart file: the script, and joining the dumps and thermo blocks of the parts."""

from __future__ import annotations

import io

import numpy as np
import pytest

from aiida_lps.engines.lammps.inputs import MDSettings, continuation_script, md_script, part_filename, restart_interval
from aiida_lps.engines.lammps.outputs import (
    ThermoBlock,
    Trajectory,
    join_thermo_blocks,
    join_trajectories,
    read_dump,
)

PAIR = ["pair_style lj/cut 5", "pair_coeff 1 1 0.01 3.4"]


def test_restart_files_written_in_production_only():
    settings = MDSettings(temperature=300, production_steps=1000, dump_interval=30)
    script = md_script(settings, PAIR)
    assert restart_interval(settings) == 90  # 1000 // 10 = 100 → a multiple of the dump interval
    assert script.index("reset_timestep 0") < script.index("restart 90 restart.*") < script.rindex("run 1000")


def test_continuation_script_reads_latest_restart_and_runs_up_to_the_end():
    settings = MDSettings(temperature=300, production_steps=1000, ensemble="npt")
    script = continuation_script(settings, PAIR)
    lines = script.splitlines()
    assert "read_restart restart.*" in lines and "read_data" not in script and "velocity" not in script
    assert lines.index("read_restart restart.*") < lines.index(PAIR[0])  # the pair style is defined again
    assert "fix integrate all npt temp 300 300" in script  # the same fix ID: its state comes from the restart
    assert "run 1000 upto" in lines and "reset_timestep" not in script
    assert lines[-1] == "write_data final.data nocoeff"


def test_part_filename():
    assert part_filename("trajectory.dump", 0) == "trajectory.part0.dump"
    assert part_filename("log.lammps", "*") == "log.part*.lammps"


def _trajectory(steps, offset):
    steps = np.asarray(steps)
    positions = steps[:, None, None] + offset + np.zeros((steps.size, 2, 3))
    return Trajectory(
        positions=positions, types=np.array([1, 2]), cells=np.tile(np.eye(3), (steps.size, 1, 1)), timesteps=steps
    )


def test_join_trajectories_drops_frames_recomputed_by_the_next_part():
    first = _trajectory(range(0, 360, 10), 0.0)  # stopped at 350, restart file at 300
    second = _trajectory(range(300, 480, 10), 0.5)  # stopped at 470, restart file at 420
    third = _trajectory(range(420, 610, 10), 0.25)
    joined = join_trajectories([first, second, third])
    np.testing.assert_array_equal(joined.timesteps, np.arange(0, 610, 10))
    offsets = joined.positions[:, 0, 0] - joined.timesteps
    assert set(offsets[joined.timesteps < 300]) == {0.0}
    assert set(offsets[(joined.timesteps >= 300) & (joined.timesteps < 420)]) == {0.5}
    assert set(offsets[joined.timesteps >= 420]) == {0.25}
    assert join_trajectories([first]) is first


def test_join_trajectories_rejects_different_atoms():
    other = _trajectory(range(300, 400, 10), 0.0)
    other.types = np.array([2, 1])
    with pytest.raises(ValueError, match="different atom types"):
        join_trajectories([_trajectory(range(0, 360, 10), 0.0), other])


def test_join_thermo_blocks():
    first = ThermoBlock({"Step": np.arange(0, 350, 10.0), "Temp": np.full(35, 1.0)})
    second = ThermoBlock({"Step": np.arange(300, 610, 10.0), "Temp": np.full(31, 2.0)})
    joined = join_thermo_blocks([first, second])
    np.testing.assert_array_equal(joined.columns["Step"], np.arange(0, 610, 10.0))
    assert joined.columns["Temp"][29] == 1.0 and joined.columns["Temp"][30] == 2.0


def test_read_dump_drops_a_frame_cut_in_its_header():
    frame = (
        "ITEM: TIMESTEP\n{}\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\n"
        "ITEM: ATOMS id type xu yu zu\n1 1 0.1 0.2 0.3\n"
    )
    whole = frame.format(0) + frame.format(10)
    for cut in (20, 60, 70, 80):  # in the step, the box header, between and within the box bounds
        trajectory = read_dump(io.StringIO(whole + frame.format(20)[:cut]))
        assert list(trajectory.timesteps) == [0, 10]
