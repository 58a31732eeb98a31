"""Shared fixtures: isolated DXA_HOME per test, one embedding cache per session, a bundled-corpus index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import REPO_ROOT, Settings

SHARED = REPO_ROOT.parent / "shared"
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test cleanly when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed-cache")


def make_settings(home: Path, embed_cache: Path | None = None, **overrides: object) -> Settings:
    """Settings rooted in `home`, sharing the session's embedding cache (vectors are content-keyed)."""
    home.mkdir(parents=True, exist_ok=True)
    if embed_cache is not None and not (home / "cache").exists():
        (home / "cache").symlink_to(embed_cache, target_is_directory=True)
    return Settings(home=home, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, embed_cache: Path) -> Settings:
    return make_settings(tmp_path / "home", embed_cache)


@pytest.fixture(scope="session")
def corpus_pipeline(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path):  # type: ignore[no-untyped-def]
    """A pipeline over the bundled corpus, indexed once per session (read-only for tests)."""
    from assistant.pipeline import Pipeline
    from ingest.indexer import ingest_corpus

    settings = make_settings(tmp_path_factory.mktemp("corpus-home"), embed_cache)
    pipeline = Pipeline(settings)
    results = ingest_corpus(pipeline.index, settings)
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    return pipeline
