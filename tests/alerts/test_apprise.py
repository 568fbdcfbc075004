"""Other services through apprise, tested with a generic JSON webhook (json://) on the local HTTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Delivery
from services.alerts.deliver import deliver_due
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make
from tests.support.http import LocalHTTPServer, Request, Response


def test_an_apprise_channel_posts_the_alert_and_retries_or_fails_like_the_others(
    pg_url: str, alert_env: pytest.MonkeyPatch, http_server: LocalHTTPServer
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("TEAM_HOOK", f"json://127.0.0.1:{http_server.port}/hook/secret-token-123")
    answers = [Response(500, b"oops")]
    posted: list[Request] = []

    def hook(request: Request) -> Response:
        posted.append(request)
        return answers.pop(0) if answers else Response(200, b"{}")

    http_server.routes["/hook/secret-token-123"] = hook
    with unit_of_work() as session:
        channel = make.channel(session, "team-hook", "apprise", "env:TEAM_HOOK")
        make.subscription(session, "team", [channel])
        make.alerted(session, title="DeepSeek <b>V4</b> released & open-sourced", topics=["model_releases"])
    settings = get_settings()
    first = deliver_due(settings, make.NOW)
    assert first.retrying == 1
    with unit_of_work() as session:
        error = session.execute(select(Delivery.last_error)).scalar_one()
    assert error == "apprise notification failed (HTTP 500)" and "secret-token" not in error
    second = deliver_due(settings, make.NOW.replace(hour=12))
    assert second.sent == 1
    body = posted[-1].json()
    assert body["title"] == "[cnai] DeepSeek <b>V4</b> released & open-sourced"  # type: ignore[index]
    assert "Model releases" in body["message"] and "score 0.80" in body["message"]  # type: ignore[index]

    answers.append(Response(404, b"gone"))
    with unit_of_work() as session:
        make.alerted(session, title="Another story")
    third = deliver_due(settings, make.NOW.replace(hour=13))
    assert third.failed == 1
