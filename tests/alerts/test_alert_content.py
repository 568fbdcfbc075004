"""Every alert, in every channel: priority, at most three reader reasons, local time with the zone named, and an
English line for Chinese items; checked through the real pipeline (local feed -> poll -> Slack stand-in, aiosmtpd)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from services.alerts.content import AlertContent, EnglishLine
from services.alerts.deliver import deliver_due
from services.alerts.render import console_line, render_text
from services.alerts.subscriptions import SubscriptionSpec, save_subscription
from services.cycle import run_cycle
from services.database import unit_of_work
from services.feeds.registry import FeedSpec, add_feed
from services.settings import get_settings
from tests.alerts import factories as make
from tests.alerts.smtp_sink import SMTPSink
from tests.support.http import LocalHTTPServer, Response, SlackStandIn

ITEMS = [
    (
        "Cyberspace Administration of China issues binding rules for generative AI services",
        "The regulator's measures take effect next month and cover every public large language model service in China.",
    ),
    (
        "百度发布文心大模型5.0，支持多模态推理",
        "百度在北京发布文心大模型5.0，人工智能模型支持多模态推理，面向企业开放接口。",
    ),
]


def _feed(server: LocalHTTPServer) -> str:
    now = datetime.now(timezone.utc)
    items = "".join(
        f"<item><title>{title}</title><link>https://desk.example/{i}</link><guid>desk-{i}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=1 + i))}</pubDate><description>{summary}</description></item>"
        for i, (title, summary) in enumerate(ITEMS)
    )
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Desk</title>{items}</channel></rss>'
    )
    server.routes["/desk.xml"] = Response(200, body.encode(), {"Content-Type": "application/rss+xml"})
    return server.url("/desk.xml")


def _blocks_text(message: dict) -> str:  # type: ignore[type-arg]
    parts = []
    for block in message["blocks"]:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            parts.append(element["text"])
    return "\n".join(parts)


def _text_body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html_body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_slack_and_email_show_priority_reasons_local_time_and_english(
    pg_url: str, alert_env: pytest.MonkeyPatch, http_server: LocalHTTPServer, slack: SlackStandIn, smtp: SMTPSink
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
    alert_env.setenv("SLACK_WEBHOOK_URL", slack.url)
    alert_env.setenv("SMTP_URL", smtp.url())
    with unit_of_work() as session:
        add_feed(session, FeedSpec(url=_feed(http_server)))
        save_subscription(
            session,
            SubscriptionSpec(
                name="shanghai-desk",
                channels=[{"name": "desk-mail", "kind": "email", "target": "desk@example.org"}],  # type: ignore[list-item]
                timezone="Asia/Shanghai",
            ),
        )
    settings = get_settings()
    cycle = run_cycle(settings, include_not_due=True)
    assert cycle.relevant == 2 and cycle.alerts_queued == 4
    deliver_due(settings, budget_s=20)

    assert len(slack.accepted) == 2
    by_title = {m["blocks"][0]["text"]["text"]: m for m in slack.accepted}
    english, chinese = (next(m for t, m in by_title.items() if key in t) for key in ("Cyberspace", "文心"))
    for message in (english, chinese):
        text = _blocks_text(message)
        assert re.search(r"(:red_circle: \*High priority\*|:large_blue_circle: Normal priority)", text)
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text), "default subscription: UTC, named"
        why = [line for line in text.split("\n") if line.startswith("• ")]
        assert 1 <= len(why) <= 3 and all(line.rstrip().endswith(".") for line in why), why
    assert "_English gloss:_ Chinese-language item" in _blocks_text(chinese) and "Baidu" in _blocks_text(chinese)
    assert "English" not in _blocks_text(english)
    assert ":red_circle: *High priority*" in _blocks_text(english), "a binding national regulation is high"

    assert len(smtp.messages) == 2
    for received in smtp.messages:
        mail, body, html = received.message, _text_body(received.message), _html_body(received.message)
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d Asia/Shanghai \(UTC\+08:00\)", body), body
        assert "Asia/Shanghai (UTC+08:00)" in html
        assert re.search(r"(High|Normal) priority", body) and re.search(r"(High|Normal) priority", html)
        assert mail["Subject"].startswith(("[cnai] [high] ", "[cnai] [normal] "))
        why = body.split("Why:", 1)[1].splitlines()[1:5]
        assert 1 <= len([line for line in why if line.startswith("  - ")]) <= 3, body
    chinese_mail = next(r.message for r in smtp.messages if "文心" in str(r.message["Subject"]))
    assert "English gloss: Chinese-language item" in _text_body(chinese_mail)
    assert "English gloss:</em>" in _html_body(chinese_mail)


def test_the_email_digest_shows_priority_reasons_local_time_and_english(
    pg_url: str, alert_env: pytest.MonkeyPatch, smtp: SMTPSink
) -> None:
    alert_env.setenv("DATABASE_URL", pg_url)
    alert_env.setenv("SMTP_URL", smtp.url())
    with unit_of_work() as session:
        save_subscription(
            session,
            SubscriptionSpec(
                name="evening",
                channels=[{"name": "desk-mail", "kind": "email", "target": "desk@example.org"}],  # type: ignore[list-item]
                mode="digest",
                schedule="daily",
                at="18:00",
                timezone="America/New_York",
            ),
        )
        make.alerted(
            session,
            title="腾讯混元发布新一代推理模型",
            summary="腾讯发布混元大模型。",
            language="zh-Hans",
            priority="normal",
            topics=["model_releases"],
            entities=["Tencent"],
            reader_reasons=["Names Tencent, a Chinese tech company, and its Hunyuan model in the title."],
        )
        make.alerted(
            session,
            title="How to write better prompts for Chinese chatbots",
            priority="low",
            reader_reasons=[
                "A how-to guide about Chinese AI chatbots.",
                "Mentions DeepSeek.",
                "No news event.",
                "A fourth sentence is never shown.",
            ],
        )
    slot = datetime(2026, 11, 20, 23, 0, tzinfo=timezone.utc)  # 18:00 in New York
    report = deliver_due(get_settings(), slot)
    assert report.messages == 1 and report.sent == 2
    [received] = smtp.messages
    body, html = _text_body(received.message), _html_body(received.message)
    assert "Times in America/New_York." in body
    assert "- [NORMAL] 腾讯混元发布新一代推理模型" in body and "- [LOW] How to write better prompts" in body
    assert body.index("[NORMAL]") < body.index("[LOW]") or "Model releases" in body
    assert "2026-11-20 04:00 America/New_York (UTC-05:00)" in body
    assert "English gloss: Chinese-language item on a model release: Tencent" in body
    assert "Why: A how-to guide about Chinese AI chatbots. Mentions DeepSeek. No news event." in body
    assert "fourth sentence" not in body and "fourth sentence" not in html
    assert ">LOW</span>" in html and "America/New_York (UTC-05:00)" in html and "English gloss:</em>" in html


def test_the_console_line_is_one_line_without_the_body() -> None:
    item = AlertContent(
        alert_id=7,
        title="Regulator\nfines platform",
        url=None,
        source="Desk",
        published_at=make.NOW,
        language="zh-Hans",
        score=0.9,
        topics=[],
        entities=[],
        reasons=[],
        summary="Long body " * 50,
        priority="high",
        english=EnglishLine("Regulator fines platform"),
    )
    assert console_line(item, "console") == "alert 7 [high] Regulator fines platform -> console"
    assert "Long body" in render_text(item) and "English gloss: Regulator fines platform" in render_text(item)


def test_in_workers_the_console_channel_logs_one_line_per_alert(caplog: pytest.LogCaptureFixture, capsys) -> None:  # type: ignore[no-untyped-def]
    from db.models import Channel
    from services.alerts import render
    from services.alerts.channels import send

    item = AlertContent(
        alert_id=12,
        title="Ministry sets AI compute targets",
        url=None,
        source="Desk",
        published_at=make.NOW,
        language="en",
        score=0.9,
        topics=[],
        entities=[],
        reasons=["x"],
        summary="A body that stays out of the log.",
        priority="normal",
    )
    console = Channel(name="console", kind="console", target="stdout")
    caplog.set_level("INFO", logger="cnai.alerts.console")
    send(console, item, get_settings(), "k1")
    assert "A body that stays out" in capsys.readouterr().out, "cnai poll / make run print the whole alert"
    render.use_console_lines()  # what the worker does at start-up
    try:
        send(console, item, get_settings(), "k2")
    finally:
        render._console["style"] = "full"
    assert capsys.readouterr().out == ""
    [record] = [r for r in caplog.records if r.name == "cnai.alerts.console"]
    assert record.getMessage() == "alert 12 [normal] Ministry sets AI compute targets -> console"
