"""Idempotent launching of child processes, so that a work chain survives a daemon crash without running twice.

A work chain is checkpointed between outline steps. When a daemon worker dies inside a step that launches children,
the step runs again from the previous checkpoint; without care the children launched before the crash run on as
orphans and a second set is submitted. :class:`LaunchOnceMixin` looks for a child under the same ``CALL`` link label
first and reuses it (aiida-core links a child to its caller when the child is stored, before its task is sent).

What a crash can still leave, and how it is handled:

- a child stored but killed before its first checkpoint (no checkpoint, never terminated, cannot be continued), and a
  process function (calcfunction/workfunction: they run inside the caller's worker and are not checkpointed) that was
  running when the worker died: both are sealed as ``killed`` with a process status saying why, when the work chain
  is reloaded from its checkpoint; the step that called them runs again and makes new ones;
- a child found still ``created`` (checkpointed, never started) when its launching step runs again: its task may
  have been lost (the crash fell between aiida-core's ``save_checkpoint`` and ``continue_process``) and re-sending
  it could make two workers run it, so it is sealed as ``killed`` and launched anew. If its task did survive, the
  worker that gets it finds the node terminated and drops it (aiida-core's ``ProcessLauncher``). The one remaining
  race: a worker starts that child in the millisecond between the check and the seal; its next state change then
  fails on the sealed node.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.escaping import escape_for_sql_like
from aiida.common.links import LinkType
from aiida.engine import ProcessBuilder, ToContext, append_
from aiida.engine.processes import ProcessState

__all__ = ("LaunchOnceMixin", "LaunchOnceRestartMixin", "is_dead", "sealed_by_us")

_SEALED_BY_US = "Sealed by aiida-lps:"
_DEAD_STATUS = f"{_SEALED_BY_US} its worker died before it ran to the end (daemon crash); the caller went on."
_UNSTARTED_STATUS = f"{_SEALED_BY_US} never started, its task may have been lost in a daemon crash; launched anew."


def is_dead(node: orm.ProcessNode) -> bool:
    """Whether ``node`` can never run on: not terminated and without a checkpoint to continue from.

    Only meaningful once the worker that ran its caller is gone (the caller was reloaded from a checkpoint).
    """
    return not node.is_terminated and node.checkpoint is None


def seal_dead(node: orm.ProcessNode, status: str = _DEAD_STATUS) -> None:
    """Mark a dead child as killed, say why in its process status, and seal it (so exports are not blocked)."""
    node.set_process_state(ProcessState.KILLED)
    node.set_process_status(status)
    node.seal()


def sealed_by_us(node: orm.ProcessNode) -> bool:
    """Whether :mod:`aiida_lps.workflows.launching` sealed ``node`` (it never ran to the end; not a real launch)."""
    return (node.process_status or "").startswith(_SEALED_BY_US)


class LaunchOnceMixin:
    """Launch each child at most once per ``CALL`` link label, across daemon restarts. Put it before ``WorkChain``."""

    def load_instance_state(self, saved_state, load_context):
        """After a reload from a checkpoint, seal the children that died with the previous worker."""
        super().load_instance_state(saved_state, load_context)
        for node in self.node.called:
            if is_dead(node):
                seal_dead(node)
                self.node.logger.warning(f"sealed {node.process_label}<{node.pk}>: its worker died before it finished")

    def find_launched(self, label: str) -> orm.ProcessNode | None:
        """The child this work chain launched under ``label`` and that can still finish (or has), else ``None``.

        Dead children and children still ``created`` (never started) are sealed and, like those sealed before,
        skipped (see the module's docstring).
        """
        links = self.node.base.links.get_outgoing(
            link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK), link_label_filter=escape_for_sql_like(label)
        ).all()
        alive = []
        for node in sorted((link.node for link in links if link.link_label == label), key=lambda n: n.pk):
            if is_dead(node):
                seal_dead(node)
            elif node.process_state == ProcessState.CREATED and not node.is_sealed:
                seal_dead(node, _UNSTARTED_STATUS)
            elif not sealed_by_us(node):
                alive.append(node)
        return alive[0] if alive else None

    def set_progress(self, done: int, total: int, unit: str) -> None:
        """Record how far the work chain is (``done`` of ``total`` ``unit``, e.g. 2 of 8 iterations) in the node's
        ``lps_progress`` extra, which ``aiida-lps launch`` draws as a progress bar (extras stay writable while the
        process runs; they are not part of the provenance)."""
        self.node.base.extras.set("lps_progress", {"done": int(done), "total": int(total), "unit": unit})

    def launch_once(self, label: str, process, **inputs) -> orm.ProcessNode:
        """Submit ``process`` (a process class or a builder) under the link label ``label``, unless already launched.

        :returns: the node of the new child, or of the one launched under ``label`` before a daemon restart.
        """
        existing = self.find_launched(label)
        if existing is not None:
            self.report(f"{label}: reusing {existing.process_label}<{existing.pk}> launched before a daemon restart")
            return existing
        if isinstance(process, ProcessBuilder):
            process.metadata.call_link_label = label
            return self.submit(process, **inputs)
        metadata = dict(inputs.pop("metadata", None) or {})
        metadata["call_link_label"] = label
        return self.submit(process, **inputs, metadata=metadata)


class LaunchOnceRestartMixin(LaunchOnceMixin):
    """:class:`LaunchOnceMixin` for aiida-core's ``BaseRestartWorkChain``: ``run_process`` reuses ``iteration_NN``."""

    def run_process(self) -> ToContext:
        """Reuse the child of this iteration if it was launched before a restart, else launch it (aiida-core)."""
        existing = self.find_launched(f"iteration_{self.ctx.iteration + 1:02d}")
        if existing is None:
            return super().run_process()
        self.ctx.iteration += 1
        considered = self.node.base.extras.get(self._considered_handlers_extra, [])
        if len(considered) < self.ctx.iteration:
            considered.append([])
            self.node.base.extras.set(self._considered_handlers_extra, considered)
        self.report(f"reusing {existing.process_label}<{existing.pk}> of iteration #{self.ctx.iteration}")
        return ToContext(children=append_(existing))
