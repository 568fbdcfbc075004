"""Whatever a feed says, a Slack message can't ping (<!channel>) or disguise a link, and an email can't
grow headers or smuggle HTML."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.alerts.content import AlertContent, Outlet, safe_link
from services.alerts.email import email_message
from services.alerts.slack import slack_payload
from services.settings import Settings

SETTINGS = settings(max_examples=120, deadline=None)

nasty = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                "<!channel>",
                "<!here>",
                "<!everyone>",
                "<@U123>",
                "<#C123|general>",
                "<https://evil.example|click>",
                "<",
                ">",
                "&",
                "&lt;",
                "|",
                "*bold*",
                "`code`",
                "\r\n",
                "\n",
                "\r",
                "Bcc: victim@example.com",
                "\x00",
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)>",
                '"',
                "'",
                "深度求索",
                "\u202e",
                "=?utf-8?q?=0D=0ABcc:_x@example.com?=",
            ]
        ),
        max_size=8,
    ).map("".join),
)
feed_urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://news.example/a",
            "https://news.example/a|<!channel>",
            "https://news.example/a>b<!here>",
            "http://news.example/<script>",
            "https://news.example/a b|Official notice",
            "javascript:alert(1)",
            'https://news.example/"onmouseover="alert(1)',
            "https://news.example/?q=<!channel>",
        ]
    ),
    nasty.map(lambda t: "https://news.example/" + t),
)


@st.composite
def contents(draw: st.DrawFn) -> AlertContent:
    return AlertContent(
        alert_id=draw(st.integers(1, 10**6)),
        title=draw(nasty),
        url=safe_link(draw(feed_urls)),
        source=draw(nasty),
        published_at=datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc),
        language=draw(st.sampled_from(["en", "zh-Hans", None])),
        score=draw(st.floats(0, 1)),
        topics=draw(st.lists(nasty, max_size=3)),
        entities=draw(st.lists(nasty, max_size=3)),
        reasons=draw(st.lists(nasty, max_size=3)),
        summary=draw(nasty),
        other_outlets=draw(st.lists(st.builds(Outlet, nasty, feed_urls.map(safe_link)), max_size=3)),
    )


LINK = re.compile(r"<(https?://[^<>| \t\r\n]+)\|([^<>]*)>")


def mrkdwn_texts(payload: object) -> list[str]:
    """The fallback ``text`` and every mrkdwn text object, wherever it sits in the blocks."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("type") == "mrkdwn" or ("blocks" in payload and isinstance(payload.get("text"), str)):
            found.append(payload["text"])
        for value in payload.values():
            found += mrkdwn_texts(value)
    elif isinstance(payload, list):
        for value in payload:
            found += mrkdwn_texts(value)
    return found


def given_urls(content: AlertContent) -> set[str]:
    return {unquote(u) for u in [content.url, *(o.url for o in content.other_outlets)] if u}


@SETTINGS
@given(contents())
@example(
    AlertContent(
        1,
        "t",
        safe_link("https://news.example/a|<!channel>"),
        "s",
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        "en",
        0.5,
        [],
        [],
        [],
        "",
    )
)
@example(
    AlertContent(
        1,
        "<!channel> hi",
        None,
        "<!here>",
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        "en",
        0.5,
        ["<!everyone>"],
        [],
        [],
        "",
    )
)
def test_slack_mrkdwn_has_no_control_sequences_from_feed_text(content: AlertContent) -> None:
    for text in mrkdwn_texts(slack_payload(content)):
        assert "<!" not in text, f"a feed can ping the channel: {text!r}"
        for url, _label in LINK.findall(text):
            assert unquote(html.unescape(url)) in given_urls(content), (
                f"link target {url!r} is not the article's URL (disguised link) in {text!r}"
            )
        rest = LINK.sub("", text)
        assert "<" not in rest and ">" not in rest, f"raw angle bracket from feed text survives: {text!r}"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


BENIGN = AlertContent(
    1,
    "Plain title",
    "https://news.example/a",
    "Example News",
    datetime(2026, 1, 1, tzinfo=timezone.utc),
    "en",
    0.5,
    ["regulation"],
    ["CAC"],
    ["why"],
    "summary",
    [Outlet("Other", "https://other.example/")],
)


def render_email(content: AlertContent):  # type: ignore[no-untyped-def]
    return email_message(content, Settings(), "delivery-1")


@SETTINGS
@given(contents())
@example(
    AlertContent(
        1,
        "=?utf-8?q?=0D=0AReply-To:_x@evil.example?=",
        None,
        "s",
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        "en",
        0.5,
        [],
        [],
        [],
        "",
    )
)
@example(
    AlertContent(
        1,
        "x\r\nBcc: victim@example.com",
        None,
        "s",
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        "en",
        0.5,
        [],
        [],
        [],
        "",
    )
)
def test_email_headers_have_no_line_breaks_from_feed_text(content: AlertContent) -> None:
    message = render_email(content)
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), f"{name}: {value!r}"
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes(policy=policy.SMTP))
    expected = {k.lower() for k in render_email(BENIGN).keys()}
    assert {k.lower() for k in parsed.keys()} == expected, "feed text added or removed a header"
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])


ALLOWED_TAGS = {
    "html",
    "head",
    "body",
    "meta",
    "title",
    "style",
    "div",
    "span",
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "a",
    "ul",
    "ol",
    "li",
    "strong",
    "b",
    "em",
    "i",
    "small",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
}


@SETTINGS
@given(contents())
def test_email_html_carries_no_markup_from_feed_text(content: AlertContent) -> None:
    html_part = render_email(content).get_body(("html",))
    assert html_part is not None
    parser = _Tags()
    parser.feed(html_part.get_content())
    benign = _Tags()
    benign.feed(render_email(BENIGN).get_body(("html",)).get_content())  # type: ignore[union-attr]
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, f"feed markup <{tag}> reached the email"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name} in the email"
            if name in {"href", "src"}:
                assert urlsplit(value or "").scheme in {"http", "https", "mailto"}, f"{name}={value!r}"
    assert len(parser.tags) <= len(benign.tags) + 10 * (
        len(content.reasons) + len(content.other_outlets) + len(content.topics) + len(content.entities) + 1
    )
