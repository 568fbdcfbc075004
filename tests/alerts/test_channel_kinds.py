"""Channel kinds come from the registry alone: the four shipped kinds keep their rules, and a new kind is one module.

The throw-away ``pigeon`` kind below is written as a module into a directory added to the package's path, as a new
file in services/alerts/channels/ would be: no other file is edited, yet subscriptions accept it, the CLI shows its
target masked its way, and delivery sends through it with its own folding rule.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import services.alerts.channels as channels_package
from cli.main import cli
from services.alerts.channels import channel_kind, channel_kinds, describe_target, registry
from services.alerts.deliver import deliver_due
from services.alerts.subscriptions import ChannelSpec
from services.database import unit_of_work
from services.settings import get_settings
from tests.alerts import factories as make

PIGEON = '''
"""``pigeon``: a throw-away kind for the registry test; sends land in SENT."""
from __future__ import annotations

from services.alerts.channels.base import ChannelKind
from services.alerts.channels.registry import register
from services.alerts.content import AlertContent, Message
from services.settings import Settings

SENT: list[tuple[str, str]] = []


@register
class Pigeon(ChannelKind):
    name = "pigeon"
    target_help = "pigeon:loft-NAME"
    folded_into_digest = False

    def validate_target(self, target: str) -> str:
        if not target.startswith("loft-"):
            raise ValueError("a pigeon target is loft-NAME")
        return target

    def describe_target(self, target: str) -> str:
        return "loft-…"

    def secret_values(self, target: str) -> list[str]:
        return [target]

    def send(self, target: str, message: Message, settings: Settings, key: str) -> str | None:
        title = message.title if isinstance(message, AlertContent) else "digest"
        SENT.append((target, title))
        return f"ring-{len(SENT)}"
'''


def test_the_shipped_kinds_keep_their_rules() -> None:
    kinds = channel_kinds()
    assert set(kinds) >= {"apprise", "console", "email", "slack"}
    assert [name for name in ("apprise", "console", "email", "slack") if kinds[name].paced] == ["apprise", "slack"]
    assert [name for name in ("apprise", "console", "email", "slack") if kinds[name].safe_to_resend] == [
        "console",
        "email",
    ]
    assert [name for name in ("apprise", "console", "email", "slack") if not kinds[name].folded_into_digest] == [
        "console"
    ]
    assert (
        describe_target("slack", "https://hooks.slack.com/services/T1/B2/secret")
        == "https://hooks.slack.com/…(redacted)"
    )
    assert describe_target("email", "desk@example.org") == "desk@example.org"
    with pytest.raises(ValueError, match="unknown channel kind 'pager'"):
        channel_kind("pager")


@pytest.fixture
def pigeon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The pigeon module on the package path, found by the registry; gone again afterwards."""
    kinds_dir = tmp_path / "more_kinds"
    kinds_dir.mkdir()
    (kinds_dir / "pigeon.py").write_text(textwrap.dedent(PIGEON), encoding="utf-8")
    monkeypatch.setattr(channels_package, "__path__", [*channels_package.__path__, str(kinds_dir)])
    registry.forget_loaded_modules()
    assert "pigeon" in channel_kinds()
    yield sys.modules["services.alerts.channels.pigeon"]
    registry._kinds.pop("pigeon", None)
    sys.modules.pop("services.alerts.channels.pigeon", None)
    registry.forget_loaded_modules()


def test_a_new_kind_is_one_module(pigeon: object, sqlite_url: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", sqlite_url)
    env.setenv("ALERT_BURST_THRESHOLD", "1")
    with pytest.raises(ValueError, match="loft-NAME"):
        ChannelSpec(name="x", kind="pigeon", target="rooftop")

    runner = CliRunner()
    added = runner.invoke(cli, ["subscriptions", "add", "loft", "--channel", "pigeon:loft-harbour"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["subscriptions", "list"])
    assert "loft-pigeon (pigeon: loft-…)" in listed.output and "harbour" not in listed.output

    with unit_of_work() as session:
        for title in ("Ministry drafts compute rules", "Lab opens weights", "Province funds chip fab"):
            make.alerted(session, title=title)
    report = deliver_due(get_settings(), make.NOW)
    sent = pigeon.SENT  # type: ignore[attr-defined]  # the module the registry loaded
    assert report.sent == 3 and report.digested == 0, report
    assert sorted(title for _, title in sent) == [
        "Lab opens weights",
        "Ministry drafts compute rules",
        "Province funds chip fab",
    ]
    assert {target for target, _ in sent} == {"loft-harbour"}


def test_a_stored_channel_of_a_removed_kind_fails_alone(
    sqlite_url: str, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("DATABASE_URL", sqlite_url)
    with unit_of_work() as session:
        gone = make.channel(session, "old-pager", "pager", "0800-pager")
        console = make.channel(session, "console", "console", "stdout")
        make.subscription(session, "both", [gone, console])
        make.alerted(session, title="Regulator publishes model filing list")
    report = deliver_due(get_settings(), make.NOW)
    assert report.sent == 1 and report.failed == 1, report
    assert "Regulator publishes model filing list" in capsys.readouterr().out
