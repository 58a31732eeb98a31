"""地図: GeoPackage features on a map; features cited in the latest answer in red.

No background map unless `ui.map_tile_url` names a tile server: pydeck's and Streamlit's defaults
would make the browser fetch a Carto basemap from the internet.
"""

from __future__ import annotations

import pydeck as pdk
import streamlit as st

from ui.common import get_pipeline, get_settings, require_role
from ui.mapdata import deck_rows, features, fit_view, raster_style_url
from ui.render import block, safe

require_role()
pipeline = get_pipeline()
st.title("地図")
gpkg_docs = [d for d in pipeline.index.documents() if d.kind == "gpkg"]
if not gpkg_docs:
    st.info("GeoPackage の資料が登録されていません。管理者が資料管理から .gpkg ファイルを登録すると表示されます。")
    st.stop()

chunks = [c for d in gpkg_docs for c in pipeline.index.document_chunks(d.doc_id)]
feats, skipped = features(chunks)
layers = sorted({f.layer for f in feats})
chosen_layers = st.multiselect("レイヤ", layers, default=layers, key="map_layers")
feats = [f for f in feats if f.layer in chosen_layers]
cited = set(st.session_state.get("cited_chunks", []))
n_cited = sum(f.chunk_id in cited for f in feats)
st.caption(f"地物 {len(feats)} 件" + (f" ／ 最新の回答で引用された地物 {n_cited} 件（赤）" if n_cited else ""))
if skipped:
    st.caption(f"緯度経度以外の座標系の地物 {skipped} 件は地図に表示していません。")
if not feats:
    st.stop()

rows = deck_rows(feats, cited)
layer = pdk.Layer(
    "ScatterplotLayer",
    id="features",
    data=rows,
    get_position=["lon", "lat"],
    get_fill_color="color",
    get_radius="radius",
    radius_min_pixels=5,
    radius_max_pixels=30,
    pickable=True,
)
view = pdk.ViewState(**vars(fit_view(feats, cited)))  # fitted to the cited features, else to all
# "text" tooltips are shown as plain text (an "html" tooltip would render attribute values as markup).
tile_url = get_settings().ui.map_tile_url
# map_provider=None keeps pydeck's style placeholder, on which Streamlit draws no basemap; map_style=None
# would make Streamlit pick a Carto style from the internet.
base = {"map_provider": "carto", "map_style": raster_style_url(tile_url)} if tile_url else {"map_provider": None}
deck = pdk.Deck(layers=[layer], initial_view_state=view, tooltip={"text": "{label}"}, **base)
if not tile_url:
    st.caption("背景地図は表示していません（地図タイルのサーバーは設定 DXA_UI__MAP_TILE_URL で指定できます）。")
event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="map_chart")

picked = None
try:
    objects = event.selection.objects.get("features") or []  # type: ignore[union-attr]
    picked = objects[0]["chunk_id"] if objects else None
except (AttributeError, KeyError, TypeError):
    picked = None
ids = [f.chunk_id for f in feats]
by_id = {f.chunk_id: f for f in feats}
default = ids.index(picked) if picked in by_id else next((i for i, c in enumerate(ids) if c in cited), 0)
chosen = st.selectbox(
    "地物を選択",
    ids,
    index=default,
    key="map_feature",
    format_func=lambda i: ("★ " if i in cited else "") + f"{by_id[i].name}（{by_id[i].layer}）",
)
f = by_id[chosen]
st.markdown(
    block(safe(f"{f.name} ／ レイヤ: {f.layer} ／ fid: {f.fid} ／ 資料: {f.doc_title}")), unsafe_allow_html=True
)
st.dataframe(
    [{"属性": k, "値": str(v)} for k, v in f.attributes.items()]
    + [{"属性": "座標", "値": f"{f.lon:.6f}, {f.lat:.6f}（{f.crs}）"}],
    hide_index=True,
    width="stretch",
)
