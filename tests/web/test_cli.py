"""`cnai users`, `cnai tokens` and `cnai feedback` from outside: one clear line on bad input, never a traceback."""

from __future__ import annotations

import json

from services.database import dispose_engines, unit_of_work
from tests.web.conftest import PASSWORD, add_user, cnai
from tests.web.seed import StorySpec, seed_story


def test_users_commands(web_env):  # type: ignore[no-untyped-def]
    add_user(web_env, "alice")
    add_user(web_env, "root", role="admin")
    listed = json.loads(cnai(web_env, "users", "list", "--format", "json").stdout)
    assert [(u["username"], u["role"]) for u in listed] == [("alice", "reader"), ("root", "admin")]
    assert PASSWORD not in cnai(web_env, "users", "list").stdout
    for args, stdin, message in [
        (("users", "add", "alice", "--password-stdin"), PASSWORD + "\n", "already exists"),
        (("users", "add", "bob", "--password-stdin"), "short\n", "too short"),
        (("users", "add", "bad name!", "--password-stdin"), PASSWORD + "\n", "user name"),
        (("users", "add", "bob", "--role", "owner", "--password-stdin"), PASSWORD + "\n", "owner"),
        (("users", "remove", "nobody"), None, "no user"),
        (("users", "set-password", "nobody", "--password-stdin"), PASSWORD + "\n", "no user"),
        (("feedback", "add", "999", "relevant"), None, "no story"),
    ]:
        result = cnai(web_env, *args, stdin=stdin)
        assert result.returncode != 0, args
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    assert cnai(web_env, "users", "remove", "alice").returncode == 0
    assert [u["username"] for u in json.loads(cnai(web_env, "users", "list", "--format", "json").stdout)] == ["root"]


def test_feedback_from_the_cli_and_its_listing(web_env):  # type: ignore[no-untyped-def]
    with unit_of_work(web_env["DATABASE_URL"]) as session:
        seeded = seed_story(session, StorySpec("Invented bureau publishes compute plan", entities=["Example Bureau"]))
    dispose_engines()
    assert cnai(web_env, "feedback", "add", str(seeded.story_id), "relevant", "--who", "dana").returncode == 0
    muted = cnai(
        web_env, "feedback", "add", str(seeded.story_id), "mute_entity", "--entity", "Example Bureau", "--who", "dana"
    )
    assert muted.returncode == 0, muted.stderr
    rows = [json.loads(line) for line in cnai(web_env, "feedback", "list", "--format", "json").stdout.splitlines()]
    assert [(r["who"], r["verdict"], r["source"], r["subject"], r["story_id"]) for r in rows] == [
        ("dana", "mute_entity", "cli", "Example Bureau", seeded.story_id),
        ("dana", "relevant", "cli", None, seeded.story_id),
    ]
    table = cnai(web_env, "feedback", "list").stdout
    assert "Invented bureau publishes compute plan" in table and "mute_entity Example Bureau" in table
    assert "Example Bureau" in cnai(web_env, "feedback", "mutes").stdout
    assert cnai(web_env, "feedback", "unmute", "default", "entity", "Example Bureau").returncode == 0
    assert cnai(web_env, "feedback", "mutes").stdout.strip() == "nothing muted"
    again = cnai(web_env, "feedback", "unmute", "default", "entity", "Example Bureau")
    assert again.returncode == 1 and "is not muted" in again.stderr
