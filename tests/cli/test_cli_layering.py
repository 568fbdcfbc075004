"""The command line only parses, calls a service function and prints: no models, no queries in cli/."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "cli"
FORBIDDEN_MODULES = ("db.models", "sqlalchemy.orm")
FORBIDDEN_NAMES = {"select", "update", "delete", "insert", "selectinload", "joinedload"}


def test_no_cli_module_imports_models_or_builds_queries() -> None:
    offences = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith(FORBIDDEN_MODULES):
                    offences.append(f"{path.name}:{node.lineno} imports {node.module}")
                if node.module == "sqlalchemy" and {a.name for a in node.names} & FORBIDDEN_NAMES:
                    offences.append(f"{path.name}:{node.lineno} imports query builders from sqlalchemy")
            elif isinstance(node, ast.Import) and any(a.name.startswith(FORBIDDEN_MODULES) for a in node.names):
                offences.append(f"{path.name}:{node.lineno} imports models")
    assert offences == []
