"""The source catalogue (config/default_feeds.yaml), validated offline: schema, URL shapes, no duplicates,
coverage targets, RSSHub resolution and `cnai feeds import --defaults --folder`."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from db.enums import FullTextMode
from services.feeds.catalogue import GOVERNMENT_KINDS, CatalogueEntry, SourceKind, load_catalogue, resolve_sources
from services.feeds.registry import FeedError
from services.settings import CONFIG_DIR
from tests.integration.processes import CNAI, service_env

CATALOGUE = CONFIG_DIR / "default_feeds.yaml"
FIELDS = {"title", "folder", "language", "kind", "note"}


@pytest.fixture(scope="module")
def entries() -> list[CatalogueEntry]:
    return load_catalogue(CATALOGUE)


def test_the_catalogue_meets_its_coverage_targets(entries: list[CatalogueEntry]) -> None:
    assert len(entries) >= 150
    assert sum(e.is_chinese for e in entries) >= 60
    assert sum(e.kind in GOVERNMENT_KINDS for e in entries) >= 10
    kinds = Counter(e.kind for e in entries)
    assert set(kinds) == set(SourceKind), f"every kind has sources: {kinds}"
    regulators = " ".join(e.title + " " + (e.rsshub or "") for e in entries if e.kind is SourceKind.REGULATOR)
    for body in ("CAC", "MIIT", "NDRC", "MOFCOM", "SAMR"):
        assert body in regulators, body


def test_every_raw_entry_has_every_field_and_one_way_in() -> None:
    raw = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["feeds"]
    for item in raw:
        assert FIELDS <= set(item), item
        assert all(isinstance(item[f], str) and item[f].strip() for f in FIELDS), item
        assert ("url" in item) != ("rsshub" in item), item


def test_no_source_is_listed_twice_even_with_a_different_spelling(entries: list[CatalogueEntry]) -> None:
    def normal(entry: CatalogueEntry) -> str:
        if entry.rsshub:
            return "rsshub:" + entry.rsshub.rstrip("/").lower()
        return entry.url.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")  # type: ignore[union-attr]

    counts = Counter(normal(e) for e in entries)
    assert [k for k, n in counts.items() if n > 1] == []


def test_url_shapes(entries: list[CatalogueEntry]) -> None:
    for entry in entries:
        if entry.url:
            assert entry.url.startswith(("https://", "http://")) and " " not in entry.url
            assert "rsshub" not in entry.url.lower(), "RSSHub sources are routes, resolved at import"
        else:
            assert entry.rsshub is not None and entry.rsshub.startswith("/") and not entry.rsshub.endswith("/")
    github = [e for e in entries if e.url and "github.com" in e.url and "raw.githubusercontent" not in e.url]
    assert github and all(e.url.endswith("/releases.atom") and e.kind is SourceKind.LAB for e in github)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"language": "zh"}, "language"),
        ({"kind": "blog"}, "kind"),
        ({"url": "ftp://example.org/feed"}, "url"),
        ({"url": "https://localhost/feed"}, "url"),
        ({"rsshub": "gov/miit"}, "rsshub"),
        ({"note": "two\nlines of note here"}, "note"),
        ({"rsshub": "/gov/miit/zcwj"}, "exactly one of url and rsshub"),
    ],
)
def test_the_schema_rejects_bad_entries_with_one_line(tmp_path: Path, change: dict, message: str) -> None:
    good = {
        "title": "Example feed",
        "folder": "Tech press",
        "language": "en",
        "kind": "tech_press",
        "note": "An example source for the test.",
        "url": "https://example.org/feed.xml",
    }
    bad = {**good, **change}
    if "rsshub" in change and change["rsshub"].startswith("gov"):
        bad.pop("url")
    path = tmp_path / "catalogue.yaml"
    path.write_text(
        yaml.safe_dump({"feeds": [good | {"title": "Other", "url": "https://example.org/other"}, bad]}),
        encoding="utf-8",
    )
    with pytest.raises(FeedError) as caught:
        load_catalogue(path)
    assert message in str(caught.value) and "source #2" in str(caught.value) and "\n" not in str(caught.value)


def test_a_duplicate_url_is_refused(tmp_path: Path) -> None:
    entry = {
        "title": "Lab A",
        "folder": "Labs",
        "language": "en",
        "kind": "lab",
        "note": "An example lab feed.",
        "url": "https://example.org/feed.xml",
    }
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump({"feeds": [entry, {**entry, "title": "Lab B"}]}), encoding="utf-8")
    with pytest.raises(FeedError, match="listed twice"):
        load_catalogue(path)


def test_rsshub_routes_resolve_against_the_base_url_or_are_skipped_with_a_note(entries: list[CatalogueEntry]) -> None:
    routes = [e for e in entries if e.rsshub]
    without = resolve_sources(entries, None)
    assert len(without.specs) == len(entries) - len(routes)
    assert len(without.skipped) == len(routes) and all("RSSHUB_BASE_URL is not set" in n for n in without.skipped)
    with_base = resolve_sources(entries, "http://rsshub.cnai.svc.cluster.local:1200/")
    assert with_base.skipped == [] and len(with_base.specs) == len(entries)
    assert "http://rsshub.cnai.svc.cluster.local:1200/gov/miit/zcwj" in {s.url for s in with_base.specs}
    routed = {s.full_text for s in with_base.specs if s.url.startswith("http://rsshub.cnai")}
    direct = {s.full_text for s in with_base.specs if not s.url.startswith("http://rsshub.cnai")}
    assert routed == {FullTextMode.ALWAYS}, "RSSHub routes give titles only: their pages are always fetched"
    assert direct == {None}, "direct feeds keep the default (auto)"


def test_import_defaults_loads_only_the_chosen_folders_and_says_what_it_skipped(sqlite_url: str) -> None:
    env = service_env(DATABASE_URL=sqlite_url)
    result = subprocess.run(
        [*CNAI, "feeds", "import", "--defaults", "--folder", "Regulators", "--folder", "Think tanks"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("skipped ")]
    entries = load_catalogue(CATALOGUE)
    assert len(skipped) == sum(1 for e in entries if e.folder == "Regulators" and e.rsshub)
    think_tanks = sum(1 for e in entries if e.folder == "Think tanks" and e.url)
    assert (
        lines[-1].startswith(f"imported {think_tanks} feed(s)")
        and "RSSHub source(s) skipped: set RSSHUB_BASE_URL" in lines[-1]
    )

    with_hub = subprocess.run(
        [*CNAI, "feeds", "import", "--defaults", "--folder", "Regulators"],
        env={**env, "RSSHUB_BASE_URL": "http://rsshub.example.org"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert with_hub.returncode == 0 and "skipped" not in with_hub.stdout
    assert f"imported {sum(1 for e in entries if e.folder == 'Regulators')} feed(s)" in with_hub.stdout
