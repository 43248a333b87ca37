"""A scripted OpenAI-compatible chat-completions server on loopback, for tests of the LLM path."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server does with one request."""

    questions: list[str] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    arguments: str | None = None  # raw answer text instead of the questions, e.g. malformed JSON
    delay: float = 0.0  # seconds to wait before answering (a slow server, or a timeout)


# Given the request body and how many times this passage was asked before, decide the reply.
Script = Callable[[dict[str, Any], int], Reply]


def passage_of(request: dict[str, Any]) -> str:
    """The passage asked about: the first user message (a re-ask appends messages after it)."""
    first_user = next(m for m in request["messages"] if m["role"] == "user")
    return first_user["content"].removeprefix("Passage:\n")


def completion(request: dict[str, Any], arguments: str) -> dict[str, Any]:
    """A chat completion answering in the shape the request asked for: a tool call or JSON text."""
    if request.get("tools"):
        name = request["tools"][0]["function"]["name"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}],
        }
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": arguments}, "stop"
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "test"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }


class OpenAICompatibleServer:
    """Serves /v1/chat/completions; records every request (headers and body) it receives."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.attempts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was answering at once
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    passage = passage_of(body)
                    server.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    attempt = server.attempts[passage]
                    server.attempts[passage] += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                reply = server.script(body, attempt)
                time.sleep(reply.delay)
                with server._lock:
                    server.in_flight -= 1
                if reply.status == 200:
                    arguments = (
                        reply.arguments if reply.arguments is not None else json.dumps({"questions": reply.questions})
                    )
                    payload = json.dumps(completion(body, arguments)).encode()
                else:
                    payload = json.dumps({"error": {"message": f"scripted {reply.status}", "type": "test"}}).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def passages_requested(self) -> list[str]:
        return [passage_of(r["body"]) for r in self.requests]

    def __enter__(self) -> OpenAICompatibleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
