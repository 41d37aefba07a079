"""Physical constants and unit conversions (CODATA 2018 exact SI values where defined)."""

from __future__ import annotations

#: Boltzmann constant in eV/K.
K_B_EV: float = 8.617333262e-5
#: Boltzmann constant in J/K (exact).
K_B_J: float = 1.380649e-23
#: Elementary charge in C (exact).
ELEMENTARY_CHARGE: float = 1.602176634e-19
#: Avogadro constant in 1/mol (exact).
AVOGADRO: float = 6.02214076e23

#: Diffusivity conversion: 1 Å²/ps = 1e-4 cm²/s.
A2_PER_PS_TO_CM2_PER_S: float = 1e-4
#: Number density conversion: 1 Å⁻³ = 1e30 m⁻³.
PER_A3_TO_PER_M3: float = 1e30
#: Diffusivity conversion: 1 cm²/s = 1e-4 m²/s.
CM2_PER_S_TO_M2_PER_S: float = 1e-4
#: Conductivity conversion: 1 S/m = 1e-2 S/cm.
S_PER_M_TO_S_PER_CM: float = 1e-2
#: Time conversion: 1 fs = 1e-3 ps.
FS_TO_PS: float = 1e-3
