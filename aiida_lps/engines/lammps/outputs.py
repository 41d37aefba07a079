"""Readers for LAMMPS output: thermo blocks of ``log.lammps``, unwrapped-coordinate dumps, and error messages."""

from __future__ import annotations

import dataclasses
import enum
import io
import itertools
import math
import os
import re
import struct
from collections.abc import Iterator, Sequence
from typing import IO, BinaryIO

import numpy as np

__all__ = (
    "LammpsError",
    "ThermoBlock",
    "Trajectory",
    "classify_errors",
    "read_thermo_blocks",
    "read_dump",
    "read_binary_dump",
    "read_dump_files",
    "read_data_configuration",
    "join_thermo_blocks",
    "join_trajectories",
)


class LammpsError(enum.Enum):
    """Failure classes recognised in LAMMPS output (mapped to exit codes by the parser)."""

    LOST_ATOMS = "lost atoms"
    NAN_ENERGY = "non-finite energy or coordinates"
    POTENTIAL_FILE = "potential file missing or malformed"
    DISK_FULL = "no space left on the device"
    OTHER = "LAMMPS error"


_ERROR_LINE = re.compile(r"^ERROR(?: on proc \d+)?:\s*(.*)$", re.MULTILINE)
_POTENTIAL_PATTERNS = (
    "cannot open",
    "incorrect args for pair coefficients",
    "incorrect format in",
    "potential file",
    "coefficient file",
    "param file",
    "unknown pair style",
    "unrecognized pair style",
)


def classify_errors(log_text: str) -> tuple[LammpsError, str] | None:
    """Return the failure class and the first LAMMPS ``ERROR`` message found in ``log_text`` (or ``None``).

    A full disk (``ENOSPC``, "No space left on device" anywhere in the text) wins over the ERROR line it causes.
    """
    for line in log_text.splitlines():
        if "no space left on device" in line.lower():
            return LammpsError.DISK_FULL, line.strip()
    match = _ERROR_LINE.search(log_text)
    if match is None:
        return None
    message = match.group(1).strip()
    low = message.lower()
    if "lost atoms" in low:
        return LammpsError.LOST_ATOMS, message
    if "non-numeric" in low or "out of range atoms" in low or " nan " in f" {low} ":
        return LammpsError.NAN_ENERGY, message
    if any(pattern in low for pattern in _POTENTIAL_PATTERNS):
        return LammpsError.POTENTIAL_FILE, message
    return LammpsError.OTHER, message


