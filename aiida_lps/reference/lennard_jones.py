"""Rahman's Lennard-Jones liquid argon: the classic MD self-diffusion reference.

A. Rahman, "Correlations in the motion of atoms in liquid argon", Phys. Rev. 136, A405 (1964):
864 atoms, ε/k_B = 120 K, σ = 3.4 Å, cut-off 2.25 σ, T = 94.4 K, ρ = 1.374 g/cm³ → D = 2.43 × 10⁻⁵ cm²/s.
"""

from __future__ import annotations

import ase
import ase.build

EPSILON_K = 120.0  # ε / k_B (K)
SIGMA_A = 3.4  # Å
CUTOFF_A = 2.25 * SIGMA_A  # Å
TEMPERATURE_K = 94.4
DENSITY_G_CM3 = 1.374
N_ATOMS = 864
D_REFERENCE_CM2_S = 2.43e-5
K_B_EV = 8.617333262e-5
AVOGADRO = 6.02214076e23
MASS_AMU = 39.948


def argon_fcc(repeat: int = 6, density_g_cm3: float = DENSITY_G_CM3) -> ase.Atoms:
    """Argon on an fcc lattice (4·repeat³ atoms, 864 for repeat 6) at the given mass density; melt it in the MD."""
    number_density = density_g_cm3 / MASS_AMU * AVOGADRO * 1e-24  # atoms / Å³
    lattice = (4.0 / number_density) ** (1.0 / 3.0)
    return ase.build.bulk("Ar", "fcc", a=lattice, cubic=True).repeat(repeat)


def potential_arguments(cutoff: float = CUTOFF_A) -> dict:
    """Keyword arguments of :class:`~aiida_lps.data.potential.InteratomicPotentialData` for Rahman's LJ argon."""
    return {
        "pair_style": f"lj/cut {cutoff}",
        "pair_coeff": [f"{{Ar}} {{Ar}} {EPSILON_K * K_B_EV:.8f} {SIGMA_A}"],
        "elements": ["Ar"],
        "cutoff": cutoff,
        "metadata": {"reference": "A. Rahman, Phys. Rev. 136, A405 (1964)", "epsilon_K": EPSILON_K},
    }
