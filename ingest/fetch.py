"""Download the official PDFs the manifest lists with a fetch_url (`dxa corpus fetch`).

A download goes to a temporary file in the cache, is checked (PDF header, size, sha256 from the
manifest) and only then renamed onto `<cache>/<id>.pdf`, so an interrupted or failed fetch never
leaves a partial or unverified file behind. The bundled corpus works without any of this.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import IngestError, NetworkError
from ingest.loaders import sha256_file
from ingest.manifest import ManifestEntry

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
_HEADER_WINDOW = 1024  # the PDF spec tolerates a little junk before the header
_BLOCK = 1 << 16
_USER_AGENT = "atsugi-dx-assistant (dxa corpus fetch)"


@dataclass(frozen=True)
class FetchResult:
    """A verified PDF in the cache, ready to index."""

    entry: ManifestEntry
    path: Path
    sha256: str
    size: int
    downloaded: bool  # False: it was already in the cache and still verifies

    def __str__(self) -> str:
        how = "ダウンロード" if self.downloaded else "キャッシュ済み"
        return f"{self.entry.doc_id} ({how}, {self.size:,} bytes): {self.path}"


def fetch_sources(
    entries: Iterable[ManifestEntry],
    cache_dir: Path,
    *,
    timeout: float = 30.0,
    opener: urllib.request.OpenerDirector | None = None,
    max_bytes: int | None = None,
) -> list[FetchResult]:
    """Make every entry with a fetch_url available as `cache_dir/<id>.pdf`; return those that are ready.

    Stops at the first failure: NetworkError when the server cannot be reached (offline, refused,
    timeout, HTTP error), IngestError when the bytes are not the expected PDF. Files already fetched
    stay; nothing partial is left behind.
    """
    cache_dir = Path(cache_dir)
    opener = opener or urllib.request.build_opener()
    results = []
    for entry in entries:
        if not entry.fetch_url:
            continue
        target = entry.cache_path(cache_dir)
        cached = _cached_result(entry, target)
        if cached is not None:
            log.info("%s: already in the cache (%s)", entry.doc_id, target)
            results.append(cached)
            continue
        results.append(_download(entry, entry.fetch_url, target, timeout, opener, max_bytes))
    return results


def _cached_result(entry: ManifestEntry, target: Path) -> FetchResult | None:
    if not target.is_file():
        return None
    if entry.sha256:
        actual = sha256_file(target)
        ok = actual == entry.sha256
    else:
        with open(target, "rb") as fh:
            ok = PDF_MAGIC in fh.read(_HEADER_WINDOW)
        actual = sha256_file(target) if ok else ""
    if not ok:
        # Left in place until a verified download replaces it, so going offline loses nothing.
        log.warning("%s: cached file %s does not verify; downloading again", entry.doc_id, target)
        return None
    return FetchResult(entry, target, actual, target.stat().st_size, downloaded=False)


def _download(
    entry: ManifestEntry,
    url: str,
    target: Path,
    timeout: float,
    opener: urllib.request.OpenerDirector,
    max_bytes: int | None,
) -> FetchResult:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = opener.open(request, timeout=timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _network_error(entry, url, exc, timeout) from exc
    # Only once the server answers do we touch the cache, so an offline run leaves it exactly as it was.
    with contextlib.closing(response):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{entry.doc_id}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            actual, size = _stream_and_verify(entry, url, response, fd, timeout, max_bytes)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    log.info("%s: downloaded %d bytes to %s", entry.doc_id, size, target)
    return FetchResult(entry, target, actual, size, downloaded=True)


def _stream_and_verify(
    entry: ManifestEntry, url: str, response: Any, fd: int, timeout: float, max_bytes: int | None
) -> tuple[str, int]:
    """Copy the body into the open temp file `fd`; return (sha256, size) if it is the expected PDF."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    declared = _declared_length(response)
    with os.fdopen(fd, "wb") as out:
        while True:
            try:
                block = response.read(_BLOCK)
            except (OSError, http.client.HTTPException) as exc:
                raise _network_error(entry, url, exc, timeout) from exc
            if not block:
                break
            size += len(block)
            if max_bytes is not None and size > max_bytes:
                raise _bad_download(
                    entry,
                    url,
                    "too_large",
                    f"larger than the limit of {max_bytes:,} bytes",
                    f"上限 {max_bytes:,} バイトを超えています",
                )
            if len(head) < _HEADER_WINDOW:
                head += block[: _HEADER_WINDOW - len(head)]
            digest.update(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())

    if declared is not None and size != declared:
        raise NetworkError(
            f"download of {entry.doc_id} from {url} was cut off ({size:,} of {declared:,} bytes)",
            message_ja=f"{entry.doc_id} のダウンロードが途中で切れました（{declared:,} バイト中 {size:,} バイト）",
            hint="Run `dxa corpus fetch` again.",
            hint_ja="`dxa corpus fetch` をもう一度実行してください。",
        )
    if PDF_MAGIC not in head:
        raise _bad_download(
            entry, url, "not_pdf", "the server did not send a PDF", "サーバーから届いたデータがPDFではありません"
        )
    actual = digest.hexdigest()
    if entry.sha256 and actual != entry.sha256:
        raise _bad_download(
            entry,
            url,
            "checksum",
            f"sha256 {actual} differs from {entry.sha256} in sources.toml",
            f"sha256 が sources.toml の記録と一致しません（記録 {entry.sha256[:12]}…、実際 {actual[:12]}…）",
        )
    return actual, size


