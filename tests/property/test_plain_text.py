"""plain_text on arbitrary HTML and text: never raises, idempotent, no tags, no control or bidi characters."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.ingest.normalise import plain_text

SETTINGS = settings(max_examples=200, deadline=None)

INVISIBLE = {"Cc", "Cf"}
TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")

fragments = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<br/>",
            "<b>",
            "</b>",
            "<script>alert(1)</script>",
            "<style>p{}</style>",
            "<!-- c -->",
            "<a href='x'>",
            "</a>",
            "&amp;",
            "&lt;b&gt;",
            "&#x202e;",
            "&#8203;",
            "&#0;",
            "&#x1b;",
            "&nbsp;",
            "&lt;",
            "\u202e",
            "\u200b",
            "\u2066",
            "\ufeff",
            "\x00",
            "\x1b[31m",
            "\x9b",
            "\r\n",
            "\t",
            "<",
            ">",
            "&",
            "<<b>>",
            "<scr<script>ipt>",
            "<img src=x onerror=alert(1)>",
            "深度求索",
            "\u00ad",
        ]
    ),
)
html_ish = st.lists(fragments, max_size=12).map("".join)


@SETTINGS
@given(html_ish)
@example("<scr<script>ipt>alert(1)</script>")
@example("&lt;script&gt;alert(1)&lt;/script&gt;")
@example("&#x202e;evil")
def test_never_raises_and_is_idempotent(value: str) -> None:
    once = plain_text(value)
    assert plain_text(once) == once


@SETTINGS
@given(html_ish)
def test_no_controls_or_invisible_format_characters_remain(value: str) -> None:
    out = plain_text(value)
    bad = sorted({f"U+{ord(c):04X}" for c in out if unicodedata.category(c) in INVISIBLE})
    assert not bad, f"{out!r} keeps {bad}"


@SETTINGS
@given(html_ish)
def test_no_tags_remain(value: str) -> None:
    out = plain_text(value)
    assert not TAG.search(out), f"a tag survives in {out!r}"


@SETTINGS
@given(html_ish, st.integers(1, 300))
def test_one_line_and_within_the_limit(value: str, limit: int) -> None:
    out = plain_text(value, limit=limit)
    assert len(out) <= limit
    assert "\n" not in out and "\r" not in out and out == out.strip()
