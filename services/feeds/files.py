"""Feed lists as files: YAML (the default feed list, the bundled samples) and OPML.

Reading a list keeps every good entry and names each bad one with its reason (``RejectedFeed``); only a file
that cannot be parsed at all raises ``FeedError`` with the file and line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import defusedxml.ElementTree as SafeET
import yaml
from defusedxml import DefusedXmlException
from sqlalchemy.orm import Session

from db.enums import FullTextMode
from services.datafiles import DataFileError, load_yaml
from services.feeds.registry import FeedError, FeedSpec, add_feed, parse_full_text_mode, validate_feed_url


@dataclass
class RejectedFeed:
    where: str  # "FILE:LINE" (YAML) or "FILE: outline 'title'" (OPML)
    problem: str


@dataclass
class FeedList:
    specs: list[FeedSpec] = field(default_factory=list)
    rejected: list[RejectedFeed] = field(default_factory=list)

    def __iter__(self) -> Iterator[FeedSpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, index: int) -> FeedSpec:
        return self.specs[index]


@dataclass
class FeedImport:
    path: Path
    created: int
    updated: int
    rejected: list[RejectedFeed]


def read_feed_file(path: Path) -> FeedList:
    """Read YAML or OPML by extension. In YAML, a relative ``path:`` names a local file next to the list."""
    if path.suffix.lower() in {".opml", ".xml"}:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FeedError(f"{path}: cannot read: {exc.strerror or exc}") from None
        return read_opml(data, source=str(path))
    return read_yaml(path)


def import_feed_file(session: Session, *, path: Path, folders: Sequence[str] = ()) -> FeedImport:
    """Add (or update) every good feed of the file (only those in ``folders`` when given; see
    services.feeds.folders); the bad ones come back in ``rejected`` with their reasons."""
    from services.feeds.folders import in_folders

    listing = read_feed_file(path)
    return add_specs(session, path, in_folders(listing.specs, folders), list(listing.rejected))


def add_specs(session: Session, path: Path, specs: Sequence[FeedSpec], rejected: list[RejectedFeed]) -> FeedImport:
    """Add (or update) each spec; one that is refused joins ``rejected`` with its reason."""
    created = updated = 0
    for spec in specs:
        try:
            _feed, new = add_feed(session, spec)
        except FeedError as exc:
            rejected.append(RejectedFeed(f"{path}: {spec.url}", str(exc)))
            continue
        created += new
        updated += not new
    return FeedImport(path, created, updated, rejected)


def read_yaml(path: Path) -> FeedList:
    try:
        data, lines = load_yaml(path)
    except DataFileError as exc:
        raise FeedError(str(exc)) from None
    data = data or {}
    items = data.get("feeds", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FeedError(f"{path}: expected a list of feeds under 'feeds:'")
    listing = FeedList()
    for index, item in enumerate(items):
        where = f"{path}:{lines[index]}" if index in lines else f"{path}: feed #{index + 1}"
        if not isinstance(item, dict) or not (item.get("url") or item.get("path")):
            listing.rejected.append(RejectedFeed(where, "a feed needs a 'url' (or a local 'path')"))
            continue
        url = str(item.get("url") or (path.parent / str(item["path"])).resolve().as_uri())
        try:
            validate_feed_url(url)
        except FeedError as exc:
            listing.rejected.append(RejectedFeed(where, str(exc)))
            continue
        try:
            mode = parse_full_text_mode(item["full_text"]) if item.get("full_text") is not None else None
        except FeedError as exc:
            listing.rejected.append(RejectedFeed(where, str(exc)))
            continue
        listing.specs.append(
            FeedSpec(
                url=url,
                title=item.get("title"),
                folder=item.get("folder"),
                language=item.get("language"),
                note=item.get("note"),
                site_url=item.get("site"),
                full_text=mode,
            )
        )
    return listing


def write_yaml(specs: list[FeedSpec]) -> str:
    items = []
    for s in specs:
        item = {"url": s.url}
        item.update(
            {
                k: v
                for k, v in (
                    ("title", s.title),
                    ("folder", s.folder),
                    ("language", s.language),
                    ("note", s.note),
                    ("site", s.site_url),
                )
                if v
            }
        )
        if s.full_text and s.full_text != FullTextMode.AUTO:
            item["full_text"] = s.full_text.value
        items.append(item)
    return yaml.safe_dump({"feeds": items}, allow_unicode=True, sort_keys=False)


def read_opml(data: bytes, source: str = "OPML") -> FeedList:
    """Feeds of an OPML document; nested outlines become folders ("News/China").

    Parsed with defusedxml: a DOCTYPE with entities or external references is refused, never expanded.
    """
    try:
        root = SafeET.fromstring(data.lstrip())
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise FeedError(
            f"{source}{f':{line}' if line else ''}: not an OPML document: {exc.msg if hasattr(exc, 'msg') else exc}"
        ) from None
    except DefusedXmlException as exc:
        raise FeedError(
            f"{source}: refused OPML document: {type(exc).__name__} (DTDs and entities are not allowed)"
        ) from None
    if root.tag.lower() != "opml":
        raise FeedError(f"{source}: not an OPML document: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise FeedError(f"{source}: not an OPML document: no <body>")
    listing = FeedList()

    def walk(node: ET.Element, folder: str | None) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            label = (outline.get("title") or outline.get("text") or "").strip() or None
            if url:
                try:
                    validate_feed_url(url)
                except FeedError as exc:
                    listing.rejected.append(RejectedFeed(f"{source}: outline {label or url!r}", str(exc)))
                    continue
                listing.specs.append(
                    FeedSpec(
                        url=url,
                        title=label if label != url else None,
                        folder=folder,
                        language=outline.get("language"),
                        note=outline.get("description"),
                        site_url=outline.get("htmlUrl"),
                    )
                )
            else:
                walk(outline, "/".join(filter(None, [folder, (label or "").replace("/", "-")])) or None)

    walk(body, None)
    return listing


def write_opml(specs: list[FeedSpec], title: str = "cnai-monitor feeds") -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for spec in specs:
        parent = body
        if spec.folder:
            for depth, name in enumerate(spec.folder.split("/")):
                key = "/".join(spec.folder.split("/")[: depth + 1])
                if key not in folders:
                    folders[key] = ET.SubElement(parent, "outline", text=name, title=name)
                parent = folders[key]
        attrs = {"type": "rss", "text": spec.title or spec.url, "xmlUrl": spec.url}
        if spec.title:
            attrs["title"] = spec.title
        if spec.site_url:
            attrs["htmlUrl"] = spec.site_url
        if spec.language:
            attrs["language"] = spec.language
        if spec.note:
            attrs["description"] = spec.note
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
