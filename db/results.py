"""What a DML statement did: ``Session.execute`` types every result as ``Result``, which has no ``rowcount``."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.engine import CursorResult, Result


def affected_rows(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed (0 when the driver cannot tell)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
