"""Parsing real feed files and hostile variants of them: charsets, formats, XML attacks, dates, junk characters."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from datetime import datetime, timedelta, timezone

import opencc
import pytest

from services.ingest.parse import ParseError, parse_feed
from tests.ingest.polling import BENCH, EN, ZH, shared_file

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
QQ = ZH / "zhouqun197746__qqnews_2026.xml"
KR = ZH / "g0fcn_rss-translation__36krai_2024-06-26.xml"
DECLARATION = re.compile(rb'encoding="[^"]+"', re.I)


def titles(body: bytes, content_type: str | None = None) -> list[str]:
    return [e.title for e in parse_feed(body, content_type=content_type, now=NOW).entries]


def transcode(utf8: bytes, encoding: str, declared: str | None) -> bytes:
    """The real UTF-8 document in another charset (characters it lacks as XML character references)."""
    text = utf8.decode("utf-8")
    body = text.encode(encoding, errors="xmlcharrefreplace")
    if declared is None:
        return DECLARATION.sub(b"", body, count=1)
    return DECLARATION.sub(f'encoding="{declared}"'.encode(), body, count=1)


@pytest.fixture(scope="module")
def traditional() -> bytes:
    """The qqnews sample converted to Traditional characters (still UTF-8), for Big5 cases."""
    return opencc.OpenCC("s2t").convert(shared_file(QQ).decode("utf-8")).encode("utf-8")


@pytest.mark.parametrize(
    ("encoding", "declared", "content_type"),
    [
        ("gbk", "GBK", None),
        ("gb18030", "GB18030", None),
        ("gb2312", "gb2312", None),  # characters outside GB2312 become references
        ("gbk", "utf-8", None),  # lying: GBK bytes declared UTF-8
        ("gbk", None, None),  # no declaration at all
        ("gbk", None, "application/rss+xml; charset=GBK"),  # only the HTTP header says it
        ("gbk", "GBK", "application/rss+xml; charset=utf-8"),  # the header contradicts the document
    ],
)
def test_gb_encodings_decode_to_the_same_titles_as_the_utf8_original(
    encoding: str, declared: str | None, content_type: str | None
) -> None:
    original = shared_file(KR)
    expected = titles(original)
    assert expected and any("\u4e00" <= c <= "\u9fff" for c in expected[0])
    assert titles(transcode(original, encoding, declared), content_type) == expected


@pytest.mark.parametrize("declared", ["Big5", "big5-hkscs", "utf-8", "gb2312", None])
def test_big5_decodes_whatever_it_claims(traditional: bytes, declared: str | None) -> None:
    expected = titles(traditional)
    assert any(c in "國來說時會學" for t in expected for c in t), "the sample must really be Traditional"
    assert titles(transcode(traditional, "big5hkscs", declared)) == expected


def test_utf8_declared_as_gbk_and_utf8_with_bom_are_read_as_utf8() -> None:
    original = shared_file(QQ)
    expected = titles(original)
    lying = DECLARATION.sub(b'encoding="GBK"', original, count=1)
    parsed = parse_feed(lying, now=NOW)
    assert [e.title for e in parsed.entries] == expected
    assert any("bytes are UTF-8" in w for w in parsed.warnings)
    assert titles(b"\xef\xbb\xbf" + original) == expected
    assert titles(b"\n\n   \t" + original) == expected  # whitespace before <?xml
    assert titles(original.decode("utf-8").encode("utf-16")) == expected


FORMATS = [
    "feedrs_rss_1.0_iso8859.xml",
    "feedrs_atom_mediarss_reddit_1.xml",
    "feedjira_FeedBurnerXHTML.xml",
    "zh_swiftgg_atom.xml",
]


def test_every_shared_sample_parses_with_entries() -> None:
    for path in sorted([*EN.glob("*.xml"), *ZH.glob("*.xml"), *(BENCH / name for name in FORMATS)]):
        parsed = parse_feed(shared_file(path), now=NOW)
        assert parsed.entries, path.name
        for entry in parsed.entries:
            assert entry.title and len(entry.title) <= 1000, path.name
            assert entry.published is None or entry.published <= NOW, path.name
            assert entry.key.startswith(("guid:", "url:", "fp:")) and len(entry.key) <= 200, path.name


def test_rss1_rdf_and_atom_and_whitespace_before_the_declaration() -> None:
    rdf = parse_feed(shared_file(BENCH / "feedrs_rss_1.0_debian.xml"), now=NOW)
    assert rdf.version.startswith("rss1") and rdf.entries
    atom = parse_feed(shared_file(EN / "ai-news-direct__moonshot_blog.xml"), now=NOW)
    assert atom.version == "atom10" and len(atom.entries) == 9
    assert all(e.published is not None and e.published.tzinfo == timezone.utc for e in atom.entries)


def test_a_truncated_feed_keeps_its_complete_entries_and_records_the_warning() -> None:
    original = shared_file(EN / "ati-ai-rss-feeds__aisi-blog.xml")
    cut = original[: len(original) // 2]
    full = parse_feed(original, now=NOW)
    broken = parse_feed(cut, now=NOW)
    assert broken.warning and "malformed feed" in broken.warning
    assert 10 < len(broken.entries) < len(full.entries)
    assert [e.title for e in broken.entries[:10]] == [e.title for e in full.entries[:10]]


def test_entity_attacks_are_never_expanded() -> None:
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
        + b"".join(
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'.encode() for i in range(1, 10)
        )
        + b']>\n<rss version="2.0"><channel><title>x</title><item><title>Laughs &lol9;</title><guid>1</guid>'
        b"<description>&lol9;</description></item></channel></rss>"
    )
    started = time.monotonic()
    parsed = parse_feed(laughs, now=NOW)
    assert time.monotonic() - started < 2
    assert any("DOCTYPE declaring entities" in w for w in parsed.warnings)
    assert all("lollol" not in e.title + e.summary for e in parsed.entries)

    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        b'<rss version="2.0"><channel><title>x</title><item><title>Leak &secret;</title><guid>1</guid></item></channel></rss>'
    )
    assert all("root:" not in e.title + e.summary for e in parse_feed(xxe, now=NOW).entries)


def test_json_feed() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON news",
        "home_page_url": "https://json.example/",
        "items": [
            {
                "id": "1",
                "url": "https://json.example/a?utm_source=x",
                "title": "DeepSeek releases a new model",
                "content_html": "<p>It is <b>open</b> weights.</p>",
                "date_published": "2026-11-20T08:00:00+08:00",
                "authors": [{"name": "Li Wei"}],
            },
            {
                "id": "2",
                "url": "https://json.example/b",
                "content_text": "深度求索发布新一代开源大模型",
                "date_modified": "2026-11-21T00:00:00Z",
            },
        ],
    }
    parsed = parse_feed(json.dumps(document).encode(), content_type="application/feed+json", now=NOW)
    first, second = parsed.entries
    assert parsed.title == "JSON news" and parsed.version == "json11"
    assert first.title == "DeepSeek releases a new model" and first.summary == "It is open weights."
    assert first.canonical_url == "https://json.example/a" and first.author == "Li Wei"
    assert first.published == datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)
    assert second.title == "深度求索发布新一代开源大模型" and second.language == "zh-Hans"
    with pytest.raises(ParseError, match="JSON Feed"):
        parse_feed(b'{"error": "rate limited"}', content_type="application/json", now=NOW)


def rss(items: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def test_absurd_dates_become_missing_and_slightly_future_ones_now() -> None:
    dates = {
        "year0": "Mon, 01 Jan 0000 00:00:00 GMT",
        "year9999": "Fri, 31 Dec 9999 23:59:59 +0000",
        "plus25": "Sun, 22 Nov 2026 10:00:00 +2500",
        "iso25": "2026-11-22T10:00:00+25:00",
        "epoch": "Thu, 01 Jan 1970 08:00:00 +0800",
        "soon": (NOW + timedelta(hours=5)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "good": "Sat, 21 Nov 2026 19:30:00 +0800",
    }
    items = "".join(
        f"<item><guid>{k}</guid><title>Item {k}</title><pubDate>{v}</pubDate></item>" for k, v in dates.items()
    )
    published = {e.guid: e.published for e in parse_feed(rss(items), now=NOW).entries}
    for key in ("year0", "year9999", "plus25", "iso25", "epoch"):
        assert published[key] is None, key
    assert published["soon"] == NOW
    assert published["good"] == datetime(2026, 11, 21, 11, 30, tzinfo=timezone.utc)


def test_titles_lose_controls_and_invisible_characters_and_are_capped() -> None:
    junk = "\u202eevil\u200b \x01Harbour\u2066 report\ufeff\u00ad"
    items = (
        f"<item><guid>a</guid><title>{junk}</title><description>&lt;p&gt;Body&lt;/p&gt;\x0b</description></item>"
        f"<item><guid>b</guid><title>{'Long headline ' * 5000}</title></item>"
    )
    first, second = parse_feed(rss(items).replace(b"\x01", b"&#x1;").replace(b"\x0b", b""), now=NOW).entries
    assert first.title == "evil Harbour report"
    assert not [c for c in first.title + first.summary if unicodedata.category(c) in ("Cc", "Cf")]
    assert first.summary == "Body"
    assert 990 <= len(second.title) <= 1000 and second.title.endswith("…")


def test_duplicate_guids_and_links_inside_one_feed_give_one_entry_each() -> None:
    items = (
        "<item><guid>same</guid><title>First</title></item>"
        "<item><guid>same</guid><title>Second copy</title></item>"
        "<item><title>Linked</title><link>https://x.example/a?utm_source=rss</link></item>"
        "<item><title>Linked again</title><link>https://X.example/a#top</link></item>"
    )
    parsed = parse_feed(rss(items), now=NOW)
    assert [e.title for e in parsed.entries] == ["First", "Linked"]
    assert any("2 duplicate entries" in w for w in parsed.warnings)


def test_a_huge_guid_is_hashed_into_a_short_key() -> None:
    guid = "深" * 20_000
    entry = parse_feed(rss(f"<item><guid>{guid}</guid><title>Big</title></item>"), now=NOW).entries[0]
    assert entry.key.startswith("guid:sha256:") and len(entry.key) < 100


@pytest.mark.parametrize(
    "body", [b"", b"  \n ", b"<html><body><p>Hello</p></body></html>", b"\x00\x01\x02garbage" * 100]
)
def test_documents_that_are_not_feeds_raise(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, now=NOW)
