"""A small local HTTP server that speaks the OpenAI chat-completions protocol, for LLM tests.

The real client code (ChatOpenAI → openai → httpx) runs against it. Each test programs the
behaviour: the reply (text, or a function of the request messages), an HTTP error status, a delay
before responding, or a broken stream. Every request body is recorded for inspecting the prompt.

    with FakeOpenAI() as server:
        server.reply = "回答です[1]。"
        settings = LLMSettings(model="test", base_url=server.url, api_key="x")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Reply = str | Callable[[list[dict[str, Any]]], str]
Broken = Literal["json", "cut", "error"] | None


class FakeOpenAI:
    """Threaded server on 127.0.0.1:<free port>; use as a context manager; `.url` ends in /v1."""

    def __init__(self, reply: Reply = "", *, piece_chars: int = 3) -> None:
        self.piece_chars = piece_chars  # characters per streamed chunk
        self.requests: list[dict[str, Any]] = []
        self._closing = threading.Event()
        self.reset(reply)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)

    def reset(self, reply: Reply = "") -> None:
        """Back to a well-behaved server answering `reply`; the request log is cleared."""
        self.reply: Reply = reply
        self.status: int | None = None  # answer every request with this HTTP error
        self.delay_s: float = 0.0  # wait before sending anything (to trigger client timeouts)
        self.broken: Broken = None  # json: invalid chunk; cut: stop without finish/[DONE]; error: error event
        self.requests.clear()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def last_messages(self) -> list[dict[str, Any]]:
        return list(self.requests[-1]["messages"])

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def text_for(self, messages: list[dict[str, Any]]) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    def wait(self) -> bool:
        """Sleep for the delay; False when the server is closing meanwhile."""
        return not self._closing.wait(self.delay_s) if self.delay_s > 0 else True


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(body)
            if not fake.wait():
                return
            try:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                elif fake.status is not None:
                    self._json(fake.status, {"error": {"message": "programmed failure", "type": "server_error"}})
                elif body.get("stream"):
                    self._stream(body, fake.text_for(body.get("messages", [])))
                else:
                    self._complete(body, fake.text_for(body.get("messages", [])))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _complete(self, body: dict[str, Any], text: str) -> None:
            self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                },
            )

        def _stream(self, body: dict[str, Any], text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")  # HTTP/1.0: the body ends when the socket closes
            self.end_headers()

            def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
                event = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self._send(f"data: {json.dumps(event, ensure_ascii=False)}\n\n")

            chunk({"role": "assistant", "content": ""})
            step = max(1, fake.piece_chars)
            pieces = [text[i : i + step] for i in range(0, len(text), step)]
            for i, piece in enumerate(pieces):
                if fake.broken and i == len(pieces) // 2:
                    if fake.broken == "json":
                        self._send('data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n')
                    elif fake.broken == "error":
                        self._send('data: {"error": {"message": "model crashed", "type": "server_error"}}\n\n')
                    return  # "cut": the connection just closes
                chunk({"content": piece})
            chunk({}, finish="stop")
            self._send("data: [DONE]\n\n")

        def _send(self, data: str) -> None:
            self.wfile.write(data.encode())
            self.wfile.flush()

    return Handler
