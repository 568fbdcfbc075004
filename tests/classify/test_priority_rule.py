"""The priority rule at its boundaries: strong regulation and export-control stories are high, other relevant
stories normal, irrelevant ones have none; only the main (first) topic counts."""

from __future__ import annotations

import pytest

from services.classify.priority import PRIORITIES, Priority, simple_priority


@pytest.mark.parametrize(
    ("relevant", "score", "topics", "expected"),
    [
        (False, 1.0, ["regulation"], None),
        (False, 0.0, [], None),
        (True, 0.9, ["regulation"], Priority.HIGH),
        (True, 0.8999, ["regulation"], Priority.NORMAL),
        (True, 1.0, ["chips_and_export_controls"], Priority.HIGH),
        (True, 0.9, ["chips_and_export_controls", "model_releases"], Priority.HIGH),
        (True, 0.99, ["model_releases", "regulation"], Priority.NORMAL),
        (True, 0.99, ["standards"], Priority.NORMAL),
        (True, 0.99, [], Priority.NORMAL),
        (True, 0.1, ["regulation"], Priority.NORMAL),
    ],
)
def test_simple_priority(relevant: bool, score: float, topics: list[str], expected: Priority | None) -> None:
    assert simple_priority(relevant, score, topics) == expected


def test_priorities_in_triage_order() -> None:
    assert PRIORITIES == (Priority.HIGH, Priority.NORMAL, Priority.LOW)
    assert [p.value for p in PRIORITIES] == ["high", "normal", "low"]
