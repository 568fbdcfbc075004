"""Feed lists as files: YAML (the default feed list, the bundled samples) and OPML."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as SafeET
import yaml
from defusedxml import DefusedXmlException

from services.feeds.registry import FeedError, FeedSpec


def read_feed_file(path: Path) -> list[FeedSpec]:
    """Read YAML or OPML by extension. In YAML, a relative ``path:`` names a local file next to the list."""
    if path.suffix.lower() in {".opml", ".xml"}:
        return read_opml(path.read_bytes())
    return read_yaml(path)


def read_yaml(path: Path) -> list[FeedSpec]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get("feeds", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FeedError(f"{path}: expected a list of feeds under 'feeds:'")
    specs = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not (item.get("url") or item.get("path")):
            raise FeedError(f"{path}: feed #{number} needs a 'url' (or a local 'path')")
        url = item.get("url") or (path.parent / item["path"]).resolve().as_uri()
        specs.append(
            FeedSpec(url=url, title=item.get("title"), folder=item.get("folder"), language=item.get("language"),
                     note=item.get("note"), site_url=item.get("site"))
        )
    return specs


def write_yaml(specs: list[FeedSpec]) -> str:
    items = []
    for s in specs:
        item = {"url": s.url}
        item.update({k: v for k, v in (("title", s.title), ("folder", s.folder), ("language", s.language), ("note", s.note), ("site", s.site_url)) if v})
        items.append(item)
    return yaml.safe_dump({"feeds": items}, allow_unicode=True, sort_keys=False)


def read_opml(data: bytes) -> list[FeedSpec]:
    """Feeds of an OPML document; nested outlines become folders ("News/China").

    Parsed with defusedxml: a DOCTYPE with entities or external references is refused, never expanded.
    """
    try:
        root = SafeET.fromstring(data.lstrip())
    except ET.ParseError as exc:
        raise FeedError(f"not an OPML document: {exc}") from exc
    except DefusedXmlException as exc:
        raise FeedError(f"refused OPML document: {type(exc).__name__} (DTDs and entities are not allowed)") from exc
    if root.tag.lower() != "opml":
        raise FeedError(f"not an OPML document: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise FeedError("not an OPML document: no <body>")
    specs: list[FeedSpec] = []

    def walk(node: ET.Element, folder: str | None) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            label = (outline.get("title") or outline.get("text") or "").strip() or None
            if url:
                specs.append(FeedSpec(url=url, title=label if label != url else None, folder=folder, language=outline.get("language"),
                                      note=outline.get("description"), site_url=outline.get("htmlUrl")))
            else:
                walk(outline, "/".join(filter(None, [folder, (label or "").replace("/", "-")])) or None)

    walk(body, None)
    return specs


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
