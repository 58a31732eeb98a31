"""資料管理 (admin): the indexed documents; upload, re-index and remove.

Uploads are saved under <home>/uploads and indexed by a background job (`dxa ingest --job N`, which
runs `ingest_paths`, the same code as `dxa ingest`), so questions asked meanwhile are not held up.
The job list below follows each job (queued, n/N chunks, done or failed) and survives a page change.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime
from pathlib import Path

import streamlit as st

from assistant.errors import DXAError
from assistant.types import SourceInfo
from ingest.doc_ids import assign_doc_id
from ingest.jobs import DONE, FAILED, INDEXING, QUEUED, Job, JobStore, current_jobs, start_ingest_job
from ingest.loaders import FORMATS_JA, MIB, SUPPORTED_SUFFIXES
from ui.activity import record_admin_event
from ui.common import get_pipeline, get_settings, require_role
from ui.render import level_label, local_time, md

me = require_role("admin")
settings = get_settings()
pipeline = get_pipeline()
index = pipeline.index
jobs = JobStore.from_settings(settings)
STATUS_JA = {"added": "追加しました", "replaced": "更新しました", "unchanged": "変更はありません（索引済み）"}
JOB_STATUS_JA = {QUEUED: "待機中", INDEXING: "索引中", DONE: "完了", FAILED: "失敗"}
JOB_ICONS = {QUEUED: "⏳", INDEXING: "⚙️", DONE: "✅", FAILED: "❌"}
# After an upload or a removal the page reruns, so the list, the count and the choices are read afresh;
# the outcome is carried over the rerun here, and the widgets named in RESET go back to their defaults.
FLASH, RESET = "documents_flash", "documents_reset"
UPLOAD_DEFAULTS = {"upload_title": "", "upload_level": None, "upload_edition": "", "upload_doc_id": ""}

st.title("資料管理")
for key, value in st.session_state.pop(RESET, {}).items():
    st.session_state[key] = value  # set (not deleted) so the browser's widget follows too
for ok, message in st.session_state.pop(FLASH, []):  # file names and ids in it are not our text
    if ok:
        st.success(md(message))
    else:
        st.error(md(message))
docs = index.documents()
st.caption(f"索引: {md(settings.index_dir)} ／ 文書 {len(docs)} 件")
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


def enqueue(path: Path, source: SourceInfo, filename: str, event: str) -> int:
    job_id = start_ingest_job(settings, jobs, path, source, filename=filename, user=me.name)
    record_admin_event(event, f"{source.doc_id}: ジョブ {job_id}（{filename}）")
    return job_id


def accepted(filename: str, job_id: int) -> str:
    return f"{filename}: 索引の登録を受け付けました（ジョブ {job_id}）。進み具合は下の「登録ジョブ」に表示されます。"


def job_state(job: Job, now: float) -> str:
    if job.status == INDEXING:
        if job.total == 0:
            return "読み込み中…"
        eta = job.eta_s(now)
        left = f"（残り約{eta / 60:.0f}分）" if eta and eta >= 90 else (f"（残り約{eta:.0f}秒）" if eta else "")
        return f"索引中 {job.done}/{job.total} チャンク{left}"
    if job.status == DONE:
        return f"完了: {STATUS_JA.get(job.outcome, job.outcome)}（{job.total} チャンク）"
    if job.status == FAILED:
        return f"失敗: {job.message}"
    return JOB_STATUS_JA[job.status]


def rerun_with(ok: bool, message: str, reset: dict[str, object] | None = None) -> None:
    """Rerun the page (fresh list and count) and show `message` at its top."""
    st.session_state[FLASH] = [(ok, message)]
    st.session_state[RESET] = reset or {}
    st.rerun()


def safe_filename(name: str) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    return stem[-120:]


st.subheader("資料を登録")
max_mib = settings.ingest.max_file_mib
types = sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES)
with st.form("upload", clear_on_submit=False):
    upload = st.file_uploader(  # a new key after each upload: a file uploader cannot be reset by value
        f"ファイル（{FORMATS_JA}、{max_mib:g}MiBまで）",
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
        st.error(f"{md(upload.name)}: この形式は登録できません（{FORMATS_JA} のみ）。")
    elif upload.size > max_mib * MIB:
        st.error(f"{md(upload.name)}: ファイルが大きすぎます（{upload.size / MIB:.1f}MiB、上限 {max_mib:g}MiB）。")
    else:
        data = upload.getvalue()
        folder = settings.home / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{safe_filename(upload.name)}"
        path.write_bytes(data)
        try:  # a typed 文書ID used by another file is refused here, before a job is queued
            doc_id = assign_doc_id(index, path, doc_id_in.strip(), name=upload.name)
        except DXAError as exc:
            if not any(d.path == str(path.resolve()) for d in docs):
                path.unlink(missing_ok=True)  # nothing refers to it
            st.error(md(exc.user_message("ja")))
        else:
            source = SourceInfo(
                doc_id=doc_id, title=title.strip() or Path(upload.name).stem, level=level, edition=edition.strip()
            )
            job_id = enqueue(path, source, upload.name, "doc_upload")
            rerun_with(
                True,
                accepted(upload.name, job_id),
                {**UPLOAD_DEFAULTS, "upload_round": st.session_state.get("upload_round", 0) + 1},
            )

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
            job_id = enqueue(Path(record.path), source, Path(record.path).name, "doc_reindex")
            rerun_with(True, accepted(Path(record.path).name, job_id))
    with c2:
        confirm = st.checkbox(f"「{md(record.title)}」を索引から削除する", key="confirm_remove")
        if st.button("削除", key="remove", icon="🗑️", disabled=not confirm, type="primary"):
            removed = index.remove_document(record.doc_id)
            record_admin_event("doc_remove", f"{record.doc_id}（{removed} チャンク）")
            if removed >= 0:
                rerun_with(True, f"削除しました: {record.doc_id}（{removed} チャンク）", {"confirm_remove": False})
            else:
                rerun_with(False, f"文書 {record.doc_id} は索引にありません。", {"confirm_remove": False})


def job_list() -> None:
    """The recent jobs; while one runs this part refreshes every 2 s, and the page when one ends."""
    now = time.time()
    shown = current_jobs(jobs)
    running = {j.id for j in shown if j.active}
    if st.session_state.get("jobs_running", set()) - running:  # a job ended: the document list changed
        st.session_state["jobs_running"] = running
        st.rerun(scope="app")
    st.session_state["jobs_running"] = running
    if not shown:
        st.caption("登録ジョブはありません。")
        return
    for job in shown:
        line = f"{job.filename}（{job.doc_id}）: {job_state(job, now)}"
        if job.status == INDEXING and job.total:
            st.progress(min(job.done / job.total, 1.0), text=md(line))
        else:
            when = datetime.fromtimestamp(job.created).strftime("%m/%d %H:%M")
            st.markdown(f"{JOB_ICONS[job.status]} {md(f'{line}　（受付 {when}・{job.user}）')}")


st.subheader("登録ジョブ")
st.fragment(job_list, run_every=2.0 if any(j.active for j in jobs.recent()) else None)()
