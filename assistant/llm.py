"""The only place that builds LangChain chat models and talks to their client libraries.

`build_chat_model` turns `LLMSettings` into a chat model (OpenAI-compatible servers such as OpenAI,
vLLM, llama.cpp and Ollama's /v1, Azure OpenAI, or native Ollama). `ChatModel` is what the rest of
the code holds (the Pipeline owns one): it builds that model on first use and streams its reply as
plain text, turning every client failure into an `LLMError` with a Japanese message, so callers
never see LangChain types or openai/httpx/ollama exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import SecretStr

from assistant.config import LLMSettings
from assistant.errors import ConfigError, LLMError

log = logging.getLogger(__name__)

# Reasons a stream ends normally, as reported in the last chunk's metadata.
_FINISH_KEYS = ("finish_reason", "done_reason")


def build_chat_model(settings: LLMSettings) -> BaseChatModel:
    """A streaming chat model for the configured provider; no request is made here."""
    if not settings.model:
        raise ConfigError(
            "No LLM model configured (llm.model).",
            message_ja="生成AIのモデル名が設定されていません（llm.model）。",
            hint="Set DXA_LLM__MODEL, or use the extractive mode.",
            hint_ja="環境変数 DXA_LLM__MODEL でモデル名を指定するか、抜粋モードで利用してください。",
        )
    if settings.provider == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=SecretStr(settings.api_key or "not-needed"),  # local servers accept any key
            timeout=settings.timeout_s,
            max_retries=0,  # a failure falls back to the extractive answer at once
            temperature=settings.temperature,
            streaming=True,
            use_responses_api=False,  # chat completions is what every compatible server speaks
        )
    if settings.provider == "azure":
        from langchain_openai import AzureChatOpenAI

        missing = [name for name in ("base_url", "api_version", "api_key") if not getattr(settings, name)]
        if missing:
            names = ", ".join(f"llm.{m}" for m in missing)
            raise ConfigError(
                f"Azure OpenAI needs {names}.",
                message_ja=f"Azure OpenAI を使うには {names} の設定が必要です。",
                hint="Set the endpoint (base_url), api_version and api_key of the Azure OpenAI resource.",
                hint_ja="Azure OpenAI リソースのエンドポイント（base_url）、api_version、api_key を設定してください。",
            )
        return AzureChatOpenAI(
            azure_endpoint=settings.base_url,
            azure_deployment=settings.model,
            api_version=settings.api_version,
            api_key=SecretStr(settings.api_key or ""),
            timeout=settings.timeout_s,
            max_retries=0,
            temperature=settings.temperature,
            streaming=True,
            use_responses_api=False,
        )
    if settings.provider == "ollama":
        from langchain_ollama import ChatOllama

        kwargs: dict[str, Any] = {"base_url": settings.base_url} if settings.base_url else {}
        return ChatOllama(
            model=settings.model,
            temperature=settings.temperature,
            client_kwargs={"timeout": settings.timeout_s},
            **kwargs,
        )
    raise ConfigError(  # unreachable while LLMSettings.provider is a Literal; kept for hand-built settings
        f"Unknown LLM provider {settings.provider!r}.",
        message_ja=f"未対応の生成AIプロバイダです: {settings.provider}",
        hint_ja="llm.provider には openai、azure、ollama のいずれかを指定してください。",
    )


class ChatModel:
    """The configured chat model behind our own interface: system + user prompt in, text out.

    The LangChain model is built on first use, so holding one costs nothing without an LLM; a
    configuration problem found then is raised as `LLMError` (callers fall back on it)."""

    def __init__(self, settings: LLMSettings, model: BaseChatModel | None = None) -> None:
        self.settings = settings
        self._model = model

    def _built(self) -> BaseChatModel:
        if self._model is None:
            try:
                self._model = build_chat_model(self.settings)
            except ConfigError as exc:
                raise LLMError(exc.message, message_ja=exc.message_ja, hint=exc.hint, hint_ja=exc.hint_ja) from exc
        return self._model

    def stream(self, system: str, user: str) -> Iterator[str]:
        """The reply piece by piece (see `stream_chat`)."""
        return stream_chat(self, system, user)

    def complete(self, system: str, user: str) -> str:
        """The whole reply as one string."""
        return "".join(self.stream(system, user))


def stream_chat(model: ChatModel, system: str, user: str) -> Iterator[str]:
    """Yield the reply text piece by piece; any client failure is raised as `LLMError`.

    The client itself enforces `llm.timeout_s` (connect, first byte and every gap between chunks),
    so a stalled endpoint fails while a slow but steady one does not. A stream that stops without
    a finish reason was cut off and counts as a failure.
    """
    timeout_s = model.settings.timeout_s
    chat = model._built()
    finished = False
    try:
        for chunk in chat.stream([SystemMessage(content=system), HumanMessage(content=user)]):
            meta = getattr(chunk, "response_metadata", None) or {}
            finished = finished or any(meta.get(key) for key in _FINISH_KEYS) or meta.get("done") is True
            piece = chunk.text  # text blocks only; reasoning blocks are not part of the answer
            if piece:
                yield piece
    except LLMError:
        raise
    except Exception as exc:  # the client libraries raise many unrelated types; all mean "endpoint failed"
        raise as_llm_error(exc, timeout_s) from exc
    if not finished:
        raise LLMError(
            "The LLM stream ended without a finish reason (connection cut off).",
            message_ja="生成AIの応答が途中で途切れました。",
            hint_ja="生成AIサーバーの状態を確認してください。",
        )


def as_llm_error(exc: BaseException, timeout_s: float) -> LLMError:
    """Translate an openai / httpx / ollama exception into an `LLMError` staff can act on."""
    import httpx
    import openai

    seconds = f"{timeout_s:g}"
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return LLMError(
            f"The LLM endpoint timed out ({seconds} s).",
            message_ja=f"生成AIの応答がタイムアウトしました（{seconds}秒）",
            hint_ja="生成AIサーバーの負荷を確認するか、llm.timeout_s を長くしてください。",
        )
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return _status_error(status, exc)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return LLMError(
            f"Could not connect to the LLM endpoint: {exc}",
            message_ja="生成AIサーバーに接続できませんでした。",
            hint_ja="llm.base_url の設定と、サーバーが起動しているかを確認してください。",
        )
    if isinstance(exc, openai.APIError):  # an error event inside an otherwise valid stream
        return LLMError(
            f"The LLM endpoint reported an error: {exc}",
            message_ja="生成AIサーバーがエラーを返しました。",
            hint_ja="生成AIサーバーのログを確認してください。",
        )
    return LLMError(
        f"The LLM endpoint returned an unreadable response: {type(exc).__name__}: {exc}",
        message_ja="生成AIの応答を読み取れませんでした。",
        hint_ja="生成AIサーバーが OpenAI 互換の応答を返しているか確認してください。",
    )


def _status_error(status: int, exc: BaseException) -> LLMError:
    if status in (401, 403):
        detail, hint = "認証に失敗しました", "llm.api_key を確認してください。"
    elif status == 404:
        detail, hint = "モデルまたはURLが見つかりません", "llm.model と llm.base_url を確認してください。"
    elif status == 429:
        detail, hint = "利用上限に達しました", "しばらく待ってから再度お試しください。"
    elif status >= 500:
        detail, hint = "生成AIサーバーでエラーが発生しました", "生成AIサーバーの状態を確認してください。"
    else:
        detail, hint = "生成AIサーバーが要求を受け付けませんでした", "llm.model などの設定を確認してください。"
    return LLMError(
        f"The LLM endpoint answered HTTP {status}: {exc}", message_ja=f"{detail}（HTTP {status}）", hint_ja=hint
    )
