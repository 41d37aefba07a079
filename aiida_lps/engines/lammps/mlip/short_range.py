"""Short-range check of a fitted potential: energies along close contacts below the training data's shortest ones.

No AiiDA import. A linear MLIP (SNAP, POD) is only constrained where its training frames have atoms; below the
shortest contact of each element pair in the data its radial functions (POD's inverse powers up to r⁻⁸) can turn
the energy steeply attractive, and relaxations or hot MD then collapse. The check moves one atom of a training frame
towards a neighbour (:func:`aiida_lps.science.mlip.sampling.contact_path`) from that shortest contact down to
``lowest_fraction`` of it and records the energy in LAMMPS, relative to the unmodified frame. Walking inwards, a pair
is *attractive* when the energy falls more than ``tolerance`` below that of the unmodified frame (or is not finite)
before it has risen by ``barrier``: a wall of ``barrier`` (10 eV, ~80 kT at 1500 K) shields whatever a polynomial fit
does further in, which no MD or relaxation from a sound start reaches (the batch relaxation's guards catch the rest).
Close-contact training frames therefore count twice: they lower the data's shortest contact and, when the fit follows
their DFT energies, put the wall in front of the scan.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from collections.abc import Sequence

import numpy as np

from aiida_lps.engines.lammps.inputs import write_data_file
from aiida_lps.engines.lammps.library import load_lammps
from aiida_lps.engines.lammps.mlip.descriptors import lammps_rotation
from aiida_lps.science.mlip.sampling import contact_path

__all__ = ("ContactScan", "reference_frames", "shortest_contacts", "short_range_scan", "worst_scans")


@dataclasses.dataclass
class ContactScan:
    """Energies along one contact.

    :ivar pair: e.g. ``"S-S"``.
    :ivar shortest_in_data: Å.
    :ivar distances: Å, ascending.
    :ivar energies: eV, relative to the unmodified frame.
    :ivar attractive: whether, walking inwards, the energy falls below that of the unmodified frame (or is not finite)
        before the wall reaches the barrier.
    :ivar barrier: eV, the highest energy before such a fall (or overall).
    """

    pair: str
    shortest_in_data: float
    distances: np.ndarray
    energies: np.ndarray
    attractive: bool
    barrier: float

    def to_dict(self) -> dict:
        """JSON-ready summary (lowest energy below the data's shortest contact and where)."""
        finite = np.where(np.isfinite(self.energies), self.energies, -np.inf)
        low = int(np.argmin(finite))
        return {
            "pair": self.pair,
            "shortest_in_data_A": float(self.shortest_in_data),
            "lowest_energy_eV": float(self.energies[low]) if np.isfinite(self.energies[low]) else None,
            "lowest_at_A": float(self.distances[low]),
            "energy_at_closest_eV": float(self.energies[0]) if np.isfinite(self.energies[0]) else None,
            "closest_A": float(self.distances[0]),
            "barrier_eV": float(self.barrier),
            "attractive": bool(self.attractive),
        }


def reference_frames(frames: Sequence, count: int = 4) -> list:
    """Frames to scan: ``count`` labelled frames spread over the lower half of the energy-per-atom ranking (near a
    minimum, yet in different environments: a contact that one frame cannot shorten alone, another can)."""
    ranked = sorted(frames, key=lambda atoms: atoms.get_potential_energy() / len(atoms))
    picks = np.unique(np.linspace(0, (len(ranked) - 1) // 2, min(count, len(ranked))).round().astype(int))
    return [ranked[i] for i in picks]


def worst_scans(pair_lines, frames: Sequence, type_elements, shortest, **kwargs) -> list[ContactScan]:
    """Per element pair the least safe scan over ``frames`` (attractive first, then the lowest wall)."""
    worst: dict[str, ContactScan] = {}
    for atoms in frames:
        for scan in short_range_scan(pair_lines, atoms, type_elements, shortest, **kwargs):
            known = worst.get(scan.pair)
            if known is None or (scan.attractive, -scan.barrier) > (known.attractive, -known.barrier):
                worst[scan.pair] = scan
    return [worst[pair] for pair in sorted(worst)]


def shortest_contacts(frames: Sequence, cutoff: float = 5.0) -> dict[tuple[str, str], float]:
    """Shortest distance (Å) of every element pair (alphabetical) over ASE ``frames`` (periodic images included)."""
    from ase.neighborlist import neighbor_list

    shortest: dict[tuple[str, str], float] = {}
    for atoms in frames:
        first, second, distance = neighbor_list("ijd", atoms, cutoff)
        symbols = np.asarray(atoms.get_chemical_symbols())
        for a, b, d in zip(symbols[first], symbols[second], distance, strict=True):
            key = tuple(sorted((str(a), str(b))))
            shortest[key] = min(shortest.get(key, np.inf), float(d))
    return shortest


def short_range_scan(
    pair_lines: Sequence[str],
    atoms,
    type_elements: Sequence[str],
    shortest: dict[tuple[str, str], float],
    lowest_fraction: float = 0.5,
    step: float = 0.05,
    tolerance: float = 0.5,
    barrier: float = 10.0,
) -> list[ContactScan]:
    """Scan every pair of ``shortest`` in the frame ``atoms`` with the potential of ``pair_lines``.

    :param pair_lines: ``pair_style``/``pair_coeff`` commands (file paths absolute), types in ``type_elements`` order.
    :param shortest: the training data's shortest contact per element pair (Å), e.g. from :func:`shortest_contacts`.
    :param lowest_fraction: the scan goes down to this fraction of the shortest contact.
    :param step: Å between scan points. :param tolerance: eV below the unmodified frame's energy that counts as
        attractive (a thermal frame is not exactly at a minimum).
    :param barrier: eV of wall that shields a fall further in.
    :returns: one :class:`ContactScan` per pair that the frame holds and can be shortened alone.
    """
    lammps = load_lammps()
    scans = []
    symbols = atoms.get_chemical_symbols()
    with tempfile.TemporaryDirectory(prefix="lps-short-range-") as folder:
        data = pathlib.Path(folder) / "frame.data"
        data.write_text(write_data_file(atoms, type_elements))
        rotation = lammps_rotation(atoms.cell.array)  # LAMMPS frame = rotation @ input frame
        lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        try:
            lmp.commands_list(
                ["units metal", "atom_style atomic", "boundary p p p", f"read_data {data}", *pair_lines]
                + ["thermo_style custom pe", "run 0"]
            )
            for (first, second), limit in sorted(shortest.items()):
                distances = np.append(np.arange(lowest_fraction * limit, limit - 1e-9, step), limit)
                try:
                    path, moved, _, _ = contact_path(
                        atoms.positions, atoms.cell.array, symbols, first, second, distances
                    )
                except ValueError:
                    continue  # the frame holds no such pair that can be shortened alone
                energies = []
                for positions in path + [atoms.positions]:
                    x, y, z = (float(v) for v in rotation @ positions[moved])
                    lmp.command(f"set atom {moved + 1} x {x!r} y {y!r} z {z!r}")
                    lmp.command("run 0")
                    energies.append(lmp.get_thermo("pe"))
                energies = np.asarray(energies[:-1]) - energies[-1]  # the last run restores the frame
                attractive, wall = _verdict(energies[::-1], tolerance, barrier)
                scans.append(ContactScan(f"{first}-{second}", float(limit), distances, energies, attractive, wall))
        finally:
            lmp.close()
    return scans


def _verdict(inward: np.ndarray, tolerance: float, barrier: float) -> tuple[bool, float]:
    """(attractive, wall height eV) of energies ordered from the data's shortest contact inwards."""
    finite = np.where(np.isfinite(inward), inward, -np.inf)
    before = np.concatenate([[-np.inf], np.maximum.accumulate(finite)[:-1]])
    falls = ~np.isfinite(inward) | (inward < -tolerance)
    attractive = bool(np.any(falls & (before < barrier)))
    first_fall = int(np.argmax(falls)) if falls.any() else len(inward)
    return attractive, float(np.max(finite[: max(first_fall, 1)]))
