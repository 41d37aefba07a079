"""A Materials Cloud Archive record folder from AiiDA processes: archive, metadata, processed data, dumps, manifest.

Layout of a record folder::

    README.md            what is in the record, the key UUIDs, how to import
    metadata.json        Materials Cloud record fields (validated)
    <name>.aiida         aiida-core archive: full provenance closure of the selection
    provenance.json      UUIDs, node counts and links of the archive (what ``--check`` verifies)
    processed/<Label>-<uuid8>/   CSV / JSON / extended XYZ / potential files / PNG + PDF plots
    raw/<Label>-<uuid8>/         aiida-core's process dump (inputs and outputs as files)
    MANIFEST.sha256      SHA-256 of every other file (``sha256sum -c MANIFEST.sha256`` works)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiida import orm

from aiida_lps.export.processed import PLOT_SUFFIXES, write_processed

__all__ = (
    "ARCHIVE_RECORD_LIMIT_BYTES",
    "ExportResult",
    "Selection",
    "check_record",
    "export_record",
    "provenance_summary",
    "select_processes",
    "sha256_file",
)

#: Materials Cloud Archive limit per record (larger AiiDA databases, up to 50 GB, on request).
ARCHIVE_RECORD_LIMIT_BYTES = 5 * 1000**3
MANIFEST = "MANIFEST.sha256"
PROVENANCE = "provenance.json"
METADATA = "metadata.json"


@dataclasses.dataclass
class Selection:
    """What to export: process nodes (sealed), the groups they came from, and the processes left out."""

    processes: list[orm.ProcessNode]
    groups: list[orm.Group]
    skipped: dict[int, str]  # PK → reason
    dropped_groups: list[str] = dataclasses.field(default_factory=list)  # groups holding a skipped process


@dataclasses.dataclass
class ExportResult:
    """Where the record was written and what it holds."""

    folder: pathlib.Path
    archive: pathlib.Path
    n_nodes: int
    size_bytes: int
    processed: dict[str, list[str]]
    skipped: dict[int, str]
    users: list[str]
    warnings: list[str]


def _unsealed_in(process: orm.ProcessNode) -> list[int]:
    nodes = [process, *(process.called_descendants if isinstance(process, orm.WorkflowNode) else [])]
    return [n.pk for n in nodes if not n.is_sealed]


def select_processes(
    processes: Iterable[orm.ProcessNode] = (),
    groups: Iterable[orm.Group] = (),
    entry_points: Sequence[str] = (),
) -> Selection:
    """Collect the processes to export; running or unsealed ones (or with unsealed sub-processes) are skipped.

    :param entry_points: entry point names (``lps.diffusion``) or process labels (``DiffusionWorkChain``): every
        top-level process of these types in the profile is selected.
    """
    candidates: dict[str, orm.ProcessNode] = {p.uuid: p for p in processes}
    groups = list(groups)
    for group in groups:
        for node in group.nodes:
            if isinstance(node, orm.ProcessNode):
                candidates.setdefault(node.uuid, node)
    for name in entry_points:
        query = orm.QueryBuilder().append(
            orm.ProcessNode,
            filters={"or": [{"process_type": {"like": f"%:{name}"}}, {"attributes.process_label": name}]},
        )
        for (node,) in query.all():
            if not node.caller:  # top-level processes only: sub-processes come with them
                candidates.setdefault(node.uuid, node)
    selected, skipped = [], {}
    for node in sorted(candidates.values(), key=lambda n: n.pk):
        unsealed = _unsealed_in(node)
        if unsealed:
            skipped[node.pk] = f"not sealed (running or unfinished): PK(s) {unsealed}"
        else:
            selected.append(node)
    blocked = [g for g in groups if any(isinstance(n, orm.ProcessNode) and n.pk in skipped for n in g.nodes)]
    return Selection(selected, [g for g in groups if g not in blocked], skipped, [g.label for g in blocked])


def provenance_summary(starting_pks: Iterable[int]) -> dict[str, Any]:
    """UUIDs, counts per node type and links of the provenance closure that ``create_archive`` exports."""
    from aiida.tools.graph.graph_traversers import get_nodes_export

    traversal = get_nodes_export(starting_pks=set(starting_pks), get_links=True)
    pks = set(traversal["nodes"])
    query = orm.QueryBuilder().append(orm.Node, filters={"id": {"in": list(pks)}}, project=["id", "uuid", "node_type"])
    uuid_of, counts = {}, {}
    for pk, uuid, node_type in query.iterall():
        uuid_of[pk] = uuid
        counts[node_type] = counts.get(node_type, 0) + 1
    links = sorted(
        [uuid_of[link.source_id], uuid_of[link.target_id], _link_type(link.link_type), link.link_label]
        for link in traversal["links"] or ()
    )
    return {"n_nodes": len(uuid_of), "node_types": dict(sorted(counts.items())), "uuids": sorted(uuid_of.values()),
            "n_links": len(links), "links": links}  # fmt: skip


def _link_type(value) -> str:
    return getattr(value, "value", value)  # LinkType or its string value


def sha256_file(path: pathlib.Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: pathlib.Path) -> pathlib.Path:
    """``MANIFEST.sha256`` in ``sha256sum`` format over every file of the folder (itself excluded)."""
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}" for p in _files(folder)]
    path = folder / MANIFEST
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: pathlib.Path) -> dict[str, str]:
    """Relative path → SHA-256 from a record's manifest."""
    entries = {}
    for line in (folder / MANIFEST).read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, _, name = line.partition("  ")
            entries[name] = digest
    return entries


