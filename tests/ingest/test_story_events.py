"""Stories across outlets and languages, through the real pipeline: `cnai poll` against a local feed server.

One event reported by several outlets (in English and Chinese, in their own words) is one
story and one alert, which says how many outlets reported it and who was first; an outlet
joining later adds to the story's coverage and sends nothing. A different development about
the same company, and a different version of the same model, stay apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.http import LocalHTTPServer, Response, SlackStandIn

CNAI = str(Path(sys.executable).with_name("cnai"))
NOW = datetime.now(timezone.utc)

# (title, description, hours before now): written for this test.
LAUNCH_WIRE = (
    "Zhipu AI open-sources GLM-5, a model with 200 billion parameters",
    "The Beijing lab said the weights are free for commercial use and the model leads open rivals on coding tests.",
    3.0,
)
LAUNCH_ZH = (
    "智谱开源GLM-5大模型 参数规模达2000亿",
    "北京智谱公司表示，新模型权重可免费商用，在编程测试中领先其他开源模型。",
    2.5,
)
LAUNCH_LATE = (
    "Zhipu releases open-weight GLM-5 with 200B parameters",
    "The model from the Tsinghua spin-off can be downloaded from Hugging Face under a permissive licence.",
    1.0,
)
FUNDING = (
    "Zhipu AI raises 3 billion yuan in a new funding round",
    "The Beijing AI start-up plans to spend the money on computing power for training.",
    2.8,
)
OLD_VERSION = (
    "Zhipu AI releases GLM-4.5 reasoning model for agents",
    "The earlier model in the series targets tool use and long tasks.",
    2.7,
)


def rss(name: str, items: list[tuple[str, str, float]]) -> bytes:
    body = "".join(
        f"<item><guid>{name}-{n}</guid><link>https://{name}.example/news/{n}</link><title>{title}</title>"
        f"<description>{summary}</description><pubDate>{format_datetime(NOW - timedelta(hours=hours))}</pubDate></item>"
        for n, (title, summary, hours) in enumerate(items)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title>{body}</channel></rss>'.encode()


def _cnai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([CNAI, *args], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result


def test_a_second_outlet_joining_later_sends_no_second_alert_and_the_alert_counts_outlets(
    tmp_path: Path, http_server: LocalHTTPServer, slack: SlackStandIn
) -> None:
    database = f"sqlite:///{tmp_path / 'stories.db'}"
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "SMTP_", "SENTRY_", "DATABASE_", "ALERT_"))
        },
        "DATABASE_URL": database,
        "SLACK_WEBHOOK_URL": slack.url,
        "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "FETCH_PER_HOST_GAP_SECONDS": "0",
    }
    http_server.routes["/wire.xml"] = Response(
        200, rss("wirenews", [LAUNCH_WIRE, FUNDING]), {"Content-Type": "application/rss+xml"}
    )
    http_server.routes["/zh.xml"] = Response(
        200, rss("keji", [LAUNCH_ZH, OLD_VERSION]), {"Content-Type": "application/rss+xml"}
    )
    _cnai(env, "db", "upgrade")
    _cnai(env, "feeds", "add", http_server.url("/wire.xml"))
    _cnai(env, "feeds", "add", http_server.url("/zh.xml"))

    _cnai(env, "poll")
    launch_alerts = [m for m in slack.accepted if "GLM-5" in str(m)]
    assert len(launch_alerts) == 1, f"one alert for the launch reported by two outlets, got {len(launch_alerts)}"
    assert "reported by 2 outlets (first: wirenews" in str(launch_alerts[0])
    sent_before = len(slack.accepted)

    http_server.routes["/late.xml"] = Response(
        200, rss("latewire", [LAUNCH_LATE]), {"Content-Type": "application/rss+xml"}
    )
    _cnai(env, "feeds", "add", http_server.url("/late.xml"))
    _cnai(env, "poll")
    assert len(slack.accepted) == sent_before, "an outlet joining an alerted story sends nothing"

    engine = create_engine(database)
    with engine.connect() as conn:
        story_of = dict(conn.execute(text("SELECT url, story_id FROM articles")).all())
        launch = {story_of[f"https://{name}.example/news/0"] for name in ("wirenews", "keji", "latewire")}
        assert len(launch) == 1, "English and Chinese coverage of the launch is one story"
        assert story_of["https://wirenews.example/news/1"] not in launch, "funding news is another development"
        assert story_of["https://keji.example/news/1"] not in launch, "another version is another story"
        outlets, languages, first = conn.execute(
            text("SELECT outlet_count, languages, first_outlet FROM stories WHERE id = :id"), {"id": launch.pop()}
        ).one()
    engine.dispose()
    assert (outlets, languages, first) == (3, "en,zh-Hans", "wirenews")
