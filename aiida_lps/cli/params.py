"""Click parameter types of the ``aiida-lps`` command: structures by name, file or PK; YAML overrides."""

from __future__ import annotations

import pathlib
from typing import Any

import click
import yaml

__all__ = ("StructureParamType", "load_overrides")


class StructureParamType(click.ParamType):
    """A ``StructureData`` given as a packaged reference name (``aiida-lps structures list``), a structure file
    that ASE or pymatgen reads (CIF, POSCAR, extended XYZ, ...) or the PK/UUID/label of a stored node.

    Reference names are imported once (``aiida-lps structures import``) and found again afterwards; a file
    becomes a new, unstored node that is stored when the work chain starts.
    """

    name = "structure"

    def convert(self, value: Any, param, ctx):
        from aiida import orm

        if isinstance(value, orm.StructureData):
            return value
        text = str(value)
        from aiida_lps.structures import reference

        names = {row["name"].lower(): row["name"] for row in reference.list_structures()}
        if text.lower() in names:
            from aiida_lps.cli.structures import import_structure

            return import_structure(names[text.lower()])[0]
        path = pathlib.Path(text).expanduser()
        if path.is_file():
            return self._from_file(path, param, ctx)
        try:
            node = orm.load_node(text)
        except Exception as exc:  # NotExistent, MultipleObjectsError, ValueError
            self.fail(
                f"{text!r} is neither a packaged structure ({', '.join(sorted(names.values()))}), nor an existing "
                f"file, nor a stored node ({exc})",
                param,
                ctx,
            )
        if not isinstance(node, orm.StructureData):
            self.fail(f"node {text} is a {node.__class__.__name__}, not a StructureData", param, ctx)
        return node

    def _from_file(self, path: pathlib.Path, param, ctx):
        from aiida import orm

        errors = []
        try:
            import ase.io

            return orm.StructureData(ase=ase.io.read(path))
        except Exception as exc:  # ASE raises many types for unknown formats
            errors.append(f"ASE: {exc}")
        try:
            from pymatgen.core import Structure

            return orm.StructureData(pymatgen=Structure.from_file(path))
        except Exception as exc:
            errors.append(f"pymatgen: {exc}")
        self.fail(f"cannot read a structure from {path}: {'; '.join(errors)}", param, ctx)


def load_overrides(path: pathlib.Path | None) -> dict | None:
    """The nested mapping of a YAML overrides file (``None`` without a file); a clear error otherwise."""
    if path is None:
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"{path} is not valid YAML: {exc}", param_hint="--overrides") from exc
    if data is None:
        return None
    if not isinstance(data, dict):
        raise click.BadParameter(
            f"{path} must hold a mapping (the nested overrides of the protocol), got {type(data).__name__}",
            param_hint="--overrides",
        )
    return data