def _users(pks: Iterable[int]) -> list[str]:
    query = orm.QueryBuilder().append(orm.Node, filters={"id": {"in": list(pks)}}, tag="node")
    query.append(orm.User, with_node="node", project=["first_name", "last_name", "email"])
    query.distinct()
    return sorted({f"{first} {last} <{email}>".strip() for first, last, email in query.all()})


def export_record(
    folder: str | pathlib.Path,
    selection: Selection,
    metadata: Mapping[str, Any],
    name: str = "record",
    dump: bool = True,
    size_limit_bytes: int = ARCHIVE_RECORD_LIMIT_BYTES,
    overwrite: bool = False,
) -> ExportResult:
    """Write the record folder of ``selection`` with validated ``metadata`` (see the module docstring).

    :raises FileExistsError: ``folder`` exists and is not empty (unless ``overwrite``).
    :raises ValueError: nothing to export, or the record is larger than ``size_limit_bytes``.
    """
    import shutil

    from aiida.tools.archive import create_archive
    from aiida.tools.archive.exceptions import ExportValidationError

    folder = pathlib.Path(folder)
    if not selection.processes:
        raise ValueError("nothing to export: no sealed process was selected")
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{folder} exists and is not empty (use --overwrite to replace it)")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)

    group_pks = {n.pk for g in selection.groups for n in g.nodes}
    starting = {p.pk for p in selection.processes} | group_pks
    summary = provenance_summary(starting)
    archive = folder / f"{name}.aiida"
    try:
        create_archive([*selection.processes, *selection.groups], filename=archive, overwrite=True)
    except ExportValidationError as exception:  # e.g. an unsealed node reached through the provenance
        raise ValueError(f"aiida-core refused the export: {exception}") from exception

    processed = write_processed(selection.processes, folder / "processed")
    if dump:
        for process in selection.processes:
            process.dump(folder / "raw" / f"{process.process_label}-{process.uuid[:8]}", include_outputs=True)

    users = _users(orm.load_node(uuid).pk for uuid in summary["uuids"])
    _write_json(folder / METADATA, metadata)
    provenance = {
        "archive": archive.name,
        "selection": [_describe(p) for p in selection.processes],
        "groups": [{"label": g.label, "uuid": g.uuid, "n_nodes": g.count()} for g in selection.groups],
        "skipped_pks": {str(k): v for k, v in selection.skipped.items()},
        **summary,
    }
    _write_json(folder / PROVENANCE, provenance)
    (folder / "README.md").write_text(_readme(metadata, provenance, processed, folder, dump), encoding="utf-8")
    write_manifest(folder)

    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    warnings = []
    if size > size_limit_bytes:
        raise ValueError(
            f"the record is {size / 1e9:.2f} GB, above the Materials Cloud Archive limit of "
            f"{size_limit_bytes / 1e9:g} GB per record: {folder} is written but too large to upload; export fewer "
            "processes per record (or ask the Archive for an exception, up to 50 GB for AiiDA databases)"
        )
    if size > 0.8 * size_limit_bytes:
        warnings.append(f"the record is {size / 1e9:.2f} GB, close to the {size_limit_bytes / 1e9:g} GB limit")
    return ExportResult(
        folder=folder,
        archive=archive,
        n_nodes=summary["n_nodes"],
        size_bytes=size,
        processed={k: [p.relative_to(folder).as_posix() for p in v] for k, v in processed.items()},
        skipped=selection.skipped,
        users=users,
        warnings=warnings,
    )


