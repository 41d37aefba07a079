"""``lps.potential``: an interatomic potential that LAMMPS can run, stored with its files and a content hash."""

from __future__ import annotations

import hashlib
import io
import json
import math
import pathlib
import re
from collections.abc import Mapping, Sequence

from aiida import orm
from pymatgen.core import Element

from aiida_lps.engines.lammps.potential import render_pair_lines

__all__ = ("InteratomicPotentialData",)

_ELEMENTS = frozenset(Element(symbol).symbol for symbol in Element.__members__)
_FILENAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


def _looks_like_file(token: str) -> bool:
    """A ``pair_coeff`` token that names a file: a plain name with an extension that is not a number."""
    try:
        float(token)
    except ValueError:
        return bool(_FILENAME.match(token)) and "." in token.strip(".") and any(c.isalpha() for c in token)
    return False


class InteratomicPotentialData(orm.Data):
    """A LAMMPS interatomic potential: ``pair_style`` + ``pair_coeff`` lines, the files they name and the element order.

    ``pair_coeff`` lines are templates: ``{Li}`` stands for the LAMMPS atom type of Li and ``{elements}`` for the
    element symbols in type order, e.g. ``pair_coeff * * pot.snapcoeff pot.snapparam {elements}`` or
    ``pair_coeff {Li} {S} 1000.0 0.3 0.0``. Type ``i`` (1-based) is ``elements[i-1]``.

    Analytic potentials (Lennard-Jones, Buckingham, ...) have no files; machine-learned ones (SNAP, POD, ...) carry
    any number of files, stored in the node's repository and copied next to the LAMMPS input.
    """

    def __init__(
        self,
        pair_style: str,
        pair_coeff: Sequence[str],
        elements: Sequence[str],
        cutoff: float,
        files: Mapping[str, str | bytes | pathlib.Path] | None = None,
        metadata: Mapping | None = None,
        extra_commands: Sequence[str] = (),
        **kwargs,
    ):
        """Create a potential.

        :param pair_style: the ``pair_style`` arguments, e.g. ``"lj/cut 8.5"`` or ``"snap"``.
        :param pair_coeff: ``pair_coeff`` argument templates (without the keyword ``pair_coeff``).
        :param elements: element symbols in LAMMPS type order.
        :param cutoff: interaction cut-off radius in Å (used for the minimum-image supercell).
        :param files: file name -> content: ``pathlib.Path`` (read), ``bytes`` or multi-line text; a one-line
            ``str`` is rejected (it is usually a path meant as ``pathlib.Path``).
        :raises TypeError: for a string where a list is expected (``elements="LiPS"``) or ambiguous file content.
        :param metadata: free-form JSON-serialisable information (source, reference, fit metrics ...).
        :param extra_commands: extra LAMMPS commands needed by the pair style (e.g. ``kspace_style ewald 1e-5``).
        """
        super().__init__(**kwargs)
        for name, value in (("elements", elements), ("pair_coeff", pair_coeff), ("extra_commands", extra_commands)):
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise TypeError(f"`{name}` must be a list of strings, got {value!r} (e.g. ['Li', 'P', 'S'])")
        if not isinstance(pair_style, str):
            raise TypeError(f"`pair_style` must be a string, got {pair_style!r}")
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not math.isfinite(cutoff):
            raise TypeError(f"`cutoff` must be a finite number (Å), got {cutoff!r}")
        unknown = [e for e in elements if not isinstance(e, str) or e not in _ELEMENTS]
        if unknown:
            raise ValueError(f"`elements` has entries that are not element symbols: {unknown}")
        elements = [str(e) for e in elements]
        if not elements or len(set(elements)) != len(elements):
            raise ValueError(f"`elements` must be a non-empty list of distinct symbols, got {elements}")
        if not pair_style.strip():
            raise ValueError("`pair_style` must not be empty")
        if not pair_coeff:
            raise ValueError("at least one `pair_coeff` line is required")
        cutoff = float(cutoff)
        if not cutoff > 0:
            raise ValueError(f"`cutoff` must be positive (Å), got {cutoff}")
        contents: dict[str, bytes] = {}
        for name, content in (files or {}).items():
            if not _FILENAME.match(name):
                raise ValueError(f"potential file name {name!r} must be a plain file name")
            if isinstance(content, pathlib.Path):
                content = content.read_bytes()
            elif isinstance(content, str) and "\n" not in content:
                raise TypeError(
                    f"file {name!r}: a one-line string {content[:60]!r} is ambiguous (a path or the content?); pass "
                    "pathlib.Path(...) to read a file, or the content as bytes or multi-line text"
                )
            elif not isinstance(content, (str, bytes, bytearray)):
                raise TypeError(f"file {name!r}: content must be pathlib.Path, bytes or text, got {type(content)}")
            contents[name] = content.encode() if isinstance(content, str) else bytes(content)
        pair_coeff = [line.strip() for line in pair_coeff]
        named = sorted({token for line in pair_coeff for token in line.split() if _looks_like_file(token)})
        missing = [name for name in named if name not in contents]
        if missing:
            raise ValueError(f"`pair_coeff` names file(s) {missing} that are not in `files` ({sorted(contents)})")
        # Render once to validate the templates now rather than at run time.
        render_pair_lines(pair_style, pair_coeff, elements, elements)

        for name, content in contents.items():
            self.base.repository.put_object_from_filelike(io.BytesIO(content), name)
        self.base.attributes.set("pair_style", pair_style.strip())
        self.base.attributes.set("pair_coeff", pair_coeff)
        self.base.attributes.set("elements", elements)
        self.base.attributes.set("cutoff", cutoff)
        self.base.attributes.set("filenames", sorted(contents))
        self.base.attributes.set("extra_commands", [str(c) for c in extra_commands])
        self.base.attributes.set("metadata", json.loads(json.dumps(dict(metadata or {}))))
        self.base.attributes.set("sha256", self._content_hash(pair_style, pair_coeff, elements, cutoff, contents))

    @staticmethod
    def _content_hash(pair_style, pair_coeff, elements, cutoff, contents: Mapping[str, bytes]) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([pair_style.strip(), list(pair_coeff), list(elements), cutoff]).encode())
        for name in sorted(contents):
            digest.update(name.encode())
            digest.update(hashlib.sha256(contents[name]).digest())
        return digest.hexdigest()

    @property
    def pair_style(self) -> str:
        """The ``pair_style`` arguments."""
        return self.base.attributes.get("pair_style")

    @property
    def pair_coeff(self) -> list[str]:
        """The ``pair_coeff`` templates."""
        return list(self.base.attributes.get("pair_coeff"))

    @property
    def elements(self) -> list[str]:
        """Element symbols in LAMMPS type order."""
        return list(self.base.attributes.get("elements"))

    @property
    def cutoff(self) -> float:
        """Interaction cut-off in Å."""
        return self.base.attributes.get("cutoff")

    @property
    def filenames(self) -> list[str]:
        """Names of the files the potential carries."""
        return list(self.base.attributes.get("filenames"))

    @property
    def extra_commands(self) -> list[str]:
        """Additional LAMMPS commands (kspace, neighbour settings) the potential needs."""
        return list(self.base.attributes.get("extra_commands", []))

    @property
    def metadata(self) -> dict:
        """Free-form metadata."""
        return dict(self.base.attributes.get("metadata", {}))

    @property
    def sha256(self) -> str:
        """SHA-256 of the pair lines, elements, cut-off and file contents."""
        return self.base.attributes.get("sha256")

    def get_file_content(self, name: str) -> bytes:
        """Return the bytes of one of the potential's files."""
        return self.base.repository.get_object_content(name, mode="rb")

    def lammps_commands(self, type_elements: Sequence[str] | None = None) -> list[str]:
        """Return the ``pair_style``/``pair_coeff`` (and extra) commands for a run whose types are ``type_elements``.

        By default the types are the potential's own element order.
        """
        lines = render_pair_lines(self.pair_style, self.pair_coeff, self.elements, type_elements or self.elements)
        return lines + self.extra_commands
