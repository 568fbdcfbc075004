"""canonical_url, example by example: one article reached by different spellings of its link gets one URL.

Each case names the rule it pins; a break in any rule would let the same article in twice (and alert twice).
"""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest

from services.ingest.normalise import MAX_URL_CHARS, canonical_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # query parameters sorted by name, then value
        ("https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"),
        ("https://news.example/a?z=1&m=2&a=3", "https://news.example/a?a=3&m=2&z=1"),
        ("https://news.example/a?k=2&k=1", "https://news.example/a?k=1&k=2"),
        ("https://news.example/a?id=9&Page=3", "https://news.example/a?Page=3&id=9"),
        # default ports dropped, other ports kept
        ("http://news.example:80/a", "http://news.example/a"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("HTTPS://News.Example:443/a", "https://news.example/a"),
        ("http://news.example:443/a", "http://news.example:443/a"),
        ("https://news.example:80/a", "https://news.example:80/a"),
        ("https://news.example:8443/a", "https://news.example:8443/a"),
        ("http://news.example:8080/a", "http://news.example:8080/a"),
        ("http://[2001:db8::1]:80/a", "http://[2001:db8::1]/a"),
        ("http://[2001:db8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
        # trailing dot of a fully qualified host name dropped
        ("https://news.example./a", "https://news.example/a"),
        ("https://NEWS.example.:443/a", "https://news.example/a"),
        ("http://news.example.:8080/a", "http://news.example:8080/a"),
        # scheme and host lower-cased, path case kept
        ("HTTP://NEWS.EXAMPLE/Path/To", "http://news.example/Path/To"),
        # empty path becomes "/", fragment dropped
        ("https://news.example", "https://news.example/"),
        ("https://news.example/a#comments", "https://news.example/a"),
        # tracking parameters dropped, case-insensitively; others kept, blank values kept
        ("https://news.example/a?utm_source=rss&id=7", "https://news.example/a?id=7"),
        ("https://news.example/a?UTM_Medium=x&id=7", "https://news.example/a?id=7"),
        ("https://news.example/a?fbclid=abc&id=7", "https://news.example/a?id=7"),
        ("https://news.example/a?FBCLID=abc&id=7", "https://news.example/a?id=7"),
        ("https://news.example/a?flag=&id=7", "https://news.example/a?flag=&id=7"),
        ("https://news.example/a?utm_source=rss", "https://news.example/a"),
        # non-ASCII host to punycode, non-ASCII path percent-encoded
        ("https://新闻.example/报道", "https://xn--efvy88h.example/%E6%8A%A5%E9%81%93"),
        # invisible characters and surrounding spaces removed
        ("  https://news.example/a\u200b  ", "https://news.example/a"),
    ],
)
def test_rule(given: str, expected: str) -> None:
    assert canonical_url(given) == expected
    assert canonical_url(expected) == expected


@pytest.mark.parametrize(
    "given",
    [
        None,
        "",
        "   ",
        "ftp://news.example/a",
        "javascript:alert(1)",
        "mailto:a@news.example",
        "news.example/a",
        "https:///a",
        "http://news.example:99999/a",
        "http://[::1/a",
        "https://./a",
        "https://news.example/" + "a" * MAX_URL_CHARS,
        "https://news.example/?" + "q=" + "x" * (4 * MAX_URL_CHARS),
    ],
)
def test_not_an_article_url(given: str | None) -> None:
    assert canonical_url(given) is None


def test_a_url_of_exactly_the_limit_is_kept() -> None:
    base = "https://news.example/"
    url = base + "a" * (MAX_URL_CHARS - len(base))
    assert len(url) == MAX_URL_CHARS and canonical_url(url) == url
    assert canonical_url(url + "b") is None


def test_every_order_of_the_same_parameters_gives_one_url() -> None:
    pairs = ["id=7", "page=2", "lang=zh", "a=", "tag=ai"]
    seen = {canonical_url("https://news.example/story?" + "&".join(order)) for order in itertools.permutations(pairs)}
    assert seen == {"https://news.example/story?a=&id=7&lang=zh&page=2&tag=ai"}


def test_spellings_of_one_article_link_agree() -> None:
    spellings = [
        "https://news.example/story?id=7&page=2",
        "https://news.example:443/story?page=2&id=7",
        "HTTPS://NEWS.EXAMPLE./story?page=2&utm_campaign=x&id=7#top",
        "https://news.example.:443/story?id=7&fbclid=1&page=2",
    ]
    assert {canonical_url(s) for s in spellings} == {"https://news.example/story?id=7&page=2"}


def test_input_longer_than_four_times_the_output_limit_is_not_even_parsed() -> None:
    base = "https://news.example/a?utm_source="
    exactly = base + "x" * (4 * MAX_URL_CHARS - len(base))
    assert len(exactly) == 4 * MAX_URL_CHARS
    assert canonical_url(exactly) == "https://news.example/a", "at the input limit the tracking parameter is dropped"
    assert canonical_url(exactly + "x") is None


def test_a_host_that_idna_cannot_encode_is_percent_encoded() -> None:
    host = "例" * 64 + ".example"  # a label longer than 63 characters: IDNA refuses it
    assert canonical_url(f"https://{host}/a") == "https://" + quote(host, safe="") + "/a"
    assert canonical_url(f"https://{host}/a") == "https://" + "%E4%BE%8B" * 64 + ".example/a"
