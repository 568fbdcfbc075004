"""Reading YAML and JSON files people write: a malformed one is one line naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """A file cannot be read or parsed; the message is ``FILE:LINE: problem`` (or ``FILE: problem``)."""


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def yaml_problem(path: Path | str, exc: yaml.YAMLError) -> str:
    """``FILE:LINE: problem`` for a YAML error (1-based line of where the parser gave up)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        problem = f"{problem} ({context} started on line {context_mark.line + 1})"
    return f"{where}: not valid YAML: {problem}"


def load_yaml(path: Path) -> tuple[Any, dict[int, int]]:
    """The document in ``path`` and, for each item of its top-level list (or of the list under its first key that
    holds one), the 1-based line where the item starts: ``{index: line}``."""
    text = _text(path)
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise DataFileError(yaml_problem(path, exc)) from None
    return data, _item_lines(node)


def _item_lines(node: yaml.Node | None) -> dict[int, int]:
    if isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            if isinstance(value, yaml.SequenceNode):
                node = value
                break
    if not isinstance(node, yaml.SequenceNode):
        return {}
    return {i: item.start_mark.line + 1 for i, item in enumerate(node.value)}


def json_line_problem(source: str, line_number: int, exc: json.JSONDecodeError) -> str:
    """``SOURCE:LINE: problem`` for a JSON Lines record that does not parse (column within that line)."""
    return f"{source}:{line_number}: not valid JSON: {exc.msg} (column {exc.colno})"
