"""Which IP addresses the fetcher may connect to (SSRF protection).

By default only public (globally routable) addresses are allowed. Loopback, private,
link-local, CGNAT, multicast, unspecified, reserved and cloud-metadata addresses are
refused, for IPv4 and IPv6 alike; an IPv6 address that embeds an IPv4 address
(IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible, NAT64 ``64:ff9b::/96``, 6to4, Teredo)
is judged by the IPv4 address it leads to.

``FETCH_ALLOWED_NETWORKS`` (comma-separated CIDRs) opens non-public ranges, e.g.
``127.0.0.0/8`` for a local test server. Cloud metadata endpoints are the exception:
a broad entry such as ``169.254.0.0/16`` does not open ``169.254.169.254``; only an
entry naming exactly that one address (``169.254.169.254/32``) does, so opening a
link-local range can never expose instance credentials by accident.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)

# (description, networks) in the order they are checked; the first match names the refusal.
_CATEGORIES: list[tuple[str, list[IPNetwork]]] = [
    (desc, [ipaddress.ip_network(n) for n in nets])
    for desc, nets in (
        ("an unspecified ('this network') address", ["0.0.0.0/8", "::/128"]),
        ("a loopback address", ["127.0.0.0/8", "::1/128"]),
        ("a private address", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]),
        ("a link-local address", ["169.254.0.0/16", "fe80::/10"]),
        ("a carrier-grade NAT (CGNAT) address", ["100.64.0.0/10"]),
        ("a multicast address", ["224.0.0.0/4", "ff00::/8"]),
        ("a reserved address", ["240.0.0.0/4", "fec0::/10"]),
    )
]


class AddressRefused(Exception):
    """The fetcher will not connect to this address; ``reason`` names the address, its kind and the setting."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in ipaddress.ip_network("64:ff9b::/96") or (packed >> 32 == 0 and packed > 1):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


class AddressPolicy:
    """Decides, per resolved address, whether a connection may be made."""

    def __init__(self, allowed_networks: Iterable[IPNetwork] = ()) -> None:
        self.allowed = list(allowed_networks)

    def _allowed(self, address: IPAddress) -> bool:
        if address in METADATA_ADDRESSES:
            return any(net.num_addresses == 1 and address in net for net in self.allowed)
        return any(address.version == net.version and address in net for net in self.allowed)

    def refusal(self, address: IPAddress | str) -> str | None:
        """Why ``address`` is refused ("<address> is a loopback address; allow it with ..."), or None."""
        found = self._judge(address)
        return None if found is None else f"{found[0]} is {found[1]}"

    def _judge(self, address: IPAddress | str) -> tuple[str, str] | None:
        address = ipaddress.ip_address(str(address).split("%")[0])
        inner = embedded_ipv4(address)
        judged = inner or address
        if self._allowed(address) or (inner is not None and self._allowed(inner)):
            return None
        shown = f"{address} (IPv4 {inner})" if inner is not None else str(address)
        if judged in METADATA_ADDRESSES:
            return shown, (
                "a cloud metadata address, refused even inside an allowed range; allow it only explicitly "
                f"with FETCH_ALLOWED_NETWORKS={judged}/{judged.max_prefixlen}"
            )
        for description, networks in _CATEGORIES:
            for network in networks:
                if judged.version == network.version and judged in network:
                    return shown, f"{description}; allow it with FETCH_ALLOWED_NETWORKS={network}"
        if not judged.is_global:
            return shown, f"not a public address; allow it with FETCH_ALLOWED_NETWORKS={judged}/{judged.max_prefixlen}"
        return None

    def check(self, address: IPAddress | str, host: str | None = None) -> None:
        """Raise AddressRefused unless ``address`` (what ``host`` resolved to) may be connected to."""
        found = self._judge(address)
        if found is None:
            return
        shown, why = found
        if host and host.strip("[]") != str(address):
            raise AddressRefused(f"{host} resolves to {shown}, {why}")
        raise AddressRefused(f"{shown} is {why}")