def _write_json(path: pathlib.Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _describe(process: orm.ProcessNode) -> dict[str, Any]:
    return {
        "uuid": process.uuid,
        "process_label": process.process_label,
        "process_type": process.process_type,
        "exit_status": process.exit_status,
        "ctime": process.ctime.isoformat(),
        "outputs": sorted(process.outputs),
    }


def _readme(metadata, provenance, processed, folder: pathlib.Path, dump: bool) -> str:
    lines = [f"# {metadata['title']}", "", metadata["description"].strip(), ""]
    creators = "; ".join(
        f"{c['givennames']} {c['familyname']} ({', '.join(c['affiliations'])})" for c in metadata["creators"]
    )
    lines += [f"Creators: {creators}  ", f"Licence: {metadata['license_name']} ({metadata['license']})  "]
    lines += [f"Keywords: {', '.join(metadata['keywords'])}", "", "## References", ""]
    for ref in metadata["references"]:
        target = f"https://doi.org/{ref['doi']}" if ref.get("doi") else ref.get("url", "")
        lines.append(f"- {ref['type']}: {ref.get('citation', '')} {target}".rstrip())
    lines += ["", "## Contents", ""]
    lines += [
        f"- `{provenance['archive']}`: AiiDA archive ({provenance['n_nodes']} nodes, {provenance['n_links']} links), "
        "the full provenance of the processes below. Import it with "
        f"`verdi archive import {provenance['archive']}` (or browse it without importing: "
        f"`verdi profile setup core.sqlite_zip -p record --filepath {provenance['archive']}`).",
        "- `metadata.json`: the record's Materials Cloud metadata.",
        "- `provenance.json`: UUIDs, node counts per type and links of the archive.",
        "- `processed/`: results readable without AiiDA (CSV with units in `#` header lines, JSON, extended XYZ, "
        "potential files, PNG and PDF plots), one folder per process (`<ProcessLabel>-<first 8 UUID characters>`).",
    ]
    if dump:
        lines.append("- `raw/`: the inputs and outputs of every process as files (aiida-core's `verdi process dump`).")
    lines += [f"- `{MANIFEST}`: SHA-256 of every file; verify with `sha256sum -c {MANIFEST}` or "
              "`aiida-lps export --check .`.", "", "## Processes", ""]  # fmt: skip
    lines += ["| process | entry point | UUID | exit status |", "|---|---|---|---|"]
    for entry in provenance["selection"]:
        lines.append(
            f"| {entry['process_label']} | `{entry['process_type']}` | `{entry['uuid']}` | {entry['exit_status']} |"
        )
    if provenance["groups"]:
        lines += ["", "## Groups", ""]
        lines += [f"- `{g['label']}` ({g['n_nodes']} nodes), UUID `{g['uuid']}`" for g in provenance["groups"]]
    if processed:
        lines += ["", "## Processed files", ""]
        for name, files in processed.items():
            listed = ", ".join(f"`{p.relative_to(folder).as_posix()}`" for p in files if p.suffix != ".pdf")
            lines.append(f"- {name}: {listed} (plots also as PDF)")
    lines += ["", "Node types in the archive:", ""]
    lines += [f"- `{t}`: {n}" for t, n in provenance["node_types"].items()]
    lines += ["", "Generated by `aiida-lps export`.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------- check


def check_record(folder: str | pathlib.Path, regenerate: bool = True) -> list[str]:
    """Problems of a record folder (empty list: it is sound).

    Verifies every file against the manifest (and that no file is unlisted), then opens the archive read-only in a
    throw-away ``core.sqlite_zip`` profile (the user's profile is never touched) and compares its node UUIDs,
    node counts per type and links with ``provenance.json``. With ``regenerate``, the processed data files (not the
    plots) are written again from the archive into a temporary folder and compared with the manifest.
    """
    folder = pathlib.Path(folder)
    problems: list[str] = []
    for required in (MANIFEST, PROVENANCE, METADATA):
        if not (folder / required).is_file():
            problems.append(f"{required}: missing")
    if problems:
        return problems
    manifest = read_manifest(folder)
    present = {p.relative_to(folder).as_posix() for p in _files(folder)}
    for name in sorted(set(manifest) - present):
        problems.append(f"{name}: listed in {MANIFEST} but missing")
    for name in sorted(present - set(manifest)):
        problems.append(f"{name}: not listed in {MANIFEST}")
    for name in sorted(set(manifest) & present):
        if sha256_file(folder / name) != manifest[name]:
            problems.append(f"{name}: SHA-256 differs from {MANIFEST} (file changed)")
    try:
        from aiida_lps.export.metadata import MetadataError, validate_metadata

        validate_metadata(json.loads((folder / METADATA).read_text(encoding="utf-8")))
    except MetadataError as exception:
        problems += [f"{METADATA}: {e}" for e in exception.errors]
    provenance = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    archive = folder / provenance["archive"]
    if not archive.is_file():
        return [*problems, f"{provenance['archive']}: archive missing"]
    problems += _check_archive(archive, provenance, folder, manifest if regenerate else None)
    return problems


def _check_archive(archive: pathlib.Path, provenance: Mapping, folder: pathlib.Path, manifest) -> list[str]:
    from aiida.manage.configuration import profile_context
    from aiida.storage.sqlite_zip.backend import SqliteZipBackend

    problems = []
    profile = SqliteZipBackend.create_profile(archive)
    with profile_context(profile, allow_switch=True):
        query = orm.QueryBuilder().append(orm.Node, project=["id", "uuid", "node_type"])
        uuid_of, counts = {}, {}
        for pk, uuid, node_type in query.iterall():
            uuid_of[pk] = uuid
            counts[node_type] = counts.get(node_type, 0) + 1
        links_query = orm.QueryBuilder().append(orm.Node, project="id", tag="source")
        links_query.append(orm.Node, with_incoming="source", project="id", edge_project=["type", "label"])
        links = sorted([uuid_of[s], uuid_of[t], kind, label] for s, t, kind, label in links_query.iterall())
        expected_uuids = set(provenance["uuids"])
        if len(uuid_of) != provenance["n_nodes"]:
            problems.append(f"archive: {len(uuid_of)} nodes, provenance.json says {provenance['n_nodes']}")
        for uuid in sorted(expected_uuids - set(uuid_of.values()))[:20]:
            problems.append(f"archive: node {uuid} missing")
        for uuid in sorted(set(uuid_of.values()) - expected_uuids)[:20]:
            problems.append(f"archive: node {uuid} not in provenance.json")
        if counts != provenance["node_types"]:
            problems.append(f"archive: node counts per type {counts} != provenance.json {provenance['node_types']}")
        expected_links = {tuple(x) for x in provenance["links"]}
        found_links = {tuple(x) for x in links}
        for link in sorted(expected_links - found_links)[:20]:
            problems.append(f"archive: link {link} missing")
        for link in sorted(found_links - expected_links)[:20]:
            problems.append(f"archive: link {link} not in provenance.json")
        if manifest is not None:
            problems += _regenerate(provenance, folder, manifest)
    return problems


def _regenerate(provenance: Mapping, folder: pathlib.Path, manifest: Mapping[str, str]) -> list[str]:
    """Write the processed files again from the open archive and compare the data files with the manifest."""
    problems = []
    roots = [orm.load_node(entry["uuid"]) for entry in provenance["selection"]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = pathlib.Path(tmp)
        write_processed(roots, tmp_path / "processed", plots=False)
        regenerated = {
            p.relative_to(tmp_path).as_posix(): sha256_file(p)
            for p in _files(tmp_path)
            if p.suffix not in PLOT_SUFFIXES
        }
    listed = {
        k: v for k, v in manifest.items() if k.startswith("processed/") and pathlib.Path(k).suffix not in PLOT_SUFFIXES
    }
    for name in sorted(set(listed) - set(regenerated)):
        problems.append(f"{name}: not reproduced from the archive")
    for name in sorted(set(regenerated) - set(listed)):
        problems.append(f"{name}: the archive yields this file but the record lacks it")
    for name in sorted(set(listed) & set(regenerated)):
        if listed[name] != regenerated[name]:
            problems.append(f"{name}: differs from the data in the archive")
    return problems
