"""Email alerts through a real SMTP server: TLS and login, multipart text + HTML, escaping, safe headers."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.alerts.channels import DeliveryError
from services.alerts.content import AlertContent, Digest, Outlet
from services.alerts.email import email_message, recipients, send_email
from services.settings import get_settings
from tests.alerts.smtp_sink import PASSWORD, SMTPSink

HOSTILE = (
    'Breaking\r\nBcc: victim@example.org\r\n\r\n<script>alert("x")</script> <img src=x onerror=alert(1)> & <!channel>'
)


def content(**overrides: object) -> AlertContent:
    values: dict[str, object] = dict(
        alert_id=7,
        title="MIIT announces computing-power vouchers",
        url="https://news.example.com/vouchers?a=1&b=2",
        source="Example News",
        published_at=datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc),
        language="en",
        score=0.91,
        topics=["funding_and_subsidies", "compute_and_infrastructure"],
        entities=["MIIT"],
        reasons=["policy term: vouchers", "entity: MIIT"],
        summary="Vouchers worth up to 5 million yuan.",
        other_outlets=[Outlet("Caixin", "https://caixin.example/1")],
    )
    values.update(overrides)
    return AlertContent(**values)  # type: ignore[arg-type]


@pytest.fixture
def tls_sink(request: pytest.FixtureRequest, certificate: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    sink = SMTPSink(tls=request.param, auth=True, certificate=certificate).start()
    yield sink
    sink.stop()


@pytest.mark.parametrize("tls_sink", ["starttls", "implicit"], indirect=True)
def test_sends_over_tls_with_login_as_multipart_text_and_html(
    tls_sink: SMTPSink, certificate: tuple[Path, Path], env: pytest.MonkeyPatch
) -> None:
    env.setenv("SMTP_URL", tls_sink.url(login=True))
    env.setenv("SSL_CERT_FILE", str(certificate[0]))
    env.setenv("ALERT_EMAIL_FROM", "cnai-monitor@alerts.example.org")
    settings = get_settings()
    reference = send_email(
        settings, "desk@example.org, Analyst <analyst@example.org>", email_message(content(), settings, "a7.d9")
    )
    [received] = tls_sink.messages
    message = received.message
    assert received.rcpt_tos == ["desk@example.org", "analyst@example.org"]
    assert message["Message-ID"] == reference == "<cnai.a7.d9@alerts.example.org>"
    assert message["Subject"] == "[cnai] MIIT announces computing-power vouchers"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Example News" in part and "0.91" in part and "MIIT" in part and "Caixin" in part
        assert "Funding and subsidies" in part and "policy term: vouchers" in part
    assert 'href="https://news.example.com/vouchers?a=1&amp;b=2"' in html


def test_a_wrong_password_is_a_permanent_failure_that_names_no_secret(
    certificate: tuple[Path, Path], env: pytest.MonkeyPatch
) -> None:
    sink = SMTPSink(tls="starttls", auth=True, certificate=certificate).start()
    try:
        env.setenv("SMTP_URL", sink.url(login=True).replace(PASSWORD, "wrong-password-xyz"))
        env.setenv("SSL_CERT_FILE", str(certificate[0]))
        settings = get_settings()
        with pytest.raises(DeliveryError) as failure:
            send_email(settings, "desk@example.org", email_message(content(), settings, "k"))
        assert failure.value.permanent
        assert "wrong-password-xyz" not in str(failure.value) and "alerts" not in str(failure.value)
        assert sink.messages == []
    finally:
        sink.stop()


def test_hostile_titles_cannot_add_headers_or_markup(smtp: SMTPSink, env: pytest.MonkeyPatch) -> None:
    env.setenv("SMTP_URL", smtp.url())
    settings = get_settings()
    hostile = content(
        title=HOSTILE,
        summary=HOSTILE,
        source=HOSTILE,
        reasons=[HOSTILE],
        entities=[HOSTILE],
        other_outlets=[Outlet(HOSTILE, "https://ok.example/")],
        url="javascript:alert(1)",
    )
    send_email(settings, "desk@example.org", email_message(hostile, settings, "a1.d1"))
    [received] = smtp.messages
    message = received.message
    assert received.rcpt_tos == ["desk@example.org"], "no Bcc smuggled in through the title"
    assert message["Bcc"] is None
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert message["Subject"].startswith("[cnai] Breaking Bcc: victim@example.org")
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html
    text = message.get_body(("plain",)).get_content()
    assert "<script>" in text, "the text part shows the title as it is (text needs no escaping)"


def test_recipients_with_line_breaks_or_garbage_are_refused() -> None:
    assert recipients("a@example.org, B <b@example.org>") == ["a@example.org", "b@example.org"]
    for bad in ("not-an-address", "a@example.org\r\nBcc: x@example.org x", ""):
        with pytest.raises(DeliveryError):
            recipients(bad)


def test_a_digest_email_groups_stories_by_topic(smtp: SMTPSink, env: pytest.MonkeyPatch) -> None:
    env.setenv("SMTP_URL", smtp.url())
    settings = get_settings()
    items = [
        content(alert_id=1, title="Chip export curbs widen", topics=["chips_and_export_controls"], score=0.9),
        content(
            alert_id=2,
            title="Huawei Ascend shipments",
            topics=["chips_and_export_controls", "industry_and_investment"],
            score=0.7,
        ),
        content(alert_id=3, title="Draft AI labelling rules", topics=["regulation"], score=0.8),
        content(alert_id=4, title="Untagged <b>story</b>", topics=[], score=0.5),
    ]
    digest = Digest("Daily digest: policy (4 stories)", "Daily digest of subscription 'policy'.", items)
    send_email(settings, "desk@example.org", email_message(digest, settings, "digest-abc"))
    [received] = smtp.messages
    html = received.message.get_body(("html",)).get_content()
    text = received.message.get_body(("plain",)).get_content()
    assert received.message["Subject"] == "[cnai] Daily digest: policy (4 stories)"
    chips = html.index("Chips and export controls (2)")
    regulation = html.index("Regulation (1)")
    other = html.index("Other (1)")
    assert chips < html.index("Chip export curbs widen") < html.index("Huawei Ascend shipments") < regulation
    assert regulation < html.index("Draft AI labelling rules") < other
    assert "Untagged &lt;b&gt;story&lt;/b&gt;" in html
    assert "== Chips and export controls (2)" in text and "== Other (1)" in text


def test_an_untrusted_certificate_is_refused_and_retried(
    certificate: tuple[Path, Path], env: pytest.MonkeyPatch
) -> None:
    sink = SMTPSink(tls="starttls", auth=True, certificate=certificate).start()
    try:
        env.setenv("SMTP_URL", sink.url(login=True))
        env.delenv("SSL_CERT_FILE", raising=False)
        settings = get_settings()
        with pytest.raises(DeliveryError) as failure:
            send_email(settings, "desk@example.org", email_message(content(), settings, "k"))
        assert not failure.value.permanent and "TLS" in str(failure.value)
        assert sink.messages == []
    finally:
        sink.stop()
