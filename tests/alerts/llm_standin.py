"""A local stand-in for an OpenAI-compatible chat-completions endpoint: answers from a script, records requests."""

from __future__ import annotations

import json

from tests.support.http import LocalHTTPServer, Request, Response

PATH = "/v1/chat/completions"


def completion(content: str, total_tokens: int | None = 120) -> Response:
    """A well-formed chat-completions answer whose message is ``content``."""
    body: dict[str, object] = {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "model": "local-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }
    if total_tokens is not None:
        body["usage"] = {"prompt_tokens": total_tokens - 20, "completion_tokens": 20, "total_tokens": total_tokens}
    return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def translation(title: str, summary: str, total_tokens: int | None = 120) -> Response:
    return completion(json.dumps({"title": title, "summary": summary}), total_tokens)


class LLMStandIn:
    """Scripted answers first (one per request), then ``default``; every request is kept in ``requests``."""

    def __init__(self, server: LocalHTTPServer) -> None:
        self.server = server
        self.script: list[Response] = []
        self.default = translation(
            "Regulator publishes draft rules for AI services",
            "The regulator asked for public comment on draft rules for generative AI services.",
        )
        self.requests: list[Request] = []
        server.routes[PATH] = self._handle

    @property
    def base_url(self) -> str:
        return self.server.url("/v1")

    def _handle(self, request: Request) -> Response:
        self.requests.append(request)
        return self.script.pop(0) if self.script else self.default
