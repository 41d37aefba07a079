"""The core-hole capability is separate from the common DFT interface: ``lps.xas`` rejects an engine without it."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_lps.dft import registry
from aiida_lps.dft.base import DftEngine, get_engine
from aiida_lps.dft.core_hole import CoreHoleEngine, get_core_hole_engine
from aiida_lps.workflows.xas import XasWorkChain


class PlainEngine(DftEngine):
    """A DFT engine with the common interface only (no core-hole methods)."""

    name = "plain-test"

    @classmethod
    def get_builder(cls, task, structure, code, protocol=None, overrides=None, options=None):
        raise NotImplementedError

    @classmethod
    def normalise(cls, node):
        raise NotImplementedError

    @classmethod
    def get_available_protocols(cls):
        return {}

    @classmethod
    def validate_overrides(cls, protocol=None, overrides=None):
        return None


@pytest.fixture
def plain_engine(monkeypatch):
    get_engine("gpaw")  # load the real implementations first
    monkeypatch.setitem(registry._REGISTRY, PlainEngine.name, PlainEngine)
    return PlainEngine


def test_gpaw_and_vasp_have_the_capability_and_a_plain_engine_need_not(plain_engine):
    for name in ("gpaw", "vasp"):
        engine = get_core_hole_engine(name)
        assert issubclass(engine, CoreHoleEngine) and issubclass(engine, DftEngine)
    assert not hasattr(plain_engine, "get_xch_builder")  # nothing inherited from DftEngine
    assert get_engine("plain-test") is plain_engine
    with pytest.raises(ValueError, match="plain-test engine has no core-hole"):
        get_core_hole_engine("plain-test")
    with pytest.raises(ValueError, match="unknown DFT engine 'nope'"):
        get_core_hole_engine("nope")


def test_lps_xas_rejects_an_engine_without_the_capability(plain_engine, gpaw_code):
    structure = orm.StructureData(cell=np.eye(3) * 4.0)
    structure.append_atom(position=(0, 0, 0), symbols="Li")
    structure.append_atom(position=(2, 2, 2), symbols="S")
    builder = XasWorkChain.get_builder()
    with pytest.raises(ValueError, match="plain-test engine has no core-hole"):
        builder.engine = orm.Str("plain-test")  # the builder validates the port at once
    with pytest.raises(ValueError, match="plain-test engine has no core-hole"):
        run_get_node(XasWorkChain, structure=structure, code=gpaw_code, engine=orm.Str("plain-test"))
