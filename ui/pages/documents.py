"""資料管理 (admin): the indexed documents; upload, re-index and remove.

Uploads are saved under <home>/uploads and indexed with `ingest_file`, the same code `dxa ingest` runs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import streamlit as st

from assistant.types import SourceInfo
from ingest.indexer import SUPPORTED_SUFFIXES, FileResult, doc_id_for_path, ingest_file
from ui.common import get_pipeline, get_settings, require_role
from ui.render import level_label, local_time

require_role("admin")
settings = get_settings()
pipeline = get_pipeline()
index = pipeline.index
STATUS_JA = {"added": "追加しました", "replaced": "更新しました", "unchanged": "変更はありません（索引済み）"}
# After an upload or a removal the page reruns, so the list, the count and the choices are read afresh;
# the outcome is carried over the rerun here, and the widgets named in RESET go back to their defaults.
FLASH, RESET = "documents_flash", "documents_reset"
UPLOAD_DEFAULTS = {"upload_title": "", "upload_level": None, "upload_edition": "", "upload_doc_id": ""}

st.title("資料管理")
for key, value in st.session_state.pop(RESET, {}).items():
    st.session_state[key] = value  # set (not deleted) so the browser's widget follows too
for ok, message in st.session_state.pop(FLASH, []):
    if ok:
        st.success(message)
    else:
        st.error(message)
docs = index.documents()
st.caption(f"索引: {settings.index_dir} ／ 文書 {len(docs)} 件")
st.dataframe(
    [
        {
            "文書ID": d.doc_id,
            "表題": d.title,
            "区分": level_label(d.level),
            "種類": d.kind,
            "頁数": d.pages,
            "チャンク": d.chunks,
            "最終索引": local_time(d.ingested_at),
            "版": d.edition,
            "ファイル": Path(d.path).name,
        }
        for d in docs
    ],
    hide_index=True,
    width="stretch",
)


def result_message(result: FileResult) -> str:
    if not result.ok:
        return result.message_ja
    pages = f"、{result.pages}頁" if result.pages else ""
    return f"{result.doc_id}: {STATUS_JA[result.status]}（{result.chunks} チャンク{pages}、{result.seconds:.1f}秒）"


def show_result(result: FileResult) -> None:
    if result.ok:
        st.success(result_message(result))
    else:
        st.error(result.message_ja)


def rerun_with(ok: bool, message: str, reset: dict[str, object] | None = None) -> None:
    """Rerun the page (fresh list and count) and show `message` at its top."""
    st.session_state[FLASH] = [(ok, message)]
    st.session_state[RESET] = reset or {}
    st.rerun()


def run_ingest(path: Path, source: SourceInfo) -> FileResult:
    bar = st.progress(0.0, text="読み込み中…")

    def on_progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"索引中… {done}/{total} チャンク")

    result = ingest_file(index, settings, path, source, on_progress=on_progress)
    bar.progress(1.0, text="完了" if result.ok else "エラー")
    return result


def safe_filename(name: str) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    return stem[-120:]


st.subheader("資料を登録")
max_mb = settings.ingest.max_file_mb
types = sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
with st.form("upload", clear_on_submit=False):
    upload = st.file_uploader(  # a new key after each upload: a file uploader cannot be reset by value
        f"ファイル（PDF・テキスト・Markdown・GeoPackage、{max_mb:g}MBまで）",
        type=types,
        key=f"upload_file_{st.session_state.get('upload_round', 0)}",
    )
    c1, c2, c3, c4 = st.columns(4)
    title = c1.text_input("表題", key="upload_title", placeholder="空欄ならファイルから")
    level = c2.selectbox(
        "区分",
        ["city", "prefecture", "national", "other"],
        index=None,  # chosen for every upload: a choice carried over from the last one would go unnoticed
        format_func=level_label,
        key="upload_level",
        placeholder="選んでください",
    )
    edition = c3.text_input("版", key="upload_edition", placeholder="例: 2027年3月版")
    doc_id_in = c4.text_input("文書ID（任意）", key="upload_doc_id", placeholder="空欄ならファイル名から")
    submitted = st.form_submit_button("索引に登録", type="primary")
if submitted:
    if upload is None:
        st.error("ファイルを選んでください。")
    elif level is None:
        st.error("区分（市・県・国・その他）を選んでください。")
    elif Path(upload.name).suffix.lower() not in SUPPORTED_SUFFIXES:
        st.error(f"{upload.name}: この形式は登録できません（PDF・テキスト・Markdown・GeoPackage のみ）。")
    elif upload.size > max_mb * 1_000_000:
        st.error(f"{upload.name}: ファイルが大きすぎます（{upload.size / 1_000_000:.1f}MB、上限 {max_mb:g}MB）。")
    else:
        data = upload.getvalue()
        folder = settings.home / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{safe_filename(upload.name)}"
        path.write_bytes(data)
        doc_id = doc_id_in.strip() or doc_id_for_path(Path(upload.name))
        source = SourceInfo(
            doc_id=doc_id, title=title.strip() or Path(upload.name).stem, level=level, edition=edition.strip()
        )
        result = run_ingest(path, source)
        if not result.ok and not any(d.path == str(path.resolve()) for d in index.documents()):
            path.unlink(missing_ok=True)  # nothing refers to a file that failed to index
        if result.ok:
            rerun_with(
                True,
                result_message(result),
                {**UPLOAD_DEFAULTS, "upload_round": st.session_state.get("upload_round", 0) + 1},
            )
        show_result(result)

if docs:
    by_id = {d.doc_id: d for d in docs}
    st.subheader("再索引・削除")
    if st.session_state.get("manage_doc") not in by_id:  # the chosen document was removed: set (not
        st.session_state["manage_doc"] = next(iter(by_id))  # dropped), or the browser keeps showing it
    chosen = st.selectbox("文書", list(by_id), key="manage_doc", format_func=lambda i: f"{i} — {by_id[i].title}")
    record = by_id[chosen]
    c1, c2 = st.columns(2)
    with c1:
        st.caption("元のファイルが変わっていれば読み直します（変わっていなければ何もしません）。")
        if st.button("再索引", key="reindex", icon="🔄"):
            source = SourceInfo(
                doc_id=record.doc_id,
                title=record.title,
                level=record.level,
                edition=record.edition,
                publisher=record.publisher,
                url=record.url,
                unofficial=record.unofficial,
            )
            result = run_ingest(Path(record.path), source)
            if result.ok:
                rerun_with(True, result_message(result))
            show_result(result)
    with c2:
        confirm = st.checkbox(f"「{record.title}」を索引から削除する", key="confirm_remove")
        if st.button("削除", key="remove", icon="🗑️", disabled=not confirm, type="primary"):
            removed = index.remove_document(record.doc_id)
            if removed >= 0:
                rerun_with(True, f"削除しました: {record.doc_id}（{removed} チャンク）", {"confirm_remove": False})
            else:
                rerun_with(False, f"文書 {record.doc_id} は索引にありません。", {"confirm_remove": False})
