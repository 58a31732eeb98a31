"""The index: chunk records in SQLite (source of truth, with sparse tokens) and vectors in Chroma.

chromadb is imported only in this module. SQLite holds documents, chunks and their pre-tokenised
text for the Japanese BM25 indexes; Chroma holds one vector per chunk under the same chunk id.
Writes follow one order so that a crash at any moment is repaired by `reconcile()`:

1. vectors for the new chunks are added to Chroma;
2. one SQLite transaction swaps the document's chunks and its record;
3. vectors of chunks that no longer exist are deleted from Chroma.

A kill between the steps leaves only Chroma ids that SQLite does not know (orphans), which
`reconcile()` deletes; SQLite ids missing in Chroma are re-added from the embedding cache.
The crash test stops a real `dxa ingest` at each named point of this order (WRITE_STAGES) and kills it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embed import CachedEmbedder
from assistant.errors import IndexUnavailableError, StoreError
from assistant.sparse import BM25Index
from assistant.types import Chunk, DocumentRecord

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS documents (
  doc_id TEXT PRIMARY KEY, title TEXT, level TEXT, edition TEXT, path TEXT, sha256 TEXT,
  pages INTEGER, chunks INTEGER, ingested_at TEXT, kind TEXT, publisher TEXT, url TEXT,
  unofficial INTEGER, fingerprint TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
  chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER, page INTEGER, section TEXT,
  text TEXT, original TEXT, meta TEXT, tokens TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""
TOKEN_SEP = "\x1f"
# The points of the write order above where a crash leaves a state reconcile() must repair.
WRITE_STAGES = ("after_chroma_add", "in_sqlite_transaction", "before_chroma_delete")
# Called with the stage name at each of those points. Only the crash test's child process sets it
# (tests/ingest/test_crash_and_network.py) to stop there and be SIGKILLed; the product never does.
WRITE_STAGE_HOOK: Callable[[str], None] | None = None


def _reached(stage: str) -> None:
    if WRITE_STAGE_HOOK is not None:
        WRITE_STAGE_HOOK(stage)


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its section path gives the passage its context."""
    return f"{chunk.section}\n{chunk.text}" if chunk.section else chunk.text


