"""Full text for thin items: fetch the article page through the guarded fetcher, extract its main text.

A feed that gives only a title (many RSSHub routes, Chinese wires) leaves the classifier a headline.
``wants_full_text`` decides when a page is worth fetching (per-feed ``full_text: auto|always|never``;
``auto`` only for short feed text and an uncertain verdict, never for items already clearly relevant or
clearly irrelevant). ``fetch_full_text`` fetches with the feed fetcher's rules (SSRF checks at every
redirect, size and time limits, per-host politeness, the User-Agent), honours robots.txt, waits no longer
than FULL_TEXT_MAX_WAIT_SECONDS, decodes GBK and lying charsets like feeds, and extracts with trafilatura.
Failures are recorded per host (``failures_by_host``). Called by the poll pipeline (``services.poll.fetch_full_texts``) before an article is stored.
"""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from db.enums import FullTextMode
from services.ingest.charset import decode_document
from services.ingest.fetch import FetchError, build_client, fetch_feed
from services.ingest.politeness import HostLimiter, host_limiter
from services.settings import Settings

#: Feed text shorter than this (characters) counts as thin.
THIN_TEXT_CHARS = 200
#: Verdict scores in this band are uncertain; outside it the item is clearly relevant or irrelevant.
UNCERTAIN_SCORES = (0.25, 0.75)
#: Pages larger than this are not parsed for text even when the fetch limit allows them.
MAX_PAGE_BYTES = 2 * 1024 * 1024
ROBOTS_TTL_S = 3600.0


@dataclass(frozen=True)
class FullText:
    url: str
    text: str | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


_robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None]] = {}
_lock = threading.Lock()
failures_by_host: Counter[str] = Counter()


#: Reasons the scorer gives when one of the two legs of relevance (an AI term, a China link) is missing
#: entirely (services/classify/scorer.py ``_explain``).
NO_AI_REASON = "no AI term found"
NO_CHINA_REASON = "no China link found"


def one_sided(reasons: Sequence[str], relevant: bool) -> bool:
    """An irrelevant verdict with half the evidence: an AI term but no China link, or the reverse.

    The lexicon multiplies the two legs, so a headline naming only a Chinese regulator, or only an
    AI term, scores 0 although its body may well supply the missing half: uncertain, not clearly
    irrelevant. A verdict missing both legs is clearly irrelevant.
    """
    if relevant:
        return False
    missing = {NO_AI_REASON, NO_CHINA_REASON} & set(reasons)
    return len(missing) == 1


def is_thin(feed_text: str) -> bool:
    """Feed text too short to judge an article by (``auto`` feeds fetch the page only for these)."""
    return len(feed_text.strip()) < THIN_TEXT_CHARS


def wants_full_text(
    mode: FullTextMode, feed_text: str, score: float, *, title_only_feed: bool = False, half_evidence: bool = False
) -> bool:
    """Whether to fetch the page: always/never as configured; auto for thin text and an uncertain verdict
    (a score within UNCERTAIN_SCORES, or ``half_evidence``: see ``one_sided``)."""
    if mode is FullTextMode.NEVER:
        return False
    if mode is FullTextMode.ALWAYS:
        return True
    low, high = UNCERTAIN_SCORES
    thin = title_only_feed or is_thin(feed_text)
    return thin and (low <= score <= high or (half_evidence and score < low))


def _robots_for(
    url: str, settings: Settings, client: httpx.Client, limiter: HostLimiter
) -> urllib.robotparser.RobotFileParser | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    now = time.monotonic()
    with _lock:
        cached = _robots.get(origin)
        if cached and now - cached[0] < ROBOTS_TTL_S:
            return cached[1]
    parser: urllib.robotparser.RobotFileParser | None = urllib.robotparser.RobotFileParser()
    try:
        result = fetch_feed(origin + "/robots.txt", settings, client=client, limiter=limiter)
        if result.status >= 400:
            parser = None  # no robots.txt: everything allowed
        else:
            parser.parse(decode_document(result.body, result.content_type).text.splitlines())  # type: ignore[union-attr]
    except FetchError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            parser = None
        else:
            raise
    with _lock:
        _robots[origin] = (now, parser)
    return parser


def fetch_full_text(
    url: str,
    settings: Settings,
    *,
    max_wait_s: float | None = None,
    client: httpx.Client | None = None,
    limiter: HostLimiter | None = None,
) -> FullText:
    """The main text of the page at ``url``, or an error saying why not; never raises for a bad page."""
    import trafilatura

    began = time.monotonic()
    wait = settings.full_text_max_wait_s if max_wait_s is None else max_wait_s
    bounded = settings.model_copy(
        update={
            "fetch_deadline_s": min(settings.fetch_deadline_s, wait),
            "fetch_timeout_s": min(settings.fetch_timeout_s, wait),
            "fetch_max_bytes": min(settings.fetch_max_bytes, MAX_PAGE_BYTES),
        }
    )
    own_client = client is None
    client = client or build_client(bounded, max_connections=4)
    limiter = limiter or host_limiter(settings.fetch_per_host_concurrency, settings.fetch_per_host_gap_s)
    host = urlsplit(url).hostname or "?"
    result = FullText(url, None, 0.0)
    try:
        robots = _robots_for(url, bounded, client, limiter)
        if robots is not None and not robots.can_fetch(settings.fetch_user_agent, url):
            result = FullText(url, None, 0.0, "robots.txt forbids it")
        else:
            left = wait - (time.monotonic() - began)  # robots.txt and the page share one wait
            if left <= 0:
                raise FetchError(f"timed out: no time left for {url} after robots.txt")
            page_settings = bounded.model_copy(
                update={
                    "fetch_deadline_s": min(bounded.fetch_deadline_s, left),
                    "fetch_timeout_s": min(bounded.fetch_timeout_s, left),
                }
            )
            page = fetch_feed(url, page_settings, client=client, limiter=limiter)
            html = decode_document(page.body, page.content_type).text
            text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
            result = FullText(
                url,
                text.strip() if text and text.strip() else None,
                0.0,
                None if text and text.strip() else "no main text found",
            )
    except FetchError as exc:
        result = FullText(url, None, 0.0, exc.reason)
    except Exception as exc:  # noqa: BLE001 - trafilatura/lxml on a hostile page: never break the caller's poll
        result = FullText(url, None, 0.0, f"extraction failed: {type(exc).__name__}")
    finally:
        if own_client:
            client.close()
    if result.error is not None:
        with _lock:
            failures_by_host[host] += 1
    return replace(result, seconds=time.monotonic() - began)
