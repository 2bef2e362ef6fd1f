"""The client's address, believing `X-Forwarded-For` only from trusted proxies, and the
key per-IP throttling counts it under.

Security choices (see DESIGN.md, throttling):

- With no trusted proxies (the default) the header is ignored: anyone can forge it.
  It is also ignored when the peer itself is not a trusted proxy.
- The header is walked from the right; the first hop that is not a trusted proxy is
  the client (every entry left of it was written by, or passed through from, the
  client and is never read).
- A hop is parsed robustly: surrounding spaces and quotes, an IPv4 `:port`, and the
  brackets and `:port` of `[IPv6]:port` are stripped; an IPv4-mapped IPv6 address
  (`::ffff:a.b.c.d`) becomes the IPv4 address; an IPv6 zone (`%eth0`) is dropped.
  The peer is normalized the same way.
- A hop that still cannot be parsed (`garbage`, `127.1`, `0177.0.0.1`) ends the walk with
  `UNKNOWN`, the literal "unknown": who sent the request cannot be told. It is not an
  address, so it is in no allow-list (`/metrics` answers 404), and it is one throttle
  bucket of its own that every such request shares: a forged or broken entry never
  makes its sender look like the proxy that reported it (whose loopback address is in
  the default `/metrics` allow-list), nor gives it a fresh bucket of its choice.
  (It used to end at the last trusted position, the proxy's own address.)
- Per-IP throttling counts IPv6 clients by network (a /64 by default: one customer
  line holds 2**64 addresses) and IPv4 clients by address. Log-ins from IPv6 are also
  counted per /48 (`network_bucket`), with a higher limit: a customer given a /48 holds
  65,536 /64s, each a bucket of its own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

__all__ = ["UNKNOWN", "client_ip", "network_bucket", "throttle_bucket"]

UNKNOWN = "unknown"  # no peer address, or an unparseable X-Forwarded-For hop

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_HOP = 128  # far longer than any address with a port; longer text is not an address
_PORT_RE = re.compile(r":[0-9]{1,5}")
_QUOTES_AND_SPACE = " \t\"'"


def _unmap(ip: Address) -> Address:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.scope_id is not None:
            return ipaddress.IPv6Address(int(ip))
    return ip


def _is_port(text: str) -> bool:
    return bool(_PORT_RE.fullmatch(text)) and int(text[1:]) <= 65535


def _parse_address(text: str | None) -> Address | None:
    """The address in one `X-Forwarded-For` hop (or peer), normalized; None if there is none.

    Accepts `a.b.c.d`, `a.b.c.d:port`, `v6`, `[v6]`, `[v6]:port`, with surrounding
    spaces or quotes; IPv4-mapped IPv6 comes back as IPv4.
    """
    if not text or len(text) > _MAX_HOP:
        return None
    text = text.strip(_QUOTES_AND_SPACE)
    want: type[Address] | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not _is_port(rest)):
            return None
        want = ipaddress.IPv6Address
    elif text.count(":") == 1:  # IPv6 has at least two colons, so this is IPv4:port
        host, _, port = text.partition(":")
        if not _is_port(":" + port):
            return None
        want = ipaddress.IPv4Address
    else:
        host = text
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if want is not None and not isinstance(ip, want):
        return None
    return _unmap(ip)


def _trusted(ip: Address | None, proxies: Sequence[Network]) -> bool:
    if ip is None:
        return False
    forms: list[Address] = [ip]
    if isinstance(ip, ipaddress.IPv4Address):  # a proxy listed as ::ffff:a.b.c.d/n
        forms.append(ipaddress.IPv6Address("::ffff:" + str(ip)))
    return any(form in net for net in proxies for form in forms)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """Walk `X-Forwarded-For` from the right while the hop is a trusted proxy.

    With no trusted proxies (the default) the header is ignored: anyone can forge it.
    The result is a normalized address, or the peer text unchanged when that is not an
    address (`"testclient"`, or `UNKNOWN` when there is no peer), or `UNKNOWN` when a hop
    that must be read cannot be parsed.
    """
    peer_ip = _parse_address(peer)
    position = str(peer_ip) if peer_ip is not None else (peer or UNKNOWN)
    if not proxies or not forwarded_for or not _trusted(peer_ip, proxies):
        return position
    for hop in reversed(forwarded_for.split(",")):
        if not hop.strip(_QUOTES_AND_SPACE):
            continue
        ip = _parse_address(hop)
        if ip is None:
            return UNKNOWN  # never the proxy's address: see the module's docstring
        position = str(ip)
        if not _trusted(ip, proxies):
            return position
    return position  # every hop a trusted proxy: the leftmost one


def throttle_bucket(address: str, ipv6_prefix: int = 64) -> str:
    """The key per-IP throttling counts `address` under.

    IPv4 (also IPv4-mapped IPv6) as the address; IPv6 as its network, e.g.
    `2001:db8:1:2::/64`; anything that is not an address (`"unknown"`, `"testclient"`)
    unchanged.
    """
    if isinstance(ipv6_prefix, bool) or not isinstance(ipv6_prefix, int):
        raise TypeError("ipv6_prefix must be an int")
    if not 1 <= ipv6_prefix <= 128:
        raise ValueError("ipv6_prefix must be 1 to 128")
    ip = _parse_address(address)
    if ip is None:
        return address
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))


def network_bucket(address: str, prefix: int = 48) -> str | None:
    """The coarser bucket an IPv6 client is also counted under (its /48, e.g.
    `2001:db8:1::/48`), or None for IPv4 (also IPv4-mapped IPv6) and for anything that is
    not an address: those have no wider network to count."""
    if isinstance(prefix, bool) or not isinstance(prefix, int):
        raise TypeError("prefix must be an int")
    if not 1 <= prefix <= 128:
        raise ValueError("prefix must be 1 to 128")
    ip = _parse_address(address)
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    return str(ipaddress.IPv6Network((ip, prefix), strict=False))
