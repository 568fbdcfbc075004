"""Reading PostgreSQL's EXPLAIN (FORMAT JSON) plans: which tables were read whole, which by index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan tree (the "Plan" object of EXPLAIN's JSON), depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def sequentially_scanned(plan: dict[str, Any]) -> set[str]:
    return {node["Relation Name"] for node in plan_nodes(plan) if node["Node Type"] == "Seq Scan"}


def indexes_used(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in plan_nodes(plan) if node["Node Type"] in INDEX_NODES}


def index_scanned(plan: dict[str, Any]) -> set[str]:
    """Tables read through an index (a bitmap heap scan is always fed by index scans)."""
    return {
        node["Relation Name"]
        for node in plan_nodes(plan)
        if node["Node Type"] in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
    }
