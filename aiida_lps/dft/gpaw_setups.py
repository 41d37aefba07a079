"""GPAW PAW datasets as aiida-pseudo families of ``JthXmlData`` nodes (PAW-XML, the format GPAW reads).

- ``gpaw-data/<version>/<XC>``: the default datasets that the ``gpaw-data`` package ships for functional ``XC``,
  all of them installed by ``aiida-lps setup``, otherwise each element's added on first use. A dataset whose content
  (MD5) is already stored is reused, not stored again.
- ``gpaw-core-hole/gpaw-<version>/<hole>/<XC>``: full core-hole datasets made by GPAW's generator (calcfunction
  ``generate_core_hole_setup``), added when first generated; ``gpaw-data`` has none.

The LCAO basis sets of ``gpaw-data`` are not pseudopotentials: they stay ``SinglefileData`` nodes
(:func:`basis_for_structure`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pathlib
import re
from collections.abc import Iterable

from aiida import orm
from aiida.common.exceptions import NotExistent
from aiida_pseudo.data.pseudo import JthXmlData
from aiida_pseudo.groups.family import PseudoPotentialFamily

__all__ = (
    "GpawSetupFamily",
    "add_core_hole_setup",
    "basis_for_structure",
    "core_hole_family_label",
    "get_setup_node",
    "gpaw_data_family",
    "gpaw_data_family_label",
    "gpaw_data_path",
    "setups_for_structure",
)


class GpawSetupFamily(PseudoPotentialFamily):
    """aiida-pseudo family of GPAW PAW datasets (``JthXmlData``): one dataset per element, for one functional."""

    _pseudo_types = (JthXmlData,)


def gpaw_data_path() -> pathlib.Path:
    """Folder of the datasets shipped by the ``gpaw-data`` package."""
    try:
        import gpaw_data
    except ImportError as exception:
        raise ImportError(
            "the `gpaw-data` package is needed for GPAW's PAW datasets: pip install gpaw-data"
        ) from exception
    return pathlib.Path(gpaw_data.__file__).parent / "setups"


def _gpaw_data_version() -> str:
    import gpaw_data

    return getattr(gpaw_data, "__version__", "unknown")


def get_setup_node(content: bytes, filename: str, label: str) -> JthXmlData:
    """Return the stored dataset node with this content, storing it first if no node has the same MD5."""
    md5 = hashlib.md5(content).hexdigest()
    query = orm.QueryBuilder().append(JthXmlData, filters={"attributes.md5": md5})
    existing = query.first(flat=True)
    if existing is not None:
        return existing
    node = JthXmlData(io.BytesIO(content), filename=filename)
    node.label = label
    return node.store()


def _load_or_create(label: str, description: str) -> GpawSetupFamily:
    """The family called ``label``, created empty if it does not exist."""
    try:
        return GpawSetupFamily.collection.get(label=label)
    except NotExistent:
        return GpawSetupFamily(label=label, description=description).store()


def gpaw_data_family_label(xc: str) -> str:
    """Label of the family of ``gpaw-data``'s default datasets for functional ``xc`` (GPAW's name, e.g. ``PBE``)."""
    return f"gpaw-data/{_gpaw_data_version()}/{xc}"


def gpaw_data_family(xc: str, elements: Iterable[str] | None = None) -> GpawSetupFamily:
    """The family of ``gpaw-data``'s default datasets for ``xc``, holding at least ``elements`` (all when ``None``).

    Datasets are added on first use (storing all 83 PBE datasets takes ~10 s here); ``aiida-lps setup``
    installs the complete PBE and LDA families.

    :raises ValueError: if ``gpaw-data`` has no ``xc`` dataset for one of ``elements``.
    """
    version = _gpaw_data_version()
    folder = gpaw_data_path()
    family = _load_or_create(
        gpaw_data_family_label(xc), f"Default GPAW PAW datasets for {xc} from the gpaw-data package {version}"
    )
    if elements is None:
        pattern = re.compile(rf"^([A-Z][a-z]?)\.{re.escape(xc)}\.gz$")
        elements = [match.group(1) for path in folder.iterdir() if (match := pattern.match(path.name))]
        if not elements:
            raise ValueError(f"gpaw-data {version} has no {xc} datasets in {folder}")
    missing = sorted(set(elements) - set(family.elements))
    absent = [element for element in missing if not (folder / f"{element}.{xc}.gz").is_file()]
    if absent:
        raise ValueError(f"gpaw-data {version} has no {xc} dataset for {absent} (family {family.label})")
    if missing:
        from aiida.manage import get_manager

        with get_manager().get_profile_storage().transaction():  # one commit instead of one per dataset
            family.add_nodes(
                [
                    get_setup_node(
                        gzip.decompress((folder / f"{element}.{xc}.gz").read_bytes()),
                        f"{element}.{xc}",
                        f"gpaw-data/{version}/{element}.{xc}",
                    )
                    for element in missing
                ]
            )
    return family


def setups_for_structure(structure: orm.StructureData, xc: str) -> dict[str, JthXmlData]:
    """Default ``gpaw-data`` dataset (family :func:`gpaw_data_family`) for every kind of ``structure``.

    :raises ValueError: if a kind has a non-element name (it needs an explicit dataset, e.g. a core hole) or if
        ``gpaw-data`` has no dataset for the element and functional.
    """
    for kind in structure.kinds:
        if kind.name != kind.symbol:
            raise ValueError(f"kind {kind.name!r} is not an element name: give its PAW dataset explicitly")
    family = gpaw_data_family(xc, structure.get_symbols_set())
    return dict(family.get_pseudos(structure=structure))


def core_hole_family_label(xc: str, hole: str = "1s") -> str:
    """Label of the family of generated ``hole`` core-hole datasets for ``xc`` with this GPAW version."""
    import gpaw

    return f"gpaw-core-hole/gpaw-{gpaw.__version__}/{hole}/{xc}"


def add_core_hole_setup(setup: JthXmlData, xc: str, hole: str = "1s") -> GpawSetupFamily:
    """Add a generated core-hole dataset to its family (the first one generated per element is kept)."""
    description = f"GPAW PAW datasets with a full {hole} core hole for {xc}, made by GPAW's generator"
    family = _load_or_create(core_hole_family_label(xc, hole), description)
    if setup.element not in family.elements:
        family.add_nodes(setup)
    return family


def basis_for_structure(structure: orm.StructureData, basis: str = "dzp") -> dict[str, orm.SinglefileData]:
    """The ``gpaw-data`` LCAO basis file of every element, as stored nodes (reused when the content is known)."""
    folder = gpaw_data_path()
    nodes = {}
    for element in sorted(structure.get_symbols_set()):
        path = folder / f"{element}.{basis}.basis.gz"
        if not path.is_file():
            raise ValueError(f"gpaw-data has no {basis} basis for {element} ({path.name})")
        content = gzip.decompress(path.read_bytes())
        digest = hashlib.sha256(content).hexdigest()
        query = orm.QueryBuilder().append(orm.SinglefileData, filters={"extras.lps_sha256": digest})
        node = query.first(flat=True)
        if node is None:
            node = orm.SinglefileData(io.BytesIO(content), filename=f"{element}.{basis}.basis").store()
            node.base.extras.set("lps_sha256", digest)
        nodes[element] = node
    return nodes
