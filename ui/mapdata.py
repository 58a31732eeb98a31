"""Map features from indexed GeoPackage chunks (for the 地図 page); no streamlit here."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.types import Chunk, MetaValue

# Geographic CRSs whose x/y are longitude/latitude and can go on the map as they are.
LONLAT_CRS = {"EPSG:4326", "EPSG:6668", "EPSG:4612", "EPSG:4301", "OGC:84", "OGC:CRS84"}
_NAME_KEYS = ("名称", "施設名", "名前", "name", "NAME", "Name", "地区名", "title")
_INTERNAL = {"layer", "fid", "x", "y", "srs_id", "crs", "geometry", "bbox", "center_x", "center_y"}


@dataclass(frozen=True)
class Feature:
    chunk_id: str
    doc_id: str
    doc_title: str
    layer: str
    fid: Any
    name: str
    lon: float
    lat: float
    crs: str
    attributes: dict[str, MetaValue] = field(default_factory=dict)


def feature_of(chunk: Chunk) -> Feature | None:
    """The chunk's feature when it has a point (or a bbox centre) in a longitude/latitude CRS."""
    m = chunk.meta
    x, y = m.get("x", m.get("center_x")), m.get("y", m.get("center_y"))
    if not isinstance(x, int | float) or not isinstance(y, int | float):
        return None
    crs = str(m.get("crs", ""))
    if crs.upper() not in LONLAT_CRS or not (-180 <= x <= 180 and -90 <= y <= 90):
        return None
    attrs = {k: v for k, v in m.items() if k not in _INTERNAL}
    name = next((str(attrs[k]) for k in _NAME_KEYS if k in attrs), f"{m.get('layer', '')} #{m.get('fid', '')}")
    return Feature(
        chunk.chunk_id,
        chunk.doc_id,
        chunk.title,
        str(m.get("layer", "")),
        m.get("fid"),
        name,
        float(x),
        float(y),
        crs,
        attrs,
    )


def features(chunks: Iterable[Chunk]) -> tuple[list[Feature], int]:
    """Mappable features, and how many chunks had coordinates in a CRS the map cannot show."""
    out, skipped = [], 0
    for chunk in chunks:
        f = feature_of(chunk)
        if f is not None:
            out.append(f)
        elif "x" in chunk.meta or "center_x" in chunk.meta:
            skipped += 1
    return out, skipped


def deck_rows(feats: Iterable[Feature], cited: Collection[str]) -> list[dict[str, Any]]:
    """Rows for a pydeck ScatterplotLayer: cited features red and larger, the rest blue."""
    rows = []
    for f in feats:
        hot = f.chunk_id in cited
        rows.append(
            {
                "chunk_id": f.chunk_id,
                "lon": f.lon,
                "lat": f.lat,
                "radius": 40 if hot else 20,
                "color": [220, 40, 40, 230] if hot else [30, 100, 200, 180],
                "label": f"{'★引用 ' if hot else ''}{f.name}（{f.layer}）",
            }
        )
    return rows


def raster_style_url(tile_url: str) -> str:
    """A MapLibre style with one raster layer from `tile_url`, inline as a data: URL, so the browser
    asks the configured tile server for tiles and nothing else (no style, font or sprite from outside)."""
    style = {
        "version": 8,
        "sources": {"tiles": {"type": "raster", "tiles": [tile_url], "tileSize": 256}},
        "layers": [{"id": "tiles", "type": "raster", "source": "tiles"}],
    }
    return "data:application/json;base64," + base64.b64encode(json.dumps(style).encode()).decode()


@dataclass(frozen=True)
class View:
    """Where the map opens (pydeck ViewState fields)."""

    latitude: float
    longitude: float
    zoom: float


# The map's size on the page in pixels (st.pydeck_chart's default height; a typical column width).
VIEW_PX = (700, 500)
_TILE = 256  # Web Mercator: the world is 256 * 2**zoom pixels wide
MIN_ZOOM, MAX_ZOOM, POINT_ZOOM = 3.0, 17.0, 15.0


def _merc_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _lat_of(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def fit_view(feats: Sequence[Feature], cited: Collection[str], padding: float = 0.15) -> View | None:
    """A view that fits the cited features when there are any, else all features; None for none.

    The bounding box is taken in Web Mercator, so the view holds it at the zoom pydeck will draw with;
    `padding` is the share of the view left free around it. One point opens at POINT_ZOOM."""
    chosen = [f for f in feats if f.chunk_id in cited] or list(feats)
    if not chosen:
        return None
    lons = [f.lon for f in chosen]
    ys = [_merc_y(max(min(f.lat, 85.0), -85.0)) for f in chosen]
    lon_span, y_span = max(lons) - min(lons), max(ys) - min(ys)
    width, height = (px * (1 - 2 * padding) for px in VIEW_PX)
    zooms = []
    if lon_span > 0:
        zooms.append(math.log2(width * 360 / (_TILE * lon_span)))
    if y_span > 0:
        zooms.append(math.log2(height * 2 * math.pi / (_TILE * y_span)))
    zoom = max(MIN_ZOOM, min(MAX_ZOOM, *zooms)) if zooms else POINT_ZOOM
    return View(latitude=_lat_of((max(ys) + min(ys)) / 2), longitude=(max(lons) + min(lons)) / 2, zoom=zoom)
