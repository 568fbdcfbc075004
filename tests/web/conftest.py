"""Real `cnai web` processes on free ports, real HTTP clients, and the Slack stand-in."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.integration.processes import (
    CNAI,
    REPO_ROOT,
    ServiceProcess,
    service_env,
    wait_until,
)
from tests.support.services import free_port

SIGNING_SECRET = "test-signing-secret-0123456789"
SECRET_KEY = "test-web-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"


def cnai(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CNAI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


class WebServer:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.env = env
        self.process = ServiceProcess(
            f"web-{self.port}", [*CNAI, "web", "--host", "127.0.0.1", "--port", str(self.port)], env, log_dir
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        self.process.start()
        self.process.wait_for_log("Uvicorn running", timeout=30)
        return self

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)


@pytest.fixture
def web_env(tmp_path: Path) -> dict[str, str]:
    """A fresh, migrated SQLite database; the environment for every `cnai` process of the test."""
    env = service_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cnai.db'}",
        WEB_SECRET_KEY=SECRET_KEY,
        LOG_LEVEL="INFO",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        FETCH_ALLOW_FILE_URLS="true",
        METRICS_PORT="0",
    )
    result = cnai(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return env


@pytest.fixture
def start_web(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    servers: list[WebServer] = []

    def start(env: dict[str, str]) -> WebServer:
        server = WebServer(env, tmp_path).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.process.stop(5)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    form = client.get("/login")
    assert form.status_code == 200
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(form.text)})


def add_user(env: dict[str, str], name: str, role: str = "reader", password: str = PASSWORD) -> None:
    result = cnai(env, "users", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")
    assert result.returncode == 0, result.stderr


def slack_post(
    client: httpx.Client, payload: dict, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> httpx.Response:
    """POST an interaction as Slack does: form-encoded ``payload``, v0 signature over the raw body."""
    from services.feedback.slack import slack_signature

    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        "/slack/interactions",
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(secret, stamp, body),
        },
    )


def feedback_rows(env: dict[str, str]) -> list[dict]:
    result = cnai(env, "feedback", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


__all__ = ["wait_until", "cnai", "csrf_of", "login", "add_user", "slack_post", "feedback_rows", "WebServer"]
