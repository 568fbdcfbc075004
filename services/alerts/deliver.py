"""Deliver alerts exactly once in effect: claim, send, record, each step in its own transaction.

1. *Claim*: a short committed transaction moves due deliveries from ``pending`` to ``sending`` with a
   fresh ``claim_token`` and ``claimed_until``, and takes the channel's pacing slot. Concurrent senders
   cannot claim the same row (conditional update; ``SKIP LOCKED`` on PostgreSQL).
2. *Send*: no transaction is open during the network call.
3. *Record*: a new transaction marks the claimed rows ``sent`` (or ``digested``), or schedules a retry
   with exponential backoff (a channel's Retry-After wins), or marks them ``failed`` for good.

A sender killed between 2 and 3 leaves rows in ``sending``; once ``claimed_until`` has passed, the next
sweep resolves them by channel kind (docs/alerts.md): email is sent again with the same Message-ID
(clients drop the duplicate), Slack and apprise are never sent twice: the delivery is marked ``failed``
as unconfirmed, reported to Sentry, and left for ``cnai alerts retry``.

A channel with more due instant deliveries than ``ALERT_BURST_THRESHOLD`` gets digests of up to
``ALERT_DIGEST_MAX_ITEMS`` stories instead of a flood; the folded deliveries are marked ``digested``.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, joinedload

from db.enums import AlertStatus, DeliveryStatus
from db.models import Alert, Channel, Delivery, Subscription
from db.results import affected_rows
from services.alerts.channels import DeliveryError, find_channel_kind, send
from services.alerts.content import DeliveryMode, Digest, Message, alert_content
from services.alerts.pacing import hold_channel, ready_at, take_slot, wall_clock
from services.alerts.schedule import after_quiet_hours, quiet_until
from services.alerts.translate import translate_message
from services.database import unit_of_work
from services.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 3600.0
"""Printing every alert cannot flood anyone: the console gets each alert on its own, whatever the burst."""
MAX_IN_SWEEP_WAIT_S = 5.0
"""A sweep sleeps for a paced channel up to this long; longer holds are left to the next sweep."""
UNCONFIRMED = (
    "unconfirmed: the sender stopped during the send, so the message may or may not have arrived; "
    "not sent again automatically to avoid a duplicate (`cnai alerts retry {id}` sends it again)"
)


class Contended(Exception):
    """Another sender claimed the same rows or pacing slot first; try again."""


@dataclass
class Claim:
    token: str
    channel_id: int
    delivery_ids: list[int]
    shape: str
    """``single``, ``burst`` (folded instant alerts) or ``digest`` (a digest subscription's scheduled digest)."""


@dataclass
class DeliveryReport:
    """Deliveries that reached their channel (``sent``, of which ``digested`` folded into burst digests),
    ``failed`` for good, ``retrying`` later, ``recovered`` from dead senders; ``messages`` sent."""

    sent: int = 0
    digested: int = 0
    failed: int = 0
    retrying: int = 0
    recovered: int = 0
    messages: int = 0
    sent_by_channel: dict[str, int] = field(default_factory=dict)

    def add_sent(self, channel: str, count: int, *, digested: bool) -> None:
        """``count`` deliveries reached ``channel`` in one message; ``digested`` when folded by a burst."""
        self.messages += 1
        self.sent += count
        if digested:
            self.digested += count
        self.sent_by_channel[channel] = self.sent_by_channel.get(channel, 0) + count


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """Exponential backoff with ±20 % jitter: base, 2×base, 4×base... capped at an hour."""
    return min(MAX_BACKOFF_S, settings.alert_retry_base_s * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


def report_failure(text: str) -> None:
    """To Sentry when it is initialised; nothing otherwise. ``text`` is already free of secrets."""
    try:
        import sentry_sdk
    except ImportError:
        return
    if sentry_sdk.is_initialized():
        sentry_sdk.capture_message(text, level="error")


def refresh_alert_statuses(session: Session, alert_ids: Iterable[int]) -> None:
    """An alert's status sums up its deliveries: pending while any is unsettled, then failed/partial/digested/sent."""
    ids = set(alert_ids)
    if not ids:
        return
    statuses: dict[int, set[str]] = {}
    for alert_id, status in session.execute(
        select(Delivery.alert_id, Delivery.status).where(Delivery.alert_id.in_(ids))
    ):
        statuses.setdefault(alert_id, set()).add(status)
    for alert_id in ids:
        found = statuses.get(alert_id, set())
        if found & {DeliveryStatus.PENDING, DeliveryStatus.SENDING}:
            status = AlertStatus.PENDING
        elif found == {DeliveryStatus.FAILED}:
            status = AlertStatus.FAILED
        elif DeliveryStatus.FAILED in found:
            status = AlertStatus.PARTIAL
        elif found == {DeliveryStatus.DIGESTED}:
            status = AlertStatus.DIGESTED
        else:
            status = AlertStatus.SENT
        session.execute(update(Alert).where(Alert.id == alert_id, Alert.status != status).values(status=status))


def recover_abandoned(session: Session, settings: Settings, now: datetime, report: DeliveryReport) -> None:
    """Resolve deliveries whose sender died after claiming them (``sending`` past ``claimed_until``)."""
    stale = (
        session.execute(
            select(Delivery)
            .where(Delivery.status == DeliveryStatus.SENDING, Delivery.claimed_until < now)
            .options(joinedload(Delivery.channel))
            .with_for_update(skip_locked=True, of=Delivery)
        )
        .scalars()
        .all()
    )
    for delivery in stale:
        report.recovered += 1
        delivery.claimed_until = None
        if _safe_to_resend(delivery.channel.kind) and delivery.attempts < settings.alert_max_attempts:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now
            delivery.last_error = "the sender stopped before recording the send; sending again (same Message-ID)"
            log.warning("delivery %s to %s: sender died mid-send, sending again", delivery.id, delivery.channel.name)
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = UNCONFIRMED.format(id=delivery.alert_id)
            log.error("delivery %s to %s: sender died mid-send; unconfirmed", delivery.id, delivery.channel.name)
            report_failure(f"alert delivery {delivery.id} to channel {delivery.channel.name!r} is unconfirmed")
    refresh_alert_statuses(session, (d.alert_id for d in stale))


def defer_quiet_hours(session: Session, now: datetime) -> None:
    """Hold due deliveries of subscriptions now in quiet hours until the quiet hours end."""
    quiet = session.execute(
        select(Subscription).where(Subscription.quiet_start.is_not(None), Subscription.quiet_end.is_not(None))
    ).scalars()
    for subscription in quiet:
        until = quiet_until(subscription, now)
        if until is None:
            continue
        session.execute(
            update(Delivery)
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at < until,
                Delivery.alert_id.in_(select(Alert.id).where(Alert.subscription_id == subscription.id)),
            )
            .values(next_attempt_at=until)
        )


def _safe_to_resend(kind: str) -> bool:
    found = find_channel_kind(kind)
    return found is not None and found.safe_to_resend


def _folded_into_digest(kind: str) -> bool:
    found = find_channel_kind(kind)
    return found is None or found.folded_into_digest


def _due_for(channel_id: int, now: datetime) -> Select[int, int]:
    return (
        select(Delivery.id, Alert.subscription_id)
        .join(Alert, Alert.id == Delivery.alert_id)
        .join(Subscription, Subscription.id == Alert.subscription_id)
        .where(
            Delivery.channel_id == channel_id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .with_for_update(skip_locked=True, of=Delivery)
    )


def pick(session: Session, channel: Channel, settings: Settings, now: datetime) -> tuple[list[int], str]:
    """What the channel's next message carries: a due scheduled digest first, else one alert or a burst digest."""
    cap = settings.alert_digest_max_items
    first = session.execute(
        _due_for(channel.id, now).where(Alert.delivery_mode == DeliveryMode.DIGEST.value).limit(1)
    ).first()
    if first is not None:
        digest = session.execute(
            _due_for(channel.id, now)
            .where(Alert.subscription_id == first.subscription_id, Alert.delivery_mode == DeliveryMode.DIGEST.value)
            .limit(cap)
        )
        return [r.id for r in digest], "digest"
    rows = session.execute(
        _due_for(channel.id, now)
        .where(Alert.delivery_mode != DeliveryMode.DIGEST.value)
        .limit(max(cap, settings.alert_burst_threshold + 1))
    ).all()
    if len(rows) > settings.alert_burst_threshold and _folded_into_digest(channel.kind):
        return [r.id for r in rows[:cap]], "burst"
    return [r.id for r in rows[:1]], "single"


def claim_next(session: Session, settings: Settings, now: datetime) -> Claim | datetime | None:
    """Claim the next message's deliveries; the time a paced channel frees up; or None when nothing is due."""
    channels = session.execute(
        select(Delivery.channel_id, func.min(Delivery.next_attempt_at).label("oldest"))
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .group_by(Delivery.channel_id)
        .order_by("oldest")
    ).all()
    wait: datetime | None = None
    for channel_id, _oldest in channels:
        channel = session.get(Channel, channel_id)
        if channel is None:
            continue
        free_at = ready_at(channel, settings)
        if free_at is not None:
            wait = free_at if wait is None else min(wait, free_at)
            continue
        ids, shape = pick(session, channel, settings, now)
        if not ids:
            continue
        token = uuid.uuid4().hex
        claimed = session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
            .values(
                status=DeliveryStatus.SENDING,
                claim_token=token,
                claimed_until=now + timedelta(seconds=settings.alert_claim_s),
                attempts=Delivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if affected_rows(claimed) == 0 or not take_slot(session, channel, settings):
            raise Contended()
        got = list(
            session.execute(select(Delivery.id).where(Delivery.claim_token == token).order_by(Delivery.id)).scalars()
        )
        return Claim(token, channel.id, got, shape)
    return wait


def message_for(session: Session, claim: Claim, deliveries: list[Delivery]) -> tuple[Message, str]:
    """The message and its stable key (for the email Message-ID: equal for a resend of the same deliveries)."""
    items = [alert_content(session, d.alert) for d in deliveries]
    if claim.shape == "single":
        return items[0], f"a{deliveries[0].alert_id}.d{deliveries[0].id}"
    key = "digest-" + hashlib.sha1(",".join(str(d.id) for d in deliveries).encode()).hexdigest()[:20]
    count = f"{len(items)} stor{'y' if len(items) == 1 else 'ies'}"
    if claim.shape == "digest":
        subscription = session.get(Subscription, deliveries[0].alert.subscription_id)
        assert subscription is not None
        schedule = (subscription.digest_schedule or "daily").capitalize()
        wanted = ", ".join(subscription.digest_priorities or []) or "all"
        note = f"{schedule} digest of subscription {subscription.name!r} (priorities: {wanted}), grouped by topic."
        return Digest(
            f"{schedule} digest: {subscription.name} ({count})", note, items, subscription.timezone or "UTC"
        ), key
    note = (
        f"{count} arrived at once: they are folded into one message instead of one message each "
        "(ALERT_BURST_THRESHOLD), grouped by topic."
    )
    zones = {i.timezone for i in items}
    return Digest(f"cnai-monitor: {count}", note, items, zones.pop() if len(zones) == 1 else "UTC"), key


def record_sent(session: Session, claim: Claim, reference: str | None, now: datetime) -> int:
    """Mark the claim's deliveries sent; also when a recovery had marked them unconfirmed meanwhile."""
    status = DeliveryStatus.DIGESTED if claim.shape == "burst" else DeliveryStatus.SENT
    done = session.execute(
        update(Delivery)
        .where(
            Delivery.claim_token == claim.token, Delivery.status.in_((DeliveryStatus.SENDING, DeliveryStatus.FAILED))
        )
        .values(status=status, sent_at=now, last_error=None, claimed_until=None, message_ref=reference)
        .execution_options(synchronize_session=False)
    )
    recorded = affected_rows(done)
    if recorded != len(claim.delivery_ids):
        log.warning(
            "claim %s: %d of %d deliveries recorded as %s", claim.token, recorded, len(claim.delivery_ids), status
        )
    refresh_alert_statuses(
        session, session.execute(select(Delivery.alert_id).where(Delivery.claim_token == claim.token)).scalars()
    )
    return recorded


def record_failure(
    session: Session, claim: Claim, error: DeliveryError, settings: Settings, now: datetime, report: DeliveryReport
) -> None:
    deliveries = (
        session.execute(
            select(Delivery)
            .where(Delivery.claim_token == claim.token, Delivery.status == DeliveryStatus.SENDING)
            .options(joinedload(Delivery.alert), joinedload(Delivery.channel))
        )
        .scalars()
        .all()
    )
    rate_limited = error.retry_after is not None
    for delivery in deliveries:
        delivery.last_error = str(error)[:1000]
        delivery.claimed_until = None
        if error.permanent or (not rate_limited and delivery.attempts >= settings.alert_max_attempts):
            delivery.status = DeliveryStatus.FAILED
            report.failed += 1
        else:
            delay = error.retry_after if rate_limited else backoff_seconds(delivery.attempts, settings)
            subscription = session.get(Subscription, delivery.alert.subscription_id)
            when = now + timedelta(seconds=delay or 0.0)
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = after_quiet_hours(subscription, when) if subscription else when
            report.retrying += 1
    if rate_limited:
        hold_channel(session, claim.channel_id, error.retry_after or 0.0, settings)
    refresh_alert_statuses(session, (d.alert_id for d in deliveries))
    if deliveries and deliveries[0].status == DeliveryStatus.FAILED:
        channel = deliveries[0].channel.name
        log.error("%d deliveries to %s failed for good: %s", len(deliveries), channel, error)
        report_failure(f"alert delivery to channel {channel!r} failed for good: {error}")
    elif deliveries:
        log.warning("%d deliveries to %s will be retried: %s", len(deliveries), deliveries[0].channel.name, error)


def send_claim(url: str, settings: Settings, claim: Claim, now: datetime, report: DeliveryReport) -> None:
    with unit_of_work(url) as session:
        deliveries = list(
            session.execute(
                select(Delivery)
                .where(Delivery.claim_token == claim.token, Delivery.status == DeliveryStatus.SENDING)
                .options(joinedload(Delivery.alert), joinedload(Delivery.channel))
                .order_by(Delivery.id)
            ).scalars()
        )
        if not deliveries:
            return
        channel = deliveries[0].channel
        try:
            message, key = message_for(session, claim, deliveries)
            failure = None
        except Exception as exc:
            log.exception("could not build the message for claim %s", claim.token)
            failure = DeliveryError(f"internal error building the message ({type(exc).__name__})")
    if failure is None and settings.llm_enabled:
        message = translate_message(message, settings, url)  # bounded; falls back to the gloss, never raises
    if failure is None:
        try:
            reference = send(channel, message, settings, key)
        except DeliveryError as exc:
            failure = exc
        except Exception as exc:  # a library's own message may quote the target URL: log the type only
            log.error("sending to %s crashed: %s", channel.name, type(exc).__name__)
            if _safe_to_resend(channel.kind):
                failure = DeliveryError(f"internal error while sending ({type(exc).__name__})")
            else:
                # The crash (e.g. the task's soft time limit) may have come after the channel took the message:
                # retrying could post it twice, so this is unconfirmed, as when the sender dies mid-send.
                failure = DeliveryError(
                    f"{type(exc).__name__} while sending; " + UNCONFIRMED.format(id=claim.delivery_ids[0]),
                    permanent=True,
                )
    with unit_of_work(url) as session:
        if failure is not None:
            record_failure(session, claim, failure, settings, now, report)
        else:
            count = record_sent(session, claim, reference, now)
            report.add_sent(channel.name, count, digested=claim.shape == "burst")


def deliver_due(
    settings: Settings,
    now: datetime | None = None,
    *,
    database_url: str | None = None,
    budget_s: float | None = None,
    limit: int | None = None,
) -> DeliveryReport:
    """Send every due delivery, each message claimed and recorded in its own transactions.

    ``now`` fixes the scheduling clock (due times, quiet hours, backoff) for tests; pacing always runs on
    the wall clock. Stops when nothing is due, after ``budget_s`` (ALERT_SWEEP_SECONDS), or after ``limit``
    messages.
    """
    url = database_url or settings.database_url
    clock: Callable[[], datetime] = (lambda: now) if now is not None else wall_clock
    deadline = time.monotonic() + (settings.alert_sweep_budget_s if budget_s is None else budget_s)
    report = DeliveryReport()
    with unit_of_work(url) as session:
        recover_abandoned(session, settings, clock(), report)
        defer_quiet_hours(session, clock())
    contended = 0
    while time.monotonic() < deadline and (limit is None or report.messages < limit):
        try:
            with unit_of_work(url) as session:
                outcome = claim_next(session, settings, clock())
        except Contended:
            contended += 1
            if contended > 100:
                break
            time.sleep(random.uniform(0.005, 0.05))
            continue
        if outcome is None:
            break
        if isinstance(outcome, datetime):
            wait = (outcome - wall_clock()).total_seconds()
            if wait > MAX_IN_SWEEP_WAIT_S or time.monotonic() + wait > deadline:
                break
            time.sleep(max(wait, 0.01))
            continue
        send_claim(url, settings, outcome, clock(), report)
    return report


def deliver_pending(session: Session, settings: Settings, now: datetime, limit: int = 500) -> DeliveryReport:
    """Kept for existing callers: deliver due alerts of the session's database, in transactions of their own."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return deliver_due(settings, now, database_url=url, limit=limit)


def requeue_failed(session: Session, now: datetime, alert_ids: list[int] | None = None) -> int:
    """Put failed deliveries back in the queue (all of them, or those of ``alert_ids``), attempts reset."""
    condition = [Delivery.status == DeliveryStatus.FAILED]
    if alert_ids is not None:
        condition.append(Delivery.alert_id.in_(alert_ids))
    affected = set(session.execute(select(Delivery.alert_id).where(*condition)).scalars())
    requeued = session.execute(
        update(Delivery)
        .where(*condition)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, claimed_until=None, claim_token=None)
        .execution_options(synchronize_session=False)
    )
    refresh_alert_statuses(session, affected)
    return affected_rows(requeued)


def deliver_all_due(settings: Settings, *, database_url: str | None = None, batch: int = 500) -> DeliveryReport:
    """Send every delivery due now, in batches of ``batch`` messages, until a batch sends nothing (for `cnai poll`).

    Each batch is one ``deliver_due`` with no time budget; retries scheduled for later stay pending.
    """
    total = DeliveryReport()
    while True:
        report = deliver_due(settings, database_url=database_url, budget_s=float("inf"), limit=batch)
        total.sent += report.sent
        total.digested += report.digested
        total.failed += report.failed
        total.retrying += report.retrying
        total.recovered += report.recovered
        total.messages += report.messages
        for channel, count in report.sent_by_channel.items():
            total.sent_by_channel[channel] = total.sent_by_channel.get(channel, 0) + count
        if report.messages < batch:
            return total
