"""Rendering of potential templates into LAMMPS ``pair_style``/``pair_coeff`` commands."""

from __future__ import annotations

import re
from collections.abc import Sequence

_PLACEHOLDER = re.compile(r"\{([A-Za-z][a-z]?|elements)\}")


def render_pair_lines(
    pair_style: str, pair_coeff: Sequence[str], elements: Sequence[str], type_elements: Sequence[str]
) -> list[str]:
    """Return LAMMPS commands for a potential whose templates use ``{El}`` (type of El) and ``{elements}``.

    :param elements: the potential's element order (all placeholders must be among them).
    :param type_elements: element of each LAMMPS atom type, type ``i`` is ``type_elements[i-1]``.
    :raises ValueError: on an unknown placeholder or an element the run's types do not provide.
    """
    type_index = {el: i + 1 for i, el in enumerate(type_elements)}

    def substitute(match: re.Match) -> str:
        key = match.group(1)
        if key == "elements":
            return " ".join(type_elements)
        if key not in elements:
            raise ValueError(f"pair_coeff placeholder {{{key}}} is not one of the potential's elements {elements}")
        if key not in type_index:
            raise ValueError(f"element {key} of the potential has no LAMMPS atom type in {list(type_elements)}")
        return str(type_index[key])

    lines = [f"pair_style {pair_style}"]
    lines.extend(f"pair_coeff {_PLACEHOLDER.sub(substitute, line)}" for line in pair_coeff)
    return lines
