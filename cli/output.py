"""How every command prints: aligned tables (CJK counts double), JSON, confirmations, one-line failures."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NoReturn

import click
from wcwidth import wcswidth, wcwidth

FORMAT_OPTION_HELP = "table for people, json for scripts."


def format_option(*, default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format table|json`` for a list or show command."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default=default,
        show_default=True,
        help=FORMAT_OPTION_HELP,
    )


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit ``code`` (1: the request failed; 2: the request was wrong)."""
    click.echo(f"cnai: {message}", err=True)
    sys.exit(code)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide characters count two, combining marks none."""
    width = wcswidth(text)
    if width >= 0:
        return width
    return sum(max(wcwidth(ch), 0) for ch in text)  # control characters count nothing


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns (with an ellipsis when cut), padded to exactly ``width``."""
    text = " ".join(text.split())
    if display_width(text) > width:
        out, used = [], 0
        for ch in text:
            w = max(wcwidth(ch), 0)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
    return text + " " * (width - display_width(text))


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, max_widths: dict[str, int] | None = None
) -> str:
    """A header line and one line per row, columns aligned by display width; the last column is not padded."""
    cells = [[_cell(v) for v in row] for row in rows]
    limits = max_widths or {}
    widths = []
    for i, header in enumerate(headers):
        natural = max([display_width(header), *(display_width(row[i]) for row in cells)])
        widths.append(min(natural, limits.get(header, natural)))
    lines = []
    for row in [list(headers), *cells]:
        parts = [fit(value, widths[i]) for i, value in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, datetimes (ISO 8601, UTC), enums and containers as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def yes_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--yes", "-y", "assume_yes", is_flag=True, help=f"Do not ask before {what}.")


def confirm_or_stop(question: str, assume_yes: bool) -> None:
    """Ask on a terminal; without one, refuse unless --yes was given (as gh does), so no script deletes by accident."""
    if assume_yes:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail(f"not confirmed ({question}); pass --yes to confirm without a terminal", code=2)
    if not click.confirm(question, default=False):
        fail("cancelled", code=1)
