"""The hostile corpus: each case serves one broken or malicious feed and says how its poll must end.

Small inputs are files under ``corpus/``; large ones (10,000 entries, megabytes, gzip bombs) are
generated here at test time. ``serve`` installs the feed and returns its URL; ``expect`` checks the
outcome as the operator would see it in the database (``fetch_log.error``, ``feeds.last_error``,
the articles stored), never the ingestion code's internals.
"""

from __future__ import annotations

import gzip
import itertools
import random
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from db.models import Article
from tests.hostile.servers import RawTCPServer, dribble, say_nothing
from tests.support.http import LocalHTTPServer, Request, Response

CORPUS = Path(__file__).resolve().parent / "corpus"
SECRET_MARKER = "CNAI-SECRET-7f3a9c-DO-NOT-LEAK"
MAX_BYTES = 1_000_000
TIMEOUT_S = 1.0
DEADLINE_S = 3.0

NOT_A_FEED = r"not (a|an) (rss|atom|feed)|no (rss|atom|rdf|feed)|not a feed|empty|html|json|not xml|malformed|syntax|not well-formed|no entries|document"
TOO_BIG = r"exceed|too (large|big|much)|limit|larger than|bomb|decompress"
TIMED_OUT = r"time[sd]? ?out|deadline|too slow"
XML_REFUSED = r"entit|dtd|doctype|forbidden|unsafe|refus|not allowed|external"
NETWORK = r"network|connection|closed|incomplete|protocol|peer|truncat"
REDIRECTS = r"redirect"


@dataclass
class Outcome:
    """How one poll of the hostile feed ended, read back from the database after the cycle."""

    status: str
    error: str | None
    last_error: str | None
    consecutive_failures: int
    feed_title: str | None
    entries: int
    articles: list[Article]
    duration_ms: int | None
    requests: list[str]

    @property
    def titles(self) -> list[str]:
        return sorted(a.title for a in self.articles)


@dataclass
class Context:
    """What a case may use to serve its feed."""

    http: LocalHTTPServer
    secret_path: Path
    probe_path: str = "/xxe-probe"
    raw_servers: list[RawTCPServer] = field(default_factory=list)

    @property
    def probe_url(self) -> str:
        return self.http.url(self.probe_path)

    def route(self, path: str, response: Response | Callable[[Request], Response]) -> str:
        """Serve ``response`` under a path of its own, even when several cases serve the same file."""
        path = f"/{len(self.http.routes)}{path}"
        self.http.routes[path] = response
        return self.http.url(path)

    def raw(self, script: Callable) -> str:
        server = RawTCPServer(script)
        self.raw_servers.append(server)
        return server.url()


@dataclass(frozen=True)
class HostileCase:
    name: str
    serve: Callable[[Context], str]
    expect: Callable[[Outcome], None]
    env: dict[str, str] = field(default_factory=dict)
    heavy: bool = False
    """Takes tens of seconds: marked slow, and left out of the all-in-one-cycle run."""


# ---------------------------------------------------------------- expectations


def _not_a_crash(outcome: Outcome) -> None:
    for text in (outcome.error, outcome.last_error):
        assert "internal error" not in (text or "").lower(), f"the poll crashed instead of failing cleanly: {text}"


def clear_error(pattern: str) -> Callable[[Outcome], None]:
    """The poll failed, said why in words matching ``pattern``, and stored nothing from the feed."""

    def check(outcome: Outcome) -> None:
        _not_a_crash(outcome)
        assert outcome.status == "error", (
            f"expected a recorded error, got status {outcome.status!r} with {outcome.entries} entries"
        )
        assert outcome.error and re.search(pattern, outcome.error, re.I), (
            f"fetch_log.error {outcome.error!r} does not match /{pattern}/"
        )
        assert outcome.last_error == outcome.error or (
            outcome.last_error and re.search(pattern, outcome.last_error, re.I)
        )
        assert outcome.consecutive_failures == 1
        assert outcome.entries == 0 and not outcome.articles

    return check


