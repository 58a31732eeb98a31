"""Document ids: the one place that names a document (loaders never do).

An id is readable (made from the file name) and unique per source path, and stays the same when the
same path is ingested again, so chunk ids, citations and golden files stay stable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from assistant.errors import IngestError
from assistant.store import Index
from assistant.types import DocumentRecord
from ingest.loaders import sha256_file

_DOC_ID_MAX = 60  # room for "-" and an 8-digit path hash within 80 characters


def assign_doc_id(index: Index, path: Path, doc_id: str = "", *, name: str | None = None) -> str:
    """The document id for `path`: unique per source path, stable across re-ingest of the same path.

    A given `doc_id` (--doc-id, the manifest, the 資料管理 form) is used as it is, unless a different
    file is already indexed under it: that is an IngestError naming both paths. Without one, a document
    already indexed from this path keeps its id (stores made before ids were unique keep theirs); a new
    path gets the readable id from its file name (`name`, default the path's), with a short hash of the
    resolved path appended when that id is taken by another file.
    """
    resolved = str(path.resolve())
    docs = {d.doc_id: d for d in index.documents()}
    if doc_id:
        _check_collision(path, doc_id, docs.get(doc_id))
        return doc_id
    same_path = sorted(d.doc_id for d in docs.values() if d.path == resolved)
    if same_path:
        return same_path[0]
    readable = _readable_id(name or path.name)
    for candidate in (readable, f"{readable}-{hashlib.sha256(resolved.encode()).hexdigest()[:8]}"):
        if candidate not in docs:
            return candidate
    _check_collision(path, candidate, docs[candidate])
    return candidate  # not reached: the hashed id is taken only by another path


def _check_collision(path: Path, doc_id: str, existing: DocumentRecord | None) -> None:
    """Another file under this id is an error; the same path, or a copy with the same bytes, is not."""
    if existing is None or existing.path == str(path.resolve()):
        return
    if path.is_file() and existing.sha256 and sha256_file(path) == existing.sha256:
        return
    raise IngestError(
        str(path),
        f"document id '{doc_id}' already belongs to another file, {existing.path}; it was not replaced",
        message_ja=f"文書ID「{doc_id}」は別のファイル（{existing.path}）の文書に使われているため、置き換えませんでした",
        hint=f"give another id (--doc-id), or remove the other document first (dxa remove {doc_id})",
        hint_ja=f"別の文書ID（--doc-id）を指定するか、先に既存の文書を削除してください（dxa remove {doc_id}）",
        kind="id_collision",
    )


def _readable_id(name: str) -> str:
    """The readable part of an id, from a file name: the NFKC-normalised stem, lower-cased, with every
    run of characters that are not letters or digits made one "-". Japanese stays Japanese
    (厚木市DX計画.pdf → 厚木市dx計画); a name with no letters or digits at all becomes "doc"."""
    stem = unicodedata.normalize("NFKC", Path(name).stem).lower()
    slug = re.sub(r"[\W_]+", "-", stem).strip("-")
    return slug[:_DOC_ID_MAX] or "doc"
