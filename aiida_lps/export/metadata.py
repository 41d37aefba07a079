"""Materials Cloud Archive record metadata: read from YAML and command-line options, validated all at once.

The fields are those the Materials Cloud Archive asks for when a record is submitted: a title, an abstract-like
description, creators with affiliations, a licence chosen by the submitter, at least three keywords and at least one
reference (https://archive.materialscloud.org). No AiiDA import here.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = (
    "LICENSES",
    "REFERENCE_TYPES",
    "MetadataError",
    "load_metadata",
    "merge_metadata",
    "parse_creator",
    "parse_reference",
    "validate_metadata",
)

#: Licences offered by the Materials Cloud Archive, by SPDX identifier → full name.
LICENSES: dict[str, str] = {
    "CC-BY-4.0": "Creative Commons Attribution 4.0 International",
    "CC-BY-SA-4.0": "Creative Commons Attribution Share Alike 4.0 International",
    "CC-BY-NC-4.0": "Creative Commons Attribution Non Commercial 4.0 International",
    "CC0-1.0": "Creative Commons Zero v1.0 Universal",
    "MIT": "MIT License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "GPL-3.0-or-later": "GNU General Public License v3.0 or later",
    "Apache-2.0": "Apache License 2.0",
}

#: Kinds of reference a record can cite.
REFERENCE_TYPES = ("Journal reference", "Preprint", "Dataset", "Software", "Website", "Other")

REQUIRED = ("title", "description", "creators", "license", "keywords", "references")
MIN_KEYWORDS = 3
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_CREATOR = re.compile(r"^\s*(?P<family>[^,()]+),\s*(?P<given>[^()]+?)\s*\((?P<affiliations>[^()]+)\)\s*$")


class MetadataError(ValueError):
    """Invalid record metadata; ``errors`` lists every problem (one line each)."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("invalid record metadata:\n" + "\n".join(f"  - {e}" for e in self.errors))


def parse_creator(text: str) -> dict[str, Any]:
    """``"Family, Given (Affiliation 1; Affiliation 2)"`` → ``{familyname, givennames, affiliations}``."""
    match = _CREATOR.match(text)
    if not match:
        raise MetadataError([f"creator {text!r}: write it as 'Family, Given (Affiliation; Other affiliation)'"])
    affiliations = [a.strip() for a in match["affiliations"].split(";") if a.strip()]
    return {"familyname": match["family"].strip(), "givennames": match["given"].strip(), "affiliations": affiliations}


def parse_reference(text: str) -> dict[str, Any]:
    """A DOI (``10.xxxx/...``), ``doi:`` or ``https://doi.org/`` link, or a URL → a ``Journal reference`` entry."""
    value = text.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    if _DOI.match(value):
        return {"type": "Journal reference", "doi": value}
    return {"type": "Other", "url": value}


def load_metadata(path: str | pathlib.Path) -> dict[str, Any]:
    """Read a metadata YAML (or JSON) file; a file that is not a mapping is an error."""
    import yaml

    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exception:
        raise MetadataError([f"{path}: not valid YAML ({exception})"]) from exception
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise MetadataError([f"{path}: the top level must be a mapping of field: value, got {type(data).__name__}"])
    return dict(data)


def merge_metadata(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with the ``overrides`` that are set (not None, not empty)."""
    merged = dict(base)
    merged.update({key: value for key, value in overrides.items() if value not in (None, (), [], "")})
    return merged


def validate_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return the normalised metadata (licence id → name added) or raise :class:`MetadataError` listing every error."""
    errors: list[str] = []
    data = dict(metadata)
    unknown = sorted(set(data) - set(REQUIRED) - {"contributors", "funding", "version", "license_name"})
    if unknown:
        errors.append(f"unknown field(s) {unknown}: allowed are {list(REQUIRED)} and contributors, funding, version")
    for field in ("title", "description"):
        value = data.get(field)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{field}: missing (a non-empty text)")
    title = data.get("title")
    if isinstance(title, str) and title.strip() and title.strip()[0].islower():
        errors.append("title: start with a capital letter (sentence case)")

    creators = data.get("creators")
    if not isinstance(creators, list) or not creators:
        errors.append("creators: missing (a list of {givennames, familyname, affiliations})")
    else:
        for index, creator in enumerate(creators, start=1):
            if not isinstance(creator, Mapping):
                errors.append(f"creators[{index}]: must be a mapping with givennames, familyname, affiliations")
                continue
            for key in ("givennames", "familyname"):
                if not isinstance(creator.get(key), str) or not creator[key].strip():
                    errors.append(f"creators[{index}].{key}: missing")
            affiliations = creator.get("affiliations")
            if isinstance(affiliations, str):
                affiliations = [affiliations]
            if not isinstance(affiliations, list) or not [a for a in affiliations if str(a).strip()]:
                errors.append(f"creators[{index}].affiliations: missing (at least one affiliation)")

    licence = data.get("license")
    if not licence:
        errors.append(f"license: missing (one of {', '.join(LICENSES)})")
    elif licence not in LICENSES and licence not in LICENSES.values():
        errors.append(f"license: {licence!r} is not one of {', '.join(LICENSES)}")

    keywords = data.get("keywords")
    if not isinstance(keywords, list) or not keywords:
        errors.append(f"keywords: missing (at least {MIN_KEYWORDS})")
    else:
        distinct = {str(k).strip().lower() for k in keywords if str(k).strip()}
        if len(distinct) < MIN_KEYWORDS:
            errors.append(f"keywords: {len(distinct)} distinct keyword(s), at least {MIN_KEYWORDS} are required")

    references = data.get("references")
    if not isinstance(references, list) or not references:
        errors.append("references: missing (at least one, with a doi, url or citation)")
    else:
        for index, reference in enumerate(references, start=1):
            errors.extend(_reference_errors(index, reference))

    if errors:
        raise MetadataError(errors)
    result = {key: data[key] for key in data if key != "license_name"}
    result["creators"] = [
        {**c, "affiliations": [c["affiliations"]] if isinstance(c["affiliations"], str) else list(c["affiliations"])}
        for c in creators
    ]
    licence_id = licence if licence in LICENSES else next(k for k, v in LICENSES.items() if v == licence)
    result["license"] = licence_id
    result["license_name"] = LICENSES[licence_id]
    return result


def _reference_errors(index: int, reference: Any) -> list[str]:
    where = f"references[{index}]"
    if not isinstance(reference, Mapping):
        return [f"{where}: must be a mapping with type and doi, url or citation"]
    errors = []
    if reference.get("type") not in REFERENCE_TYPES:
        errors.append(f"{where}.type: {reference.get('type')!r} is not one of {', '.join(REFERENCE_TYPES)}")
    if not any(reference.get(key) for key in ("doi", "url", "citation")):
        errors.append(f"{where}: give a doi, url or citation")
    doi = reference.get("doi")
    if doi and not _DOI.match(str(doi)):
        errors.append(f"{where}.doi: {doi!r} is not a DOI (10.<registrant>/<suffix>)")
    url = reference.get("url")
    if url and not str(url).startswith(("https://", "http://")):
        errors.append(f"{where}.url: {url!r} is not an http(s) URL")
    return errors
