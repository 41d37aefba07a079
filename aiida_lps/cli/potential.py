"""``verdi data lps.potential show|export`` (entry point group ``aiida.cmdline.data``), also ``aiida-lps potential``."""

from __future__ import annotations

import json
import pathlib

import click
from aiida.cmdline.groups.verdi import VerdiCommandGroup
from aiida.cmdline.params import arguments, types

__all__ = ("potential", "export_potential")

POTENTIAL = arguments.DATUM(type=types.DataParamType(sub_classes=("aiida.data:lps.potential",)))


@click.group("lps.potential", cls=VerdiCommandGroup)
def potential():
    """Interatomic potentials for LAMMPS (lps.potential): show and export."""


@potential.command("show")
@POTENTIAL
def show_command(datum):
    """pair_style/pair_coeff lines, elements, cut-off, files and metadata of potential DATUM."""
    click.echo(f"lps.potential<{datum.pk}> {datum.label or ''}".rstrip())
    click.echo(f"elements:    {' '.join(datum.elements)} (LAMMPS types 1..{len(datum.elements)})")
    click.echo(f"cut-off:     {datum.cutoff:g} Å")
    click.echo(f"sha256:      {datum.sha256}")
    click.echo("LAMMPS commands:")
    for line in datum.lammps_commands():
        click.echo(f"  {line}")
    click.echo("files:" + ("" if datum.filenames else " none"))
    for name in datum.filenames:
        click.echo(f"  {name} ({len(datum.get_file_content(name))} bytes)")
    if datum.metadata:
        click.echo("metadata:")
        click.echo(json.dumps(datum.metadata, indent=2, sort_keys=True))


def export_potential(datum, folder: pathlib.Path, overwrite: bool = False) -> list[pathlib.Path]:
    """Write the potential's files, ``potential.lammps`` (its commands) and ``potential.json`` to ``folder``.

    :raises FileExistsError: if a file exists and ``overwrite`` is false.
    """
    folder.mkdir(parents=True, exist_ok=True)
    contents: dict[str, bytes] = {name: datum.get_file_content(name) for name in datum.filenames}
    contents["potential.lammps"] = ("\n".join(datum.lammps_commands()) + "\n").encode()
    description = {
        "pk": datum.pk,
        "uuid": datum.uuid,
        "pair_style": datum.pair_style,
        "pair_coeff": datum.pair_coeff,
        "elements": datum.elements,
        "cutoff_angstrom": datum.cutoff,
        "files": datum.filenames,
        "extra_commands": datum.extra_commands,
        "sha256": datum.sha256,
        "metadata": datum.metadata,
    }
    contents["potential.json"] = (json.dumps(description, indent=2) + "\n").encode()
    existing = [name for name in contents if (folder / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{', '.join(existing)} exist in {folder} (use --overwrite)")
    written = []
    for name, content in contents.items():
        (folder / name).write_bytes(content)
        written.append(folder / name)
    return written


@potential.command("export")
@POTENTIAL
@click.argument("folder", type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option("-f", "--overwrite", is_flag=True, help="Replace existing files.")
def export_command(datum, folder: pathlib.Path, overwrite: bool):
    """Write the files of potential DATUM, `potential.lammps` (pair_style/pair_coeff lines) and `potential.json`."""
    try:
        written = export_potential(datum, folder, overwrite)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path}")
