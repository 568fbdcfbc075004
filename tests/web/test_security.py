"""Security from outside, against real `cnai web` processes: CSRF, sessions, rate limit, cookies,
the secret key, the trusted proxy header, API tokens, email links and mail scanners."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from services.database import dispose_engines, unit_of_work
from tests.web.conftest import (
    PASSWORD,
    SECRET_KEY,
    add_user,
    cnai,
    csrf_of,
    feedback_rows,
    login,
)
from tests.web.seed import StorySpec, seed_story


def seed(env: dict[str, str]):  # type: ignore[no-untyped-def]
    with unit_of_work(env["DATABASE_URL"]) as session:
        seeded = seed_story(session, StorySpec("Invented rules on model audits", entities=["Example Agency"]))
    dispose_engines()
    return seeded


def test_csrf_sessions_and_password_change(web_env, start_web):  # type: ignore[no-untyped-def]
    seeded = seed(web_env)
    add_user(web_env, "alice")
    server = start_web(web_env)
    with server.client() as client:
        assert login(client, "alice", PASSWORD).status_code == 303
        page = client.get(f"/stories/{seeded.story_id}")
        assert page.status_code == 200 and "Invented rules on model audits" in page.text
        forged = client.post(f"/stories/{seeded.story_id}/feedback", data={"verdict": "relevant"})
        assert forged.status_code == 403
        wrong = client.post(
            f"/stories/{seeded.story_id}/feedback", data={"verdict": "relevant", "csrf_token": "x" * 32}
        )
        assert wrong.status_code == 403
        assert feedback_rows(web_env) == []
        good = client.post(
            f"/stories/{seeded.story_id}/feedback", data={"verdict": "relevant", "csrf_token": csrf_of(page.text)}
        )
        assert good.status_code == 303
        rows = feedback_rows(web_env)
        assert [(r["who"], r["verdict"], r["source"], r["story_id"]) for r in rows] == [
            ("alice", "relevant", "web", seeded.story_id)
        ]

        # Another client has no session: the cookie is what logs in, and it cannot be forged.
        with server.client() as stranger:
            stranger.cookies.set("cnai_session", client.cookies["cnai_session"][:-2] + "xx")
            assert stranger.get("/stories").status_code == 303
        # Changing the password ends existing sessions.
        assert (
            cnai(
                web_env, "users", "set-password", "alice", "--password-stdin", stdin="another long password\n"
            ).returncode
            == 0
        )
        assert client.get("/stories").status_code == 303
        assert login(client, "alice", "another long password").status_code == 303
        page = client.get("/stories")
        assert page.status_code == 200
        assert client.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
        assert client.get("/stories").status_code == 303
        # Admin pages
        assert login(client, "alice", "another long password").status_code == 303
        assert client.get("/subscriptions").status_code == 403
    add_user(web_env, "root", role="admin")
    with server.client() as admin:
        login(admin, "root", PASSWORD)
        assert admin.get("/subscriptions").status_code == 200
        for path in ("/feeds", "/alerts", "/feedback", "/stories?show=all&q=audits&language=en"):
            assert admin.get(path).status_code == 200, path


def test_login_rate_limit_shared_by_replicas(web_env, start_web):  # type: ignore[no-untyped-def]
    add_user(web_env, "alice")
    limited = {**web_env, "WEB_LOGIN_ATTEMPTS": "3"}
    first, second = start_web(limited), start_web(limited)
    with first.client() as client:
        for _ in range(3):
            assert login(client, "alice", "guess guess").status_code == 401
        blocked = login(client, "alice", PASSWORD)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert client.get("/stories").status_code == 303
    with second.client() as other:  # another replica counts the same failures
        assert login(other, "alice", PASSWORD).status_code == 429
    add_user(web_env, "bob")
    with second.client() as other:  # the address is limited too, whatever the user name
        assert login(other, "bob", PASSWORD).status_code == 429


def test_secret_key_required_outside_the_demo(web_env, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in web_env.items() if k != "WEB_SECRET_KEY"}
    env["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = cnai(env, "web", "--port", "1", timeout=60)
    assert result.returncode == 2
    assert "WEB_SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cookie_secure_behind_https_proxy_and_trusted_header(web_env, start_web):  # type: ignore[no-untyped-def]
    add_user(web_env, "alice")
    server = start_web({**web_env, "WEB_TRUSTED_PROXIES": "127.0.0.1/32", "WEB_TRUSTED_USER_HEADER": "X-Remote-User"})
    with server.client() as client:
        plain = client.get("/login")
        assert "secure" not in plain.headers["set-cookie"].lower()
    with server.client() as client:
        https = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "; secure" in https.headers["set-cookie"].lower()
    with server.client() as client:
        assert client.get("/stories", headers={"X-Remote-User": "alice"}).status_code == 200
        assert client.get("/stories", headers={"X-Remote-User": "mallory"}).status_code == 303
    untrusted = start_web({**web_env, "WEB_TRUSTED_PROXIES": "10.9.0.0/16", "WEB_TRUSTED_USER_HEADER": "X-Remote-User"})
    with untrusted.client() as client:
        assert client.get("/stories", headers={"X-Remote-User": "alice"}).status_code == 303


def test_api_tokens(web_env, start_web):  # type: ignore[no-untyped-def]
    seeded = seed(web_env)
    created = cnai(web_env, "tokens", "create", "dashboard")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    database = Path(web_env["DATABASE_URL"].removeprefix("sqlite:///"))
    assert token.encode() not in database.read_bytes()
    assert hashlib.sha256(token.encode()).hexdigest().encode() in database.read_bytes()
    assert cnai(web_env, "tokens", "create", "dashboard").returncode != 0
    server = start_web(web_env)
    with server.client() as client:
        assert client.get("/api/stories").status_code == 401
        assert client.get("/api/stories", headers={"Authorization": "Bearer cnai_wrong"}).status_code == 401
        ok = client.get("/api/stories", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert [s["id"] for s in ok.json()["stories"]] == [seeded.story_id]
        one = client.get(f"/api/stories/{seeded.story_id}", headers={"Authorization": f"Bearer {token}"}).json()
        assert one["story"]["entities"] == ["Example Agency"] and one["alerts"][0]["subscription"] == "default"
    assert cnai(web_env, "tokens", "remove", "dashboard").returncode == 0
    with server.client() as client:
        assert client.get("/api/stories", headers={"Authorization": f"Bearer {token}"}).status_code == 401


class _OldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 8 * 86400


def test_email_links_confirmation_scanner_expiry(web_env, start_web):  # type: ignore[no-untyped-def]
    from services.feedback import Verdict
    from services.feedback.email_links import SALT, feedback_link
    from services.settings import Settings

    seeded = seed(web_env)
    env = {**web_env, "WEB_BASE_URL": "http://127.0.0.1:1"}
    server = start_web(env)
    settings = Settings(DATABASE_URL=env["DATABASE_URL"], WEB_SECRET_KEY=SECRET_KEY, WEB_BASE_URL="http://127.0.0.1:1")  # type: ignore[call-arg]
    assert seeded.alert_id is not None
    link = feedback_link(settings, seeded.alert_id, Verdict.NOT_RELEVANT)
    assert link is not None
    path = link.removeprefix("http://127.0.0.1:1")
    # A mail scanner follows the link (GET, HEAD), without cookies: nothing is recorded.
    for _ in range(2):
        scanned = httpx.get(server.url + path, timeout=10)
        assert scanned.status_code == 200 and "Confirm" in scanned.text
    assert httpx.head(server.url + path, timeout=10).status_code in (200, 405)
    assert httpx.post(server.url + path, data={"csrf_token": "x"}, timeout=10).status_code == 403
    assert feedback_rows(env) == []
    with server.client() as reader:
        page = reader.get(path)
        done = reader.post(path, data={"csrf_token": csrf_of(page.text)})
        assert done.status_code == 200 and "Recorded" in done.text
        again = reader.post(path, data={"csrf_token": csrf_of(page.text)})
        assert "already recorded" in again.text
    rows = feedback_rows(env)
    assert [(r["who"], r["verdict"], r["source"]) for r in rows] == [("desk@example.org", "not_relevant", "email")]
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert httpx.get(server.url + tampered, timeout=10).status_code == 400
    old = URLSafeTimedSerializer(SECRET_KEY, salt=SALT, signer=_OldSigner).dumps(
        {"a": seeded.alert_id, "v": "relevant", "n": "1"}
    )
    expired = httpx.get(server.url + f"/feedback/email/{old}", timeout=10)
    assert expired.status_code == 400 and "expired" in expired.text
