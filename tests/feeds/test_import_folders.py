"""`cnai feeds import --defaults --folder NAME` (repeatable) and FEEDS_FOLDERS: only the chosen folders, idempotently."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from services.database import unit_of_work
from services.feeds.registry import list_feeds
from tests.integration.processes import CNAI, service_env

FEEDS = {
    "feeds": [
        {
            "url": "https://regulator.example.gov.cn/feed.xml",
            "folder": "Regulators/CAC",
            "language": "zh-Hans",
            "title": "A regulator",
            "kind": "regulator",
            "note": "A made-up regulator for the test.",
        },
        {
            "url": "https://other-regulator.example.gov.cn/rss",
            "folder": "Regulators/MIIT",
            "language": "zh-Hans",
            "title": "Another regulator",
            "kind": "regulator",
            "note": "A second made-up regulator.",
        },
        {
            "url": "https://wire.example.com/rss",
            "folder": "State media",
            "language": "zh-Hans",
            "title": "A wire",
            "kind": "state_media",
            "note": "A made-up wire service.",
        },
        {
            "url": "https://lab.example.com/atom.xml",
            "folder": "Labs",
            "language": "en",
            "title": "A lab",
            "kind": "lab",
            "note": "A made-up lab release feed.",
        },
    ]
}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CNAI, "feeds", "import", "--defaults", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_folders_are_chosen_by_option_or_setting_and_a_rerun_adds_nothing(tmp_path: Path, sqlite_url: str) -> None:
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump(FEEDS), encoding="utf-8")
    env = service_env(DATABASE_URL=sqlite_url, FEEDS_FILE=str(feeds_file))

    first = run(env, "--folder", "regulators", "--folder", "Labs")
    assert first.returncode == 0, first.stderr
    assert "imported 3 feed(s)" in first.stdout and "3 new, 0 updated" in first.stdout
    again = run(env, "--folder", "Regulators", "--folder", "Labs")
    assert "0 new, 3 updated" in again.stdout

    by_setting = run({**env, "FEEDS_FOLDERS": "State media"})
    assert "imported 1 feed(s)" in by_setting.stdout and "1 new" in by_setting.stdout
    with unit_of_work(sqlite_url) as session:
        assert sorted(f.folder for f in list_feeds(session)) == [
            "Labs",
            "Regulators/CAC",
            "Regulators/MIIT",
            "State media",
        ]

    unknown = run(env, "--folder", "Think tanks")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    [line] = unknown.stderr.splitlines()
    assert "'Think tanks'" in line and "Regulators/CAC" in line
