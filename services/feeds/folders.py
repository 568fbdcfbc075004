"""Choosing folders of a feed list: `cnai feeds import --defaults --folder NAME` (repeatable) or FEEDS_FOLDERS."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from services.feeds.registry import FeedError


class Filed(Protocol):
    @property
    def folder(self) -> str | None: ...


F = TypeVar("F", bound=Filed)


def parse_folder_list(value: str) -> list[str]:
    """FEEDS_FOLDERS: comma-separated folder names; empty means every folder."""
    return [part.strip() for part in value.split(",") if part.strip()]


def folders_of(specs: Iterable[Filed]) -> list[str]:
    return sorted({spec.folder for spec in specs if spec.folder})


def in_folders(specs: Sequence[F], folders: Sequence[str]) -> list[F]:
    """The feeds filed under any of ``folders`` (a folder includes its sub-folders, "Regulators" takes
    "Regulators/CAC"; case-insensitive). No folders: every feed. An unknown folder raises FeedError
    naming the folders there are."""
    if not folders:
        return list(specs)
    known = folders_of(specs)

    def under(folder: str | None, wanted: str) -> bool:
        if not folder:
            return False
        folder, wanted = folder.casefold(), wanted.casefold().strip("/")
        return folder == wanted or folder.startswith(wanted + "/")

    unknown = [w for w in folders if not any(under(k, w) for k in known)]
    if unknown:
        raise FeedError(f"no folder named {', '.join(map(repr, unknown))}; folders: {', '.join(known)}")
    return [spec for spec in specs if any(under(spec.folder, w) for w in folders)]
