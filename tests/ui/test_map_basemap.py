"""地図 without the internet: no basemap unless a tile server is configured, then only that server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.test_apptest import login

TILES = "http://127.0.0.1:8089/tiles/{z}/{x}/{y}.png"


def deck_spec(at: AppTest) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert charts, "no map on the page"
    return json.loads(charts[0].proto.json)


def open_map(at: AppTest) -> AppTest:
    at.switch_page("ui/pages/map.py").run()
    assert not at.exception, at.exception
    return at


def test_default_map_has_no_basemap_and_names_no_outside_host(ui_home: Path) -> None:
    spec = deck_spec(open_map(login("staff1")))
    # pydeck's placeholder, on which Streamlit draws no basemap (None would make it pick Carto's)
    assert spec.get("mapStyle") == "__MAP_STYLE__" and "mapProvider" not in spec
    assert "http" not in json.dumps(spec)


def test_configured_tile_server_is_the_only_basemap_source(ui_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DXA_UI__MAP_TILE_URL", TILES)
    spec = deck_spec(open_map(login("staff1")))
    style_url = spec["mapStyle"]
    assert style_url.startswith("data:application/json;base64,")
    style = json.loads(base64.b64decode(style_url.split(",", 1)[1]))
    assert style["sources"]["tiles"]["tiles"] == [TILES]
    assert "glyphs" not in style and "sprite" not in style  # nothing else to fetch
