"""GPAW PAW datasets (from the ``gpaw-data`` package or generated) as ``JthXmlData`` nodes, deduplicated by MD5."""

from __future__ import annotations

import gzip
import hashlib
import io
import pathlib

from aiida import orm
from aiida_pseudo.data.pseudo import JthXmlData

__all__ = ("basis_for_structure", "get_setup_node", "gpaw_data_path", "setups_for_structure")


def gpaw_data_path() -> pathlib.Path:
    """Folder of the datasets shipped by the ``gpaw-data`` package."""
    try:
        import gpaw_data
    except ImportError as exception:
        raise ImportError(
            "the `gpaw-data` package is needed for GPAW's PAW datasets: pip install gpaw-data"
        ) from exception
    return pathlib.Path(gpaw_data.__file__).parent / "setups"


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


def setups_for_structure(structure: orm.StructureData, xc: str) -> dict[str, JthXmlData]:
    """Default ``gpaw-data`` dataset for every kind of ``structure`` (kinds named like their element).

    :raises ValueError: if a kind has a non-element name (it needs an explicit dataset, e.g. a core hole) or if
        ``gpaw-data`` has no dataset for the element and functional.
    """
    import gpaw_data

    version = getattr(gpaw_data, "__version__", "unknown")
    folder = gpaw_data_path()
    setups = {}
    for kind in structure.kinds:
        if kind.name != kind.symbol:
            raise ValueError(f"kind {kind.name!r} is not an element name: give its PAW dataset explicitly")
        path = folder / f"{kind.symbol}.{xc}.gz"
        if not path.is_file():
            raise ValueError(f"gpaw-data {version} has no {xc} dataset for {kind.symbol} ({path.name})")
        content = gzip.decompress(path.read_bytes())
        setups[kind.name] = get_setup_node(content, f"{kind.symbol}.{xc}", f"gpaw-data/{version}/{kind.symbol}.{xc}")
    return setups


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
