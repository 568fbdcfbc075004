"""The web app's signing key: WEB_SECRET_KEY, required outside the demo (a SQLite database)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from services.settings import Settings, SettingsError

MIN_KEY_LENGTH = 16


def web_secret_key(settings: Settings) -> str:
    """WEB_SECRET_KEY; for the SQLite demo without one, a random key kept in a file beside the database.

    Raises SettingsError (one line) when the database is not SQLite and the key is missing or short.
    """
    if settings.web_secret_key is not None and settings.web_secret_key.get_secret_value():
        key = settings.web_secret_key.get_secret_value()
        if len(key) < MIN_KEY_LENGTH:
            raise SettingsError(f"WEB_SECRET_KEY is too short: use at least {MIN_KEY_LENGTH} random characters")
        return key
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise SettingsError(
            "WEB_SECRET_KEY is required when DATABASE_URL is not the SQLite demo "
            "(set it to a long random string, e.g. the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    database = url.database or ""
    if not database or database == ":memory:":
        return secrets.token_urlsafe(32)
    path = Path(database + ".web-secret")
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(key)
    return key
