"""A real SMTP server (aiosmtpd) on a free local port that records every message it accepts.

Optionally STARTTLS or implicit TLS with a self-signed certificate made at test time by ``openssl``,
and LOGIN/PLAIN authentication.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.services import free_port

USER, PASSWORD = "alerts", "s3cret-smtp-pass"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    received_at: float


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.received = threading.Event()
        self.on_data: Callable[[], Awaitable[None]] | None = None
        self.reply = "250 Message accepted for delivery"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, time.time()))
        self.received.set()
        if self.on_data is not None:
            await self.on_data()
        return self.reply


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    ):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, valid one day."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class SMTPSink:
    """``tls``: None, "starttls" or "implicit"; ``auth``: require LOGIN with USER/PASSWORD."""

    def __init__(
        self, *, tls: str | None = None, auth: bool = False, certificate: tuple[Path, Path] | None = None
    ) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.tls = tls
        kwargs: dict[str, object] = {}
        if tls:
            assert certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if auth:
            # aiosmtpd advertises AUTH over implicit TLS only when it is not told to require (STARTTLS) TLS.
            kwargs.update(authenticator=_authenticate, auth_require_tls=tls == "starttls")
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **kwargs)  # type: ignore[arg-type]  # TLS and auth options vary by mode

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def url(self, *, login: bool = False) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        credentials = f"{USER}:{PASSWORD}@" if login else ""
        query = "?starttls=true" if self.tls == "starttls" else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}{query}"

    def start(self) -> SMTPSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


async def block_until(event: threading.Event) -> None:
    """For ``Recorder.on_data``: hold the reply to DATA until ``event`` is set."""
    while not event.is_set():
        await asyncio.sleep(0.02)
