"""People and programs that may use the web app: users with argon2id passwords, bearer API tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timezone
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ApiToken, User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    READER = "reader"
    ADMIN = "admin"


class AccountError(ValueError):
    """A user or token request that cannot be done; the message says why."""


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not _NAME.match(name):
        raise AccountError(
            f"{what} {name!r}: use 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(_check_password(password))


def add_user(session: Session, username: str, role: Role | str, password: str) -> User:
    username = _check_name(username, "user name")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"role {role!r}: must be one of {', '.join(r.value for r in Role)}") from None
    if find_user(session, username) is not None:
        raise AccountError(f"user {username!r} already exists (use `cnai users set-password`)")
    user = User(username=username, role=role.value, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.username)).scalars())


def remove_user(session: Session, username: str) -> None:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    session.delete(user)
    session.flush()


def set_password(session: Session, username: str, password: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    user.password_hash = hash_password(password)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password is right, else None (same work whether or not the user exists)."""
    user = find_user(session, username) if username and len(username) <= 100 else None
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def password_fingerprint(user: User) -> str:
    """Short digest of the stored hash, kept in the session: changing the password ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


TOKEN_PREFIX = "cnai_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> str:
    """A new bearer token; only its SHA-256 is stored, so the returned value is shown once."""
    name = _check_name(name, "token name")
    if session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none() is not None:
        raise AccountError(f"token {name!r} already exists (remove it first)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_token_digest(token)))
    session.flush()
    return token


def verify_token(session: Session, token: str) -> ApiToken | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _token_digest(token)
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest)).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    row.last_used_at = datetime.now(timezone.utc)
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).order_by(ApiToken.name)).scalars())


def remove_token(session: Session, name: str) -> None:
    row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
    if row is None:
        raise AccountError(f"no token {name!r}")
    session.delete(row)
    session.flush()