def _declared_length(response: object) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _network_error(entry: ManifestEntry, url: str, exc: BaseException, timeout: float) -> NetworkError:
    if isinstance(exc, urllib.error.HTTPError):
        exc.close()  # it holds the open response
        return NetworkError(
            f"{url} answered HTTP {exc.code} while fetching {entry.doc_id}",
            message_ja=f"{entry.doc_id} の取得で、サーバーが HTTP {exc.code} を返しました（{url}）",
            hint="The official URL may have moved: check it in a browser and update fetch_url in corpus/sources.toml.",
            hint_ja="公式URLが変わった可能性があります。ブラウザで確認し、corpus/sources.toml の fetch_url を更新してください。",
        )
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        en, ja = "the host name could not be resolved (DNS)", "ホスト名を解決できませんでした（DNS）"
    elif isinstance(reason, ConnectionRefusedError):
        en, ja = "the connection was refused", "接続が拒否されました"
    elif isinstance(reason, TimeoutError):
        en, ja = f"no answer within {timeout:g} s", f"{timeout:g} 秒以内に応答がありませんでした"
    else:
        en, ja = str(reason) or type(reason).__name__, str(reason) or type(reason).__name__
    return NetworkError(
        f"cannot download {entry.doc_id} from {url}: {en}. The network seems unreachable; the cache is unchanged.",
        message_ja=(
            f"{entry.doc_id} を {url} からダウンロードできません: {ja}。"
            "ネットワークに接続できない可能性があります（キャッシュは変更していません）。"
        ),
        hint="Check the network or proxy settings and run `dxa corpus fetch` again. The bundled corpus works offline.",
        hint_ja="ネットワーク（プロキシ）の設定を確認し、`dxa corpus fetch` をもう一度実行してください。同梱の資料はオフラインでも使えます。",
    )


def _bad_download(entry: ManifestEntry, url: str, kind: str, en: str, ja: str) -> IngestError:
    return IngestError(
        url,
        f"{entry.doc_id}: {en}; nothing was saved",
        message_ja=f"{entry.doc_id}: {ja}。ファイルは保存していません",
        hint="The file at the official URL may have changed: check it and update fetch_url/sha256 in corpus/sources.toml.",
        hint_ja="公式URLの内容が変わった可能性があります。確認のうえ corpus/sources.toml の fetch_url / sha256 を更新してください。",
        kind=kind,
    )
