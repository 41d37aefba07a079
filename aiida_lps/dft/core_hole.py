"""The core-hole (XCH) capability of a DFT engine: what ``lps.xas`` needs besides the common DFT interface.

A plain :class:`~aiida_lps.dft.base.DftEngine` need not implement it; an engine that can put a full 1s core hole on
an atom also derives from :class:`CoreHoleEngine` (GPAW and VASP do). ``lps.xas`` checks this with
:func:`get_core_hole_engine` and stops with a clear message for an engine without the capability.

Outputs of :meth:`CoreHoleEngine.normalise_xch` (:data:`XCH_OUTPUTS`): ``spectrum`` (ArrayData ``energy`` (n,) eV
on the engine's raw axis, ``mu`` (n, 3) Cartesian components, ``mu_average`` (n,), optional
``stick_energy``/``stick_mu``; core-hole runs only), ``energy`` (Float, total energy in eV) and ``properties``
(Dict: ``fermi_energy``, ``raw_onset`` (eV, the first transition on the raw axis), ``reference_energy`` (eV, 0 where
the engine has none), ``n_atoms``, ``converged_electronic``, ``engine`` ...).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

from aiida import orm
from aiida.engine import ProcessBuilder

__all__ = (
    "XCH_OUTPUTS",
    "CoreHoleEngine",
    "MissingSpectrumError",
    "NoCoreLevelError",
    "ScfNotConvergedError",
    "XchError",
    "get_core_hole_engine",
)

XCH_OUTPUTS = ("spectrum", "energy", "properties")


class XchError(ValueError):
    """A core-hole (XCH) run cannot give what the XAS work chain needs."""


class MissingSpectrumError(XchError):
    """The core-hole run finished but wrote no spectrum."""


class ScfNotConvergedError(XchError):
    """The SCF of the run did not converge."""


class NoCoreLevelError(XchError):
    """The engine (or the chosen pseudopotential) has no 1s core level for the absorbing element."""


class CoreHoleEngine(abc.ABC):
    """Core-hole (XCH) K-edge XAS runs of one DFT code: a mixin of engines that also derive from ``DftEngine``."""

    name: str

    #: Override keys of :meth:`get_xch_builder` on top of the engine protocol's (``nbands``, ...).
    xch_override_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def validate_xch_overrides(cls, protocol: str | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Raise ``ValueError`` naming an unknown key of core-hole overrides (engine protocol keys or
        :attr:`xch_override_keys`); the engine's ``validate_overrides`` checks the rest."""
        rest = {key: value for key, value in (overrides or {}).items() if key not in cls.xch_override_keys}
        cls.validate_overrides(protocol, rest)

    @classmethod
    @abc.abstractmethod
    def check_core_hole(cls, element: str) -> str | None:
        """``None`` if the engine can put a full 1s core hole on ``element``, otherwise the reason why not."""

    @classmethod
    def prepare_core_hole(
        cls, element: str, protocol: str | None = None, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, orm.Data]:
        """Nodes the core-hole runs need besides the structure (GPAW: the generated 1s-hole dataset, as ``setup``).

        May run calcfunctions (so the nodes have provenance). Default: nothing is needed.
        """
        return {}

    @classmethod
    @abc.abstractmethod
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

    @classmethod
    @abc.abstractmethod
    def normalise_xch(cls, node: orm.ProcessNode, ground_state: bool = False) -> dict[str, orm.Data]:
        """:data:`XCH_OUTPUTS` of a finished core-hole run (``energy`` and ``properties`` only for a ground state),
        created by a calcfunction from the run's raw outputs.

        :raises ScfNotConvergedError: if the SCF did not converge.
        :raises MissingSpectrumError: if a core-hole run has no spectrum.
        """

    @classmethod
    def failure_kind(cls, node: orm.ProcessNode) -> str:
        """Why a run failed: ``scf_not_converged`` or ``failed`` (anything else)."""
        return "failed"


def get_core_hole_engine(name: str) -> type[CoreHoleEngine]:
    """The engine registered under ``name`` if it has the core-hole capability.

    :raises ValueError: for an unknown engine, or one without core-hole (XCH) support, naming it.
    """
    from aiida_lps.dft.base import get_engine

    engine = get_engine(name)
    if not issubclass(engine, CoreHoleEngine):
        raise ValueError(
            f"the {name} engine has no core-hole (XCH) capability: it does not implement "
            "aiida_lps.dft.core_hole.CoreHoleEngine"
        )
    return engine
