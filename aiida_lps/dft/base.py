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
import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

from aiida import orm
from aiida.engine import ProcessBuilder

__all__ = (
    "COMMON_OUTPUTS",
    "TASKS",
    "XCH_OUTPUTS",
    "DftEngine",
    "MissingSpectrumError",
    "NoCoreLevelError",
    "ScfNotConvergedError",
    "XchError",
    "get_engine",
    "register_engine",
    "validate_engine_port",
)

TASKS = ("single_point", "relax")
COMMON_OUTPUTS = ("energy", "forces", "stress", "structure", "properties")

#: Outputs of :meth:`DftEngine.normalise_xch`: ``spectrum`` (ArrayData ``energy`` (n,) eV on the engine's raw axis,
#: ``mu`` (n, 3) Cartesian components, ``mu_average`` (n,), optional ``stick_energy``/``stick_mu``; core-hole runs
#: only), ``energy`` (Float, total energy in eV) and ``properties`` (Dict: ``fermi_energy``, ``raw_onset`` (eV, the
#: first transition on the raw axis), ``reference_energy`` (eV, 0 where the engine has none), ``n_atoms``,
#: ``converged_electronic``, ``engine`` ...).
XCH_OUTPUTS = ("spectrum", "energy", "properties")


class XchError(ValueError):
    """A core-hole (XCH) run cannot give what the XAS work chain needs."""


class MissingSpectrumError(XchError):
    """The core-hole run finished but wrote no spectrum."""


class ScfNotConvergedError(XchError):
    """The SCF of the run did not converge."""


class NoCoreLevelError(XchError):
    """The engine (or the chosen pseudopotential) has no 1s core level for the absorbing element."""


_REGISTRY: dict[str, type[DftEngine]] = {}
_IMPLEMENTATIONS = ("aiida_lps.dft.gpaw", "aiida_lps.dft.vasp")


class DftEngine(abc.ABC):
    """One DFT code behind the common interface.

    A workflow asks an engine for a builder of a task and later for the normalised outputs of the process that
    ran; it never branches on the code itself.
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

    # ------------------------------------------------------------------ core-hole (XCH) XAS capability

    #: Override keys of :meth:`get_xch_builder` on top of the engine protocol's (``nbands``, ...).
    xch_override_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def validate_xch_overrides(cls, protocol: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Raise ``ValueError`` naming an unknown key of core-hole overrides (engine protocol keys or
        :attr:`xch_override_keys`)."""
        rest = {key: value for key, value in (overrides or {}).items() if key not in cls.xch_override_keys}
        cls.validate_overrides(protocol, rest)

    @classmethod
    def check_core_hole(cls, element: str) -> str | None:
        """``None`` if the engine can put a full 1s core hole on ``element``, otherwise the reason why not."""
        raise NotImplementedError(f"the {cls.name} engine has no core-hole XAS support")

    @classmethod
    def prepare_core_hole(
        cls, element: str, protocol: str | None = None, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, orm.Data]:
        """Nodes the core-hole runs need besides the structure (GPAW: the generated 1s-hole dataset, as ``setup``).

        May run calcfunctions (so the nodes have provenance). Default: nothing is needed.
        """
        return {}

    @classmethod
    def get_xch_builder(
        cls,
        structure: orm.StructureData,
        absorber_kind: str | None,
        code: orm.AbstractCode,
        protocol: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        ground_state: bool = False,
        core_hole: Mapping[str, orm.Data] | None = None,
    ) -> ProcessBuilder:
        """Builder of a core-hole run (excited electron and full 1s hole on the single site of ``absorber_kind``,
        which must be site 0) or, with ``ground_state=True``, of the matching ground-state SCF (same settings, no
        hole, ``absorber_kind`` ``None``).

        :param core_hole: the nodes returned by :meth:`prepare_core_hole`.
        :raises ValueError: for inputs the engine cannot run, naming the problem.
        """
        raise NotImplementedError(f"the {cls.name} engine has no core-hole XAS support")

    @classmethod
    def normalise_xch(cls, node: orm.ProcessNode, ground_state: bool = False) -> dict[str, orm.Data]:
        """:data:`XCH_OUTPUTS` of a finished core-hole run (``energy`` and ``properties`` only for a ground state),
        created by a calcfunction from the run's raw outputs.

        :raises ScfNotConvergedError: if the SCF did not converge.
        :raises MissingSpectrumError: if a core-hole run has no spectrum.
        """
        raise NotImplementedError(f"the {cls.name} engine has no core-hole XAS support")

    @classmethod
    def failure_kind(cls, node: orm.ProcessNode) -> str:
        """Why a run failed: ``scf_not_converged`` or ``failed`` (anything else)."""
        return "failed"

    @classmethod
    def validate_task(cls, task: str) -> None:
        """Raise ``ValueError`` if ``task`` is not one of :data:`TASKS`."""
        if task not in TASKS:
            raise ValueError(f"unknown DFT task {task!r}; available: {TASKS}")


def register_engine(engine: type[DftEngine]) -> type[DftEngine]:
    """Class decorator that makes an engine available under ``engine.name``."""
    _REGISTRY[engine.name] = engine
    return engine


def get_engine(name: str) -> type[DftEngine]:
    """Return the engine registered under ``name`` (``gpaw`` or ``vasp``)."""
    for module in _IMPLEMENTATIONS:  # importing an implementation registers it
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exception:
            if exception.name != module:
                raise
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown DFT engine {name!r}; available: {sorted(_REGISTRY)}") from None


def validate_engine_port(value, _) -> str | None:
    """Port validator of an ``engine`` input (``orm.Str``): a message naming the unknown engine, else ``None``."""
    try:
        get_engine(value.value)
    except ValueError as exception:
        return str(exception)
    return None
