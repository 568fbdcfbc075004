"""The Starlette application: routes parse the request, call services, render templates or JSON.

Every page needs a signed-in user except ``/healthz``, ``/login``, ``/static``, the Slack
interaction endpoint (authenticated by Slack's signature) and email feedback links
(authenticated by their own signature). ``/api/...`` takes ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.models import User
from services.accounts import Role, authenticate, password_fingerprint, verify_token
from services.accounts.login_limit import clear_login_failures, login_retry_after, record_login_failure
from services.accounts.secret import web_secret_key
from services.database import unit_of_work
from services.feedback import (
    FeedbackError,
    FeedbackSource,
    Verdict,
    list_feedback,
    list_mutes,
    record_feedback,
    target_of_alert,
    target_of_story,
)
from services.settings import Settings, get_settings
from services.stories import (
    LANGUAGES,
    Show,
    StoryFilters,
    feed_choices,
    list_stories,
    story_detail,
)
from web.session import SessionCodec, WebSession

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
MAX_SLACK_BODY = 1024 * 1024  # an interaction payload carries the whole message: well under 1 MiB
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


class WebApp:
    """Holds settings, the session codec, the rate limiter and templates; builds the Starlette app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = SessionCodec(web_secret_key(settings), int(settings.web_session_hours * 3600))
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["utc"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else ""
        self.templates.env.filters["label"] = lambda s: str(s).replace("_", " ")
        self.proxies = [
            ipaddress.ip_network(p.strip(), strict=False) for p in settings.web_trusted_proxies.split(",") if p.strip()
        ]
        self.secure_cookies = bool(settings.web_base_url and settings.web_base_url.startswith("https://"))

    # --- plumbing -------------------------------------------------------------------------------

    def _trusted_user(self, request: Request) -> str | None:
        header = self.settings.web_trusted_user_header
        if not header or not self.proxies or request.client is None:
            return None
        try:
            address = ipaddress.ip_address(request.client.host)
        except ValueError:
            return None
        if not any(address in net for net in self.proxies):
            return None
        value = request.headers.get(header)
        return value.strip() if value and value.strip() else None

    def _resolve_user(self, session: Session, request: Request, web_session: WebSession) -> User | None:
        proxied = self._trusted_user(request)
        if proxied is not None:
            from services.accounts import find_user

            return find_user(session, proxied)
        if web_session.user_id is None:
            return None
        user = session.get(User, web_session.user_id)
        if user is None or password_fingerprint(user) != web_session.fingerprint:
            return None
        return user

    def render(self, request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def page(
        self, handler: Callable[..., Any], *, admin: bool = False, public: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a synchronous handler(request, db, user, web_session, form) run in a thread with a unit of work."""

        async def endpoint(request: Request) -> Response:
            web_session = self.codec.load(request)
            form: FormData | None = None
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=50)
                if not web_session.csrf_ok(form.get("csrf_token")):  # type: ignore[arg-type]
                    response: Response = self.render(
                        request,
                        "message.html",
                        {
                            "title": "Form expired",
                            "message": "The form was stale or forged (CSRF check failed). Go back, reload and try again.",
                            "user": None,
                            "csrf": web_session.csrf,
                        },
                        403,
                    )
                    self.codec.save(request, response, web_session, self.secure_cookies)
                    return response

            def run() -> Response:
                with unit_of_work() as db:
                    user = self._resolve_user(db, request, web_session)
                    if user is None and not public:
                        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
                    if admin and (user is None or user.role != Role.ADMIN):
                        return self.render(
                            request,
                            "message.html",
                            {
                                "title": "Admins only",
                                "message": "This page is for admins.",
                                "user": user,
                                "csrf": web_session.csrf,
                            },
                            403,
                        )
                    return handler(request, db, user, web_session, form)

            response = await run_in_threadpool(run)
            self.codec.save(request, response, web_session, self.secure_cookies)
            response.headers.setdefault("cache-control", "no-store")
            return response

        return endpoint

    # --- pages ------------------------------------------------------------------------------------

    def login(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        next_url = _safe_next(request.query_params.get("next") or (str(form.get("next") or "") if form else ""))
        context: dict[str, Any] = {"csrf": ws.csrf, "next": next_url, "error": None, "user": None, "username": ""}
        if form is None:
            return self.render(request, "login.html", context)
        username, password = str(form.get("username") or "")[:100], str(form.get("password") or "")
        context["username"] = username
        address = request.client.host if request.client else "?"
        attempts, window = self.settings.web_login_attempts, self.settings.web_login_window_s
        wait = login_retry_after(db, address, username, attempts, window)
        if wait:
            context["error"] = f"Too many failed attempts. Try again in {wait} seconds."
            response = self.render(request, "login.html", context, 429)
            response.headers["retry-after"] = str(wait)
            return response
        found = authenticate(db, username, password)
        if found is None:
            record_login_failure(db, address, username, window)
            context["error"] = "Wrong user name or password."
            return self.render(request, "login.html", context, 401)
        clear_login_failures(db, username)
        fresh = WebSession(user_id=found.id, fingerprint=password_fingerprint(found), dirty=True)
        ws.user_id, ws.fingerprint, ws.csrf, ws.dirty = fresh.user_id, fresh.fingerprint, fresh.csrf, True
        return RedirectResponse(next_url, status_code=303)

    def logout(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        ws.user_id, ws.fingerprint, ws.dirty = None, None, True
        return RedirectResponse("/login", status_code=303)

    def stories(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        filters, problems = parse_filters(request.query_params)
        page = _int(request.query_params.get("page"), 1)
        result = list_stories(db, filters, page=page)
        params = {k: v for k, v in request.query_params.items() if k != "page" and v}
        return self.render(
            request,
            "stories.html",
            {
                "user": user,
                "csrf": ws.csrf,
                "page": result,
                "filters": filters,
                "problems": problems,
                "feeds": feed_choices(db),
                "languages": LANGUAGES,
                "topics": _topics(),
                "priorities": ["high", "normal", "low"],
                "query": params,
                "prev_url": _page_url(params, page - 1) if page > 1 else None,
                "next_url": _page_url(params, page + 1) if result.has_next else None,
            },
        )

    def story(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        detail = story_detail(db, int(request.path_params["story_id"]))
        if detail is None:
            raise HTTPException(404, "no such story")
        notice = request.query_params.get("done")
        return self.render(request, "story.html", {"user": user, "csrf": ws.csrf, "story": detail, "notice": notice})

    def story_feedback(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        assert form is not None and user is not None
        story_id = int(request.path_params["story_id"])
        try:
            verdict = Verdict(str(form.get("verdict") or ""))
            record_feedback(
                db,
                user.username,
                verdict,
                FeedbackSource.WEB,
                target_of_story(db, story_id),
                entity=str(form.get("entity") or "") or None,
            )
        except (ValueError, FeedbackError) as exc:
            return self.render(
                request,
                "message.html",
                {"title": "Not recorded", "message": str(exc), "user": user, "csrf": ws.csrf},
                400,
            )
        return RedirectResponse(f"/stories/{story_id}?done={verdict.value}", status_code=303)

    def feeds(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        from services.feeds.registry import list_feeds

        return self.render(
            request,
            "feeds.html",
            {"user": user, "csrf": ws.csrf, "feeds": list_feeds(db), "now": datetime.now(timezone.utc)},
        )

    def alerts(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        from services.alerts.history import recent_alerts

        status = request.query_params.get("status") or None
        return self.render(
            request,
            "alerts.html",
            {"user": user, "csrf": ws.csrf, "alerts": recent_alerts(db, status=status, limit=200), "status": status},
        )

    def feedback_page(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        return self.render(
            request,
            "feedback.html",
            {"user": user, "csrf": ws.csrf, "rows": list_feedback(db, 200), "mutes": list_mutes(db)},
        )

    def subscriptions(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload

        from db.models import Subscription
        from services.alerts.subscriptions import describe_subscription

        subs = db.execute(
            select(Subscription).options(selectinload(Subscription.channels)).order_by(Subscription.name)
        ).scalars()
        return self.render(
            request,
            "subscriptions.html",
            {
                "user": user,
                "csrf": ws.csrf,
                "subscriptions": [describe_subscription(s) for s in subs],
                "mutes": list_mutes(db),
            },
        )

    def email_link(
        self, request: Request, db: Session, user: User | None, ws: WebSession, form: FormData | None
    ) -> Response:
        from services.feedback.email_links import (
            LinkRefused,
            alert_email_recipients,
            read_token,
        )

        token = str(request.path_params["token"])
        try:
            link = read_token(self.settings, token)
            target = target_of_alert(db, link.alert_id)
        except (LinkRefused, FeedbackError) as exc:
            return self.render(
                request,
                "message.html",
                {"title": "Link not valid", "message": str(exc), "user": user, "csrf": ws.csrf},
                400,
            )
        from db.models import Article

        article = db.get(Article, target.article_id)
        context = {
            "user": user,
            "csrf": ws.csrf,
            "link": link,
            "title": article.title if article else "",
            "done": False,
        }
        if form is None:
            return self.render(request, "email_confirm.html", context)
        who = alert_email_recipients(db, link.alert_id)
        recorded = record_feedback(db, who, link.verdict, FeedbackSource.EMAIL, target, request_key=link.request_key)
        context["done"] = True
        context["again"] = recorded is None
        return self.render(request, "email_confirm.html", context)

    # --- endpoints without a session ----------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        def ping() -> bool:
            try:
                with unit_of_work() as db:
                    db.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 - any database failure means "not healthy"
                log.warning("healthz: database unreachable", exc_info=True)
                return False

        ok = await run_in_threadpool(ping)
        return JSONResponse({"status": "ok" if ok else "database unreachable"}, status_code=200 if ok else 503)

    async def slack_interactions(self, request: Request) -> Response:
        from services.feedback.slack import (
            SlackRequestRefused,
            parse_interaction,
            post_response,
            updated_message,
            verify_slack_request,
        )

        secret = self.settings.slack_signing_secret
        if secret is None or not secret.get_secret_value():
            return PlainTextResponse("Slack feedback is not configured", status_code=404)
        if int(request.headers.get("content-length") or 0) > MAX_SLACK_BODY:
            return PlainTextResponse("request too large", status_code=413)
        body = await request.body()  # the raw bytes: the signature covers exactly these
        if len(body) > MAX_SLACK_BODY:
            return PlainTextResponse("request too large", status_code=413)
        try:
            key = verify_slack_request(
                secret.get_secret_value(),
                request.headers.get("x-slack-request-timestamp"),
                request.headers.get("x-slack-signature"),
                body,
            )
            interaction = parse_interaction(body)
        except SlackRequestRefused as exc:
            log.warning("Slack interaction refused: %s", exc)
            return PlainTextResponse(f"refused: {exc}", status_code=401 if "payload" not in str(exc) else 400)
        if interaction is None:
            return Response(status_code=200)

        def record() -> str | None:
            try:
                with unit_of_work() as db:
                    row = record_feedback(
                        db,
                        interaction.who,
                        interaction.verdict,
                        FeedbackSource.SLACK,
                        target_of_alert(db, interaction.alert_id),
                        request_key=key,
                    )
                    return "recorded" if row is not None else "replay"
            except FeedbackError as exc:
                return str(exc)

        outcome = await run_in_threadpool(record)
        if outcome == "replay":
            return Response(status_code=200)
        if outcome != "recorded":
            return JSONResponse(
                {"response_type": "ephemeral", "replace_original": False, "text": f"Not recorded: {outcome}"}
            )
        background = (
            BackgroundTask(post_response, interaction.response_url, updated_message(interaction))
            if interaction.response_url
            else None
        )
        return Response(status_code=200, background=background)

    # --- JSON API -------------------------------------------------------------------------------------

    def api(self, handler: Callable[[Request, Session], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")

            def run() -> Response:
                with unit_of_work() as db:
                    if scheme.lower() != "bearer" or verify_token(db, token.strip()) is None:
                        return JSONResponse(
                            {"error": "a valid bearer token is required"},
                            status_code=401,
                            headers={"www-authenticate": "Bearer"},
                        )
                    return JSONResponse(_jsonable(handler(request, db)))

            return await run_in_threadpool(run)

        return endpoint

    def api_stories(self, request: Request, db: Session) -> Any:
        filters, problems = parse_filters(request.query_params)
        if problems:
            raise HTTPException(400, "; ".join(problems))
        result = list_stories(
            db,
            filters,
            page=_int(request.query_params.get("page"), 1),
            per_page=_int(request.query_params.get("per_page"), 25),
        )
        return {"page": result.page, "has_next": result.has_next, "stories": [vars(s) for s in result.items]}

    def api_story(self, request: Request, db: Session) -> Any:
        detail = story_detail(db, _int(request.path_params["story_id"], 0))
        if detail is None:
            raise HTTPException(404, "no such story")
        return {
            "story": vars(detail.summary),
            "articles": [vars(a) for a in detail.articles],
            "alerts": detail.alerts,
            "feedback": detail.feedback,
        }

    def api_feedback(self, request: Request, db: Session) -> Any:
        return {"feedback": list_feedback(db, _int(request.query_params.get("limit"), 200))}

    def build(self) -> Starlette:
        routes = [
            Route("/healthz", self.healthz),
            Route("/", lambda request: RedirectResponse("/stories", status_code=303)),
            Route("/login", self.page(self.login, public=True), methods=["GET", "POST"]),
            Route("/logout", self.page(self.logout, public=True), methods=["POST"]),
            Route("/stories", self.page(self.stories)),
            Route("/stories/{story_id:int}", self.page(self.story)),
            Route("/stories/{story_id:int}/feedback", self.page(self.story_feedback), methods=["POST"]),
            Route("/feeds", self.page(self.feeds)),
            Route("/alerts", self.page(self.alerts)),
            Route("/feedback", self.page(self.feedback_page)),
            Route("/subscriptions", self.page(self.subscriptions, admin=True)),
            Route("/feedback/email/{token:str}", self.page(self.email_link, public=True), methods=["GET", "POST"]),
            Route("/slack/interactions", self.slack_interactions, methods=["POST"]),
            Route("/api/stories", self.api(self.api_stories)),
            Route("/api/stories/{story_id:int}", self.api(self.api_story)),
            Route("/api/feedback", self.api(self.api_feedback)),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]
        return Starlette(
            routes=routes, middleware=[Middleware(SecurityHeaders)], exception_handlers={HTTPException: self.http_error}
        )

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app. Raises SettingsError when WEB_SECRET_KEY is missing outside the SQLite demo."""
    return WebApp(settings or get_settings()).build()


def parse_filters(params: Any) -> tuple[StoryFilters, list[str]]:
    problems: list[str] = []
    filters = StoryFilters()
    show = params.get("show") or Show.ALERTED
    filters.show = show if show in (Show.ALERTED, Show.RELEVANT, Show.ALL) else Show.ALERTED
    filters.priority = params.get("priority") or None
    filters.topic = params.get("topic") or None
    filters.entity = (params.get("entity") or "").strip()[:200] or None
    filters.language = params.get("language") or None
    filters.q = (params.get("q") or "").strip()[:200] or None
    if params.get("source"):
        try:
            filters.feed_id = int(params["source"])
        except ValueError:
            problems.append("source: not a feed id")
    for name in ("since", "until"):
        value = params.get(name)
        if value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                problems.append(f"{name}: not a date (YYYY-MM-DD)")
                continue
            moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
            if name == "until" and len(value) == 10:
                moment += timedelta(days=1)  # a date means "through that day"
            setattr(filters, name, moment)
    return filters, problems


def _topics() -> list[str]:
    from services.alerts.subscriptions import known_topics

    return sorted(known_topics())


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _page_url(params: dict[str, str], page: int) -> str:
    return "/stories?" + urlencode({**params, "page": page})


def _safe_next(value: str) -> str:
    """Only local paths: never an open redirect to another site."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value
    return "/stories"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
