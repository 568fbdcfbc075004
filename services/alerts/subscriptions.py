"""Subscriptions and channels: validated specs, saving, loading from YAML, and the default from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from db.models import Alert, Article, Channel, Classification, Subscription, SubscriptionChannel
from services.alerts.channels import channel_kinds, describe_target, validate_target
from services.alerts.schedule import parse_clock, zone
from services.datafiles import DataFileError, load_yaml
from services.settings import Settings

DEFAULT_SUBSCRIPTION = "default"


class SubscriptionError(ValueError):
    """A subscription or channel spec is invalid; the message says which field and why."""


#: Article languages a subscription can ask for: ``zh`` takes both scripts.
LANGUAGES = ("en", "zh", "zh-Hans", "zh-Hant")


def known_topics() -> frozenset[str]:
    """Topic ids of the loaded lexicon's taxonomy: the classifier cannot tag a story with any other."""
    from services.classify.lexicon import default_lexicon

    return frozenset(default_lexicon().topic_descriptions)


@lru_cache(maxsize=1)
def _entity_names() -> dict[str, str]:
    from services.classify.lexicon import default_lexicon

    return {name.casefold(): name for name in default_lexicon().entities}


def _nearest(value: str, candidates: list[str]) -> list[str]:
    import difflib

    by_folded = {c.casefold(): c for c in candidates}
    return [by_folded[m] for m in difflib.get_close_matches(value.casefold(), list(by_folded), n=3, cutoff=0.6)]


def canonical_entity(name: str) -> str:
    """The catalogue's spelling of entity ``name`` (any case); ValueError naming the nearest ones if it has none."""
    found = _entity_names().get(name.strip().casefold())
    if found is None:
        near = _nearest(name, list(_entity_names().values()))
        hint = f"nearest: {', '.join(near)}" if near else "see config/lexicon/entities.yaml for the catalogue"
        raise ValueError(f"unknown entity {name!r}, so it could never match; {hint}")
    return found


class ChannelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str
    target: str = Field(min_length=1)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in channel_kinds():
            raise ValueError(f"unknown channel kind {kind!r}; known: {', '.join(channel_kinds())}")
        return kind

    @model_validator(mode="after")
    def _target_fits_kind(self) -> ChannelSpec:
        self.target = validate_target(self.kind, self.target)
        return self


class SubscriptionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channels: list[str | ChannelSpec] = Field(min_length=1)
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    topics: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    mode: Literal["instant", "digest"] = "instant"
    schedule: Literal["hourly", "daily"] | None = None
    at: str | None = None
    timezone: str = "UTC"
    quiet_hours: str | None = None
    enabled: bool = True
    priorities: dict[Literal["high", "normal", "low"], Literal["instant", "digest"]] | None = None
    """Which priorities the subscription wants and how, e.g. ``{high: instant, normal: instant, low: digest}``;
    a priority not listed is not sent. Default: instant subscriptions get high and normal instantly and low in a
    daily digest (at ``at``, 08:00 when unset); digest subscriptions get everything in their digest."""

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: list[str]) -> list[str]:
        known = known_topics()
        unknown = [t for t in topics if t not in known]
        if unknown:
            near = [n for t in unknown for n in _nearest(t, sorted(known))]
            hint = f" (nearest: {', '.join(dict.fromkeys(near))})" if near else ""
            raise ValueError(f"unknown topic(s) {', '.join(unknown)}{hint}; known: {', '.join(sorted(known))}")
        return topics

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, entities: list[str]) -> list[str]:
        return list(dict.fromkeys(canonical_entity(e) for e in entities))

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: list[str]) -> list[str]:
        by_folded = {code.casefold(): code for code in LANGUAGES}
        unknown = [code for code in languages if code.strip().casefold() not in by_folded]
        if unknown:
            raise ValueError(
                f"unsupported language(s) {', '.join(unknown)}, so they could never match; use {', '.join(LANGUAGES)}"
            )
        return list(dict.fromkeys(by_folded[code.strip().casefold()] for code in languages))

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, name: str) -> str:
        zone(name)
        return name

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        return None if value is None else parse_clock(value).strftime("%H:%M")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError("quiet hours are START-END, e.g. 22:00-07:00")
        return f"{parse_clock(start):%H:%M}-{parse_clock(end):%H:%M}"

    @model_validator(mode="after")
    def _digest_settings(self) -> SubscriptionSpec:
        if self.mode == "digest":
            self.schedule = self.schedule or "daily"
            self.at = self.at or ("08:00" if self.schedule == "daily" else "00:00")
        elif self.schedule:
            raise ValueError("schedule applies to mode: digest only")
        elif self.at and "digest" not in (self.priorities or {"low": "digest"}).values():
            raise ValueError("at applies to a digest: mode: digest, or priorities sent as digest")
        if self.priorities is None:
            self.priorities = (
                {"high": "digest", "normal": "digest", "low": "digest"}
                if self.mode == "digest"
                else {"high": "instant", "normal": "instant", "low": "digest"}
            )
        if not self.priorities:
            raise ValueError("priorities: name at least one of high, normal, low (as instant or digest)")
        return self

    def _routed(self, how: str) -> list[str]:
        chosen = {str(priority) for priority, way in (self.priorities or {}).items() if way == how}
        return [p for p in ("high", "normal", "low") if p in chosen]

    @property
    def instant_priorities(self) -> list[str]:
        return self._routed("instant")

    @property
    def digest_priorities(self) -> list[str]:
        return self._routed("digest")


class SubscriptionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelSpec] = Field(default_factory=list)
    subscriptions: list[SubscriptionSpec] = Field(default_factory=list)


def validation_message(exc: ValidationError) -> str:
    """Pydantic errors as one line per field, without echoing values (a target may be a secret)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg'].removeprefix('Value error, ')}"
        for err in exc.errors()
    )


def save_channel(session: Session, spec: ChannelSpec) -> Channel:
    channel = session.execute(select(Channel).where(Channel.name == spec.name)).scalar_one_or_none()
    if channel is None:
        channel = Channel(name=spec.name, kind=spec.kind, target=spec.target)
        session.add(channel)
    elif (channel.kind, channel.target) != (spec.kind, spec.target):
        channel.kind, channel.target, channel.next_send_at = spec.kind, spec.target, None
    return channel


def _inline_channel(session: Session, subscription: str, spec: ChannelSpec) -> Channel:
    """Reuse a channel with the same kind and target, else add one named after the subscription."""
    same = (
        session.execute(
            select(Channel).where(Channel.kind == spec.kind, Channel.target == spec.target).order_by(Channel.id)
        )
        .scalars()
        .first()
    )
    if same is not None:
        return same
    name, n = spec.name, 2
    while session.execute(select(Channel.id).where(Channel.name == name)).first() is not None:
        name, n = f"{spec.name}-{n}", n + 1
    return save_channel(session, ChannelSpec(name=name, kind=spec.kind, target=spec.target))


def save_subscription(session: Session, spec: SubscriptionSpec) -> Subscription:
    """Create or replace the subscription named ``spec.name``."""
    channels: list[Channel] = []
    for ref in spec.channels:
        if isinstance(ref, ChannelSpec):
            channel = _inline_channel(session, spec.name, ref)
        else:
            named = session.execute(select(Channel).where(Channel.name == ref)).scalar_one_or_none()
            if named is None:
                raise SubscriptionError(f"subscription {spec.name!r}: no channel named {ref!r}")
            channel = named
        if channel not in channels:
            channels.append(channel)
    subscription = session.execute(
        select(Subscription).where(Subscription.name == spec.name).options(selectinload(Subscription.channels))
    ).scalar_one_or_none()
    if subscription is None:
        subscription = Subscription(name=spec.name)
        session.add(subscription)
    quiet_start, _, quiet_end = (spec.quiet_hours or "").partition("-")
    subscription.min_score = spec.min_score
    subscription.topics = list(spec.topics)
    subscription.entities = list(spec.entities)
    subscription.languages = list(spec.languages)
    subscription.sources = list(spec.sources)
    subscription.mode = spec.mode
    subscription.digest_schedule = spec.schedule
    subscription.digest_time = spec.at
    subscription.timezone = spec.timezone
    subscription.quiet_start = quiet_start or None
    subscription.quiet_end = quiet_end or None
    subscription.enabled = spec.enabled
    subscription.instant_priorities = spec.instant_priorities
    subscription.digest_priorities = spec.digest_priorities
    subscription.channels = channels
    session.flush()
    return subscription


def load_subscriptions(session: Session, path: Path) -> tuple[list[Channel], list[Subscription]]:
    """Create or update every channel and subscription in a YAML file; others are left as they are."""
    try:
        data: Any = load_yaml(path)[0] or {}
    except DataFileError as exc:
        raise SubscriptionError(str(exc)) from None
    try:
        spec = SubscriptionsFile.model_validate(data)
    except ValidationError as exc:
        raise SubscriptionError(f"{path}: {validation_message(exc)}") from None
    channels = [save_channel(session, c) for c in spec.channels]
    session.flush()
    subscriptions = [save_subscription(session, s) for s in spec.subscriptions]
    return channels, subscriptions


def remove_subscription(session: Session, name: str) -> int:
    """Delete a subscription with its alert history and any channel no other subscription uses; alerts removed."""
    subscription = find_subscription(session, name=name)
    alerts = session.execute(
        select(func.count()).select_from(Alert).where(Alert.subscription_id == subscription.id)
    ).scalar_one()
    channels = list(subscription.channels)
    session.execute(delete(Alert).where(Alert.subscription_id == subscription.id))
    session.delete(subscription)
    session.flush()
    for channel in channels:
        used = session.execute(select(SubscriptionChannel).where(SubscriptionChannel.channel_id == channel.id)).first()
        if used is None and channel.name != "console":
            session.delete(channel)
    session.flush()
    return int(alerts)


def all_channels(session: Session) -> list[Channel]:
    """Every channel, by id."""
    return list(session.execute(select(Channel).order_by(Channel.id)).scalars())


def subscription_overview(session: Session) -> list[dict[str, Any]]:
    """Every subscription as `describe_subscription` shows it, with its id, by id."""
    subscriptions = (
        session.execute(select(Subscription).options(selectinload(Subscription.channels)).order_by(Subscription.id))
        .scalars()
        .all()
    )
    return [{"id": s.id, **describe_subscription(s)} for s in subscriptions]


def find_subscription(session: Session, *, name: str) -> Subscription:
    """The subscription ``name`` with its channels; SubscriptionError when there is none."""
    subscription = session.execute(
        select(Subscription).where(Subscription.name == name).options(selectinload(Subscription.channels))
    ).scalar_one_or_none()
    if subscription is None:
        raise SubscriptionError(f"no subscription named {name!r} (`cnai subscriptions list` shows them)")
    return subscription


@dataclass
class MatchedArticle:
    article_id: int
    story_id: int | None
    score: float
    title: str


@dataclass
class SubscriptionPreview:
    """What a subscription's rules would have matched lately: `cnai subscriptions test`."""

    subscription: Subscription
    days: int
    scanned: int
    matched: list[MatchedArticle]