class ChromaVectors:
    """The dense side: one Chroma collection per store and embedder."""

    def __init__(self, settings: Settings, name: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.url = settings.store.chroma_url or ""
        try:
            if settings.store.chroma_url:
                from urllib.parse import urlparse

                url = urlparse(settings.store.chroma_url)
                self.client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                path = settings.index_dir / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self.collection = self.client.get_or_create_collection(
                name=name, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:
            where = settings.store.chroma_url or str(settings.index_dir)
            if self.url and _is_connection_error(exc):
                raise IndexUnavailableError(self.url, f"{type(exc).__name__}: {exc}"[:200]) from exc
            raise StoreError(
                f"Chroma index at {where} could not be opened: {exc}",
                message_ja=f"検索インデックス（Chroma, {where}）を開けません: {exc}",
                hint="check the path or that the Chroma server is running",
                hint_ja="保存先のパス、またはChromaサーバーが起動しているかを確認してください",
            ) from exc

    @contextlib.contextmanager
    def _connected(self) -> Iterator[None]:
        """Losing the Chroma server becomes one IndexUnavailableError (with a hint), not a traceback."""
        try:
            yield
        except Exception as exc:
            if self.url and _is_connection_error(exc):
                raise IndexUnavailableError(self.url, f"{type(exc).__name__}: {exc}"[:200]) from exc
            raise

    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict[str, Any]]) -> None:
        with self._connected():
            for start in range(0, len(ids), 500):
                end = start + 500
                self.collection.upsert(
                    ids=ids[start:end],
                    embeddings=vectors[start:end].tolist(),
                    metadatas=metadatas[start:end],  # type: ignore[arg-type]  # our values are str/int/float/bool
                )

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        with self._connected():
            for start in range(0, len(ids), 500):
                self.collection.delete(ids=ids[start : start + 500])

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        with self._connected():
            while True:
                page = self.collection.get(include=[], limit=5000, offset=offset)
                ids.update(page["ids"])
                if len(page["ids"]) < 5000:
                    return ids
                offset += 5000

    def count(self) -> int:
        with self._connected():
            return int(self.collection.count())

    def catch_up(self) -> None:
        """Make this process's searches see vectors another process (a `dxa ingest`, an upload job) wrote.

        Embedded Chroma applies other processes' writes to its in-memory HNSW index only when this
        process writes; deleting an id that cannot exist is such a write and changes nothing."""
        self.collection.delete(ids=["__dxa_catch_up__"])

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids Chroma does not hold are left out)."""
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            with self._connected():
                page = self.collection.get(ids=ids[start : start + 500], include=["embeddings"])
            embeddings = page["embeddings"]
            if embeddings is None:  # an array, so no truth test
                continue
            for cid, vec in zip(page["ids"], list(embeddings), strict=True):
                out[cid] = np.asarray(vec, dtype=np.float32)
        return out

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        n = self.count()
        if n == 0:
            return []
        with self._connected():
            res = self.collection.query(
                query_embeddings=[vector.tolist()], n_results=min(k, n), where=where or None, include=["distances"]
            )
        distances = res["distances"] or [[]]
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], distances[0], strict=True)]


def _is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) means the server cannot be reached: chromadb's HTTP client
    raises httpx transport errors, or wraps them, or says so in words."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, httpx.TransportError | ConnectionError):
            return True
        text = f"{type(seen).__name__} {seen}".lower()
        if any(w in text for w in ("connecterror", "connection refused", "could not connect", "failed to connect")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Index:
    """Chunks, documents, dense vectors and the sparse indexes of one store, kept consistent."""

    def __init__(self, settings: Settings, embedder: CachedEmbedder, tokenizers: dict[str, Any]) -> None:
        self.settings = settings
        self.embedder = embedder
        self.tokenizers = tokenizers  # name -> Tokenizer, e.g. {"sudachi": ..., "bigram": ...}
        self.dir = settings.index_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self.db = sqlite3.connect(self.dir / "chunks.sqlite", check_same_thread=False, timeout=60)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex[:12],))
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"index database in {self.dir} is unreadable: {exc}",
                message_ja=f"インデックス（{self.dir}）のデータベースを読めません: {exc}",
                hint="point --store to another directory or restore a backup",
                hint_ja="--store で別の保存先を指定するか、バックアップから復元してください",
            ) from exc
        store_id = self._meta("store_id")
        name = f"{settings.store.collection}-{embedder.id}-{store_id}"[:60]
        self.vectors = ChromaVectors(settings, name)
        self._sparse: dict[str, BM25Index] = {}
        self._sparse_generation = -1
        self._dense_generation = self.generation()
        # ((generation, exact_search_max), (ids, unit vectors) or None when the store is too large to scan)
        self._exact: tuple[tuple[int, int], tuple[list[str], np.ndarray] | None] | None = None
        self._exact_lock = threading.Lock()

    # -- small helpers -------------------------------------------------------------------------
    def _meta(self, key: str) -> str:
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else ""

    def generation(self) -> int:
        return int(self._meta("generation") or 0)

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time, across threads and processes."""
        with self._lock, open(self.dir / "write.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def tokens_for(self, text: str) -> str:
        """Pre-tokenised text for every sparse index (the tokenisers add era/western year forms)."""
        return json.dumps({name: TOKEN_SEP.join(tok.tokenize(text)) for name, tok in self.tokenizers.items()})

    # -- reading -------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        with self._lock:
            rows = self.db.execute(
                "SELECT doc_id, title, level, edition, path, sha256, pages, chunks, ingested_at, kind, publisher, "
                "url, unofficial FROM documents ORDER BY level, doc_id"
            ).fetchall()
        return [_document_record(r) for r in rows]

    def document(self, doc_id: str) -> DocumentRecord | None:
        return next((d for d in self.documents() if d.doc_id == doc_id), None)

    def fingerprint(self, doc_id: str) -> tuple[str, str] | None:
        """(sha256, pipeline fingerprint) of an indexed document, or None."""
        with self._lock:
            row = self.db.execute("SELECT sha256, fingerprint FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def chunk_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks")}

    def _row_to_chunk(self, row: Sequence[Any], docs: dict[str, DocumentRecord]) -> Chunk:
        chunk_id, doc_id, ordinal, page, section, text, original, meta = row
        doc = docs.get(doc_id)
        return Chunk(
            chunk_id=chunk_id,
            doc_id=doc_id,
            title=doc.title if doc else doc_id,
            level=doc.level if doc else "other",
            edition=doc.edition if doc else "",
            page=page,
            section=section,
            text=text,
            original=original,
            ordinal=ordinal,
            meta=json.loads(meta or "{}"),
        )

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """Chunks by id, in the order asked; unknown ids are skipped."""
        docs = {d.doc_id: d for d in self.documents()}
        found: dict[str, Chunk] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            with self._lock:
                rows = self.db.execute(
                    "SELECT chunk_id, doc_id, ordinal, page, section, text, original, meta FROM chunks "
                    f"WHERE chunk_id IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
            for row in rows:
                found[row[0]] = self._row_to_chunk(row, docs)
        return [found[i] for i in ids if i in found]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        docs = {d.doc_id: d for d in self.documents()}
        with self._lock:
            rows = self.db.execute(
                "SELECT chunk_id, doc_id, ordinal, page, section, text, original, meta FROM chunks "
                "WHERE doc_id = ? ORDER BY ordinal",
                (doc_id,),
            ).fetchall()
        return [self._row_to_chunk(r, docs) for r in rows]

    def allowed_ids(
        self,
        levels: Sequence[str] | None = None,
        doc_ids: Sequence[str] | None = None,
        editions: Sequence[str] | None = None,
    ) -> set[str] | None:
        """Chunk ids passing the filters, or None when there is no filter."""
        clauses: list[str] = []
        args: list[str] = []
        for column, values in (("d.level", levels), ("d.doc_id", doc_ids), ("d.edition", editions)):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if not clauses:
            return None
        sql = "SELECT c.chunk_id FROM chunks c JOIN documents d ON c.doc_id = d.doc_id WHERE " + " AND ".join(clauses)
        with self._lock:
            return {r[0] for r in self.db.execute(sql, args)}

    def sparse_indexes(self) -> dict[str, BM25Index]:
        """BM25 indexes over exactly the chunks in SQLite, rebuilt when another writer changed them."""
        with self._lock:
            generation = self.generation()
            if generation != self._sparse_generation:
                rows = self.db.execute("SELECT chunk_id, tokens FROM chunks ORDER BY chunk_id").fetchall()
                ids = [r[0] for r in rows]
                decoded = [json.loads(r[1]) for r in rows]
                # k1/b only shape the weights computed here from the stored tokens: changing them needs no re-ingest
                bm25 = self.settings.retrieve.bm25
                self._sparse = {
                    name: BM25Index(
                        ids,
                        [d.get(name, "").split(TOKEN_SEP) if d.get(name) else [] for d in decoded],
                        k1=bm25.k1,
                        b=bm25.b,
                    )
                    for name in self.tokenizers
                }
                self._sparse_generation = generation
            return self._sparse

    # -- writing -------------------------------------------------------------------------------
    def upsert_document(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        fingerprint: str,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Replace a document's chunks atomically (see the module docstring for the crash order)."""
        with self.write_lock():
            self._reconcile_locked()
            old_ids = {r[0] for r in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (record.doc_id,))}
            new_ids = [c.chunk_id for c in chunks]
            if len(set(new_ids)) != len(new_ids):
                raise StoreError(f"duplicate chunk ids in {record.doc_id}", message_ja="チャンクIDが重複しています")
            vectors = self.embedder.embed_passages([embedding_text(c) for c in chunks], progress=progress)
            self.vectors.add(new_ids, vectors, [self._chroma_meta(c) for c in chunks])
            _reached("after_chroma_add")
            rows = [
                (
                    c.chunk_id,
                    c.doc_id,
                    c.ordinal,
                    c.page,
                    c.section,
                    c.text,
                    c.original,
                    json.dumps(c.meta, ensure_ascii=False),
                    self.tokens_for(embedding_text(c)),
                )
                for c in chunks
            ]
            with self.db:  # one transaction
                self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (record.doc_id,))
                self.db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                values = asdict(record)
                values["chunks"] = len(chunks)
                self.db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (:doc_id, :title, :level, :edition, :path, :sha256, "
                    ":pages, :chunks, :ingested_at, :kind, :publisher, :url, :unofficial, :fingerprint)",
                    {**values, "unofficial": int(record.unofficial), "fingerprint": fingerprint},
                )
                self._bump()
                _reached("in_sqlite_transaction")
            stale = old_ids - set(new_ids)
            if stale:
                _reached("before_chroma_delete")
                try:
                    self.vectors.delete(sorted(stale))
                except IndexUnavailableError as exc:  # the document is in; orphans go at the next reconcile
                    log.warning("stale vectors of %s left for reconcile: %s", record.doc_id, exc)

    def remove_document(self, doc_id: str) -> int:
        """Delete a document and its chunks; returns how many chunks went."""
        with self.write_lock():
            ids = [r[0] for r in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
            with self.db:
                self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                deleted = self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
                self._bump()
            if ids:
                self.vectors.delete(ids)
            return len(ids) if deleted or ids else -1

    def reconcile(self) -> dict[str, int]:
        """Make Chroma hold exactly the chunk ids SQLite holds. Returns what was repaired."""
        with self.write_lock():
            return self._reconcile_locked()

    def _reconcile_locked(self) -> dict[str, int]:
        truth = self.chunk_ids()
        dense = self.vectors.all_ids()
        orphans = sorted(dense - truth)
        missing = sorted(truth - dense)
        if orphans:
            log.info("removing %d orphan vectors", len(orphans))
            self.vectors.delete(orphans)
        if missing:
            log.info("re-adding %d missing vectors", len(missing))
            chunks = self.get_chunks(missing)
            vectors = self.embedder.embed_passages([embedding_text(c) for c in chunks])
            self.vectors.add([c.chunk_id for c in chunks], vectors, [self._chroma_meta(c) for c in chunks])
        # documents whose row claims chunks that are not there cannot happen (one transaction), but
        # chunks without a document can if the schema is edited by hand: drop them.
        with self.db:
            dangling = self.db.execute("DELETE FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)").rowcount
            if dangling:
                self._bump()
        return {"orphans_removed": len(orphans), "missing_readded": len(missing), "dangling_removed": dangling}

    def _bump(self) -> None:
        self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    @staticmethod
    def _chroma_meta(chunk: Chunk) -> dict[str, Any]:
        return {
            "doc_id": chunk.doc_id,
            "level": chunk.level,
            "edition": chunk.edition,
            "page": chunk.page if chunk.page is not None else -1,
        }

    def dense_search(
        self,
        vector: np.ndarray,
        k: int,
        levels: Sequence[str] | None = None,
        doc_ids: Sequence[str] | None = None,
        editions: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        generation = self.generation()
        exact = self._exact_vectors(generation)
        if exact is not None:
            return self._exact_search(exact, vector, k, self.allowed_ids(levels, doc_ids, editions))
        clauses: list[dict[str, Any]] = []
        for key, values in (("level", levels), ("doc_id", doc_ids), ("edition", editions)):
            if values:
                clauses.append({key: {"$in": list(values)}})
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        self._see_other_writers(generation)
        return self.vectors.query(vector, k, where)

    def _see_other_writers(self, generation: int) -> None:
        """Make embedded Chroma apply what another writer (a `dxa ingest`, an upload job) stored since this
        process last looked (`generation` is the index's now); a Chroma server needs nothing."""
        if generation != self._dense_generation and not self.settings.store.chroma_url:
            self.vectors.catch_up()
            self._dense_generation = generation

    def _exact_vectors(self, generation: int) -> tuple[list[str], np.ndarray] | None:
        """Every indexed chunk's unit vector, read from Chroma once per index generation, or None when the
        store holds more than `store.exact_search_max` chunks (then Chroma's HNSW index answers); either
        answer is kept until the generation (or the setting) changes, so a large store does not list its ids per
        search."""
        limit = self.settings.store.exact_search_max
        with self._exact_lock:
            if self._exact is not None and self._exact[0] == (generation, limit):
                return self._exact[1]
            ids = sorted(self.chunk_ids())
            exact: tuple[list[str], np.ndarray] | None = None
            if limit and len(ids) <= limit:
                self._see_other_writers(generation)
                found = self.vectors.get_vectors(ids)
                ids = [cid for cid in ids if cid in found]
                matrix = np.stack([found[c] for c in ids]) if ids else np.zeros((0, self.embedder.dim), np.float32)
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                exact = ids, (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
            self._exact = ((generation, limit), exact)
            return exact

    @staticmethod
    def _exact_search(
        exact: tuple[list[str], np.ndarray], vector: np.ndarray, k: int, allowed: set[str] | None
    ) -> list[tuple[str, float]]:
        """The k chunks of highest cosine (ties by id), among `allowed` when given."""
        ids, matrix = exact
        norm = float(np.linalg.norm(vector))
        sims = matrix @ (np.asarray(vector, dtype=np.float32) / (norm if norm > 0 else 1.0))
        if allowed is not None:
            sims = np.where([cid in allowed for cid in ids], sims, -np.inf)
        order = np.argsort(-sims, kind="stable")[:k]  # ids are sorted, so a tie goes to the smaller id
        return [(ids[i], float(sims[i])) for i in order if np.isfinite(sims[i])]

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored dense vectors of these chunks (the alignment matrix reuses them instead of re-embedding)."""
        return self.vectors.get_vectors(ids)

    def stats(self) -> dict[str, int]:
        return {"chunks": len(self.chunk_ids()), "vectors": self.vectors.count(), "documents": len(self.documents())}


def _document_record(row: Sequence[Any]) -> DocumentRecord:
    """A `documents` row (the column order of `Index.documents`) as our type."""
    (doc_id, title, level, edition, path, sha256, pages, chunks, ingested_at, kind, publisher, url, unofficial) = row
    return DocumentRecord(
        doc_id, title, level, edition, path, sha256, pages, chunks, ingested_at, kind, publisher, url, bool(unofficial)
    )
