"""The optional LLM translation, against a local chat-completions stand-in: it helps when it works and never
blocks or loses an alert when it is slow, failing, malformed, dead or out of budget."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from db.models import Delivery, LLMTranslation, LLMUsage
from services.alerts.deliver import deliver_due
from services.database import unit_of_work
from services.settings import get_settings
from services.translate import TranslationFailed, breaker, estimate_tokens, parse_answer
from tests.alerts import factories as make
from tests.alerts.llm_standin import LLMStandIn, completion, translation
from tests.support.http import LocalHTTPServer, Response, SlackStandIn

T0 = make.NOW
KEY = "sk-local-SECRET-key-0123456789"
ZH_TITLE = "网信办就生成式人工智能服务标识办法公开征求意见"
ZH_SUMMARY = "国家互联网信息办公室发布通知，就人工智能生成内容的标识要求向社会公开征求意见，涉及多家大模型企业。"


def outcomes(name: str) -> float:
    return REGISTRY.get_sample_value("cnai_llm_requests_total", {"outcome": name}) or 0.0


@pytest.fixture(autouse=True)
def closed_breaker() -> Iterator[None]:
    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture
def llm(http_server: LocalHTTPServer) -> LLMStandIn:
    return LLMStandIn(http_server)


@pytest.fixture
def llm_db(pg_url: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn, llm: LLMStandIn) -> str:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    alert_env.setenv("LLM_BASE_URL", llm.base_url)
    alert_env.setenv("LLM_MODEL", "local-model")
    alert_env.setenv("LLM_API_KEY", KEY)
    alert_env.setenv("LLM_TIMEOUT_SECONDS", "1")
    with unit_of_work() as session:
        hook = make.channel(session, "team-slack", "slack", "env:SLACK_WEBHOOK_URL")
        make.subscription(session, "team", [hook])
    return pg_url


def queue_chinese(count: int = 1, **kwargs: object) -> None:
    with unit_of_work() as session:
        for i in range(count):
            make.alerted(session, title=f"{ZH_TITLE}（第{i + 1}批）", summary=ZH_SUMMARY, language="zh-Hans", **kwargs)


def slack_text(message: dict) -> str:  # type: ignore[type-arg]
    return (
        "\n".join(b["text"]["text"] for b in message["blocks"] if isinstance(b.get("text"), dict))
        + "\n"
        + "\n".join(e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"])
    )


def test_a_chinese_alert_gets_an_english_title_and_summary_translated_once(
    llm_db: str, llm: LLMStandIn, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with unit_of_work() as session:
        second = make.channel(session, "other-slack", "slack", "env:SLACK_WEBHOOK_URL")
        make.subscription(session, "other", [second])
        make.alerted(session, title=ZH_TITLE, summary=ZH_SUMMARY, language="zh-Hans")
    before_ok, before_cached = outcomes("ok"), outcomes("cached")
    report = deliver_due(get_settings(), T0)
    assert report.sent == 2 and len(slack.accepted) == 2
    for message in slack.accepted:
        text = slack_text(message)
        assert "_English (machine translation):_ Regulator publishes draft rules for AI services" in text
        assert "asked for public comment on draft rules" in text
    assert len(llm.requests) == 1, "two subscriptions, one request: the second comes from the cache"
    assert outcomes("ok") == before_ok + 1 and outcomes("cached") == before_cached + 1
    request = llm.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    sent = request.json()
    assert sent["model"] == "local-model" and ZH_TITLE in sent["messages"][1]["content"]  # type: ignore[index]
    with unit_of_work() as session:
        [cached] = session.execute(select(LLMTranslation)).scalars().all()
        assert cached.title_en == "Regulator publishes draft rules for AI services" and cached.tokens == 120
        [usage] = session.execute(select(LLMUsage)).scalars().all()
        assert (usage.tokens, usage.calls, usage.failures) == (120, 1, 0), (
            "the reservation is settled to the reported use"
        )
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    "answer, outcome",
    [
        (Response(200, b"{}", delay_s=3.0), "timeout"),
        (Response(500, b'{"error": "overloaded"}'), "http_error"),
        (Response(200, b"<html>gateway</html>", {"Content-Type": "text/html"}), "malformed"),
        (completion("Sure! The title means: regulator seeks comment."), "malformed"),
        (translation("网信办征求意见", "仍然是中文"), "malformed"),
        (completion('{"title": 42, "summary": null}'), "malformed"),
    ],
)
def test_slow_failing_and_malformed_answers_never_hold_up_or_lose_an_alert(
    llm_db: str, llm: LLMStandIn, slack: SlackStandIn, answer: Response, outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm.script = [answer]
    queue_chinese()
    before = outcomes(outcome)
    started = time.monotonic()
    report = deliver_due(get_settings(), T0)
    assert time.monotonic() - started < 2.5, "bounded by LLM_TIMEOUT_SECONDS (1 s), not by the slow answer"
    assert report.sent == 1 and len(slack.accepted) == 1
    assert "machine translation" not in slack_text(slack.accepted[0])
    assert ZH_TITLE in slack_text(slack.accepted[0])
    assert outcomes(outcome) == before + 1
    with unit_of_work() as session:
        assert session.execute(select(LLMTranslation)).first() is None, "failures are not cached"
        [usage] = session.execute(select(LLMUsage)).scalars().all()
        assert usage.failures == 1
    assert f"({outcome})" in caplog.text and KEY not in caplog.text


def test_a_dead_endpoint_costs_one_attempt_then_alerts_go_out_without_translation(
    llm_db: str, alert_env: pytest.MonkeyPatch, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    alert_env.setenv("LLM_BASE_URL", dead)
    get_settings.cache_clear()
    queue_chinese(3)
    unreachable, skipped = outcomes("unreachable"), outcomes("circuit_open")
    report = deliver_due(get_settings(), T0)
    assert report.sent == 3 and len(slack.accepted) == 3
    assert outcomes("unreachable") == unreachable + 1 and outcomes("circuit_open") == skipped + 2
    with unit_of_work() as session:
        assert {d.status for d in session.execute(select(Delivery)).scalars()} == {"sent"}
    assert KEY not in caplog.text


def test_an_exhausted_budget_sends_alerts_without_asking_the_llm(
    llm_db: str, alert_env: pytest.MonkeyPatch, llm: LLMStandIn, slack: SlackStandIn
) -> None:
    queue_chinese(3)
    estimate = estimate_tokens(f"{ZH_TITLE}（第1批）", ZH_SUMMARY)
    # Room for one request's reservation; once it is settled at 120 tokens, not for another.
    alert_env.setenv("LLM_DAILY_TOKENS", str(estimate + 100))
    get_settings.cache_clear()
    budget = outcomes("budget")
    report = deliver_due(get_settings(), T0)
    assert report.sent == 3 and len(slack.accepted) == 3
    assert len(llm.requests) == 1
    assert outcomes("budget") == budget + 2
    translated = ["machine translation" in slack_text(m) for m in slack.accepted]
    assert translated == [True, False, False]
    with unit_of_work() as session:
        [usage] = session.execute(select(LLMUsage)).scalars().all()
        assert usage.tokens == 120 and usage.calls == 1


def test_english_alerts_never_ask_the_llm(llm_db: str, llm: LLMStandIn, slack: SlackStandIn) -> None:
    with unit_of_work() as session:
        make.alerted(session, title="Regulator publishes draft rules for AI services")
    assert deliver_due(get_settings(), T0).sent == 1
    assert llm.requests == []


def test_answers_in_code_fences_are_read_and_long_ones_clipped() -> None:
    fenced = completion('```json\n{"title": "Beijing sets AI compute quota", "summary": "' + "word " * 300 + '"}\n```')
    parsed = parse_answer(fenced.body)  # type: ignore[arg-type]
    assert parsed.title == "Beijing sets AI compute quota" and len(parsed.summary) <= 600 and parsed.tokens == 120
    with pytest.raises(TranslationFailed) as failed:
        parse_answer(b'{"choices": []}')
    assert failed.value.outcome == "malformed"
