"""Full text for thin items (services/ingest/fulltext.py) against real article pages served locally:
English and Chinese (GBK, and a page whose declared charset lies), a page that times out, a page too
large, a redirect to a private address and a robots.txt that forbids the page."""

from __future__ import annotations

import time

import pytest

from services.classify.verdicts import score_article
from services.ingest.fulltext import FullTextMode, failures_by_host, fetch_full_text, wants_full_text
from services.settings import Settings
from tests.support.http import LocalHTTPServer, Response

EN_BODY = " ".join(
    [
        "The Cyberspace Administration of China on Tuesday published draft measures for labelling content made by",
        "generative artificial intelligence services, including large language models offered to the public.",
        "Providers would have to add visible marks to synthetic text, images and video and keep logs for six months.",
        "The draft is open for comment for thirty days, the regulator said in a notice on its website.",
        "Companies such as Baidu, Alibaba and Zhipu have already filed more than a hundred models for approval",
        "under the interim measures for generative AI services that took effect last year.",
    ]
    * 3
)
ZH_BODY = (
    "国家网信办发布《人工智能生成合成内容标识办法（征求意见稿）》，要求提供生成式人工智能服务的企业对大模型生成的文本、"
    "图片和视频添加显式标识，并保存日志不少于六个月。征求意见截止日期为下月底。业内人士表示，"
    "该办法将影响百度、阿里巴巴、智谱等已备案大模型的产品设计。"
) * 3
NAV = "<nav><a href='/'>Home</a> <a href='/about'>About</a> <a href='/contact'>Contact</a></nav>"


def page(title: str, body: str, charset_meta: str = "utf-8") -> str:
    paragraphs = "".join(f"<p>{part}</p>" for part in body.split("。") if part) if "。" in body else f"<p>{body}</p>"
    return (
        f"<!DOCTYPE html><html><head><meta charset='{charset_meta}'><title>{title}</title></head><body>{NAV}"
        f"<article><h1>{title}</h1>{paragraphs}</article><footer>Copyright example.</footer></body></html>"
    )


@pytest.fixture
def settings() -> Settings:
    return Settings(
        FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        FETCH_PER_HOST_GAP_SECONDS="0",  # type: ignore[call-arg]
        FULL_TEXT_MAX_WAIT_SECONDS="2",
    )


@pytest.fixture
def site(http_server: LocalHTTPServer) -> LocalHTTPServer:
    html = {"Content-Type": "text/html; charset=utf-8"}
    http_server.routes["/robots.txt"] = Response(
        200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}
    )
    http_server.routes["/en/labelling"] = Response(
        200, page("Draft rules on labelling AI content", EN_BODY).encode(), html
    )
    http_server.routes["/zh/gbk"] = Response(
        200, page("标识办法征求意见", ZH_BODY, "gbk").encode("gbk"), {"Content-Type": "text/html; charset=gbk"}
    )
    http_server.routes["/zh/lying"] = Response(200, page("标识办法征求意见", ZH_BODY, "utf-8").encode("gbk"), html)
    http_server.routes["/slow"] = Response(200, page("Slow", EN_BODY).encode(), html, delay_s=6)
    http_server.routes["/huge"] = Response(200, page("Huge", EN_BODY * 3000).encode(), html)
    http_server.routes["/to-private"] = Response(302, b"", {"Location": "http://10.255.255.1/article"})
    http_server.routes["/private/article"] = Response(200, page("Hidden", EN_BODY).encode(), html)
    return http_server


def test_english_and_chinese_pages_are_extracted_without_navigation(site: LocalHTTPServer, settings: Settings) -> None:
    english = fetch_full_text(site.url("/en/labelling"), settings)
    assert english.ok and english.text and "visible marks to synthetic text" in english.text
    assert "Contact" not in english.text and "Copyright" not in english.text
    for path in ("/zh/gbk", "/zh/lying"):
        chinese = fetch_full_text(site.url(path), settings)
        assert chinese.ok and chinese.text and "生成式人工智能服务" in chinese.text, (path, chinese)
        assert "\ufffd" not in chinese.text, f"{path}: mojibake"
    user_agents = {r.headers.get("user-agent") for r in site.requests}
    assert user_agents == {settings.fetch_user_agent}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/slow", "timed out"),
        ("/huge", "exceeds the limit"),
        ("/to-private", "10.255.255.1"),
        ("/private/article", "robots.txt forbids it"),
    ],
)
def test_bad_pages_fail_fast_with_a_reason_and_are_counted_per_host(
    site: LocalHTTPServer, settings: Settings, path: str, reason: str
) -> None:
    before = failures_by_host["127.0.0.1"]
    began = time.monotonic()
    result = fetch_full_text(site.url(path), settings)
    took = time.monotonic() - began
    assert not result.ok and result.error and reason in result.error, result
    assert took < settings.full_text_max_wait_s + 2, f"waited {took:.1f}s"
    assert failures_by_host["127.0.0.1"] == before + 1
    if path == "/private/article":
        assert not any(r.path == "/private/article" for r in site.requests), "robots.txt must be read before the page"


def test_full_text_is_wanted_only_for_thin_uncertain_items() -> None:
    assert wants_full_text(FullTextMode.AUTO, "短标题", 0.5)
    assert not wants_full_text(FullTextMode.AUTO, "短标题", 0.95), "clearly relevant: no fetch"
    assert not wants_full_text(FullTextMode.AUTO, "短标题", 0.02), "clearly irrelevant: no fetch"
    assert not wants_full_text(FullTextMode.AUTO, "x" * 500, 0.5), "the feed gave enough text"
    assert wants_full_text(FullTextMode.AUTO, "x" * 500, 0.5, title_only_feed=True)
    assert wants_full_text(FullTextMode.ALWAYS, "x" * 500, 0.99)
    assert not wants_full_text(FullTextMode.NEVER, "", 0.5)


def test_measure_extraction_time_and_verdict_changes(site: LocalHTTPServer, settings: Settings) -> None:
    """Prints, per page, extraction time and the verdict on the headline alone versus with the full text."""
    pages = {
        "/en/labelling": ("New draft measures published", "en"),
        "/zh/gbk": ("网信办发布征求意见稿", "zh"),
        "/zh/lying": ("网信办发布征求意见稿", "zh"),
    }
    changed = 0
    for path, (headline, lang) in pages.items():
        result = fetch_full_text(site.url(path), settings)
        assert result.ok
        alone = score_article(headline, "", lang)
        full = score_article(headline, result.text or "", lang)
        changed += alone.relevant != full.relevant
        print(
            f"{path}: {result.seconds * 1000:.0f} ms, {len(result.text or '')} chars; "
            f"headline {alone.score:.2f} ({alone.relevant}) -> with text {full.score:.2f} ({full.relevant})"
        )
        assert full.score >= alone.score
    print(f"verdict changed on {changed} of {len(pages)} pages")
    assert changed >= 1, "the extracted text should decide at least one headline-only item"
