"""Where the 地図 opens: fitted to the cited features when there are any, else to all of them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ui.mapdata import MAX_ZOOM, MIN_ZOOM, POINT_ZOOM, VIEW_PX, Feature, View, fit_view


def feature(chunk_id: str, lon: float, lat: float) -> Feature:
    return Feature(chunk_id, "facilities", "公共施設", "施設", 1, chunk_id, lon, lat, "EPSG:4326")


def visible(view: View) -> tuple[float, float, float, float]:
    """(west, east, south, north) that a VIEW_PX map shows at `view` (Web Mercator)."""
    world = 256 * 2**view.zoom
    half_lon = VIEW_PX[0] / world * 180
    y = math.log(math.tan(math.pi / 4 + math.radians(view.latitude) / 2))
    half_y = VIEW_PX[1] / world * math.pi

    def lat(v: float) -> float:
        return math.degrees(2 * math.atan(math.exp(v)) - math.pi / 2)

    return view.longitude - half_lon, view.longitude + half_lon, lat(y - half_y), lat(y + half_y)


def inside(view: View, f: Feature) -> bool:
    west, east, south, north = visible(view)
    return west <= f.lon <= east and south <= f.lat <= north


# 厚木市役所, 本厚木駅, 愛甲石田駅 and, far away, a feature in 札幌
HALL, STATION, AIKO, SAPPORO = (
    feature("hall", 139.3614, 35.4433),
    feature("station", 139.3660, 35.4395),
    feature("aiko", 139.3268, 35.4110),
    feature("sapporo", 141.3544, 43.0621),
)
ALL = [HALL, STATION, AIKO, SAPPORO]


def test_view_fits_the_cited_features_and_not_the_others() -> None:
    view = fit_view(ALL, {"hall", "aiko"})
    assert view is not None
    assert inside(view, HALL) and inside(view, AIKO)
    assert not inside(view, SAPPORO)
    assert view.zoom > 11  # a town-sized view, not the whole of Japan
    # fitted, not merely containing: one zoom level in, the pair no longer fits
    closer = View(view.latitude, view.longitude, view.zoom + 1)
    assert not (inside(closer, HALL) and inside(closer, AIKO))


def test_without_citations_the_view_fits_every_feature() -> None:
    view = fit_view(ALL, set())
    assert view is not None and all(inside(view, f) for f in ALL)
    assert fit_view(ALL, {"no-such-chunk"}) == view  # a cited id that is not on the map changes nothing


def test_one_point_opens_at_street_level_centred_on_it() -> None:
    view = fit_view(ALL, {"station"})
    assert view is not None and view.zoom == POINT_ZOOM
    assert (view.latitude, view.longitude) == pytest.approx((STATION.lat, STATION.lon), abs=1e-9)
    assert fit_view([], {"station"}) is None


def test_zoom_stays_within_bounds() -> None:
    near = [feature("a", 139.3614, 35.4433), feature("b", 139.3614001, 35.4433001)]
    assert fit_view(near, set()).zoom == MAX_ZOOM  # type: ignore[union-attr]
    world = [feature("w", -170.0, -60.0), feature("e", 170.0, 60.0)]
    assert fit_view(world, set()).zoom == MIN_ZOOM  # type: ignore[union-attr]


def test_map_page_opens_on_the_cited_feature(ui_home: Path) -> None:
    import json

    from streamlit.testing.v1 import AppTest

    from assistant.config import Settings
    from assistant.pipeline import Pipeline
    from assistant.users import User
    from ui.mapdata import features

    feats, _ = features(Pipeline(Settings()).index.document_chunks("facilities"))
    target = feats[-1]
    page = str(Path(__file__).resolve().parents[2] / "ui" / "pages" / "map.py")

    def opened_on(cited: list[str]) -> dict[str, float]:
        at = AppTest.from_file(page, default_timeout=120)
        at.session_state["user"] = User("staff1", "staff")
        at.session_state["cited_chunks"] = cited
        at.run()
        assert not at.exception
        spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
        return spec["initialViewState"]

    view = opened_on([target.chunk_id])
    assert (view["latitude"], view["longitude"], view["zoom"]) == pytest.approx((target.lat, target.lon, POINT_ZOOM))
    everything = opened_on([])
    assert everything == pytest.approx(vars(fit_view(feats, set())))
    assert all(inside(View(**everything), f) for f in feats)
