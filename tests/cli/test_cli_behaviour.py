"""The command line as a user meets it, through the installed `cnai` executable: bad settings, a database that is
missing, unreachable or unmigrated, malformed files, failed feeds, tables and JSON, confirmations, subscriptions that
could never match, labels by the ids `alerts show` prints, and classify/eval input errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from cli.output import display_width
from tests.support.http import LocalHTTPServer, Response
from tests.support.services import TEST_DATABASE_URL

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
CNAI = str(Path(sys.executable).with_name("cnai"))
SCRUBBED = ("SLACK_", "SMTP_", "SENTRY_", "DATABASE_", "ALERT_", "LOG_", "REDIS_", "CELERY_", "POLL_", "FETCH_")


def cnai(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real executable in a process of its own; no terminal (stdin is a pipe), PYTHONPATH passed through."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    return subprocess.run(
        [CNAI, *args], env={**base, **env}, capture_output=True, text=True, timeout=120, input=stdin or ""
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line on stderr of a failed command, checked to be no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database, made by `cnai db upgrade`."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
        "FETCH_PER_HOST_GAP_SECONDS": "0",
        "ALERT_BACKFILL_HOURS": "1000000",
    }  # the sample feeds are from 2023: alert them on a feed's first poll
    upgraded = cnai(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    return env


@pytest.mark.parametrize(
    ("variables", "named", "command"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", ("feeds", "list")),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", ("classify",)),
        ({"REDIS_URL": "foo://bar"}, "REDIS_URL", ("alerts", "list")),
        (
            {"POLL_MIN_INTERVAL_SECONDS": "7200", "POLL_MAX_INTERVAL_SECONDS": "600"},
            "POLL_MIN_INTERVAL_SECONDS",
            ("poll",),
        ),
        ({"DATABASE_URL": "mysql://db.example/cnai"}, "DATABASE_URL", ("db", "upgrade")),
        ({"CELERY_BROKER_URL": "carrier-pigeon://loft"}, "CELERY_BROKER_URL", ("subscriptions", "list")),
    ],
)
def test_a_bad_setting_stops_every_command_with_one_line_naming_it(
    tmp_path: Path, variables: dict[str, str], named: str, command: tuple[str, ...]
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **variables}
    result = cnai(env, *command)
    assert result.returncode == 2
    line = one_clear_line(result)
    assert named in line, line


def test_log_level_is_case_insensitive(tmp_path: Path) -> None:
    result = cnai({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "LOG_LEVEL": "debug"}, "classify", stdin="")
    assert result.returncode == 0, result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [("feeds", "list"), ("poll",), ("db", "upgrade")],
)
def test_missing_and_unreachable_postgres_databases_are_one_line(command: tuple[str, ...]) -> None:
    missing = (
        make_url(TEST_DATABASE_URL).set(database="cnai_cli_no_such_database").render_as_string(hide_password=False)
    )
    line = one_clear_line(cnai({"DATABASE_URL": missing}, *command))
    assert "cnai_cli_no_such_database" in line and "does not exist" in line and "cnai db upgrade" in line, line
    closed = make_url(TEST_DATABASE_URL).set(port=_free_port()).render_as_string(hide_password=False)
    line = one_clear_line(cnai({"DATABASE_URL": closed}, *command))
    assert "cannot reach" in line and "DATABASE_URL" in line, line


@pytest.mark.parametrize(
    "command",
    [
        ("feeds", "add", "--no-discover", "https://feeds.example/rss"),
        ("alerts", "show", "1"),
        ("subscriptions", "list"),
        ("poll",),
        ("label", "1", "relevant"),
        ("health",),
    ],
)
def test_an_unmigrated_database_says_run_cnai_db_upgrade(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = cnai({"DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.db'}"}, *command)
    if command == ("health",):  # the health table reports it as one of its rows
        assert result.returncode == 1 and "Traceback" not in result.stderr
        return
    line = one_clear_line(result)
    assert "run `cnai db upgrade`" in line, line


def test_a_malformed_yaml_feed_list_names_the_file_and_line(db: dict[str, str], tmp_path: Path) -> None:
    listing = tmp_path / "feeds.yaml"
    listing.write_text("feeds:\n  - url: https://one.example/rss\n  - url: [https://two.example/rss\n    title: two\n")
    line = one_clear_line(cnai(db, "feeds", "import", str(listing)))
    assert f"{listing}:" in line and "not valid YAML" in line, line
    assert line.split(f"{listing}:")[1].split(":")[0].isdigit(), line


def test_a_malformed_subscriptions_file_names_the_file_and_line(db: dict[str, str], tmp_path: Path) -> None:
    listing = tmp_path / "subscriptions.yaml"
    listing.write_text("subscriptions:\n  - name: desk\n    channels: [console\n  - name: other\n")
    line = one_clear_line(cnai(db, "subscriptions", "load", str(listing)))
    assert f"{listing}:" in line and "not valid YAML" in line, line
    assert line.split(f"{listing}:")[1].split(":")[0].isdigit(), line


def test_opml_import_adds_the_good_entries_and_names_the_bad_one(db: dict[str, str], tmp_path: Path) -> None:
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body><outline text="Policy">'
        '<outline text="Ministry notices" xmlUrl="https://ministry.example/rss"/>'
        '<outline text="Desk mailbox" xmlUrl="mailto:desk@example.org"/>'
        '<outline text="Lab blog" xmlUrl="https://lab.example/atom.xml"/></outline></body></opml>',
        encoding="utf-8",
    )
    result = cnai(db, "feeds", "import", str(opml))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "2 new" in result.stdout and "1 skipped" in result.stdout, result.stdout
    assert result.stderr.count("Desk mailbox") == 1 and "mailto:desk@example.org" in result.stderr, result.stderr
    urls = {row["url"] for row in json.loads(cnai(db, "feeds", "list", "--format", "json").stdout)}
    assert urls == {"https://ministry.example/rss", "https://lab.example/atom.xml"}


def test_yaml_import_lists_each_bad_entry_with_its_line(db: dict[str, str], tmp_path: Path) -> None:
    listing = tmp_path / "feeds.yaml"
    listing.write_text(
        "feeds:\n  - url: https://one.example/rss\n  - title: no address\n  - url: gopher://old.example/\n"
    )
    result = cnai(db, "feeds", "import", str(listing))
    assert result.returncode == 1 and "1 new" in result.stdout
    assert f"{listing}:3" in result.stderr and f"{listing}:4" in result.stderr, result.stderr


def test_poll_exits_non_zero_and_lists_each_failure_once(db: dict[str, str], http_server: LocalHTTPServer) -> None:
    good = http_server.serve_file("/good.xml", SAMPLES / "customer_seeds.xml")
    http_server.routes["/gone.xml"] = Response(404, b"no such feed")
    broken = http_server.url("/gone.xml")
    for url in (good, broken):
        assert cnai(db, "feeds", "add", "--no-discover", url).returncode == 0
    result = cnai(db, "poll")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert (result.stdout + result.stderr).count("/gone.xml") == 1, result.stderr
    assert "HTTP 404" in result.stderr
    assert "1 of 2 feed(s) failed" in result.stderr
    assert "(1 failed)" in result.stdout


def _table(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_feeds_list_is_a_table_by_id_aligned_by_display_width(db: dict[str, str]) -> None:
    for url, title in (("https://b.example/rss", "网信办人工智能政策速递"), ("https://a.example/rss", "Plain title")):
        assert cnai(db, "feeds", "add", "--no-discover", url, "--title", title).returncode == 0
    lines = _table(cnai(db, "feeds", "list").stdout)
    assert lines[0].split()[:3] == ["ID", "TITLE", "FOLDER"]
    assert [line.split()[0] for line in lines[1:3]] == ["1", "2"]
    url_columns = {display_width(line[: line.index("https://")]) for line in lines[1:3]}
    header_column = display_width(lines[0][: lines[0].index("URL")])
    assert url_columns == {header_column}, lines


def test_every_list_and_show_command_speaks_json(db: dict[str, str], http_server: LocalHTTPServer) -> None:
    feed = http_server.serve_file("/feed.xml", SAMPLES / "customer_seeds.xml")
    assert cnai(db, "feeds", "add", "--no-discover", feed).returncode == 0
    assert cnai(db, "poll").returncode == 0
    feeds = json.loads(cnai(db, "feeds", "list", "--format", "json").stdout)
    alerts = json.loads(cnai(db, "alerts", "list", "--format", "json").stdout)
    subscriptions = json.loads(cnai(db, "subscriptions", "list", "--format", "json").stdout)
    assert feeds[0]["url"] == feed and feeds[0]["health"] == "ok"
    assert alerts and all({"id", "status", "article_id", "story_id"} <= set(a) for a in alerts)
    assert [a["id"] for a in alerts] == sorted((a["id"] for a in alerts), reverse=True)
    assert subscriptions[0]["name"] == "default"
    shown = json.loads(cnai(db, "alerts", "show", str(alerts[0]["id"]), "--format", "json").stdout)
    assert shown["id"] == alerts[0]["id"] and shown["article_id"] == alerts[0]["article_id"]
    assert shown["deliveries"][0]["status"] == "sent"


def test_alerts_show_prints_the_ids_cnai_label_takes(db: dict[str, str], http_server: LocalHTTPServer) -> None:
    feed = http_server.serve_file("/feed.xml", SAMPLES / "customer_seeds.xml")
    assert cnai(db, "feeds", "add", "--no-discover", feed).returncode == 0
    assert cnai(db, "poll").returncode == 0
    table = _table(cnai(db, "alerts", "list").stdout)
    assert table[0].split()[:2] == ["ID", "CREATED"]
    alert_id = table[1].split()[0]
    shown = cnai(db, "alerts", "show", alert_id).stdout
    ids = next(line for line in shown.splitlines() if line.startswith("Article: "))
    article_id, story_id = ids.split()[1], ids.split()[4]
    assert article_id.isdigit() and story_id.isdigit(), ids
    labelled = cnai(db, "label", article_id, "relevant")
    assert labelled.returncode == 0 and f"article {article_id} labelled relevant" in labelled.stdout
    story = cnai(db, "label", f"story:{story_id}", "irrelevant")
    assert story.returncode == 0 and f"story {story_id} labelled irrelevant" in story.stdout, story.stderr
    line = one_clear_line(cnai(db, "label", "999999", "relevant"))
    assert "no article with id 999999" in line
    line = one_clear_line(cnai(db, "label", "story:999999", "relevant"))
    assert "no story with id 999999" in line


def test_feeds_disable_and_confirmed_removal(db: dict[str, str]) -> None:
    assert cnai(db, "feeds", "add", "--no-discover", "https://quiet.example/rss").returncode == 0
    disabled = cnai(db, "feeds", "disable", "1", "--reason", "seasonal")
    assert disabled.returncode == 0 and "disabled feed 1" in disabled.stdout
    assert json.loads(cnai(db, "feeds", "list", "--format", "json").stdout)[0]["disabled_reason"] == "seasonal"
    refused = cnai(db, "feeds", "remove", "1")
    assert refused.returncode == 2 and "--yes" in one_clear_line(refused)
    assert len(json.loads(cnai(db, "feeds", "list", "--format", "json").stdout)) == 1
    removed = cnai(db, "feeds", "remove", "1", "--yes")
    assert removed.returncode == 0 and json.loads(cnai(db, "feeds", "list", "--format", "json").stdout) == []
    assert "--yes" in one_clear_line(cnai(db, "db", "downgrade", "base"))
    assert cnai(db, "subscriptions", "add", "desk", "--channel", "console:stdout").returncode == 0
    assert "--yes" in one_clear_line(cnai(db, "subscriptions", "remove", "desk"))
    assert "desk" in cnai(db, "subscriptions", "list").stdout


def test_subscriptions_refuse_what_could_never_match(db: dict[str, str]) -> None:
    base = ("subscriptions", "add", "desk", "--channel", "console:stdout")
    line = one_clear_line(cnai(db, *base, "--language", "fr"))
    assert "fr" in line and "en, zh, zh-Hans, zh-Hant" in line, line
    line = one_clear_line(cnai(db, *base, "--entity", "Deepseak"))
    assert "Deepseak" in line and "nearest: DeepSeek" in line, line
    line = one_clear_line(cnai(db, *base, "--topic", "model_release"))
    assert "nearest: model_releases" in line, line
    line = one_clear_line(cnai(db, *base, "--channel", "pager:0800"))
    assert "unknown channel kind 'pager'" in line and "slack" in line, line
    saved = cnai(db, *base, "--entity", "deepseek", "--language", "ZH")
    assert saved.returncode == 0, saved.stderr
    assert "entities=DeepSeek languages=zh" in saved.stdout


def test_classify_names_the_input_line_and_eval_wants_labels(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    given = '{"id": "a", "title": "Robotics lab opens in Hefei"}\n\n{"id": "b", "title": \n["not", "an", "object"]\n'
    result = cnai(env, "classify", stdin=given)
    assert result.returncode == 0
    errors = [json.loads(line)["error"] for line in result.stdout.splitlines() if "error" in json.loads(line)]
    assert errors[0].startswith("line 3: invalid JSON") and "char" not in errors[0], errors
    assert errors[1].startswith("line 4: expected a JSON object"), errors
    assert "malformed line(s) of stdin: 3, 4" in result.stderr
    unlabelled = tmp_path / "unlabelled.jsonl"
    unlabelled.write_text('{"id": "a", "title": "Robotics lab opens in Hefei"}\n', encoding="utf-8")
    line = one_clear_line(cnai(env, "eval", str(unlabelled)))
    assert f"{unlabelled}:1" in line and "label" in line and "'label'" not in line.split(":", 2)[-1][:8], line
