"""The common DFT engine interface: builders per task and normalisation of outputs to common names and units.

Common outputs of every engine (``normalise`` returns them, ``lps.dft`` exposes them):

=============  ==============  ==========================================================================
name           type            content and unit
=============  ==============  ==========================================================================
energy         Float           total energy in eV (extrapolated to zero smearing where the code does so)
forces         ArrayData       array ``forces`` (n_atoms, 3) in eV/Å, in the order of ``structure``
stress         ArrayData       array ``stress`` (3, 3) in eV/Å³, ASE sign convention σ = (1/V) ∂E/∂ε
                               (a compressed cell has negative diagonal); optional
structure      StructureData   final structure (relaxation) or the input structure (single point)
properties     Dict            ``fermi_energy`` (eV), ``converged_electronic`` and ``converged_ionic``
                               (bool), ``n_electrons``, ``engine``, ``engine_version``, ``task``, extras
=============  ==============  ==========================================================================
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from aiida import orm
from aiida.engine import ProcessBuilder

from aiida_lps.dft.registry import get_engine, register_engine, validate_engine_port

__all__ = (
    "COMMON_OUTPUTS",
    "TASKS",
    "DftEngine",
    "get_engine",
    "kpoints_from_spacing",
    "register_engine",
    "validate_engine_port",
)

TASKS = ("single_point", "relax")
COMMON_OUTPUTS = ("energy", "forces", "stress", "structure", "properties")


def kpoints_from_spacing(structure: orm.StructureData, spacing: float) -> orm.KpointsData:
    """Γ-centred mesh of at most ``spacing`` (Å⁻¹, 2π included) between k-points along every reciprocal vector.

    aiida's ``KpointsData.set_kpoints_mesh_from_density``: n_i = max(1, ceil(|b_i| / spacing)) with |b_i| / spacing
    rounded to 5 decimals first, 1 along non-periodic axes (the convention of VASP's KSPACING and of
    aiida-quantumespresso's ``kpoints_distance``). AiiDA-free scripts use
    :func:`aiida_lps.science.kpoints.mesh_from_spacing`, the same rule without a profile.
    """
    if not spacing > 0:
        raise ValueError(f"k-point spacing must be positive (1/Å), got {spacing}")
    kpoints = orm.KpointsData()
    kpoints.set_cell_from_structure(structure)
    kpoints.set_kpoints_mesh_from_density(float(spacing), offset=[0.0, 0.0, 0.0])
    return kpoints


class DftEngine(abc.ABC):
    """One DFT code behind the common interface.

    A workflow asks an engine for a builder of a task and later for the normalised outputs of the process that
    ran; it never branches on the code itself. Core-hole XAS runs are a separate capability
    (:class:`aiida_lps.dft.core_hole.CoreHoleEngine`) that an engine may add.
    """

    name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def get_builder(
        cls,
        task: str,
        structure: orm.StructureData,
        code: orm.AbstractCode,
        protocol: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> ProcessBuilder:
        """Return a builder of the engine's process for ``task`` (one of :data:`TASKS`).

        :param protocol: ``fast``, ``moderate`` or ``precise`` (engine default when ``None``).
        :param overrides: nested dictionary merged over the protocol's inputs.
        :param options: scheduler options (resources, max_wallclock_seconds, ...).
        :raises ValueError: for an unknown task or protocol, naming it.
        """

    @classmethod
    @abc.abstractmethod
    def normalise(cls, node: orm.ProcessNode) -> dict[str, orm.Data]:
        """Return the common outputs (see the module docstring) of a finished process, created by a calcfunction.

        The calcfunction takes the engine's raw output nodes as inputs, so the provenance graph links the common
        outputs to what the code produced.
        """

    @classmethod
    @abc.abstractmethod
    def get_available_protocols(cls) -> dict[str, dict]:
        """Protocol names with their descriptions."""

    @classmethod
    @abc.abstractmethod
    def validate_overrides(cls, protocol: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Raise ``ValueError`` naming an unknown protocol or override key (the engine's protocol file decides)."""

    @classmethod
    def validate_task(cls, task: str) -> None:
        """Raise ``ValueError`` if ``task`` is not one of :data:`TASKS`."""
        if task not in TASKS:
            raise ValueError(f"unknown DFT task {task!r}; available: {TASKS}")
