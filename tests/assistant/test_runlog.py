"""The run log is part of asking: Pipeline.ask(user=…) records once, the record reads back as the
Answer that was shown, runs and events share one chained file, and the Pipeline owns the chat model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.config import LLMSettings
from assistant.errors import LLMError
from assistant.events import EventLog
from assistant.followup import Turn
from assistant.llm import ChatModel
from assistant.pipeline import Pipeline
from assistant.retrieve import Filters
from assistant.runlog import RunLog, citation_dicts
from assistant.types import Answer
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI

QUESTION = "計画の期間はいつからいつまでですか"


@pytest.fixture
def logged(corpus_pipeline: Pipeline, tmp_path: Path) -> Pipeline:
    """The corpus pipeline's index with a run log of its own."""
    pipeline = Pipeline(corpus_pipeline.settings, run_log=RunLog(tmp_path / "audit.sqlite"))
    pipeline.__dict__["index"] = corpus_pipeline.index  # same index object: no second Chroma client
    return pipeline


def test_ask_records_once_with_user_and_never_without(logged: Pipeline) -> None:
    anonymous = logged.ask(QUESTION)
    assert anonymous.run_id is None and logged.run_log.query() == []

    filters = Filters(levels=("city",))
    answer = logged.ask(QUESTION, filters, mode="extractive", user="tanaka", session="s-1")
    [run] = logged.run_log.query()
    assert answer.run_id == run.id
    assert (run.user, run.session, run.question, run.answer) == ("tanaka", "s-1", QUESTION, answer.answer)
    assert run.mode == "extractive" and run.refused is False
    assert run.retrieved == answer.retrieved and run.retrieved
    assert run.filters == {"levels": ["city"], "doc_ids": [], "editions": [], "mode": "extractive"}
    assert run.settings_fingerprint == logged.settings.fingerprint()
    assert run.timings["total_ms"] > 0
    assert run.citations == citation_dicts(answer)


def test_a_restored_run_is_the_answer_that_was_shown(logged: Pipeline) -> None:
    first = logged.ask("アクションプランはどのような計画ですか", user="tanaka")
    follow = logged.ask("それは前期と後期で何年ずつですか", user="tanaka", history=[Turn(first.question, first.answer)])
    assert follow.resolved_question != follow.question  # a follow-up: its reading is kept
    run = logged.run_log.get(follow.run_id or 0)
    assert run is not None
    restored = run.to_answer()
    assert restored.run_id == follow.run_id
    assert (restored.question, restored.resolved_question, restored.answer) == (
        follow.question,
        follow.resolved_question,
        follow.answer,
    )
    assert (restored.mode, restored.refused, restored.unsupported) == (follow.mode, follow.refused, follow.unsupported)
    assert restored.citations and citation_dicts(restored) == citation_dicts(follow)


def test_runs_and_events_share_one_chained_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    runs, events = RunLog(path), EventLog(path)
    answer = Answer(
        question="何か", answer="資料に該当する記述が見当たりません。", mode="extractive", refused=True, citations=[]
    )
    run_id = runs.record("tanaka", answer)
    events.record_event("tanaka", "login")
    runs.add_feedback(run_id, "tanaka", "down", "違う")
    both = AuditLog(path)
    assert [r.id for r in both.query()] == [run_id] and [e.kind for e in both.events()] == ["login"]
    assert both.list_feedback("down")[0].comment == "違う"
    assert runs.verify().ok and events.verify().ok


def test_require_model_without_an_endpoint_raises_the_hinted_error(tmp_path: Path) -> None:
    pipeline = Pipeline(make_settings(tmp_path / "home"))
    assert not pipeline.settings.llm.configured
    with pytest.raises(LLMError) as info:
        pipeline.require_model()
    assert "生成AIのモデル名が設定されていません" in info.value.message_ja
    assert "DXA_LLM__MODEL" in info.value.hint_ja


def test_one_chat_model_serves_every_stage(tmp_path: Path) -> None:
    with FakeOpenAI("はい。") as fake:
        llm = LLMSettings(model="test", base_url=fake.url, api_key="x", timeout_s=5)
        pipeline = Pipeline(make_settings(tmp_path / "home", llm=llm))
        model = pipeline.require_model()
        assert isinstance(model, ChatModel) and model is pipeline.require_model()
        assert pipeline.llm_answerer.model is model
        assert model.complete("system", "user") == "はい。"
        assert fake.last_messages == [{"role": "system", "content": "system"}, {"role": "user", "content": "user"}]
