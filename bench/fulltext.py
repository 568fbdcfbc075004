"""How long does full-text extraction take per page, and how often does the page change the verdict?

Serves article pages (English; Chinese in UTF-8, in GBK, and GBK declaring UTF-8) from a local HTTP
server, and for each headline runs the same decision as the poll (``services.poll.fetch_full_texts``):
score the feed text, fetch the page only when ``wants_full_text`` says so (feed setting auto), then
re-score with the extracted text. Each page is fetched ``BENCH_RUNS`` times (default 5; robots.txt is
cached after the first). Prints per page the median fetch+extraction time and the two verdicts, and
last one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.enums import FullTextMode  # noqa: E402
from services.classify.verdicts import score_article  # noqa: E402
from services.ingest.fulltext import fetch_full_text, one_sided, wants_full_text  # noqa: E402
from services.settings import Settings  # noqa: E402
from tests.support.http import LocalHTTPServer, Response  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))

EN_POLICY = (
    "The regulator said providers of generative artificial intelligence services must file their large language "
    "models before offering them to the public, and label synthetic images and video. Beijing-based start-ups and "
    "the big platforms of Hangzhou and Shenzhen have until March to comply, officials told a briefing. "
) * 4
EN_LAB = (
    "The Hangzhou company published the weights of its reasoning model under an open licence and said training "
    "used domestic accelerators. Chinese developers downloaded it more than a million times in a week, and rivals "
    "in Beijing cut the price of their own large language model APIs in response. "
) * 4
EN_SPORT = (
    "The home side scored twice in the second half and the visitors missed a late penalty. The manager praised "
    "the crowd and said the squad would rest key players before the cup tie next weekend. "
) * 4
ZH_POLICY = (
    "工业和信息化部印发通知，要求各地加快算力基础设施建设，推动大模型在制造业中的应用。通知提出，到明年底，"
    "重点行业培育一批人工智能应用示范项目，并加强数据安全和算法备案管理。"
) * 4
ZH_WEATHER = (
    "受冷空气影响，本周北方大部地区气温明显下降，局地有大风降温天气。气象部门提醒市民注意添衣保暖，出行注意交通安全。"
) * 4
NAV = "<nav><a href='/'>首页 Home</a> <a href='/about'>About</a></nav>"


def html(title: str, body: str, charset: str = "utf-8") -> str:
    sep = "。" if "。" in body else ". "
    paragraphs = "".join(f"<p>{p}{sep.strip()}</p>" for p in body.split(sep) if p.strip())
    return (
        f"<!DOCTYPE html><html><head><meta charset='{charset}'><title>{title}</title></head><body>{NAV}"
        f"<article><h1>{title}</h1>{paragraphs}</article><footer>Footer links</footer></body></html>"
    )


# path -> (headline the feed gives, language, body bytes, Content-Type)
PAGES: dict[str, tuple[str, str, bytes, str]] = {
    "/en/regulator-notice": (
        "Cyberspace Administration publishes a notice",
        "en",
        html("Notice", EN_POLICY).encode(),
        "text/html; charset=utf-8",
    ),
    "/en/open-weights": (
        "Start-up releases open weights of a reasoning model",
        "en",
        html("Weights", EN_LAB).encode(),
        "text/html; charset=utf-8",
    ),
    "/en/ai-rules": (
        "New rules for generative AI services",
        "en",
        html("Rules", EN_POLICY).encode(),
        "text/html; charset=utf-8",
    ),
    "/en/match": ("Beijing Guoan win at home", "en", html("Match", EN_SPORT).encode(), "text/html; charset=utf-8"),
    "/zh/miit-utf8": ("工信部印发通知", "zh", html("通知", ZH_POLICY).encode(), "text/html; charset=utf-8"),
    "/zh/miit-gbk": ("工信部发布新通知", "zh", html("通知", ZH_POLICY, "gbk").encode("gbk"), "text/html; charset=gbk"),
    "/zh/miit-lying": (
        "工信部再发通知",
        "zh",
        html("通知", ZH_POLICY, "utf-8").encode("gbk"),
        "text/html; charset=utf-8",
    ),
    "/zh/weather": ("北京发布寒潮预警", "zh", html("天气", ZH_WEATHER).encode(), "text/html; charset=utf-8"),
    "/en/bakery": (
        "Local bakery wins a sourdough prize",
        "en",
        html("Bread", EN_SPORT).encode(),
        "text/html; charset=utf-8",
    ),
}


def main() -> None:
    server = LocalHTTPServer().start()
    server.routes["/robots.txt"] = Response(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    for path, (_, _, body, content_type) in PAGES.items():
        server.routes[path] = Response(200, body, {"Content-Type": content_type})
    settings = Settings(FETCH_ALLOWED_NETWORKS="127.0.0.0/8", FETCH_PER_HOST_GAP_SECONDS="0")
    fetched = changed = 0
    times_ms: list[float] = []
    try:
        for path, (headline, lang, _, _) in PAGES.items():
            before = score_article(headline, "", lang)
            if not wants_full_text(
                FullTextMode.AUTO, "", before.score, half_evidence=one_sided(before.reasons, before.relevant)
            ):
                print(f"{path:22} not fetched: headline {before.score:.2f} is clear ({before.reasons[:2]})")
                continue
            runs = [fetch_full_text(server.url(path), settings) for _ in range(RUNS)]
            if not runs[-1].ok:
                print(f"{path:22} failed: {runs[-1].error}")
                continue
            fetched += 1
            page_ms = statistics.median(r.seconds for r in runs[1:] or runs) * 1000
            times_ms.append(page_ms)
            after = score_article(headline, runs[-1].text or "", lang)
            changed += after.relevant != before.relevant
            print(
                f"{path:22} {page_ms:6.1f} ms, {len(runs[-1].text or ''):4} chars; "
                f"headline {before.score:.2f} {before.relevant} -> with page {after.score:.2f} {after.relevant}"
            )
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "bench": "fulltext",
                "pages": len(PAGES),
                "fetched": fetched,
                "verdict_changed": changed,
                "median_ms_per_page": round(statistics.median(times_ms), 1) if times_ms else None,
                "max_ms_per_page": round(max(times_ms), 1) if times_ms else None,
            }
        )
    )


if __name__ == "__main__":
    main()
