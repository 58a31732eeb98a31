"""One error hierarchy. Every error carries a hint a user can act on, in Japanese and English."""

from __future__ import annotations


class DXAError(Exception):
    """Base class: `message_ja` is shown to staff, `hint` says what to do."""

    def __init__(self, message: str, *, message_ja: str = "", hint: str = "", hint_ja: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.message_ja = message_ja or message
        self.hint = hint
        self.hint_ja = hint_ja or hint

    def user_message(self, lang: str = "ja") -> str:
        if lang == "ja":
            return f"{self.message_ja}" + (f"（対処: {self.hint_ja}）" if self.hint_ja else "")
        return self.message + (f" (hint: {self.hint})" if self.hint else "")


class ConfigError(DXAError):
    """Settings are invalid or incomplete."""


class IngestError(DXAError):
    """A file could not be read or indexed. Names the file; the rest of the batch goes on."""

    def __init__(
        self, path: str, message: str, *, message_ja: str, hint: str = "", hint_ja: str = "", kind: str = "unreadable"
    ) -> None:
        super().__init__(f"{path}: {message}", message_ja=f"{path}: {message_ja}", hint=hint, hint_ja=hint_ja)
        self.path = path
        self.kind = kind  # corrupt | encrypted | empty | no_text | not_pdf | too_large | unsupported | unreadable | id_collision


class StoreError(DXAError):
    """The index could not be opened, read or written."""


class IndexUnavailableError(StoreError):
    """The Chroma server of the index cannot be reached (not started, stopped, or the network is down)."""

    def __init__(self, where: str, why: str = "") -> None:
        detail = f" ({why})" if why else ""
        super().__init__(
            f"cannot connect to the search index (Chroma, {where}){detail}",
            message_ja=f"検索インデックス（Chroma, {where}）に接続できません",
            hint="check that the Chroma server is running and reachable, then try again",
            hint_ja="Chromaサーバーが起動していて接続できるかを確認してから、やり直してください",
        )
        self.where = where


class EmbeddingError(DXAError):
    """The embedding model could not be loaded or run."""


class LLMError(DXAError):
    """The configured LLM endpoint failed, timed out or answered nonsense."""


class NetworkError(DXAError):
    """A download was needed but the network is not reachable."""


class NotFoundError(DXAError):
    """A document, user or suite does not exist."""


class AuthError(DXAError):
    """Login failed or the user lacks the role for this action."""
