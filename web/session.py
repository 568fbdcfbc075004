"""Signed session cookies (HttpOnly, SameSite=Lax, Secure over https) and CSRF tokens."""

from __future__ import annotations

import hmac
import secrets
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