def parsed(check_articles: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    """The poll succeeded and what it stored passes ``check_articles``."""

    def check(outcome: Outcome) -> None:
        _not_a_crash(outcome)
        assert outcome.status == "ok", f"expected a successful parse, got {outcome.status!r}: {outcome.error}"
        assert outcome.last_error is None and outcome.consecutive_failures == 0
        check_articles(outcome)

    return check


def error_or_parsed(pattern: str, check_articles: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    """Either a clear error, or a parse whose articles pass ``check_articles``: never garbage."""

    def check(outcome: Outcome) -> None:
        if outcome.status == "error":
            clear_error(pattern)(outcome)
        else:
            parsed(check_articles)(outcome)

    return check


def within(seconds: float, expect: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    """``expect``, and the whole poll of the feed took at most ``seconds``."""

    def check(outcome: Outcome) -> None:
        expect(outcome)
        assert outcome.duration_ms is not None and outcome.duration_ms <= seconds * 1000, (
            f"the poll took {outcome.duration_ms} ms, more than {seconds} s"
        )

    return check


def entries_exactly(n: int, *titles: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert outcome.entries == n, f"expected {n} stored entries, got {outcome.entries}: {outcome.titles[:5]}"
        for title in titles:
            assert title in outcome.titles, f"{title!r} not among stored titles {outcome.titles}"

    return check


def nothing_expanded(outcome: Outcome) -> None:
    for article in outcome.articles:
        for text in (article.title, article.summary, article.summary_html or ""):
            assert "lollol" not in text and "xxxxxxxxxx" not in text, "an entity was expanded into a stored article"
        assert len(article.title) + len(article.summary) < 20_000


def no_secret(outcome: Outcome) -> None:
    """Checked for every case as well, over every text column of the database (see the test)."""
    for article in outcome.articles:
        assert SECRET_MARKER not in f"{article.title} {article.summary} {article.summary_html}"


def no_probe_request(outcome: Outcome) -> None:
    assert not [p for p in outcome.requests if p.startswith("/xxe-probe")], (
        f"the parser fetched an external entity: {outcome.requests}"
    )


def all_of(*checks: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        for c in checks:
            c(outcome)

    return check


def sane_dates(allowed_historic: frozenset[str] = frozenset()) -> Callable[[Outcome], None]:
    """Every stored time is tz-aware UTC, not after fetch time + 1 day, not before 1970 (unless a real historic date)."""

    def check(outcome: Outcome) -> None:
        latest = datetime.now(timezone.utc) + timedelta(days=1)
        for article in outcome.articles:
            when = article.published_at
            assert when.tzinfo is not None and when.utcoffset() == timedelta(0), f"{article.guid}: {when!r} is not UTC"
            assert when <= latest, f"{article.guid}: published_at {when.isoformat()} is in the future"
            if article.guid not in allowed_historic:
                assert when.year >= 1970, f"{article.guid}: published_at {when.isoformat()} is absurd"

    return check


def no_format_characters(
    fields: tuple[str, ...] = ("title", "summary"), categories: tuple[str, ...] = ("Cc", "Cf")
) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        texts = [("feed title", outcome.feed_title or "")]
        texts += [(f"{a.guid}.{name}", getattr(a, name) or "") for a in outcome.articles for name in fields]
        for where, text in texts:
            bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in categories})
            assert not bad, f"{where} keeps invisible/control characters {bad}: {text!r}"

    return check


def words_kept(*words: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        joined = " ".join(outcome.titles)
        for word in words:
            assert word in joined, f"{word!r} lost from titles {outcome.titles}"

    return check


def titles_capped(limit: int) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        assert outcome.articles, "nothing stored"
        for article in outcome.articles:
            assert len(article.title) <= limit, f"title of {len(article.title)} characters stored"
            assert len(article.summary) <= 10 * limit, f"summary of {len(article.summary)} characters stored"

    return check


def truncated_items(outcome: Outcome) -> None:
    """The complete items before the cut are kept; a half item, if kept, is the one that was cut."""
    complete = [
        "City library extends its weekend opening hours",
        "Harbour authority approves a new ferry terminal design",
    ]
    assert outcome.titles[:2] == complete, f"complete items lost: {outcome.titles}"
    assert all(t in complete or t.startswith("Regional rail timetable cha") for t in outcome.titles), outcome.titles
    assert outcome.error, "a malformed feed that parsed must still leave a warning in fetch_log.error"


ZH_TITLES = ("深度求索发布新一代开源大模型", "国家网信办公布生成式人工智能服务备案名单")
ZH_HANT_TITLES = ("台灣半導體廠商擴大人工智慧晶片產能", "香港大學推出繁體中文語言模型")


def exact_chinese(titles: tuple[str, ...]) -> Callable[[Outcome], None]:
    """Stored titles are exactly the Chinese ones (no mojibake, no replacement characters)."""

    def check(outcome: Outcome) -> None:
        assert sorted(titles) == outcome.titles, f"charset decoded wrongly: stored {outcome.titles}"

    return check


# ---------------------------------------------------------------- generated inputs


def _file(ctx: Context, name: str, content_type: str = "application/rss+xml", **values: str) -> str:
    data = (CORPUS / name).read_bytes()
    for key, value in values.items():
        data = data.replace(b"{" + key.encode() + b"}", value.encode())
    return ctx.route(f"/{name}", Response(200, data, {"Content-Type": content_type}))


def _templated(name: str, content_type: str = "application/rss+xml") -> Callable[[Context], str]:
    def serve(ctx: Context) -> str:
        return _file(ctx, name, content_type, SECRET_PATH=str(ctx.secret_path), PROBE_URL=ctx.probe_url)

    return serve


def _served(name: str, content_type: str = "application/rss+xml") -> Callable[[Context], str]:
    return lambda ctx: _file(ctx, name, content_type)


def rss_document(items: list[str], title: str = "Generated feed") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://generated.example/</link>\n" + "".join(items) + "</channel></rss>\n"
    ).encode()


_WORDS = (
    "harbour ferry museum bakery orchard choir lighthouse tram glacier meadow quarry canal lantern "
    "festival archive garden bridge market village island river valley forest castle workshop"
).split()


@lru_cache(maxsize=1)
def ten_thousand_entries() -> bytes:
    rng = random.Random(10_000)
    items = [
        f"<item><guid>bulk-{i}</guid><title>{' '.join(rng.sample(_WORDS, 5))} {i}</title>"
        f"<link>https://bulk.example/{i}</link></item>\n"
        for i in range(10_000)
    ]
    return rss_document(items, "Ten thousand entries")


@lru_cache(maxsize=1)
def oversize_feed() -> bytes:
    """A valid feed of about 2.4 MB: over the 1 MB limit by more than a factor of two."""
    filler = "A long, perfectly ordinary summary about harbours and ferries. " * 60
    return rss_document(
        [
            f"<item><guid>big-{i}</guid><title>Big {i}</title><description>{filler}</description></item>\n"
            for i in range(600)
        ]
    )


def _gzip_stream(chunks: Iterator[bytes]) -> bytes:
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [out.compress(chunk) for chunk in chunks]
    parts.append(out.flush())
    return b"".join(parts)


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """About 50 KB on the wire, 50 MB once decompressed."""
    return _gzip_stream(itertools.repeat(b"\0" * 1_048_576, 50))


@lru_cache(maxsize=1)
def gzip_xml_bomb() -> bytes:
    """A feed's opening tags followed by 50 MB of spaces inside a title, gzipped."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>bomb</title><item><guid>b</guid><title>'
    return _gzip_stream(itertools.chain([head], itertools.repeat(b" " * 1_048_576, 50)))


@lru_cache(maxsize=1)
def deflate_bomb() -> bytes:
    out = zlib.compressobj(9)
    return b"".join(out.compress(b"\0" * 1_048_576) for _ in range(50)) + out.flush()


@lru_cache(maxsize=1)
def double_gzip_bomb() -> bytes:
    """``Content-Encoding: gzip, gzip``: 200 MB of zeros in about a kilobyte."""
    return gzip.compress(_gzip_stream(itertools.repeat(b"\0" * 1_048_576, 200)), 9)


def quadratic_blowup() -> bytes:
    entity = "x" * 50_000
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "{entity}">]>\n<rss version="2.0"><channel>'
        f"<title>Quadratic</title><item><guid>quad-1</guid><title>Quadratic blowup</title>"
        f"<description>{'&a;' * 50_000}</description></item></channel></rss>"
    ).encode()


def enormous_title() -> bytes:
    title = "An enormous headline about the harbour ferry " + "and the ferry again " * 15_000
    return rss_document(
        [f"<item><guid>huge-title</guid><title>{title}</title><description>{'word ' * 20_000}</description></item>"]
    )


def _cjk(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


def enormous_cjk_guid() -> bytes:
    guid = _cjk(random.Random(1), 20_000)
    return rss_document(
        [f"<item><guid>{guid}</guid><title>人工智能监管新规公布</title><link>https://cjk.example/guid</link></item>"]
    )


def enormous_cjk_link() -> bytes:
    path = _cjk(random.Random(2), 20_000)
    return rss_document([f"<item><title>大模型备案名单更新</title><link>https://cjk.example/{path}</link></item>"])


def nul_characters() -> bytes:
    return rss_document(
        [
            "<item><guid>nul&#0;guid\x00</guid><title>NUL&#0; in the canal\x00 story</title>"
            "<link>https://nul.example/a\x00b</link><description>Body&#0; with\x00 NULs &lt;b&gt;&#0;&lt;/b&gt;</description></item>"
        ],
        "NUL\x00feed",
    )


def deep_nesting() -> bytes:
    depth = 60_000
    return rss_document(
        [
            f"<item><guid>deep-1</guid><title>Deeply nested quarry story</title><description>{'<d>' * depth}text{'</d>' * depth}</description></item>"
        ]
    )


def endless(chunk: bytes) -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>endless</title>'
    for i in itertools.count():
        yield chunk.replace(b"{i}", str(i).encode())


def http_head(extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n{extra}\r\n".encode()


# ---------------------------------------------------------------- the corpus

CASES: list[HostileCase] = [
    # not a feed at all
    HostileCase("html_page", _served("html_page.html", "text/html; charset=utf-8"), clear_error(NOT_A_FEED)),
    HostileCase("json_error_document", _served("json_error.json", "application/json"), clear_error(NOT_A_FEED)),
    HostileCase(
        "empty_body",
        lambda ctx: ctx.route("/empty", Response(200, b"", {"Content-Type": "application/rss+xml"})),
        clear_error(NOT_A_FEED),
    ),
    HostileCase(
        "whitespace_body",
        lambda ctx: ctx.route("/blank", Response(200, b"\n \r\n\t \n", {"Content-Type": "application/rss+xml"})),
        clear_error(NOT_A_FEED),
    ),
    HostileCase(
        "binary_garbage",
        lambda ctx: ctx.route(
            "/garbage", Response(200, random.Random(7).randbytes(65_536), {"Content-Type": "application/octet-stream"})
        ),
        clear_error(NOT_A_FEED),
    ),
    HostileCase("xml_but_not_a_feed", _served("sitemap_not_a_feed.xml", "application/xml"), clear_error(NOT_A_FEED)),
    HostileCase(
        "gzip_file_without_content_encoding",
        lambda ctx: ctx.route(
            "/feed.xml.gz",
            Response(200, gzip.compress((CORPUS / "good.xml").read_bytes()), {"Content-Type": "application/gzip"}),
        ),
        clear_error(NOT_A_FEED),
    ),
    HostileCase(
        "truncated_xml",
        _served("truncated.xml"),
        error_or_parsed(NOT_A_FEED, truncated_items),
    ),
    HostileCase(
        "truncated_transfer",
        lambda ctx: ctx.route(
            "/short",
            Response(
                200,
                iter([(CORPUS / "good.xml").read_bytes()[:500]]),
                {"Content-Type": "application/rss+xml", "Content-Length": "5000"},
            ),
        ),
        clear_error(NETWORK),
    ),
    HostileCase(
        "redirect_loop",
        lambda ctx: ctx.route("/loop", lambda request: Response(302, b"", {"Location": request.path})),
        clear_error(REDIRECTS),
    ),
    # XML attacks
    HostileCase(
        "billion_laughs", _served("billion_laughs.xml"), within(5, error_or_parsed(XML_REFUSED, nothing_expanded))
    ),
    HostileCase(
        "quadratic_blowup",
        lambda ctx: ctx.route("/quadratic", Response(200, quadratic_blowup(), {"Content-Type": "application/rss+xml"})),
        within(5, error_or_parsed(XML_REFUSED, nothing_expanded)),
    ),
    HostileCase("xxe_local_file", _templated("xxe_local_file.xml"), error_or_parsed(XML_REFUSED, no_secret)),
    HostileCase(
        "xxe_url", _templated("xxe_url.xml"), all_of(no_probe_request, error_or_parsed(XML_REFUSED, no_secret))
    ),
    HostileCase(
        "xxe_parameter_entity",
        _templated("xxe_parameter_entity.xml"),
        all_of(no_probe_request, error_or_parsed(XML_REFUSED, no_secret)),
    ),
    HostileCase(
        "external_dtd",
        _templated("external_dtd.xml"),
        all_of(no_probe_request, error_or_parsed(XML_REFUSED, no_secret)),
    ),
    HostileCase(
        "xinclude", _templated("xinclude.xml"), all_of(no_probe_request, error_or_parsed(XML_REFUSED, no_secret))
    ),
    HostileCase(
        "deep_nesting",
        lambda ctx: ctx.route("/deep", Response(200, deep_nesting(), {"Content-Type": "application/rss+xml"})),
        within(10, error_or_parsed(XML_REFUSED + "|" + NOT_A_FEED + "|depth|nest", entries_exactly(1))),
    ),
    # compression
    HostileCase(
        "gzip_bomb",
        lambda ctx: ctx.route(
            "/gzbomb", Response(200, gzip_bomb(), {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})
        ),
        within(5, clear_error(TOO_BIG)),
    ),
    HostileCase(
        "gzip_bomb_inside_xml",
        lambda ctx: ctx.route(
            "/gzxml",
            Response(200, gzip_xml_bomb(), {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}),
        ),
        within(5, clear_error(TOO_BIG)),
    ),
    HostileCase(
        "deflate_bomb",
        lambda ctx: ctx.route(
            "/deflate",
            Response(200, deflate_bomb(), {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"}),
        ),
        within(5, clear_error(TOO_BIG)),
    ),
    HostileCase(
        "double_gzip_bomb",
        lambda ctx: ctx.route(
            "/gzgz",
            Response(
                200, double_gzip_bomb(), {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip, gzip"}
            ),
        ),
        within(5, clear_error(TOO_BIG)),
    ),
    # size
    HostileCase(
        "oversize_declared_length",
        lambda ctx: ctx.route("/big", Response(200, oversize_feed(), {"Content-Type": "application/rss+xml"})),
        clear_error(TOO_BIG),
    ),
    HostileCase(
        "oversize_undeclared_length",
        lambda ctx: ctx.route(
            "/big-stream",
            Response(
                200,
                iter([oversize_feed()[i : i + 65536] for i in range(0, len(oversize_feed()), 65536)]),
                {"Content-Type": "application/rss+xml"},
            ),
        ),
        clear_error(TOO_BIG),
    ),
    HostileCase(
        "endless_body",
        lambda ctx: ctx.route(
            "/endless",
            Response(
                200,
                endless(b"<item><guid>e{i}</guid><title>Endless {i}</title></item>" * 50),
                {"Content-Type": "application/rss+xml"},
            ),
        ),
        within(DEADLINE_S + 2, clear_error(TOO_BIG + "|" + TIMED_OUT)),
    ),
    HostileCase(
        "lying_small_content_length",
        lambda ctx: ctx.raw(
            dribble(http_head("Content-Length: 100\r\n") + (CORPUS / "good.xml").read_bytes(), iter(()), 0.1)
        ),
        error_or_parsed(NOT_A_FEED + "|" + NETWORK, entries_exactly(0)),
    ),
    # time
    HostileCase(
        "one_byte_per_second",
        lambda ctx: ctx.raw(
            dribble(http_head() + b'<?xml version="1.0"?><rss version="2.0"><channel>', itertools.repeat(b" "), 1.0)
        ),
        within(DEADLINE_S + 2, clear_error(TIMED_OUT)),
        env={"FETCH_TIMEOUT_SECONDS": "2.5"},
    ),
    HostileCase(
        "headers_one_byte_per_half_second",
        lambda ctx: ctx.raw(dribble(b"HTTP/1.1 200 OK\r\nX-Padding: ", itertools.repeat(b"a"), 0.5)),
        within(DEADLINE_S + 2, clear_error(TIMED_OUT)),
    ),
    HostileCase("never_answers", lambda ctx: ctx.raw(say_nothing()), within(DEADLINE_S + 2, clear_error(TIMED_OUT))),
    HostileCase(
        "headers_then_silence",
        lambda ctx: ctx.raw(dribble(http_head("Content-Length: 5000\r\n") + b"<?xml", iter(()), 0.1)),
        within(DEADLINE_S + 2, clear_error(TIMED_OUT)),
    ),
    # volume
    HostileCase(
        "ten_thousand_entries",
        lambda ctx: ctx.route("/bulk", Response(200, ten_thousand_entries(), {"Content-Type": "application/rss+xml"})),
        within(60, parsed(entries_exactly(10_000))),
        heavy=True,
        env={"FETCH_MAX_BYTES": str(4 * MAX_BYTES)},
    ),
    # dates
    HostileCase(
        "absurd_dates_rss",
        _served("absurd_dates.xml"),
        parsed(all_of(entries_exactly(12), sane_dates(frozenset({"date-epoch-negative"})))),
    ),
    HostileCase(
        "absurd_dates_atom",
        _served("atom_absurd_dates.xml", "application/atom+xml"),
        parsed(all_of(entries_exactly(5), sane_dates())),
    ),
    # invisible and control characters
    HostileCase(
        "control_characters",
        _served("control_characters.xml"),
        parsed(
            all_of(
                entries_exactly(3),
                no_format_characters(),
                words_kept("harbour report", "ferry timetable", "museum news"),
            )
        ),
    ),
    HostileCase(
        "c1_control_characters",
        _served("c1_controls.xml"),
        parsed(all_of(entries_exactly(2), no_format_characters(), words_kept("tram depot", "bakery story"))),
    ),
    HostileCase(
        "bidi_and_zero_width",
        _served("bidi_zero_width.xml"),
        parsed(
            all_of(
                entries_exactly(4),
                no_format_characters(("title",)),
                words_kept("glass museum", "chess club", "seed library", "night market"),
            )
        ),
    ),
    HostileCase(
        "nul_characters",
        lambda ctx: ctx.route("/nul", Response(200, nul_characters(), {"Content-Type": "application/rss+xml"})),
        parsed(
            all_of(
                entries_exactly(1),
                no_format_characters(("title", "summary", "guid", "url", "summary_html"), ("Cc",)),
                words_kept("canal"),
            )
        ),
    ),
    # charsets
    HostileCase(
        "gbk_declared_as_utf8",
        _served("gbk_declared_utf8.xml"),
        error_or_parsed(NOT_A_FEED + "|charset|encod|decod", exact_chinese(ZH_TITLES)),
    ),
    HostileCase(
        "utf8_declared_as_gbk",
        _served("utf8_declared_gbk.xml"),
        error_or_parsed(NOT_A_FEED + "|charset|encod|decod", exact_chinese(ZH_TITLES)),
    ),
    HostileCase(
        "http_charset_contradicts_document",
        _served("gbk_declared_gbk.xml", "application/rss+xml; charset=utf-8"),
        error_or_parsed(NOT_A_FEED + "|charset|encod|decod", exact_chinese(ZH_TITLES)),
    ),
    HostileCase(
        "gbk_charset_only_in_http_header",
        _served("no_declaration_gbk.xml", "application/rss+xml; charset=GBK"),
        parsed(exact_chinese(ZH_TITLES)),
    ),
    HostileCase("gbk_declared", _served("gbk_declared_gbk.xml"), parsed(exact_chinese(ZH_TITLES))),
    HostileCase("gb18030_declared", _served("gb18030_declared.xml"), parsed(exact_chinese(ZH_TITLES))),
    HostileCase("big5_declared", _served("big5_declared.xml"), parsed(exact_chinese(ZH_HANT_TITLES))),
    HostileCase("utf16_with_bom", _served("utf16_bom.xml", "application/xml"), parsed(exact_chinese(ZH_TITLES))),
    # duplicates and sizes
    HostileCase("duplicate_guids", _served("duplicate_guids.xml"), parsed(entries_exactly(2))),
    HostileCase(
        "duplicate_links_without_guid",
        _served("duplicate_links_no_guid.xml"),
        parsed(entries_exactly(1, "Beekeepers count a strong spring for wild pollinators")),
    ),
    HostileCase(
        "enormous_title",
        lambda ctx: ctx.route("/huge-title", Response(200, enormous_title(), {"Content-Type": "application/rss+xml"})),
        parsed(all_of(entries_exactly(1), titles_capped(2000))),
    ),
    HostileCase(
        "enormous_cjk_guid",
        lambda ctx: ctx.route("/cjk-guid", Response(200, enormous_cjk_guid(), {"Content-Type": "application/rss+xml"})),
        parsed(entries_exactly(1, "人工智能监管新规公布")),
    ),
    HostileCase(
        "enormous_cjk_link",
        lambda ctx: ctx.route("/cjk-link", Response(200, enormous_cjk_link(), {"Content-Type": "application/rss+xml"})),
        parsed(entries_exactly(1, "大模型备案名单更新")),
    ),
]


def case_params() -> list:
    """One ``pytest.param`` per case, for ``pytest.mark.parametrize``."""
    import pytest

    return [pytest.param(case, id=case.name, marks=[pytest.mark.slow] if case.heavy else []) for case in CASES]
