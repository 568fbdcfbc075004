"""SSRF protection: the fetcher connects only to public addresses unless FETCH_ALLOWED_NETWORKS opens a range."""

from __future__ import annotations

import ipaddress
import re

import pytest

from services.ingest.addresses import AddressPolicy
from services.ingest.fetch import FetchError, fetch_feed
from tests.ingest.polling import add, feed, fetch_settings, poll
from tests.support.http import LocalHTTPServer, Response

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Hello</title><guid>1</guid></item></channel></rss>'


def closed() -> AddressPolicy:
    return AddressPolicy([])


@pytest.mark.parametrize(
    ("address", "kind", "setting"),
    [
        ("127.0.0.1", "a loopback address", "127.0.0.0/8"),
        ("::1", "a loopback address", "::1/128"),
        ("10.1.2.3", "a private address", "10.0.0.0/8"),
        ("172.20.0.5", "a private address", "172.16.0.0/12"),
        ("192.168.1.10", "a private address", "192.168.0.0/16"),
        ("fd12:3456::1", "a private address", "fc00::/7"),
        ("169.254.10.10", "a link-local address", "169.254.0.0/16"),
        ("fe80::1", "a link-local address", "fe80::/10"),
        ("100.64.1.1", "a carrier-grade NAT (CGNAT) address", "100.64.0.0/10"),
        ("224.0.0.1", "a multicast address", "224.0.0.0/4"),
        ("ff02::1", "a multicast address", "ff00::/8"),
        ("0.0.0.0", "an unspecified ('this network') address", "0.0.0.0/8"),
        ("::", "an unspecified ('this network') address", "::/128"),
        ("240.0.0.1", "a reserved address", "240.0.0.0/4"),
        ("192.0.2.7", "not a public address", "192.0.2.7/32"),
    ],
)
def test_non_public_addresses_are_refused_naming_their_kind_and_the_setting(
    address: str, kind: str, setting: str
) -> None:
    reason = closed().refusal(address)
    assert reason == f"{address} is {kind}; allow it with FETCH_ALLOWED_NETWORKS={setting}"
    assert AddressPolicy([ipaddress.ip_network(setting)]).refusal(address) is None


@pytest.mark.parametrize(
    "address", ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::127.0.0.1"]
)
def test_ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address(address: str) -> None:
    reason = closed().refusal(address)
    assert reason is not None and "(IPv4 " in reason


def test_public_addresses_are_allowed() -> None:
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8", "::ffff:8.8.8.8"):
        assert closed().refusal(address) is None, address


def test_metadata_addresses_need_an_entry_naming_exactly_them() -> None:
    broad = AddressPolicy([ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("100.64.0.0/10")])
    for address in ("169.254.169.254", "100.100.100.200", "::ffff:169.254.169.254"):
        reason = broad.refusal(address)
        assert reason is not None and "cloud metadata" in reason and "/32" in reason, address
    assert broad.refusal("169.254.1.1") is None
    exact = AddressPolicy([ipaddress.ip_network("169.254.169.254/32")])
    assert exact.refusal("169.254.169.254") is None


def test_loopback_server_is_refused_without_the_allow_list(http_server: LocalHTTPServer) -> None:
    url = http_server.url("/feed.xml")
    http_server.routes["/feed.xml"] = Response(200, RSS)
    with pytest.raises(FetchError) as refused:
        fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS=""))
    assert refused.value.reason == (
        f"refused to fetch {url}: 127.0.0.1 is a loopback address; allow it with FETCH_ALLOWED_NETWORKS=127.0.0.0/8"
    )
    assert refused.value.refused
    assert http_server.requests_to("/feed.xml") == [], "the refused server must not even be connected to"
    assert fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS="127.0.0.0/8")).body == RSS


def test_a_dns_name_resolving_to_loopback_is_refused(http_server: LocalHTTPServer) -> None:
    http_server.routes["/feed.xml"] = Response(200, RSS)
    url = f"http://localhost:{http_server.port}/feed.xml"
    with pytest.raises(
        FetchError,
        match=r"localhost resolves to (127\.0\.0\.1|::1), a loopback address; allow it with FETCH_ALLOWED_NETWORKS=",
    ):
        fetch_feed(url, fetch_settings(FETCH_ALLOWED_NETWORKS=""))
    assert http_server.requests_to("/feed.xml") == []


@pytest.mark.parametrize(
    "target", ["http://10.0.0.1/feed.xml", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:192.168.0.1]/x"]
)
def test_a_redirect_to_a_private_address_is_refused(http_server: LocalHTTPServer, target: str) -> None:
    http_server.routes["/redirect"] = Response(302, b"", {"Location": target})
    with pytest.raises(FetchError, match="refused to fetch " + re.escape(target) + ": "):
        fetch_feed(http_server.url("/redirect"), fetch_settings(FETCH_ALLOWED_NETWORKS="127.0.0.0/8"))


def test_private_address_refused_without_connecting() -> None:
    with pytest.raises(
        FetchError, match=r"refused to fetch http://10\.255\.0\.1:8080/feed: 10\.255\.0\.1 is a private address"
    ):
        fetch_feed("http://10.255.0.1:8080/feed", fetch_settings(FETCH_ALLOWED_NETWORKS="127.0.0.0/8"))


def test_file_urls_need_the_setting_and_are_never_reached_by_redirect(http_server: LocalHTTPServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample = tmp_path / "feed.xml"
    sample.write_bytes(RSS)
    with pytest.raises(FetchError, match="FETCH_ALLOW_FILE_URLS=true"):
        fetch_feed(sample.as_uri(), fetch_settings())
    assert fetch_feed(sample.as_uri(), fetch_settings(FETCH_ALLOW_FILE_URLS="true")).body == RSS

    http_server.routes["/to-file"] = Response(302, b"", {"Location": sample.as_uri()})
    with pytest.raises(FetchError, match="only http and https redirects are followed"):
        fetch_feed(http_server.url("/to-file"), fetch_settings(FETCH_ALLOW_FILE_URLS="true"))


def test_a_refused_feed_records_the_reason(polling, env, http_server: LocalHTTPServer) -> None:  # type: ignore[no-untyped-def]
    from services.settings import get_settings

    env.setenv("FETCH_ALLOWED_NETWORKS", "")
    get_settings.cache_clear()
    http_server.routes["/feed.xml"] = Response(200, RSS)
    feed_id = add(http_server.url("/feed.xml"))

    report = poll(feed_id, get_settings())

    assert report.status == "error" and "FETCH_ALLOWED_NETWORKS=127.0.0.0/8" in (report.error or "")
    assert "loopback" in (feed(feed_id).last_error or "")
