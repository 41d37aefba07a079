"""``aiida-lps export``: a Materials Cloud Archive record folder from workflows, and ``--check`` of such a folder."""

from __future__ import annotations

import pathlib
import time

import click
from aiida.cmdline.params import arguments, options
from aiida.cmdline.utils import echo

__all__ = ("export",)


@click.command("export")
@arguments.PROCESSES()
@options.GROUPS(help="Export the processes of these groups (the groups travel with the archive).")
@click.option(
    "-E",
    "--entry-point",
    "entry_points",
    multiple=True,
    metavar="NAME",
    help="Export every top-level process of this type: entry point (lps.diffusion) or process label. Repeatable.",
)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=pathlib.Path), help="Record folder.")
@click.option(
    "-m",
    "--metadata",
    "metadata_file",
    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    help="YAML file with the record's metadata (title, description, creators, license, keywords, references).",
)
@click.option("--title", help="Record title (sentence case); overrides the metadata file.")
@click.option("--description", help="Abstract-like description; overrides the metadata file.")
@click.option(
    "--creator",
    "creators",
    multiple=True,
    metavar="'FAMILY, GIVEN (AFFILIATION; ...)'",
    help="A creator with affiliations. Repeatable; replaces the file's creators.",
)
@click.option("--license", "licence", help="Licence identifier, e.g. CC-BY-4.0.")
@click.option("-k", "--keyword", "keywords", multiple=True, help="Keyword (at least 3). Repeatable.")
@click.option("--reference", "references", multiple=True, metavar="DOI|URL", help="A reference. Repeatable.")
@click.option("--name", default="record", show_default=True, help="File name of the archive (<name>.aiida).")
@click.option("--dump/--no-dump", default=True, show_default=True, help="Write raw/ with `verdi process dump`.")
@click.option("--overwrite", is_flag=True, help="Replace an existing, non-empty record folder.")
@click.option(
    "--max-size",
    type=float,
    default=5.0,
    show_default=True,
    help="Size limit of the record in GB (the Materials Cloud Archive's per-record limit).",
)
@click.option(
    "--check",
    "check_dir",
    type=click.Path(exists=True, file_okay=False, path_type=pathlib.Path),
    help="Verify a record folder instead of exporting: manifest hashes, archive nodes and links, processed files.",
)
def export(
    processes,
    groups,
    entry_points,
    output,
    metadata_file,
    title,
    description,
    creators,
    licence,
    keywords,
    references,
    name,
    dump,
    overwrite,
    max_size,
    check_dir,
):
    """Write a record folder for the Materials Cloud Archive from PROCESSES, groups (-G) or types (-E).

    The folder holds the AiiDA archive (full provenance), metadata.json, processed data readable without AiiDA,
    the raw inputs/outputs (verdi process dump), a README and a SHA-256 manifest. Check it with --check DIR.
    """
    from aiida_lps.export import MetadataError, check_record, export_record, load_metadata, select_processes
    from aiida_lps.export.metadata import merge_metadata, parse_creator, parse_reference, validate_metadata

    if check_dir is not None:
        if processes or groups or entry_points or output:
            raise click.UsageError("--check DIR takes no processes, groups, entry points or --output")
        start = time.perf_counter()
        problems = check_record(check_dir)
        if problems:
            echo.echo_error(f"{check_dir}: {len(problems)} problem(s):")
            for problem in problems:
                click.echo(f"  - {problem}", err=True)
            raise SystemExit(1)
        echo.echo_success(f"{check_dir}: manifest, archive nodes and links, processed files all match "
                          f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
        return

    if output is None:
        raise click.UsageError("give the record folder with -o/--output (or --check DIR)")
    if not (processes or groups or entry_points):
        raise click.UsageError("select something to export: PROCESSES, -G/--groups or -E/--entry-point")
    try:
        base = load_metadata(metadata_file) if metadata_file else {}
        overrides = {
            "title": title,
            "description": description,
            "creators": [parse_creator(c) for c in creators],
            "license": licence,
            "keywords": list(keywords),
            "references": [parse_reference(r) for r in references],
        }
        metadata = validate_metadata(merge_metadata(base, overrides))
    except MetadataError as exception:
        echo.echo_error("the record metadata is incomplete or invalid:")
        for error in exception.errors:
            click.echo(f"  - {error}", err=True)
        raise SystemExit(2) from exception

    selection = select_processes(processes or (), groups or (), entry_points)
    for pk, reason in selection.skipped.items():
        echo.echo_warning(f"skipping process {pk}: {reason}")
    if selection.skipped:
        echo.echo_warning(f"{len(selection.skipped)} process(es) skipped, PKs {sorted(selection.skipped)}")
    for label in selection.dropped_groups:
        echo.echo_warning(
            f"group {label!r} holds a skipped process: its finished processes are exported, not the group"
        )
    start = time.perf_counter()
    try:
        result = export_record(
            output, selection, metadata, name=name, dump=dump, size_limit_bytes=int(max_size * 1e9), overwrite=overwrite
        )
    except (ValueError, FileExistsError) as exception:
        echo.echo_critical(str(exception))
    for warning in result.warnings:
        echo.echo_warning(warning)
    echo.echo_warning(
        "the archive carries the name and e-mail address of every AiiDA user who made its nodes: "
        + ", ".join(result.users)
    )
    for folder, files in result.processed.items():
        echo.echo_report(f"processed/{folder}: {len(files)} file(s)")
    echo.echo_success(
        f"record {result.folder}: {len(selection.processes)} process(es), {result.n_nodes} nodes, "
        f"{result.size_bytes / 1e6:.2f} MB, in {time.perf_counter() - start:.1f} s. "
        f"Verify with `aiida-lps export --check {result.folder}`."
    )
