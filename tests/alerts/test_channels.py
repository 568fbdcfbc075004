"""Console output and plain text: terminal escapes from a feed are dropped; Chinese text survives every channel."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from db.models import Channel
from services.alerts.channels import describe_target, send
from services.alerts.content import AlertContent
from services.alerts.email import email_message, send_email
from services.settings import get_settings
from tests.alerts.smtp_sink import SMTPSink


def content(title: str) -> AlertContent:
    return AlertContent(
        alert_id=1,
        title=title,
        url="https://www.example.cn/a",
        source="机器之心",
        published_at=datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc),
        language="zh-Hans",
        score=0.9,
        topics=["regulation"],
        entities=["国家网信办"],
        reasons=["政策: 暂行办法"],
        summary="摘要\x1b[2J",
    )


def test_the_console_prints_alerts_without_terminal_escapes(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    send(
        Channel(name="console", kind="console", target="stdout"),
        content("网信办发布\x1b]0;pwned\x07办法\x1b[31m"),
        get_settings(),
        "k",
    )
    out = capsys.readouterr().out
    assert out.startswith("[ALERT] 网信办发布]0;pwned办法[31m")
    assert "\x1b" not in out and "\x07" not in out
    assert "机器之心" in out and "国家网信办" in out and "政策: 暂行办法" in out


def test_chinese_titles_reach_email_intact(smtp: SMTPSink, env: pytest.MonkeyPatch) -> None:
    env.setenv("SMTP_URL", smtp.url())
    settings = get_settings()
    send_email(
        settings,
        "desk@example.org",
        email_message(content("工信部：生成式人工智能服务管理暂行办法发布"), settings, "a1.d1"),
    )
    [received] = smtp.messages
    assert received.message["Subject"] == "[cnai] 工信部：生成式人工智能服务管理暂行办法发布"
    assert "国家网信办" in received.message.get_body(("html",)).get_content()


def test_targets_are_shown_without_their_secrets() -> None:
    assert (
        describe_target("slack", "https://hooks.slack.com/services/T1/B2/secret")
        == "https://hooks.slack.com/…(redacted)"
    )
    assert describe_target("apprise", "tgram://123456:ABCDEF/-1001") == "tgram://…(redacted)"
    assert describe_target("slack", "env:SLACK_WEBHOOK_URL") == "env:SLACK_WEBHOOK_URL"
    assert describe_target("email", "desk@example.org") == "desk@example.org"
