"""A cheap Li–P–S pair potential (Buckingham repulsion + Morse bonds) for tests and benchmarks of LAMMPS workflows.

Not fitted to anything: P–S and Li–S Morse wells give PS4-like and Li–S contacts near the crystal distances, so
relaxations and GA searches behave sensibly in seconds. Also the teacher of ``benchmarks/bench_active_learning.py``
(its pair lines are rendered from these templates).
"""

from __future__ import annotations

__all__ = ("lps_buck_morse_arguments",)

_BUCK = {("Li", "Li"): (400.0, 0.30), ("Li", "P"): (600.0, 0.30), ("Li", "S"): (1200.0, 0.32)}
_BUCK |= {("P", "P"): (800.0, 0.30), ("P", "S"): (1500.0, 0.25), ("S", "S"): (1500.0, 0.33)}
_MORSE = {("P", "S"): (3.0, 1.9, 2.05), ("Li", "S"): (0.25, 1.4, 2.45), ("S", "S"): (0.02, 1.2, 3.6)}
CUTOFF = 6.0  # Å


def lps_buck_morse_arguments() -> dict:
    """Keyword arguments of :class:`~aiida_lps.data.potential.InteratomicPotentialData` (energies eV, lengths Å)."""
    coeff = ["* * buck 0.0 1.0 0.0"]
    coeff += [f"{{{a}}} {{{b}}} buck {A} {rho} 0.0" for (a, b), (A, rho) in _BUCK.items()]
    coeff += ["* * morse 0.0 1.0 3.0"]
    coeff += [f"{{{a}}} {{{b}}} morse {d} {alpha} {r0}" for (a, b), (d, alpha, r0) in _MORSE.items()]
    return {
        "pair_style": f"hybrid/overlay buck {CUTOFF} morse {CUTOFF}",
        "pair_coeff": coeff,
        "elements": ["Li", "P", "S"],
        "cutoff": CUTOFF,
        "metadata": {"description": "toy Buckingham + Morse Li-P-S potential for tests (not fitted)"},
    }
