"""AddressPolicy details the SSRF tests rely on: embedded IPv4 forms and the wording of a refusal."""

from __future__ import annotations

import ipaddress

import pytest

from services.ingest.addresses import AddressPolicy, AddressRefused, embedded_ipv4


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:10.1.2.3", "10.1.2.3"),  # IPv4-mapped
        ("2002:c000:0201::1", "192.0.2.1"),  # 6to4
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),  # Teredo: the client, not the server
        ("64:ff9b::c000:0201", "192.0.2.1"),  # NAT64
        ("64:ff9b::ffff:ffff", "255.255.255.255"),
        ("::2", "0.0.0.2"),  # IPv4-compatible, the smallest one
        ("::ffff:ffff", "255.255.255.255"),  # IPv4-compatible, the largest one
        ("::1", None),  # loopback, not IPv4-compatible
        ("::", None),
        ("::1:0:0", None),  # bits above the low 32: not IPv4-compatible
        ("2606:2800:220:1:248:1893:25c8:1946", None),
        ("10.1.2.3", None),
    ],
)
def test_embedded_ipv4(address: str, inner: str | None) -> None:
    expected = None if inner is None else ipaddress.IPv4Address(inner)
    assert embedded_ipv4(ipaddress.ip_address(address)) == expected


def test_a_refusal_names_the_host_only_when_it_differs_from_the_address() -> None:
    policy = AddressPolicy([])
    with pytest.raises(AddressRefused) as plain:
        policy.check("127.0.0.1")
    assert plain.value.reason == "127.0.0.1 is a loopback address; allow it with FETCH_ALLOWED_NETWORKS=127.0.0.0/8"
    assert str(plain.value) == plain.value.reason
    with pytest.raises(AddressRefused) as same:
        policy.check("127.0.0.1", "127.0.0.1")
    assert same.value.reason == plain.value.reason
    with pytest.raises(AddressRefused) as bracketed:
        policy.check("::1", "[::1]")
    assert bracketed.value.reason == "::1 is a loopback address; allow it with FETCH_ALLOWED_NETWORKS=::1/128"
    with pytest.raises(AddressRefused) as named:
        policy.check("10.0.0.5", "intranet.example")
    assert named.value.reason == (
        "intranet.example resolves to 10.0.0.5, a private address; allow it with FETCH_ALLOWED_NETWORKS=10.0.0.0/8"
    )
    assert str(named.value) == named.value.reason
    policy.check("8.8.8.8", "dns.example")  # allowed: no exception


def test_a_scoped_ipv6_address_is_judged_and_shown_without_its_zone() -> None:
    assert AddressPolicy([]).refusal("fe80::1%eth0") == (
        "fe80::1 is a link-local address; allow it with FETCH_ALLOWED_NETWORKS=fe80::/10"
    )
    assert AddressPolicy([ipaddress.ip_network("fe80::/10")]).refusal("fe80::1%eth0") is None


def test_the_metadata_refusal_says_how_to_allow_it() -> None:
    broad = AddressPolicy([ipaddress.ip_network("169.254.0.0/16")])
    assert broad.refusal("169.254.169.254") == (
        "169.254.169.254 is a cloud metadata address, refused even inside an allowed range; "
        "allow it only explicitly with FETCH_ALLOWED_NETWORKS=169.254.169.254/32"
    )
    assert broad.refusal("fd00:ec2::254") == (
        "fd00:ec2::254 is a cloud metadata address, refused even inside an allowed range; "
        "allow it only explicitly with FETCH_ALLOWED_NETWORKS=fd00:ec2::254/128"
    )
