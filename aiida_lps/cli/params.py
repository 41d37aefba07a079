"""Click parameter types of the ``aiida-lps`` command: structures by name, file or PK; YAML overrides."""

from __future__ import annotations

import pathlib
from typing import Any

import click
import yaml

__all__ = ("CompositionParamType", "StructureParamType", "load_overrides")


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


class CompositionParamType(click.ParamType):
    """One composition of a phase-diagram scan: ``PARENT:KEY=VALUE[,KEY=VALUE...]``.

    ``PARENT`` is what :class:`StructureParamType` takes (packaged name, file, PK/UUID); the keys are those of an
    entry of ``lps.sampling.phase_diagram``'s ``compositions``: ``n_li2s``, ``n_p2s5`` (units removed), ``target_x``,
    ``x_tolerance`` and ``supercell`` (``2x1x1``). Converts to ``(parent text, StructureData, entry without parent)``,
    e.g. ``beta-Li3PS4:n_li2s=1`` or ``Li7P3S11:target_x=0.6,supercell=1x1x2``.
    """

    name = "composition"
    INTEGER_KEYS = ("n_li2s", "n_p2s5")
    FLOAT_KEYS = ("target_x", "x_tolerance")

    def convert(self, value: Any, param, ctx):
        if isinstance(value, tuple):
            return value
        parent, sep, rest = str(value).rpartition(":")
        if not sep or not parent or not rest:
            self.fail(f"{value!r}: expected PARENT:KEY=VALUE[,KEY=VALUE], e.g. beta-Li3PS4:n_li2s=1", param, ctx)
        entry: dict[str, Any] = {}
        for item in rest.split(","):
            key, eq, text = (part.strip() for part in item.partition("="))
            known = (*self.INTEGER_KEYS, *self.FLOAT_KEYS, "supercell")
            if not eq or key not in known:
                self.fail(f"{value!r}: {item!r} is not KEY=VALUE with KEY one of {', '.join(known)}", param, ctx)
            try:
                if key in self.INTEGER_KEYS:
                    entry[key] = int(text)
                elif key in self.FLOAT_KEYS:
                    entry[key] = float(text)
                else:
                    entry[key] = [int(n) for n in text.lower().split("x")]
            except ValueError:
                self.fail(f"{value!r}: {key} = {text!r} is not a valid value", param, ctx)
        return parent, StructureParamType().convert(parent, param, ctx), entry


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
