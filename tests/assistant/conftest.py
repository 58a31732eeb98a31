"""Fixtures for the core library's tests: the local OpenAI-protocol server the LLM paths talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    """One fake server per test module (starting it costs a thread and a port)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    """The module's server with its recorded requests and scripted replies cleared for this test."""
    server.reset()
    return server
