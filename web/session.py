"""Signed session cookies (HttpOnly, SameSite=Lax, Secure over https), CSRF tokens and the login rate limit."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "cnai_session"


@dataclass
class WebSession:
    user_id: int | None = None
    fingerprint: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    dirty: bool = False

    def csrf_ok(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf, str(submitted))


class SessionCodec:
    def __init__(self, key: str, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="cnai-session")
        self.max_age_s = max_age_s

    def load(self, request: Request) -> WebSession:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: dict[str, Any] = self._serializer.loads(raw, max_age=self.max_age_s)
                return WebSession(user_id=data.get("u"), fingerprint=data.get("p"), csrf=str(data["c"]))
            except (BadSignature, KeyError, TypeError):
                pass
        return WebSession(dirty=True)

    def save(self, request: Request, response: Response, session: WebSession, secure: bool) -> None:
        if not session.dirty:
            return
        value = self._serializer.dumps({"u": session.user_id, "p": session.fingerprint, "c": session.csrf})
        response.set_cookie(
            COOKIE,
            str(value),
            max_age=self.max_age_s,
            httponly=True,
            samesite="lax",
            secure=secure or request.url.scheme == "https",
            path="/",
        )


class LoginLimiter:
    """At most ``attempts`` failed logins per ``window_s`` per client address and per user name (in this process)."""

    def __init__(self, attempts: int, window_s: int) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, address: str, username: str) -> int:
        """Seconds to wait before another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = [
                int(times[0] + self.window_s - now) + 1
                for key in (f"ip:{address}", f"user:{username.casefold()}")
                if len(times := self._recent(key, now)) >= self.attempts
            ]
        return max(waits, default=0)

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{address}", f"user:{username.casefold()}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:
                self._failures.clear()

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.casefold()}", None)
