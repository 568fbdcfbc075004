"""Every address a host name resolves to is checked, not only the first (DNS rebinding / multi-record SSRF).

A DNS stand-in (the resolver function the transport calls, ``socket.getaddrinfo`` as seen from
services.ingest.transport) answers for names under ``.resolver-test`` with the addresses the test
chooses; every other name resolves normally. The public address of a two-record answer is never
actually reachable from a test machine, so the network backend stands in for "the Internet": a
connection to a public address fails at once (as an unreachable site would), connections to
anything else go to the real local socket. What the tests assert is where the transport tried
to connect, and that the local (private) server never saw a request.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import pytest

from services.ingest import transport
from services.ingest.addresses import AddressPolicy, AddressRefused
from services.ingest.fetch import FetchError, fetch_feed
from services.ingest.transport import GuardedBackend, fetch_deadline
from tests.ingest.polling import fetch_settings
from tests.support.http import LocalHTTPServer, Response

PUBLIC = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Fresh</title><guid>g1</guid></item></channel></rss>'


class DNSStandIn:
    """Answers getaddrinfo for ``*.resolver-test`` from ``records``; every other name goes to the real resolver."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.asked: list[str] = []
        self.requests: list[tuple[str, int, tuple[Any, ...]]] = []
        self.hold = threading.Event()  # names starting with "slow." answer only once this is set (or after 10 s)
        self.hold.set()
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".resolver-test"):
            return self._real(host, port, *args, **kwargs)
        self.asked.append(name)
        self.requests.append((name, int(port), args))
        if name.startswith("slow."):
            self.hold.wait(10)
        if name not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = []
        for address in self.records[name]:
            if ipaddress.ip_address(address).version == 6:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))))
        return answers


