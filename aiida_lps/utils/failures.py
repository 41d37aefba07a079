"""What went wrong in a failed child process, down to the calculation that caused it, for ``self.report``."""

from __future__ import annotations

from aiida import orm
from aiida.common.exceptions import AiidaException

__all__ = ("LAUNCH_ERRORS", "describe_failure")

#: What a plugin's builder or a child's input validation raises for inputs it rejects (aiida-vasp: no POTCAR family,
#: a missing pseudo, a port that fails validation): caught around ``get_builder`` + ``submit`` into an exit code.
LAUNCH_ERRORS = (ValueError, TypeError, KeyError, AiidaException)


def _one(node: orm.ProcessNode) -> str:
    state = node.process_state.value if node.process_state is not None else "unknown"
    if node.is_excepted or node.is_killed:
        detail = f"{state}: {node.exception or node.process_status or 'no message'}".strip()
        return f"{node.process_label}<{node.pk}> {detail.splitlines()[-1] if detail else state}"
    return f"{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message or 'no message'}"


def _failed(node: orm.ProcessNode) -> bool:
    return node.is_excepted or node.is_killed or (node.is_finished and not node.is_finished_ok)


def describe_failure(node: orm.ProcessNode, depth: int = 4) -> str:
    """``Parent<pk> [402] message <- Child<pk> [305] message ...``: the failed node and its last failed descendants.

    A work chain that gave up (e.g. aiida-core's 402 "unhandled failure") hides the cause one or two levels down;
    this walks the most recent failed called process at each level, up to ``depth`` levels.
    """
    parts = [_one(node)]
    current = node
    for _ in range(depth):
        failed = [child for child in current.called if isinstance(child, orm.ProcessNode) and _failed(child)]
        if not failed:
            break
        current = max(failed, key=lambda child: (child.ctime, child.pk))
        parts.append(_one(current))
    return " <- ".join(parts)
