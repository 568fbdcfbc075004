"""The Kubernetes probes of the worker and beat containers, light enough to run every few seconds.

    python -m workers.probe worker liveness --max-age 60 --loop-max-age 300
    python -m workers.probe worker readiness --max-age 30

Reads the heartbeat file (WORKER_HEARTBEAT_FILE / BEAT_HEARTBEAT_FILE) and nothing else: no
Celery, no Sentry, no settings validation, no database; about 40 ms of Python start-up.
Liveness fails only when the heartbeat thread has stopped (the process is stuck) or the Celery loop
has not run for --loop-max-age while the broker answers (wedged); a broker or database outage
never fails it. Readiness fails while the broker is unreachable or the loop is stale.
Exit 0 = pass, 1 = fail, 2 = usage; one line of output either way.
"""

from __future__ import annotations

import argparse
import sys

from services.observability.heartbeat_state import ProbeKind, heartbeat_path, judge, read_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=("worker", "beat"))
    parser.add_argument("kind", choices=[k.value for k in ProbeKind])
    parser.add_argument("--max-age", type=float, default=60.0, help="heartbeat age limit in seconds (default 60)")
    parser.add_argument(
        "--loop-max-age",
        type=float,
        default=300.0,
        help="liveness: Celery loop age limit while the broker answers (default 300)",
    )
    args = parser.parse_args(argv)
    path = heartbeat_path(args.role)
    result = judge(read_state(path), ProbeKind(args.kind), max_age=args.max_age, loop_max_age=args.loop_max_age)
    print(f"{args.role} {args.kind}: {result.detail} ({path})", file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
