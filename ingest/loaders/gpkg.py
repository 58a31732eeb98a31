"""GeoPackage: features and attribute-table rows as blocks, read by fudgeo (read-only)."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fudgeo.geopkg import FeatureClass, GeoPackage, Table

from assistant.config import IngestSettings
from assistant.types import Block, LoadedDocument, MetaValue, SourceInfo
from ingest.loaders.base import BlockFlags, Message, file_source, ingest_error, read_bytes, sha256_file

_SQLITE_MAGIC = b"SQLite format 3\x00"

MESSAGES: dict[str, Message] = {
    "corrupt_gpkg": Message(
        "corrupt",
        "not a readable GeoPackage ({why})",
        "GeoPackageとして読み込めません（ファイルが壊れているか、GeoPackage形式ではありません）",
        "Export the data again as GeoPackage (e.g. from QGIS) and ingest the new file.",
        "QGISなどでGeoPackage形式に書き出し直してから取り込んでください。",
    ),
    "empty_gpkg": Message(
        "empty",
        "the GeoPackage has no features or rows",
        "GeoPackageに地物・レコードが1件もありません",
        "Check that the layers were exported together with their data.",
        "レイヤをデータ入りで書き出したか確認してください。",
    ),
}


class _ReadOnlyGeoPackage(GeoPackage):  # type: ignore[misc]
    """fudgeo's GeoPackage opened read-only: a loader must never create or modify the file."""

    def _configure_connection(self, db: str) -> None:
        uri = f"{Path(db).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
        self._register_functions(conn)  # fudgeo's geometry converters and ST_ functions
        self._conn = conn


class GeoPackageLoader:
    """One block per feature (attributes, then coordinates or bounding box) and per attribute-table row."""

    kind = "gpkg"
    suffixes = frozenset({".gpkg"})
    label = "GeoPackage (.gpkg)"
    label_ja = "GeoPackage（.gpkg）"
    flags = BlockFlags(wrapped_lines=False, records=True)

    def sniff(self, path: Path, head: bytes) -> bool:
        return False  # an SQLite file is a GeoPackage only when named so

    def load(self, path: Path, source: SourceInfo | None, settings: IngestSettings) -> LoadedDocument:
        return _load_gpkg(path, source)


def _load_gpkg(path: Path, source: SourceInfo | None) -> LoadedDocument:
    if not read_bytes(path, len(_SQLITE_MAGIC)).startswith(_SQLITE_MAGIC):
        raise ingest_error(path, MESSAGES["corrupt_gpkg"], why="not an SQLite database")
    gpkg = _ReadOnlyGeoPackage(path)
    try:
        blocks = tuple(_gpkg_blocks(gpkg))
    except Exception as exc:  # sqlite3.Error, or fudgeo failing on a malformed geometry blob
        raise ingest_error(path, MESSAGES["corrupt_gpkg"], why=f"{type(exc).__name__}: {exc}") from exc
    finally:
        if gpkg._conn is not None:
            gpkg._conn.close()
    if not blocks:
        raise ingest_error(path, MESSAGES["empty_gpkg"])
    return LoadedDocument(
        source=source or file_source(path, ""),
        path=path,
        sha256=sha256_file(path),
        kind="gpkg",
        blocks=blocks,
    )


def _gpkg_blocks(gpkg: GeoPackage) -> Iterator[Block]:
    for name, fc in sorted(gpkg.feature_classes.items()):
        yield from _feature_blocks(name, fc)
    for name, table in sorted(gpkg.tables.items()):
        yield from _row_blocks(name, table)


def _feature_blocks(name: str, fc: FeatureClass) -> Iterator[Block]:
    srs = fc.spatial_reference_system
    crs = _crs_label(srs.organization, srs.org_coord_sys_id, srs.srs_id)
    pk = fc.primary_key_field
    special = {fc.geometry_column_name, pk.name if pk is not None else None}
    fields = [f for f in fc.fields if f.name not in special]
    # Row layout from fudgeo's select: geometry, [primary key], fields...
    for n, (geom, *values) in enumerate(fc.select(fields=fields, include_primary=True), start=1):
        fid = values.pop(0) if pk is not None else n
        meta: dict[str, MetaValue] = {
            "layer": name,
            "fid": fid,
            "srs_id": srs.srs_id,
            "crs": crs,
            "geometry": fc.geometry_type,
        }
        lines = [f"レイヤ: {name}", f"fid: {fid}", *_attribute_lines(fields, values, meta)]
        lines += _geometry_lines(geom, crs, meta)
        yield Block(text="\n".join(lines), page=None, meta=meta)


def _row_blocks(name: str, table: Table) -> Iterator[Block]:
    pk = table.primary_key_field
    fields = [f for f in table.fields if pk is None or f.name != pk.name]
    for n, row in enumerate(table.select(fields=fields, include_primary=True), start=1):
        values = list(row)
        fid = values.pop(0) if pk is not None else n
        meta: dict[str, MetaValue] = {"layer": name, "fid": fid}
        lines = [f"テーブル: {name}", f"fid: {fid}", *_attribute_lines(fields, values, meta)]
        yield Block(text="\n".join(lines), page=None, meta=meta)


_RESERVED_META = frozenset({"layer", "fid", "x", "y", "srs_id", "crs", "geometry", "bbox", "center_x", "center_y"})


def _attribute_lines(fields: list[Any], values: list[Any], meta: dict[str, MetaValue]) -> list[str]:
    lines = []
    for field, value in zip(fields, values, strict=False):
        simple = _simple_value(value)
        if simple is None:
            continue
        meta[f"attr:{field.name}" if field.name in _RESERVED_META else field.name] = simple
        lines.append(f"{field.name}: {simple}")
    return lines


def _geometry_lines(geom: Any, crs: str, meta: dict[str, MetaValue]) -> list[str]:
    """Points keep x/y; other shapes get a bounding box and its centre."""
    if geom is None or getattr(geom, "is_empty", False):
        return []
    if hasattr(geom, "x") and hasattr(geom, "y"):
        meta["x"], meta["y"] = float(geom.x), float(geom.y)
        return [f"座標: {_num(geom.x)}, {_num(geom.y)} ({crs})"]
    min_x, min_y, max_x, max_y = (float(v) for v in geom.envelope.bounding_box)
    if any(math.isnan(v) for v in (min_x, min_y, max_x, max_y)):
        return []
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
    meta["bbox"] = ",".join(_num(v) for v in (min_x, min_y, max_x, max_y))
    meta["center_x"], meta["center_y"] = cx, cy
    return [
        f"範囲: {_num(min_x)}, {_num(min_y)} – {_num(max_x)}, {_num(max_y)} ({crs})",
        f"中心: {_num(cx)}, {_num(cy)} ({crs})",
    ]


def _simple_value(value: Any) -> MetaValue | None:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None  # NULL, BLOB and anything exotic stays out of text and metadata


def _crs_label(organization: str, org_id: int, srs_id: int) -> str:
    if organization and organization.upper() != "NONE" and org_id > 0:
        return f"{organization.upper()}:{org_id}"
    return f"srs_id:{srs_id}"


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".")