def preview_subscription(
    session: Session, *, name: str, days: int = 7, now: datetime | None = None, scan_limit: int = 2000
) -> SubscriptionPreview:
    """Relevant articles of the last ``days`` the subscription ``name`` matches, best first.

    The score floor is applied by the database; topics, entities, languages and sources by the same
    ``subscription_matches`` the outbox uses, on at most ``scan_limit`` newest candidates."""
    from services.alerts.outbox import subscription_matches

    subscription = find_subscription(session, name=name)
    since = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    rows = session.execute(
        select(Article, Classification)
        .join(Classification, Classification.article_id == Article.id)
        .where(
            Classification.relevant.is_(True),
            Classification.score >= subscription.min_score,
            Article.fetched_at >= since,
        )
        .order_by(Article.fetched_at.desc())
        .limit(scan_limit)
    ).all()
    matched = [
        MatchedArticle(article.id, article.story_id, verdict.score, " ".join(article.title.split()))
        for article, verdict in rows
        if subscription_matches(subscription, article, verdict)
    ]
    matched.sort(key=lambda m: -m.score)
    return SubscriptionPreview(subscription, days, len(rows), matched)


def describe_subscription(subscription: Subscription) -> dict[str, Any]:
    """A subscription as shown by the CLI: secrets in channel targets masked."""
    digest = f"{subscription.digest_schedule or 'daily'} digest at {subscription.digest_time or '08:00'} {subscription.timezone}"
    if subscription.mode == "digest" and not subscription.instant_priorities:
        mode = digest
    else:
        mode = "instant"
    routes = []
    if subscription.instant_priorities:
        routes.append(f"{'+'.join(subscription.instant_priorities)} instant")
    if subscription.digest_priorities:
        routes.append(f"{'+'.join(subscription.digest_priorities)} in the {digest}")
    priorities = ", ".join(routes) or "no priority (sends nothing)"
    rules = [f"score>={subscription.min_score:g}"] if subscription.min_score else []
    for label, values in (
        ("topics", subscription.topics),
        ("entities", subscription.entities),
        ("languages", subscription.languages),
        ("sources", subscription.sources),
    ):
        if values:
            rules.append(f"{label}={','.join(values)}")
    return {
        "name": subscription.name,
        "enabled": subscription.enabled,
        "mode": mode,
        "priorities": priorities,
        "rules": " ".join(rules) or "all relevant stories",
        "quiet_hours": f"{subscription.quiet_start}-{subscription.quiet_end} {subscription.timezone}"
        if subscription.quiet_start and subscription.quiet_end
        else None,
        "channels": [f"{c.name} ({c.kind}: {describe_target(c.kind, c.target)})" for c in subscription.channels],
    }