@dataclasses.dataclass
class ThermoBlock:
    """One thermo block of a LAMMPS log (one ``run`` command): column name -> values."""

    columns: dict[str, np.ndarray]

    @property
    def finite(self) -> bool:
        """Whether every number of the block is finite."""
        return all(np.all(np.isfinite(v)) for v in self.columns.values())

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean, standard deviation, first and last value of each column (NaN-safe)."""
        out = {}
        for name, values in self.columns.items():
            if name == "Step" or values.size == 0:
                continue
            out[name] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
                "first": float(values[0]),
                "last": float(values[-1]),
            }
        return out


def _to_float(token: str) -> float:
    try:
        return float(token)
    except ValueError:
        return math.nan


def read_thermo_blocks(log_text: str) -> list[ThermoBlock]:
    """Return the thermo blocks of a LAMMPS log in order (``Step ...`` header up to ``Loop time``)."""
    blocks: list[ThermoBlock] = []
    header: list[str] | None = None
    rows: list[list[float]] = []
    for line in log_text.splitlines():
        tokens = line.split()
        if header is None:
            if tokens and tokens[0] == "Step" and len(tokens) > 1:
                header, rows = tokens, []
            continue
        if line.startswith("Loop time") or line.startswith("ERROR") or len(tokens) != len(header):
            if not line.startswith("WARNING"):
                blocks.append(_block(header, rows))
                header = None
            continue
        rows.append([_to_float(t) for t in tokens])
    if header is not None:
        blocks.append(_block(header, rows))
    return blocks


def _block(header: list[str], rows: list[list[float]]) -> ThermoBlock:
    data = np.array(rows, dtype=float).reshape(len(rows), len(header))
    return ThermoBlock({name: data[:, i] for i, name in enumerate(header)})


@dataclasses.dataclass
class Trajectory:
    """Unwrapped positions read from a dump, sorted by atom id.

    :ivar positions: (n_frames, n_atoms, 3) Å.
    :ivar types: (n_atoms,) LAMMPS atom types (1-based).
    :ivar cells: (n_frames, 3, 3) Å, rows are the box vectors of each frame.
    :ivar timesteps: (n_frames,) MD step of each frame.
    """

    positions: np.ndarray
    types: np.ndarray
    cells: np.ndarray
    timesteps: np.ndarray


def _box_to_cell(bounds: np.ndarray, tilts: tuple[float, float, float]) -> np.ndarray:
    """Convert LAMMPS dump box bounds (with bounding-box correction for tilts) into cell rows."""
    xy, xz, yz = tilts
    xlo_b, xhi_b = bounds[0]
    ylo_b, yhi_b = bounds[1]
    zlo, zhi = bounds[2]
    xlo = xlo_b - min(0.0, xy, xz, xy + xz)
    xhi = xhi_b - max(0.0, xy, xz, xy + xz)
    ylo = ylo_b - min(0.0, yz)
    yhi = yhi_b - max(0.0, yz)
    return np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])


def _frames(handle: IO[str]) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    while True:
        line = handle.readline()
        if not line:
            return
        if not line.startswith("ITEM: TIMESTEP"):
            raise ValueError(f"malformed dump: expected 'ITEM: TIMESTEP', got {line.strip()!r}")
        try:
            step = int(handle.readline())
            handle.readline()  # ITEM: NUMBER OF ATOMS
            n_atoms = int(handle.readline())
            box_header = handle.readline().split()
            bounds = np.array([handle.readline().split() for _ in range(3)], dtype=float)
            if bounds.ndim != 2 or bounds.shape[1] < 2:
                raise ValueError(f"box bounds {bounds.tolist()}")
            atoms_header = handle.readline()
            if not atoms_header.endswith("\n"):
                raise ValueError(f"atoms header {atoms_header!r}")
        except ValueError as exception:  # a header cut short (a run stopped while writing)
            raise ValueError(f"truncated dump frame header after {line.strip()!r}: {exception}") from None
        tilts = (0.0, 0.0, 0.0)
        if "xy" in box_header:
            tilts = (bounds[0, 2], bounds[1, 2], bounds[2, 2])
        cell = _box_to_cell(bounds[:, :2], tilts)
        columns = atoms_header.split()[2:]
        body = "".join(itertools.islice(handle, n_atoms))
        values = np.fromstring(body, sep=" ")
        if values.size != n_atoms * len(columns):
            raise ValueError(f"truncated dump frame at step {step}: {values.size} numbers for {n_atoms} atoms")
        yield step, cell, values.reshape(n_atoms, len(columns)), columns


def read_dump(handle: IO[str], stride: int = 1, expected_frames: int | None = None) -> Trajectory:
    """Read a ``dump custom`` file (columns ``id type xu yu zu``, every ``stride``-th frame) into a Trajectory.

    Streams frame by frame into one preallocated array (grown by doubling when ``expected_frames`` is unknown or
    too small): peak memory is about the output array plus one frame of text. A truncated last frame (a run that
    stopped while writing) is dropped.
    """
    return _collect(_frames(handle), stride, expected_frames)


_BINARY_MAGIC = b"DUMPCUSTOM"


def _read_exact(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise ValueError(f"truncated binary dump: {len(data)} of {size} bytes")
    return data


def _binary_frames(handle: BinaryIO) -> Iterator[tuple[int, np.ndarray, np.ndarray, list[str]]]:
    """Frames of a LAMMPS binary dump (``dump custom`` to a ``*.bin`` file, native byte order).

    Both layouts are read: the current one (a negative length and the magic string ``DUMPCUSTOM``, endianness,
    format revision, then the step; unit style, time and column names after the box) and the one before LAMMPS
    29Oct2020 (the step first, no column names: ``id type xu yu zu`` is assumed).
    """
    while True:
        head = handle.read(8)
        if not head:
            return
        if len(head) != 8:
            raise ValueError("truncated binary dump frame header")
        (first,) = struct.unpack("q", head)
        new_format = first < 0
        if new_format:
            magic = _read_exact(handle, -first)
            if magic != _BINARY_MAGIC:
                raise ValueError(f"not a LAMMPS binary dump (magic {magic!r})")
            endian, _revision = struct.unpack("ii", _read_exact(handle, 8))
            if endian != 1:
                raise ValueError("binary dump written with another byte order")
            (step,) = struct.unpack("q", _read_exact(handle, 8))
        else:
            step = first
        n_atoms, triclinic = struct.unpack("qi", _read_exact(handle, 12))
        _read_exact(handle, 24)  # boundary flags
        if triclinic == 2:
            raise ValueError("general triclinic binary dumps are not supported")
        box = np.frombuffer(_read_exact(handle, 8 * (9 if triclinic else 6)), dtype=np.float64)
        (size_one,) = struct.unpack("i", _read_exact(handle, 4))
        columns = ["id", "type", "xu", "yu", "zu"]
        if new_format:
            (length,) = struct.unpack("i", _read_exact(handle, 4))
            _read_exact(handle, length)  # unit style
            (time_flag,) = struct.unpack("b", _read_exact(handle, 1))
            if time_flag:
                _read_exact(handle, 8)
            (length,) = struct.unpack("i", _read_exact(handle, 4))
            columns = _read_exact(handle, length).decode().split()
        if len(columns) != size_one:
            raise ValueError(f"binary dump: {size_one} values per atom but columns {columns}")
        (n_chunks,) = struct.unpack("i", _read_exact(handle, 4))
        chunks = []
        for _ in range(n_chunks):
            (n_values,) = struct.unpack("i", _read_exact(handle, 4))
            chunks.append(np.frombuffer(_read_exact(handle, 8 * n_values), dtype=np.float64))
        values = chunks[0] if n_chunks == 1 else np.concatenate(chunks)
        if values.size != n_atoms * size_one:
            raise ValueError(f"truncated dump frame at step {step}: {values.size} numbers for {n_atoms} atoms")
        bounds = box[:6].reshape(3, 2)
        tilts = tuple(float(t) for t in box[6:9]) if triclinic else (0.0, 0.0, 0.0)
        yield step, _box_to_cell(bounds, tilts), values.reshape(n_atoms, size_one), columns


def _collect(frames: Iterator, stride: int, expected_frames: int | None) -> Trajectory:
    """Stream parsed frames into one preallocated positions array (see :func:`read_dump`)."""
    positions: np.ndarray | None = None
    cells: list[np.ndarray] = []
    steps: list[int] = []
    types = None
    count = 0
    try:
        for index, (step, cell, table, columns) in enumerate(frames):
            if index % stride:
                continue
            col = {name: i for i, name in enumerate(columns)}
            missing = {"id", "type", "xu", "yu", "zu"} - set(col)
            if missing:
                raise ValueError(f"dump lacks the columns {sorted(missing)} (unwrapped coordinates are required)")
            ids = table[:, col["id"]]
            if np.any(ids[1:] < ids[:-1]):  # `dump_modify sort id` writes them sorted already
                table = table[np.argsort(ids, kind="stable")]
            if positions is None:
                types = table[:, col["type"]].astype(int)
                capacity = max(1, -(-expected_frames // stride)) if expected_frames else 64
                positions = np.empty((capacity, len(table), 3))
            elif count == positions.shape[0]:
                positions = np.concatenate([positions, np.empty_like(positions)])
            positions[count] = table[:, [col["xu"], col["yu"], col["zu"]]]
            cells.append(cell)
            steps.append(step)
            count += 1
    except (ValueError, IndexError) as exception:
        if "truncated" not in str(exception) and "invalid literal" not in str(exception):
            raise
    if not count:
        raise ValueError("the dump holds no complete frame")
    if count < positions.shape[0]:
        positions = positions[:count].copy() if count < positions.shape[0] // 2 else positions[:count]
    return Trajectory(
        positions=positions, types=types, cells=np.stack(cells), timesteps=np.array(steps, dtype=np.int64)
    )


def _binary_layout(handle: BinaryIO) -> dict | None:
    """Byte layout of the first frame of a binary dump (offsets of step, box and data) or None if irregular."""
    start = handle.tell()
    try:
        (first,) = struct.unpack("q", _read_exact(handle, 8))
        if first >= 0 or _read_exact(handle, -first) != _BINARY_MAGIC:
            return None  # the layout before LAMMPS 29Oct2020: read frame by frame
        _read_exact(handle, 8)
        step_offset = handle.tell() - start
        _, n_atoms, triclinic = struct.unpack("qqi", _read_exact(handle, 20))
        _read_exact(handle, 24)
        if triclinic not in (0, 1):
            return None
        box_offset, n_box = handle.tell() - start, 9 if triclinic else 6
        _read_exact(handle, 8 * n_box)
        (size_one,) = struct.unpack("i", _read_exact(handle, 4))
        (length,) = struct.unpack("i", _read_exact(handle, 4))
        _read_exact(handle, length)
        (time_flag,) = struct.unpack("b", _read_exact(handle, 1))
        if time_flag:
            return None  # the time differs between frames: read frame by frame
        (length,) = struct.unpack("i", _read_exact(handle, 4))
        columns = _read_exact(handle, length).decode().split()
        n_chunks, n_values = struct.unpack("ii", _read_exact(handle, 8))
        if n_chunks != 1 or n_values != n_atoms * size_one or len(columns) != size_one:
            return None  # several chunks (MPI ranks) of varying size: read frame by frame
        data_offset = handle.tell() - start
    except ValueError:
        return None
    finally:
        handle.seek(start)
    return {
        "step": step_offset,
        "box": (box_offset, n_box),
        "data": data_offset,
        "frame_bytes": data_offset + 8 * n_values,
        "n_atoms": n_atoms,
        "columns": columns,
        "triclinic": bool(triclinic),
    }


def _read_binary_blocks(handle: BinaryIO, stride: int) -> Trajectory | None:
    """Read a binary dump whose frames all have the first frame's layout in blocks of frames (~64 MiB, ``readinto``
    into one reused buffer: memory is the positions array plus the buffer, whatever the size of the file).

    Returns None (the caller reads frame by frame) when the layout is irregular or the atoms are not in the same,
    increasing id order in every frame.
    """
    try:
        size = os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    layout = _binary_layout(handle)
    if layout is None:
        return None
    frame_bytes, n_atoms, columns = layout["frame_bytes"], layout["n_atoms"], layout["columns"]
    col = {name: i for i, name in enumerate(columns)}
    if {"id", "type", "xu", "yu", "zu"} - set(col):
        return None
    start = handle.tell()
    n_frames = (size - start) // frame_bytes  # a truncated last frame is dropped
    if n_frames == 0:
        return None
    # every header must be the first one's but for the step and the box
    data_offset, step_offset = layout["data"], layout["step"]
    box_offset, n_box = layout["box"]
    fixed = np.ones(data_offset, dtype=bool)
    fixed[step_offset : step_offset + 8] = False
    fixed[box_offset : box_offset + 8 * n_box] = False
    positions = np.empty((-(-n_frames // stride), n_atoms, 3))
    steps = np.empty(n_frames, dtype=np.int64)
    boxes = np.empty((n_frames, n_box))
    xyz = (
        slice(col["xu"], col["xu"] + 3)
        if col["yu"] == col["xu"] + 1 == col["zu"] - 1
        else [col[c] for c in "xu yu zu".split()]
    )
    block = max(1, (64 << 20) // frame_bytes)
    buffer = np.empty(block * frame_bytes, dtype=np.uint8)
    reference = ids = types = None
    stored = 0
    for first in range(0, n_frames, block):
        count = min(block, n_frames - first)
        if handle.readinto(memoryview(buffer)[: count * frame_bytes]) != count * frame_bytes:
            handle.seek(start)
            return None
        frames = buffer[: count * frame_bytes].reshape(count, frame_bytes)
        headers = frames[:, :data_offset]
        if reference is None:
            reference = headers[0, fixed].copy()
        if not np.array_equal(headers[:, fixed], np.broadcast_to(reference, (count, reference.size))):
            handle.seek(start)
            return None
        steps[first : first + count] = headers[:, step_offset : step_offset + 8].copy().view(np.int64).reshape(-1)
        boxes[first : first + count] = headers[:, box_offset : box_offset + 8 * n_box].copy().view(np.float64)
        data = frames[:, data_offset:].view(np.float64).reshape(count, n_atoms, len(columns))
        if ids is None:
            ids = data[0, :, col["id"]].copy()
            types = data[0, :, col["type"]].astype(int)
        if np.any(ids[1:] <= ids[:-1]) or not np.array_equal(
            data[:, :, col["id"]], np.broadcast_to(ids, (count, n_atoms))
        ):
            handle.seek(start)
            return None
        chosen = data[(-first) % stride :: stride]
        positions[stored : stored + chosen.shape[0]] = chosen[:, :, xyz]
        stored += chosen.shape[0]
    steps, boxes = steps[::stride], boxes[::stride]
    tilted = layout["triclinic"]
    cells = np.stack(
        [
            _box_to_cell(box[:6].reshape(3, 2), tuple(float(t) for t in box[6:9]) if tilted else (0, 0, 0))
            for box in boxes
        ]
    )
    return Trajectory(positions=positions, types=types, cells=cells, timesteps=steps)


def read_binary_dump(handle: BinaryIO, stride: int = 1, expected_frames: int | None = None) -> Trajectory:
    """Read a LAMMPS binary ``dump custom`` (``*.bin``, columns ``id type xu yu zu``) into a Trajectory.

    Same semantics as :func:`read_dump` (a truncated last frame is dropped); positions keep LAMMPS's full double
    precision (the text dump rounds them to 1e-6 Å). A file whose frames share one layout (one process wrote it,
    atoms sorted by id: what ``lps.lammps.md`` writes) is read in blocks of frames into one reused buffer, at the
    speed of the disk; any other is read frame by frame.
    """
    blocks = _read_binary_blocks(handle, stride)
    if blocks is not None:
        return blocks
    return _collect(_binary_frames(handle), stride, expected_frames)


def read_dump_files(paths: Sequence[str | os.PathLike], expected_frames: int | None = None) -> Trajectory:
    """Read the dumps of a run and its continuations (in order; ``*.bin`` binary, otherwise text) and join them.

    ``expected_frames`` (frames of an uninterrupted run) preallocates the array of a single dump.
    """
    pieces = []
    for path in paths:
        expected = expected_frames if len(paths) == 1 else None
        if str(path).endswith(".bin"):
            with open(path, "rb") as handle:
                pieces.append(read_binary_dump(handle, expected_frames=expected))
        else:
            with open(path) as handle:
                pieces.append(read_dump(handle, expected_frames=expected))
    return join_trajectories(pieces)


def read_data_configuration(handle: IO[str], elements: Sequence[str]):
    """The configuration of a LAMMPS data file (``write_data``, atom style atomic, metal units) as ASE atoms
    wrapped into the cell; atom type t is ``elements[t - 1]``."""
    from ase.data import atomic_numbers
    from ase.io.lammpsdata import read_lammps_data

    z_of_type = {i + 1: atomic_numbers[element] for i, element in enumerate(elements)}
    atoms = read_lammps_data(handle, Z_of_type=z_of_type, atom_style="atomic", units="metal")
    atoms.wrap()
    return atoms


def join_thermo_blocks(parts: list[ThermoBlock]) -> ThermoBlock:
    """Join the production thermo blocks of a run and its continuations (in order) into one block.

    Each part's rows from the next part's first ``Step`` on are dropped (the continuation restarted from there).
    """
    kept = []
    for block, following in zip(parts, [*parts[1:], None], strict=True):
        steps = block.columns["Step"]
        mask = (
            steps < following.columns["Step"][0] if following is not None and following.columns["Step"].size else None
        )
        kept.append({name: (values if mask is None else values[mask]) for name, values in block.columns.items()})
    return ThermoBlock({name: np.concatenate([k[name] for k in kept]) for name in parts[-1].columns})


def join_trajectories(parts: list[Trajectory]) -> Trajectory:
    """Join the trajectories of a run and its continuations (in order) into one.

    Each part's frames from the next part's first timestep on are dropped (the continuation restarted from a
    restart file written at or before the last frame of the part). Unwrapped coordinates continue across parts
    because the restart file carries the image flags.
    """
    if len(parts) == 1:
        return parts[0]
    kept = []
    for part, following in zip(parts, [*parts[1:], None], strict=True):
        count = (
            part.timesteps.size if following is None else int(np.searchsorted(part.timesteps, following.timesteps[0]))
        )
        kept.append((part, count))
    if any(not np.array_equal(part.types, parts[0].types) for part in parts):
        raise ValueError("the parts of the trajectory have different atom types")
    return Trajectory(
        positions=np.concatenate([part.positions[:n] for part, n in kept]),
        types=parts[0].types,
        cells=np.concatenate([part.cells[:n] for part, n in kept]),
        timesteps=np.concatenate([part.timesteps[:n] for part, n in kept]),
    )
