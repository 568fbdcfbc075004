"""Triage of relevant articles: ``high`` (see now), ``normal`` (read today), ``low`` (digest).

Irrelevant articles have no priority (``None``). The decision is made from evidence in
``config/lexicon/priority.yaml`` (event kinds and low-value kinds) by the scorer; this
module holds the enum and the rule that turns that evidence into a priority.
"""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITIES: tuple[Priority, ...] = (Priority.HIGH, Priority.NORMAL, Priority.LOW)


def simple_priority(relevant: bool, score: float, topics: list[str]) -> Priority | None:
    """A first rule: regulation and export-control stories with strong evidence are high,
    other relevant stories normal; irrelevant ones have none."""
    if not relevant:
        return None
    if score >= 0.9 and topics and topics[0] in ("regulation", "chips_and_export_controls"):
        return Priority.HIGH
    return Priority.NORMAL
