"""Linear machine-learned interatomic potentials in plain NumPy (no AiiDA, no LAMMPS import).

* :mod:`.linear`: weighted ridge / least-squares fits of energies, forces and stresses with per-element constants,
  and error metrics.
* :mod:`.maxvol`: the D-optimality (MaxVol) active set, the extrapolation grade γ = max |b A⁻¹| and batch
  select-add of new configurations.
* :mod:`.sampling`: rattled/strained copies of structures and train/validation splits.
"""