def _channel(session: Session, name: str, kind: str, target: str) -> Channel:
    return save_channel(session, ChannelSpec(name=name, kind=kind, target=target))


def ensure_default_subscription(session: Session, settings: Settings) -> Subscription:
    """The subscription the environment alone implies: every relevant story to the console and to Slack
    (``SLACK_WEBHOOK_URL``) and email (``SMTP_URL`` + ``ALERT_EMAIL_TO``) when configured; high and normal
    priority instantly, low only in a daily digest (08:00 UTC).

    Channel targets name environment variables (``env:NAME``) so no secret is stored in the database. An
    operator may disable it (``enabled: false`` in a subscriptions file); it is never re-enabled here.
    """
    subscription = session.execute(
        select(Subscription)
        .where(Subscription.name == DEFAULT_SUBSCRIPTION)
        .options(selectinload(Subscription.channels))
    ).scalar_one_or_none()
    if subscription is None:
        subscription = Subscription(
            name=DEFAULT_SUBSCRIPTION,
            mode="instant",
            min_score=0.0,
            instant_priorities=["high", "normal"],
            digest_priorities=["low"],
        )
        session.add(subscription)
    wanted = [_channel(session, "console", "console", "stdout")]
    if settings.slack_webhook_url and settings.slack_webhook_url.get_secret_value():
        wanted.append(_channel(session, "slack-default", "slack", "env:SLACK_WEBHOOK_URL"))
    if settings.smtp_url and settings.smtp_url.get_secret_value() and settings.alert_email_to:
        wanted.append(_channel(session, "email-default", "email", "env:ALERT_EMAIL_TO"))
    for channel in wanted:
        if channel not in subscription.channels:
            subscription.channels.append(channel)
    session.flush()
    return subscription
