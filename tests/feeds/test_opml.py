"""OPML import and export keep titles and (nested) folders; hostile OPML is refused, never expanded."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import cli
from services.feeds.files import read_opml, write_opml
from services.feeds.registry import FeedError, FeedSpec

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="China" title="China">
    <outline text="Policy" title="Policy">
      <outline type="rss" text="CAC announcements" title="网信办公告" xmlUrl="https://cac.example/rss.xml" htmlUrl="https://cac.example/" language="zh-Hans"/>
    </outline>
    <outline type="rss" text="36Kr AI" xmlUrl="https://36kr.example/ai.xml"/>
  </outline>
  <outline type="rss" text="Top level &amp; more" xmlUrl="https://top.example/feed?x=1&amp;y=2" description="an operator note"/>
</body></opml>"""


def test_read_keeps_titles_and_nested_folders() -> None:
    specs = read_opml(OPML.encode())
    assert [(s.url, s.title, s.folder) for s in specs] == [
        ("https://cac.example/rss.xml", "网信办公告", "China/Policy"),
        ("https://36kr.example/ai.xml", "36Kr AI", "China"),
        ("https://top.example/feed?x=1&y=2", "Top level & more", None),
    ]
    assert specs[0].site_url == "https://cac.example/" and specs[0].language == "zh-Hans"
    assert specs[2].note == "an operator note"


def test_round_trip_is_lossless() -> None:
    specs = [*read_opml(OPML.encode()), FeedSpec(url="https://untitled.example/rss", folder="China/Policy")]
    again = read_opml(write_opml(specs).encode())
    assert sorted(again, key=lambda s: s.url) == sorted(specs, key=lambda s: s.url)


def test_opml_with_entities_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>'
    with pytest.raises(FeedError, match="refused OPML document"):
        read_opml(bomb)
    with pytest.raises(FeedError, match="not an OPML document"):
        read_opml(b"<html><body>nope</body></html>")


def test_cli_import_then_export_keeps_folders(env: pytest.MonkeyPatch, sqlite_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env.setenv("DATABASE_URL", sqlite_url)
    source = tmp_path / "feeds.opml"
    source.write_text(OPML, encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(cli, ["feeds", "import", str(source)])
    assert imported.exit_code == 0 and "3 new" in imported.output, imported.output
    exported = runner.invoke(cli, ["feeds", "export", "--format", "opml"])
    assert exported.exit_code == 0
    assert {(s.url, s.title, s.folder) for s in read_opml(exported.output.encode())} == {
        (s.url, s.title, s.folder) for s in read_opml(OPML.encode())
    }
