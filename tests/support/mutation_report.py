"""Kill rate per module after `make mutate`: reads mutmut's results under mutants/ and prints one line per scope.

usage: python -m tests.support.mutation_report [--min-rate 0.9] SCOPE...   (SCOPE as given to `mutmut run`,
e.g. ``services.ingest.addresses.*``); the last line is a {"mutate": ...} JSON object. Exit 1 when a scope
that has mutants is below the minimum rate or has mutants not yet checked.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

MUTANTS = Path("mutants")
EQUIVALENT = Path(__file__).with_name("equivalent_mutants.txt")
# mutmut's exit codes (mutmut/stats.py): killed by a failing test, a timeout, the type checker or a crash;
# survived (0) or no test covers it (5, 33); skipped (34) is left out; anything else (suspicious) counts as a survivor.
KILLED = {1, 3, 36, 24, -24, 152, 255, 37, -11, -9}
NO_TESTS = {5, 33}
SKIPPED = {34}
INTERRUPTED = {2, None}


def results() -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in MUTANTS.rglob("*.py.meta"):
        found.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return found


def equivalent() -> dict[str, str]:
    """Known equivalent mutants and why (tests/support/equivalent_mutants.txt)."""
    found = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.strip().partition(" ")
            found[name] = why.strip()
    return found


def module_of(scope: str) -> str:
    return scope.split(".x_")[0].split(".xǁ")[0].rstrip(".*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-rate", type=float, default=0.9)
    parser.add_argument("scopes", nargs="+")
    args = parser.parse_args(argv)
    codes = results()
    known = equivalent()
    summary: dict[str, dict[str, object]] = {}
    failed = False
    for scope in args.scopes:
        chosen = {name: code for name, code in codes.items() if fnmatch.fnmatchcase(name, scope)}
        if not chosen:
            print(f"{scope}: no mutants (module not present)")
            summary[scope] = {"mutants": 0}
            continue
        unchecked = sorted(n for n, c in chosen.items() if c in INTERRUPTED)
        skipped = sum(c in SKIPPED for c in chosen.values())
        alive = sorted(n for n, c in chosen.items() if c not in KILLED | SKIPPED | INTERRUPTED)
        same = sorted(n for n in alive if n in known)
        survivors = [n for n in alive if n not in known]
        counted = len(chosen) - len(unchecked) - skipped - len(same)
        killed = counted - len(survivors)
        rate = killed / counted if counted else 0.0
        raw = killed / (counted + len(same)) if counted + len(same) else 0.0
        summary[scope] = {
            "mutants": len(chosen),
            "killed": killed,
            "survived": len(survivors),
            "equivalent": len(same),
            "unchecked": len(unchecked),
            "kill_rate": round(rate, 4),
            "kill_rate_counting_equivalent": round(raw, 4),
        }
        print(
            f"{scope}: {killed}/{counted} killed ({rate:.1%}), {len(survivors)} survived, "
            f"{len(same)} equivalent (raw {raw:.1%}), {len(unchecked)} not checked"
        )
        for name in survivors:
            print(f"    survived: {name}" + ("  (no test covers it)" if chosen[name] in NO_TESTS else ""))
        for name in same:
            print(f"    equivalent: {name}  ({known[name]})")
        failed |= bool(unchecked) or rate < args.min_rate
    print(json.dumps({"mutate": summary}, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