class Network:
    """Records every TCP connection attempt; public addresses are unreachable, the rest is the real network."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.attempts: list[str] = []
        self.calls: list[tuple[str, int, float | None, str | None, object]] = []

    def connect_tcp(
        self,
        backend: httpcore.SyncBackend,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.attempts.append(host)
        self.calls.append((host, port, timeout, local_address, socket_options))
        if ipaddress.ip_address(host).is_global:
            raise httpcore.ConnectError(f"{host} is unreachable from a test machine")
        return self.real(backend, host, port, timeout, local_address, socket_options)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> DNSStandIn:
    stand_in = DNSStandIn()
    monkeypatch.setattr(transport.socket, "getaddrinfo", stand_in)
    return stand_in


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    net = Network(httpcore.SyncBackend.connect_tcp)
    monkeypatch.setattr(
        httpcore.SyncBackend,
        "connect_tcp",
        lambda self, host, port, *a, **k: net.connect_tcp(self, host, port, *a, **k),
    )
    yield net


def test_stand_in_answers_with_both_records(dns: DNSStandIn) -> None:
    dns.records["both.resolver-test"] = [PUBLIC, "127.0.0.1"]
    assert GuardedBackend(AddressPolicy([]))._resolve("both.resolver-test", 80, 1.0) == [PUBLIC, "127.0.0.1"]


@pytest.mark.parametrize("private", ["127.0.0.1", "::ffff:127.0.0.1"])
def test_a_private_second_record_is_never_connected_to(dns: DNSStandIn, network: Network, private: str) -> None:
    dns.records["both.resolver-test"] = [PUBLIC, private]
    backend = GuardedBackend(AddressPolicy([]))
    with pytest.raises((httpcore.ConnectError, AddressRefused)):
        backend.connect_tcp("both.resolver-test", 9, timeout=1.0)
    assert network.attempts == [PUBLIC], "only the public record may be connected to"


def test_a_private_first_record_is_skipped_and_the_public_one_tried(dns: DNSStandIn, network: Network) -> None:
    dns.records["both.resolver-test"] = ["10.9.8.7", PUBLIC_V6, "169.254.169.254"]
    backend = GuardedBackend(AddressPolicy([]))
    with pytest.raises(httpcore.ConnectError, match="unreachable from a test machine"):
        backend.connect_tcp("both.resolver-test", 9, timeout=1.0)
    assert network.attempts == [PUBLIC_V6]


def test_only_private_records_are_refused_naming_the_first(dns: DNSStandIn, network: Network) -> None:
    dns.records["inside.resolver-test"] = ["192.168.7.7", "127.0.0.1"]
    with pytest.raises(AddressRefused) as refused:
        GuardedBackend(AddressPolicy([])).connect_tcp("inside.resolver-test", 9, timeout=1.0)
    assert refused.value.reason.startswith("inside.resolver-test resolves to 192.168.7.7, a private address")
    assert network.attempts == []


def test_an_unknown_name_is_a_connect_error(dns: DNSStandIn, network: Network) -> None:
    with pytest.raises(httpcore.ConnectError, match="cannot resolve nowhere.resolver-test"):
        GuardedBackend(AddressPolicy([])).connect_tcp("nowhere.resolver-test", 9, timeout=1.0)
    assert dns.asked == ["nowhere.resolver-test"] and network.attempts == []


def test_fetch_of_a_name_with_a_public_and_a_private_record_never_reaches_the_private_server(
    dns: DNSStandIn, network: Network, http_server: LocalHTTPServer
) -> None:
    http_server.routes["/feed.xml"] = Response(200, RSS)
    dns.records["both.resolver-test"] = [PUBLIC, "127.0.0.1"]
    url = f"http://both.resolver-test:{http_server.port}/feed.xml"
    with pytest.raises(FetchError):
        fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS=""))
    assert http_server.requests_to("/feed.xml") == [], "the private address behind the name was connected to"
    assert "127.0.0.1" not in network.attempts
    assert network.attempts and set(network.attempts) == {PUBLIC}


def test_fetch_of_a_name_with_only_a_private_record_is_refused_and_explains(
    dns: DNSStandIn, network: Network, http_server: LocalHTTPServer
) -> None:
    http_server.routes["/feed.xml"] = Response(200, RSS)
    dns.records["local.resolver-test"] = ["127.0.0.1"]
    url = f"http://local.resolver-test:{http_server.port}/feed.xml"
    with pytest.raises(FetchError) as refused:
        fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS=""))
    assert refused.value.refused
    assert "local.resolver-test resolves to 127.0.0.1, a loopback address" in refused.value.reason
    assert http_server.requests_to("/feed.xml") == [] and network.attempts == []
    # the same name is fetched once the range is opened: the stand-in and the real socket do work together
    assert fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS="127.0.0.0/8")).body == RSS
    assert network.attempts == ["127.0.0.1"]


def test_the_next_allowed_record_is_tried_when_one_is_unreachable(
    dns: DNSStandIn, network: Network, http_server: LocalHTTPServer
) -> None:
    http_server.routes["/feed.xml"] = Response(200, RSS)
    dns.records["both.resolver-test"] = [PUBLIC, "127.0.0.1"]
    url = f"http://both.resolver-test:{http_server.port}/feed.xml"
    assert fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS="127.0.0.0/8")).body == RSS
    assert network.attempts == [PUBLIC, "127.0.0.1"]


def test_connect_passes_the_timeout_and_socket_settings_through(dns: DNSStandIn, network: Network) -> None:
    dns.records["one.resolver-test"] = [PUBLIC]
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    with pytest.raises(httpcore.ConnectError):
        GuardedBackend(AddressPolicy([])).connect_tcp(
            "one.resolver-test", 9, timeout=1.5, local_address="0.0.0.0", socket_options=options
        )
    assert network.calls == [(PUBLIC, 9, 1.5, "0.0.0.0", options)]


def test_a_slow_resolver_is_cut_off_at_the_connect_timeout(dns: DNSStandIn, network: Network) -> None:
    dns.records["slow.resolver-test"] = ["127.0.0.1"]
    dns.hold.clear()
    try:
        with pytest.raises(httpcore.ConnectTimeout, match="resolving slow.resolver-test timed out"):
            GuardedBackend(AddressPolicy([])).connect_tcp("slow.resolver-test", 9, timeout=0.2)
    finally:
        dns.hold.set()
    assert network.attempts == []


def test_resolve_asks_for_stream_sockets_and_drops_zone_ids_and_repeats(dns: DNSStandIn) -> None:
    dns.records["zoned.resolver-test"] = ["fe80::1%eth0", PUBLIC, PUBLIC]
    assert GuardedBackend(AddressPolicy([]))._resolve("zoned.resolver-test", 443, 1.0) == ["fe80::1", PUBLIC]
    assert dns.requests == [("zoned.resolver-test", 443, (0, socket.SOCK_STREAM))]


def test_a_fetch_past_its_deadline_stops_before_resolving(dns: DNSStandIn, network: Network) -> None:
    dns.records["late.resolver-test"] = [PUBLIC]
    with fetch_deadline(time.monotonic() - 1), pytest.raises(httpcore.ConnectTimeout, match="total deadline"):
        GuardedBackend(AddressPolicy([])).connect_tcp("late.resolver-test", 9, timeout=1.0)
    assert network.attempts == []


def test_a_name_without_addresses_is_a_connect_error(dns: DNSStandIn, network: Network) -> None:
    dns.records["empty.resolver-test"] = []
    with pytest.raises(httpcore.ConnectError, match="empty.resolver-test has no address"):
        GuardedBackend(AddressPolicy([])).connect_tcp("empty.resolver-test", 9, timeout=1.0)
    assert network.attempts == []


class SlowPolicy(AddressPolicy):
    """An address policy whose check takes ``pause`` seconds: the fetch deadline runs out between resolving and connecting."""

    def __init__(self, pause: float) -> None:
        super().__init__([])
        self.pause = pause

    def check(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address | str, host: str | None = None) -> None:
        time.sleep(self.pause)
        super().check(address, host)


def test_a_deadline_reached_between_resolving_and_connecting_is_a_connect_timeout(
    dns: DNSStandIn, network: Network
) -> None:
    dns.records["late.resolver-test"] = [PUBLIC]
    with fetch_deadline(time.monotonic() + 0.2), pytest.raises(httpcore.ConnectTimeout, match="total deadline"):
        GuardedBackend(SlowPolicy(0.4)).connect_tcp("late.resolver-test", 9, timeout=5.0)
    assert dns.asked == ["late.resolver-test"], "the name was resolved while time was left"
    assert network.attempts == [], "no connection is tried once the deadline has passed"


def test_connect_gets_at_most_the_time_left_until_the_deadline(dns: DNSStandIn, network: Network) -> None:
    dns.records["one.resolver-test"] = [PUBLIC]
    with fetch_deadline(time.monotonic() + 2.0), pytest.raises(httpcore.ConnectError):
        GuardedBackend(AddressPolicy([])).connect_tcp("one.resolver-test", 9, timeout=30.0)
    (call,) = network.calls
    assert call[2] is not None and 0 < call[2] <= 2.0, f"connect timeout {call[2]} exceeds the time left"
