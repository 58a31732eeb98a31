"""The corpus manifest (corpus/sources.toml): who published each document, which edition, and its checksum.

Every document we ship, and every official PDF that `dxa corpus fetch` may download, has one
`[[source]]` table. A bad manifest is a ConfigError naming the entry; a shipped file whose bytes no
longer match its recorded sha256 is an IngestError(kind="checksum").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

from assistant.errors import ConfigError, IngestError
from assistant.types import LEVELS, Level, SourceInfo
from ingest.loaders import sha256_file

MANIFEST_NAME = "sources.toml"

REQUIRED_FIELDS = ("id", "title", "publisher", "level", "edition", "url", "licence")
_OPTIONAL_STR_FIELDS = ("date", "path", "sha256", "fetch_url")
KNOWN_FIELDS = frozenset((*REQUIRED_FIELDS, *_OPTIONAL_STR_FIELDS, "unofficial"))

# Ids become file names in the download cache, so keep them to a safe alphabet.
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ManifestEntry:
    """One `[[source]]` of the manifest. `path` is absolute, or None for a fetch-only document."""

    source: SourceInfo
    path: Path | None
    sha256: str  # "" when the manifest records none (only allowed for fetch-only entries)
    fetch_url: str | None

    @property
    def doc_id(self) -> str:
        return self.source.doc_id

    def cache_path(self, cache_dir: Path) -> Path:
        """Where `dxa corpus fetch` keeps this document once downloaded."""
        return Path(cache_dir) / f"{self.doc_id}.pdf"


def load_manifest(corpus_dir: Path) -> list[ManifestEntry]:
    """Read and validate `corpus_dir/sources.toml`; paths in the result are absolute."""
    corpus_dir = Path(corpus_dir)
    manifest = corpus_dir / MANIFEST_NAME
    try:
        with open(manifest, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"corpus manifest not found: {manifest}",
            message_ja=f"コーパスの目録ファイルが見つかりません: {manifest}",
            hint="Check the corpus_dir setting (DXA_CORPUS_DIR); it must contain sources.toml.",
            hint_ja="設定 corpus_dir（DXA_CORPUS_DIR）が sources.toml のあるフォルダを指しているか確認してください。",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{manifest} is not valid TOML: {exc}",
            message_ja=f"{manifest} の書式（TOML）が正しくありません: {exc}",
            hint="Fix the syntax at the position given.",
            hint_ja="示された位置の書式を直してください。",
        ) from exc

    unknown_top = set(data) - {"source"}
    if unknown_top:
        raise _manifest_error(
            manifest,
            "the file",
            f"unknown top-level keys {sorted(unknown_top)}",
            f"不明な項目 {sorted(unknown_top)} があります",
        )
    raw_entries = data.get("source", [])
    if not isinstance(raw_entries, list) or not raw_entries:
        raise _manifest_error(manifest, "the file", "no [[source]] entries", "[[source]] が1件もありません")

    entries: list[ManifestEntry] = []
    seen_ids: dict[str, int] = {}
    seen_paths: dict[Path, str] = {}
    for number, raw in enumerate(raw_entries, start=1):
        entry = _parse_entry(manifest, corpus_dir, number, raw)
        label = _label(number, entry.doc_id)
        if entry.doc_id in seen_ids:
            raise _manifest_error(
                manifest,
                label,
                f"id also used by entry #{seen_ids[entry.doc_id]}",
                f"id が #{seen_ids[entry.doc_id]} 番目の項目と重複しています",
            )
        seen_ids[entry.doc_id] = number
        if entry.path is not None:
            if entry.path in seen_paths:
                raise _manifest_error(
                    manifest,
                    label,
                    f"path also used by {seen_paths[entry.path]!r}",
                    f"path が {seen_paths[entry.path]!r} と重複しています",
                )
            seen_paths[entry.path] = entry.doc_id
        entries.append(entry)
    return entries


def verify_entry(entry: ManifestEntry) -> None:
    """Raise IngestError unless the shipped file exists and has the recorded sha256 (fetch-only: no-op)."""
    if entry.path is None:
        return
    if not entry.path.is_file():
        raise IngestError(
            str(entry.path),
            f"listed in {MANIFEST_NAME} as {entry.doc_id!r} but the file is missing",
            message_ja=f"{MANIFEST_NAME} に {entry.doc_id} として記載されていますが、ファイルがありません",
            hint="Restore the file from the repository, or remove the entry from sources.toml.",
            hint_ja="リポジトリからファイルを復元するか、sources.toml から項目を削除してください。",
            kind="missing",
        )
    actual = sha256_file(entry.path)
    if actual != entry.sha256:
        raise IngestError(
            str(entry.path),
            f"sha256 {actual} differs from {entry.sha256} recorded in {MANIFEST_NAME} for {entry.doc_id!r}",
            message_ja=(
                f"ファイルの内容が {MANIFEST_NAME} の記録（{entry.doc_id} の sha256）と一致しません"
                f"（記録 {entry.sha256[:12]}…、実際 {actual[:12]}…）"
            ),
            hint="Restore the shipped file; if the change is intended, update sha256 in corpus/sources.toml.",
            hint_ja="同梱ファイルを元に戻してください。意図した変更なら corpus/sources.toml の sha256 を更新してください。",
            kind="checksum",
        )


def entry_for_path(
    entries: Iterable[ManifestEntry], path: Path, *, cache_dir: Path | None = None
) -> ManifestEntry | None:
    """The entry whose shipped file is `path` (or, given `cache_dir`, whose downloaded copy is `path`)."""
    target = Path(path).resolve()
    for entry in entries:
        if entry.path is not None and entry.path.resolve() == target:
            return entry
        if cache_dir is not None and entry.fetch_url and entry.cache_path(cache_dir).resolve() == target:
            return entry
    return None


def _parse_entry(manifest: Path, corpus_dir: Path, number: int, raw: object) -> ManifestEntry:
    if not isinstance(raw, Mapping):
        raise _manifest_error(manifest, _label(number, ""), "is not a table", "テーブル形式ではありません")
    table = cast(Mapping[str, Any], raw)
    raw_id = table.get("id")
    label = _label(number, raw_id if isinstance(raw_id, str) else "")

    def fail(en: str, ja: str) -> ConfigError:
        return _manifest_error(manifest, label, en, ja)

    unknown = sorted(set(table) - KNOWN_FIELDS)
    if unknown:
        raise fail(f"unknown fields {unknown} (allowed: {sorted(KNOWN_FIELDS)})", f"不明な項目 {unknown} があります")
    missing = [name for name in REQUIRED_FIELDS if not _nonempty_str(table.get(name))]
    if missing:
        raise fail(f"missing or empty required fields {missing}", f"必須項目 {missing} がないか空です")
    for name in _OPTIONAL_STR_FIELDS:
        if name in table and not isinstance(table[name], str):
            raise fail(f"field {name!r} must be a string", f"項目 {name} は文字列で指定してください")
    unofficial = table.get("unofficial", False)
    if not isinstance(unofficial, bool):
        raise fail("field 'unofficial' must be true or false", "項目 unofficial は true か false で指定してください")

    doc_id: str = table["id"]
    if not _ID_RE.match(doc_id):
        raise fail("id may contain only a-z, 0-9, '.', '_' and '-'", "id には半角英小文字・数字・. _ - のみ使えます")
    level = table["level"]
    if level not in LEVELS:
        raise fail(
            f"level {level!r} is not one of {list(LEVELS)}",
            f"level {level!r} は {list(LEVELS)} のいずれかにしてください",
        )

    sha256 = table.get("sha256", "").strip().lower()
    if sha256 and not _SHA256_RE.match(sha256):
        raise fail("sha256 must be 64 hex digits", "sha256 は16進数64桁で指定してください")
    fetch_url = table.get("fetch_url") or None
    for name, value in (("url", table["url"]), ("fetch_url", fetch_url)):
        if value is not None and not value.startswith(("http://", "https://")):
            raise fail(f"{name} must start with http:// or https://", f"{name} は http:// か https:// で始めてください")

    path: Path | None = None
    rel = table.get("path") or None
    if rel is not None:
        posix = PurePosixPath(rel)
        if posix.is_absolute() or ".." in posix.parts or "\\" in rel:
            raise fail(
                "path must be relative to corpus/ and stay inside it",
                "path は corpus/ からの相対パスで、その中を指してください",
            )
        if not sha256:
            raise fail("a shipped file (path) needs its sha256", "path のある項目には sha256 が必要です")
        path = (corpus_dir / Path(*posix.parts)).absolute()
    elif fetch_url is None:
        raise fail(
            "needs a path (shipped file) or a fetch_url", "path（同梱ファイル）か fetch_url のどちらかが必要です"
        )

    source = SourceInfo(
        doc_id=doc_id,
        title=table["title"],
        level=cast(Level, level),
        edition=table["edition"],
        publisher=table["publisher"],
        date=table.get("date", ""),
        url=table["url"],
        licence=table["licence"],
        unofficial=unofficial,
    )
    return ManifestEntry(source=source, path=path, sha256=sha256, fetch_url=fetch_url)


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _label(number: int, doc_id: str) -> str:
    return f"[[source]] #{number}" + (f" (id={doc_id!r})" if doc_id else "")


def _manifest_error(manifest: Path, label: str, en: str, ja: str) -> ConfigError:
    return ConfigError(
        f"{manifest}: {label}: {en}",
        message_ja=f"{manifest}: {label.replace('the file', 'ファイル全体')}: {ja}",
        hint="Fix the entry in corpus/sources.toml (see the comments at the top of that file).",
        hint_ja="corpus/sources.toml の該当項目を直してください（書き方はファイル冒頭のコメントを参照）。",
    )
