"""Export of workflows to a Materials Cloud Archive record folder (``aiida-lps export``) and its check."""

from aiida_lps.export.metadata import MetadataError, load_metadata, validate_metadata
from aiida_lps.export.record import ExportResult, Selection, check_record, export_record, select_processes

__all__ = (
    "ExportResult",
    "MetadataError",
    "Selection",
    "check_record",
    "export_record",
    "load_metadata",
    "select_processes",
    "validate_metadata",
)
