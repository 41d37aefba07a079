"""``aiida-lps structures``: list, inspect and import the shipped Li-P-S reference crystals."""

from __future__ import annotations

from typing import Any

import click
from aiida.cmdline.groups.verdi import VerdiCommandGroup

from aiida_lps.structures import reference

__all__ = ("structures", "find_imported", "import_structure")

EXTRAS_KEY = "lps_reference"
SYMPREC = 0.1


def _entry_or_fail(name: str) -> dict[str, Any]:
    """Index row of ``name``, or a click error listing the available names."""
    try:
        return reference.get_entry(name)
    except reference.UnknownStructureError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from exc


def _provenance(entry: dict[str, Any], supercell: tuple[int, int, int]) -> dict[str, Any]:
    """The extras stored with an imported structure."""
    return {
        "name": entry["name"],
        "file": entry["file"],
        "sha256": reference.file_sha256(entry["name"]),
        "formula": entry["formula"],
        "space_group": entry["space_group"],
        "relaxation": entry["relaxation"],
        "source": entry["source"],
        "doi": entry["doi"],
        "url": entry["url"],
        "license": entry["license"],
        "supercell": list(supercell),
    }


def find_imported(sha256: str, supercell: tuple[int, int, int]):
    """A stored ``StructureData`` imported from the file with ``sha256`` as ``supercell``, or ``None``."""
    from aiida import orm

    query = orm.QueryBuilder().append(
        orm.StructureData, filters={f"extras.{EXTRAS_KEY}.sha256": sha256}, project="*", tag="structure"
    )
    query.order_by({"structure": {"id": "asc"}})
    for (node,) in query.iterall():
        if list(node.base.extras.get(EXTRAS_KEY, {}).get("supercell", [])) == list(supercell):
            return node
    return None


MAX_IMPORT_ATOMS = 20000  # default size guard of `structures import --supercell` (override with --max-atoms)


def import_structure(
    name: str, supercell: tuple[int, int, int] = (1, 1, 1), label: str | None = None, max_atoms: int = MAX_IMPORT_ATOMS
):
    """Store reference structure ``name`` (repeated ``supercell`` times) unless already imported.

    :raises ValueError: if the repeated cell would have more than ``max_atoms`` atoms.
    :returns: (node, created)
    """
    from aiida import orm

    entry = reference.get_entry(name)
    n_atoms = len(reference.load_structure(entry["name"])) * supercell[0] * supercell[1] * supercell[2]
    if n_atoms > max_atoms:
        raise ValueError(
            f"{entry['name']} x {'x'.join(map(str, supercell))} has {n_atoms} atoms, above the guard of {max_atoms}; "
            "pass a larger --max-atoms on purpose"
        )
    extras = _provenance(entry, supercell)
    existing = find_imported(extras["sha256"], supercell)
    if existing is not None:
        return existing, False
    structure = reference.load_structure(entry["name"]) * tuple(supercell)
    repeat = "x".join(str(n) for n in supercell)
    node = orm.StructureData(pymatgen=structure)
    node.label = label or (entry["name"] if repeat == "1x1x1" else f"{entry['name']} {repeat}")
    node.description = (
        f"{entry['name']} ({entry['formula']}, {entry['space_group']}, {entry['relaxation']}), {repeat} cell of "
        f"aiida-lps reference file {entry['file']}. Source: {entry['source']}. Licence: {entry['license']}."
    )
    node.base.extras.set(EXTRAS_KEY, extras)
    node.store()
    return node, True


@click.group("structures", cls=VerdiCommandGroup)
def structures():
    """Reference crystals of the Li2S-P2S5 system shipped with aiida-lps."""


@structures.command("list")
def list_command():
    """Table of the shipped structures."""
    from tabulate import tabulate

    rows = [
        (row["name"], row["formula"], row["space_group"], row["natoms"], row["relaxation"], row["license"])
        for row in reference.list_structures()
    ]
    headers = ("name", "formula", "space group", "#atoms", "relaxation", "licence")
    click.echo(tabulate(rows, headers=headers))


@structures.command("show")
@click.argument("name")
def show_command(name: str):
    """Cell, sites, symmetry and provenance of structure NAME."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    entry = _entry_or_fail(name)
    structure = reference.load_structure(entry["name"])
    analyzer = SpacegroupAnalyzer(structure, symprec=SYMPREC)
    symmetrized = analyzer.get_symmetrized_structure()
    lattice = structure.lattice
    click.echo(f"{entry['name']}  ({entry['formula']}; file {entry['file']})")
    click.echo(f"space group:   {analyzer.get_space_group_symbol()} (#{analyzer.get_space_group_number()})")
    click.echo(f"cell:          a={lattice.a:.4f} b={lattice.b:.4f} c={lattice.c:.4f} A")
    click.echo(f"               alpha={lattice.alpha:.3f} beta={lattice.beta:.3f} gamma={lattice.gamma:.3f} deg")
    click.echo(f"               volume={lattice.volume:.2f} A^3")
    click.echo(f"sites:         {len(structure)} ({structure.composition.formula})")
    click.echo("  orbits: species, Wyckoff letter (standard setting), multiplicity, fractional coords in this cell")
    for indices, wyckoff in zip(symmetrized.equivalent_indices, symmetrized.wyckoff_symbols, strict=True):
        site = structure[indices[0]]
        coords = " ".join(f"{x:8.5f}" for x in site.frac_coords)
        click.echo(f"  {site.species_string:<3} {wyckoff:<4} x{len(indices):<3} {coords}")
    s_sites = sum(1 for indices in symmetrized.equivalent_indices if structure[indices[0]].species_string == "S")
    click.echo(f"inequivalent S sites: {s_sites} (expected {entry['inequivalent_s_sites']}, symprec {SYMPREC})")
    click.echo(f"relaxation:    {entry['relaxation']}")
    click.echo(f"source:        {entry['source']}")
    click.echo(f"doi:           {entry['doi'] or '-'}")
    click.echo(f"url:           {entry['url']}")
    licence_file = f" (text: {entry['license_file']})" if entry.get("license_file") else ""
    click.echo(f"licence:       {entry['license']}{licence_file}")
    if entry.get("notes"):
        click.echo(f"notes:         {entry['notes']}")


@structures.command("import")
@click.argument("name")
@click.option(
    "--supercell",
    nargs=3,
    type=click.IntRange(min=1),
    default=(1, 1, 1),
    show_default=True,
    metavar="N1 N2 N3",
    help="Repetitions of the stored cell along a, b, c.",
)
@click.option("--label", default=None, help="Node label (default: the name, plus the repetitions if any).")
@click.option(
    "--max-atoms",
    type=click.IntRange(min=1),
    default=MAX_IMPORT_ATOMS,
    show_default=True,
    help="Size guard: refuse supercells with more atoms.",
)
def import_command(name: str, supercell: tuple[int, int, int], label: str | None, max_atoms: int):
    """Store structure NAME as a StructureData in the current profile (or find the one imported before)."""
    entry = _entry_or_fail(name)
    try:
        node, created = import_structure(entry["name"], tuple(supercell), label, max_atoms)
    except ValueError as exception:
        raise click.BadParameter(str(exception), param_hint="--supercell") from exception
    verb = "created" if created else "found"
    click.echo(f"{verb} StructureData {node.label!r} (pk {node.pk}): {node.get_formula()}, {len(node.sites)} atoms")
    if not created and label and label != node.label:
        click.echo(f"note: existing node kept its label {node.label!r}; --label {label!r} not applied")
