"""Issue 14's "Done when", from outside: real `cnai` processes, real HTTP, the Slack stand-in.

Fresh SQLite database, the bundled sample feeds polled with a Slack channel; a reader added with
`cnai users add`; `cnai web` serving; the stories page refused to anonymous visitors and to a wrong
password, shown after a login through the form; a Slack alert's button posted back as Slack would.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.support.http import Request, Response
from tests.web.conftest import (
    PASSWORD,
    add_user,
    cnai,
    feedback_rows,
    login,
    slack_post,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _button(message: dict, action: str) -> dict:
    for block in message["blocks"]:
        if block["type"] == "actions":
            for element in block["elements"]:
                if element["action_id"] == action:
                    return element
    raise AssertionError(f"no {action} button in {message['blocks']}")


def test_done_when_path(web_env, start_web, http_server, slack, tmp_path):  # type: ignore[no-untyped-def]
    # a burst threshold above the sample size: one message per alert (a folded digest carries no buttons)
    env = {
        **web_env,
        "SLACK_WEBHOOK_URL": slack.url,
        "WEB_BASE_URL": "http://127.0.0.1:1",
        "ALERT_BURST_THRESHOLD": "1000",
        "ALERT_PACE_SECONDS": "0",
    }
    assert cnai(env, "feeds", "import", str(REPO_ROOT / "config/samples/feeds.yaml")).returncode == 0
    poll = cnai(env, "poll", "--all", timeout=300)
    assert poll.returncode == 0, poll.stderr[-2000:]
    assert slack.accepted, "the poll sent no Slack alert"
    message = slack.accepted[0]
    not_relevant = _button(message, "cnai_feedback_not_relevant")
    assert {b["action_id"] for b in next(b for b in message["blocks"] if b["type"] == "actions")["elements"]} == {
        "cnai_feedback_relevant",
        "cnai_feedback_not_relevant",
        "cnai_feedback_mute_source",
    }

    add_user(env, "alice")
    server = start_web(env)
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        alerted = [
            row[0]
            for row in db.execute(
                "SELECT s.title FROM stories s WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = s.id) ORDER BY s.first_seen_at DESC, s.id DESC"
            )
        ]
        alert_article = db.execute(
            "SELECT article_id FROM alerts WHERE id = ?", (int(not_relevant["value"]),)
        ).fetchone()[0]
    assert alerted

    with server.client() as client:
        assert client.get("/healthz").status_code == 200
        anonymous = client.get("/stories")
        assert anonymous.status_code in (303, 401, 403)
        assert anonymous.headers.get("location", "").startswith("/login")
        assert alerted[0] not in anonymous.text

        wrong = login(client, "alice", "not the password")
        assert wrong.status_code == 401
        assert client.get("/stories").status_code == 303, "a wrong password logged in"

        right = login(client, "alice", PASSWORD)
        assert right.status_code == 303 and right.headers["location"] == "/stories"
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = client.get("/stories")
        assert page.status_code == 200
        shown = alerted[:25]
        positions = [
            page.text.find(title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&#34;").replace("'", "&#39;"))
            for title in shown
        ]
        assert all(p >= 0 for p in positions), "an alerted story is missing from /stories"
        assert positions == sorted(positions), "stories are not newest first"

    # The Slack button, posted back as Slack would.
    updates: list[Request] = []

    def response_url(request: Request) -> Response:
        updates.append(request)
        return Response(200, b"ok")

    http_server.routes["/slack/response"] = response_url
    payload = {
        "type": "block_actions",
        "user": {"id": "U024BE7LH", "username": "carol", "name": "carol"},
        "response_url": http_server.url("/slack/response"),
        "actions": [not_relevant],
        "message": message,
    }
    with server.client() as client:
        assert slack_post(client, payload, secret="not-the-secret").status_code == 401
        assert slack_post(client, payload, timestamp=int(time.time()) - 3600).status_code == 401
        assert feedback_rows(env) == []
        started = time.monotonic()
        answer = slack_post(client, payload)
        took = time.monotonic() - started
        assert answer.status_code == 200 and took < 3.0
        replay = slack_post(client, payload, timestamp=int(answer.request.headers["x-slack-request-timestamp"]))
        assert replay.status_code == 200  # acknowledged (Slack retries), but recorded once: see below
    wait_until(lambda: updates, 10, "the message update through response_url")
    update = updates[0].json()
    assert update["replace_original"] is True  # type: ignore[index]
    assert "Marked not relevant by @carol" in update["text"]  # type: ignore[index]
    assert not any(b["type"] == "actions" for b in update["blocks"])  # type: ignore[index]

    rows = feedback_rows(env)
    assert len(rows) == 1
    row = rows[0]
    assert (row["who"], row["verdict"], row["source"], row["article_id"]) == (
        "@carol",
        "not_relevant",
        "slack",
        alert_article,
    )
    assert row["story_id"] and row["created_at"]
