"""Sanity checks of a batch relaxation's result (no AiiDA): halted, diverged and collapsed configurations."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.io.ase import AseAtomsAdaptor

from aiida_lps.engines.lammps.relax import (
    HALTED_CRITERION,
    RelaxResult,
    RelaxSettings,
    closest_contact,
    parse_relax_log,
    relax_failure,
)
from aiida_lps.structures.reference import load_structure


@pytest.fixture
def beta():
    return AseAtomsAdaptor.get_atoms(load_structure("beta-Li3PS4"))


def _result(fmax=0.001, criterion="energy tolerance"):
    return RelaxResult(
        index=0, energy=-114.9, fnorm=0.004, fmax=fmax, atoms=26, volume=645.0, stopping_criterion=criterion
    )


def test_crystal_is_a_result(beta):
    assert closest_contact(beta, 0.5) is None
    assert relax_failure(_result(), RelaxSettings(), beta) is None


def test_collapsed_pair_is_named(beta):
    """A Li moved to 1.0 Å of another Li (what a learned potential's hole produced): named with its distance."""
    symbols = np.array(beta.get_chemical_symbols())
    first, second = np.nonzero(symbols == "Li")[0][:2]
    beta.positions[second] = beta.positions[first] + [1.0, 0.0, 0.0]
    message = closest_contact(beta, 0.5)
    assert message.startswith("Li–Li 1.00 Å apart") and "2.56 Å" in message  # ASE covalent radius of Li: 1.28 Å
    assert relax_failure(_result(), RelaxSettings(), beta).startswith("collapsed: Li–Li 1.00 Å")
    assert closest_contact(beta, 0.3) is None  # 1.0 Å > 0.3 × 2.56 Å
    assert relax_failure(_result(), RelaxSettings(collapse_ratio=0.3), beta) is None


def test_halted_or_runaway_minimisation_is_diverged(beta):
    """The guard's stop (reported by LAMMPS as a time limit) and a final force above fmax_break both fail it."""
    settings = RelaxSettings(fmax_break=500.0)
    assert relax_failure(_result(criterion=HALTED_CRITERION), settings, beta).startswith("diverged:")
    assert relax_failure(_result(fmax=600.0), settings, beta).startswith("diverged:")
    assert relax_failure(_result(fmax=float("nan")), settings, beta).startswith("diverged:")
    assert relax_failure(_result(fmax=400.0), settings, beta) is None


def test_log_stopping_criterion_of_a_halted_configuration():
    log = "\n".join(
        [
            "Fix halt condition for fix-id lps_guard met on step 150 with value 0",
            "  Stopping criterion = walltime limit reached",
            "LPS_RELAX 0 -158.470366342 16.2203 9.83103 26 644.9800156",
            "  Stopping criterion = energy tolerance",
            "LPS_RELAX 1 -114.914855735 0.00389911 0.00171965 26 644.9800156",
        ]
    )
    results = parse_relax_log(log)
    assert results[0].diverged(1000.0) and not results[0].converged
    assert not results[1].diverged(1000.0) and results[1].converged


def test_settings_are_checked():
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="collapse_ratio must be in"):
            RelaxSettings(collapse_ratio=bad)
