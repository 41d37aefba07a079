"""LaunchOnceMixin: a launching step run again (as after a daemon crash) reuses its children; dead ones are sealed."""

from __future__ import annotations

import plumpy
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ToContext, WorkChain, run_get_node
from aiida.engine.processes import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager

from aiida_lps.workflows.launching import LaunchOnceMixin


class Child(WorkChain):
    """Returns its input plus one."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("x", valid_type=orm.Int)
        spec.output("y", valid_type=orm.Int)
        spec.outline(cls.go)

    def go(self):
        self.out("y", orm.Int(self.inputs.x.value + 1).store())


class Launcher(LaunchOnceMixin, WorkChain):
    """Launches children ``a`` and ``b`` in one step, and runs that step twice (a re-entry after a crash)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("dead_child", valid_type=orm.Bool, default=lambda: orm.Bool(False))
        spec.input("unstarted_child", valid_type=orm.Bool, default=lambda: orm.Bool(False))
        spec.outline(cls.launch, cls.launch, cls.check)
        spec.output("pks", valid_type=orm.List)

    def launch(self):
        if self.inputs.dead_child.value and "a" not in self.ctx:
            # what a worker killed between storing a child and its first checkpoint leaves behind
            dead = orm.WorkflowNode()
            dead.base.links.add_incoming(self.node, LinkType.CALL_WORK, "a")
            dead.store()
        if self.inputs.unstarted_child.value and "a" not in self.ctx:
            # checkpointed but never started: its task may have been lost between the checkpoint and the broker
            unstarted = instantiate_process(self.runner, Child, x=orm.Int(0), metadata={"call_link_label": "a"})
            unstarted.node.set_checkpoint("{}")
        futures = {label: self.launch_once(label, Child, x=orm.Int(i)) for i, label in enumerate(("a", "b"))}
        if "a" in self.ctx:  # second pass: the same nodes as the first
            assert {label: node.pk for label, node in futures.items()} == {"a": self.ctx.a.pk, "b": self.ctx.b.pk}
        return ToContext(**futures)

    def check(self):
        self.out("pks", orm.List([self.ctx.a.pk, self.ctx.b.pk]).store())


def _children(node, label):
    return [link.node for link in node.base.links.get_outgoing(link_label_filter=label).all()]


def test_relaunching_step_reuses_children(aiida_profile_clean):
    results, node = run_get_node(Launcher)
    assert node.is_finished_ok, node.exit_message
    assert len(node.called) == 2  # two passes of the launching step, two children
    for label, expected in (("a", 1), ("b", 2)):
        (child,) = _children(node, label)
        assert child.outputs.y.value == expected
    reports = [log.message for log in orm.Log.collection.get_logs_for(node)]
    assert sum("reusing Child<" in message for message in reports) == 2


def test_dead_child_is_sealed_and_launched_again(aiida_profile_clean):
    _, node = run_get_node(Launcher, dead_child=orm.Bool(True))
    assert node.is_finished_ok, node.exit_message
    under_a = _children(node, "a")
    assert len(under_a) == 2
    (dead,) = [child for child in under_a if not isinstance(child, orm.WorkChainNode)]
    assert dead.is_sealed and dead.process_state == ProcessState.KILLED
    assert "daemon crash" in dead.process_status
    (live,) = [child for child in under_a if isinstance(child, orm.WorkChainNode)]
    assert live.is_finished_ok and live.outputs.y.value == 1
    assert all(n.is_sealed for n in orm.QueryBuilder().append(orm.ProcessNode).all(flat=True))


def test_reload_from_checkpoint_seals_dead_children(aiida_profile_clean):
    """A work chain reloaded from its checkpoint seals children that can never finish (a running calcfunction)."""
    runner = get_manager().get_runner()
    process = instantiate_process(runner, Launcher)
    bundle = plumpy.Bundle(process)
    stale = orm.CalcFunctionNode()
    stale.base.links.add_incoming(process.node, LinkType.CALL_CALC, "make_something")
    stale.store()
    stale.set_process_state(ProcessState.RUNNING)
    finished = orm.CalcFunctionNode()
    finished.base.links.add_incoming(process.node, LinkType.CALL_CALC, "done")
    finished.store()
    finished.set_process_state(ProcessState.FINISHED)
    finished.set_exit_status(0)
    finished.seal()
    bundle.unbundle(plumpy.LoadSaveContext(runner=runner))
    assert stale.is_sealed and stale.process_state == ProcessState.KILLED
    assert finished.process_state == ProcessState.FINISHED and finished.exit_status == 0


def test_unstarted_child_is_sealed_and_launched_again(aiida_profile_clean):
    _, node = run_get_node(Launcher, unstarted_child=orm.Bool(True))
    assert node.is_finished_ok, node.exit_message
    first, second = sorted(_children(node, "a"), key=lambda n: n.pk)
    assert first.is_sealed and first.process_state == ProcessState.KILLED and "never started" in first.process_status
    assert second.is_finished_ok and second.outputs.y.value == 1
