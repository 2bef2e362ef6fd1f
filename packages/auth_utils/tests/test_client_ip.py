"""Client address parsing and throttle buckets: pure functions, no database."""

import ipaddress

import pytest

from auth_utils.rules.client_ip import UNKNOWN, client_ip, network_bucket, throttle_bucket
from auth_utils.rules.client_ip import __all__ as public_names
from auth_utils.services.metrics import allowed

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


def test_public_names():
    assert set(public_names) == {"UNKNOWN", "client_ip", "network_bucket", "throttle_bucket"}


# --- client_ip: the header is believed only from trusted proxies ---------------------

def test_no_proxies_ignores_the_header():
    assert client_ip("203.0.113.9", "1.2.3.4", ()) == "203.0.113.9"
    assert client_ip("10.0.0.2", "1.2.3.4", ()) == "10.0.0.2"


@pytest.mark.parametrize(
    "forged",
    ["1.2.3.4", "1.2.3.4:80", "[2001:db8::1]:443", "10.0.0.7", "garbage", "1.2.3.4, 10.0.0.7"],
)
def test_forged_header_from_untrusted_peer_is_ignored(forged):
    assert client_ip("203.0.113.9", forged, PROXIES) == "203.0.113.9"
    assert client_ip("2001:db8:5::9", forged, PROXIES) == "2001:db8:5::9"


def test_walks_from_the_right_to_the_first_untrusted_hop():
    assert client_ip("10.0.0.2", "1.2.3.4, 10.0.0.7", PROXIES) == "1.2.3.4"
    assert client_ip("10.0.0.2", "6.6.6.6, 1.2.3.4", PROXIES) == "1.2.3.4"
    assert client_ip("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.1.1.1, 10.0.0.7", PROXIES) == "1.2.3.4"


def test_no_or_empty_header_gives_the_peer():
    assert client_ip("10.0.0.2", None, PROXIES) == "10.0.0.2"
    assert client_ip("10.0.0.2", "", PROXIES) == "10.0.0.2"
    assert client_ip("10.0.0.2", " , ,", PROXIES) == "10.0.0.2"


def test_every_hop_trusted_gives_the_leftmost():
    assert client_ip("10.0.0.2", "10.0.0.9, 10.0.0.7", PROXIES) == "10.0.0.9"


@pytest.mark.parametrize(
    ("hop", "client"),
    [
        ("198.51.100.87:5555", "198.51.100.87"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ('"[2001:db8::1]:443"', "2001:db8::1"),
        ("  '198.51.100.87'  ", "198.51.100.87"),
        ("::ffff:198.51.100.13", "198.51.100.13"),
        ("[::ffff:198.51.100.13]:80", "198.51.100.13"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_a_hop_is_parsed_and_believed_from_a_trusted_proxy(hop, client):
    assert client_ip("10.0.0.2", hop, PROXIES) == client
    assert client_ip("10.0.0.2", f"6.6.6.6, {hop}, 10.0.0.7:8080", PROXIES) == client


def test_trusted_proxy_hops_with_ports_or_mapped_are_recognized():
    assert client_ip("10.0.0.2", "1.2.3.4, 10.0.0.7:8080", PROXIES) == "1.2.3.4"
    assert client_ip("10.0.0.2", "1.2.3.4, [fd00::7]:443", PROXIES) == "1.2.3.4"
    assert client_ip("10.0.0.2", "1.2.3.4, ::ffff:10.0.0.7", PROXIES) == "1.2.3.4"


MALFORMED = [
    "garbage", "unknown", "1.2.3.4:", "1.2.3.4:99999", "1.2.3.4:http", "[2001:db8::1",
    "[2001:db8::1]:", "[2001:db8::1]x", "[1.2.3.4]:80", "2001:db8::1:443:", "1.2.3.04",
    "\uff11.\uff12.\uff13.\uff14", "_hidden", "1.2.3.4 5.6.7.8", "1" * 200,
    # Spellings of loopback that inet_aton would take and ipaddress refuses:
    "127.1", "0177.0.0.1", "0x7f.0.0.1", "2130706433", "127.0.0.1.", "127.0.0.1/8",
    "localhost", "::1%", "[::1]:0x50", "127.0.0.1\x00", "127.0.0.1:80:80",
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_a_malformed_hop_makes_the_client_unknown_never_the_proxy(bad):
    # Right at the peer, or behind another trusted proxy: never the trusted proxy's own
    # address (it used to be), never anything left of the bad hop.
    for header in (bad, f"1.2.3.4, {bad}", f"1.2.3.4, {bad}, 10.0.0.7",
                   f"1.2.3.4, {bad}, [fd00::7]:443"):
        assert client_ip("10.0.0.2", header, PROXIES) == UNKNOWN == "unknown", header


@pytest.mark.parametrize("bad", MALFORMED)
def test_a_malformed_hop_from_a_loopback_proxy_cannot_read_metrics(bad):
    """The red-team case: TRUSTED_PROXIES=127.0.0.1 and the default /metrics allow-list
    (loopback). The proxy itself is allowed; a client with a bad hop is not, and it is
    counted in one bucket that is no proxy's and no address's."""
    loopback = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    proxy = (ipaddress.ip_network("127.0.0.1/32"),)
    assert allowed(client_ip("127.0.0.1", None, proxy), loopback)
    ip = client_ip("127.0.0.1", bad, proxy)
    assert not allowed(ip, loopback)
    assert throttle_bucket(ip) == "unknown" != throttle_bucket("127.0.0.1")


def test_peer_is_normalized_like_a_hop():
    assert client_ip("::ffff:198.51.100.13", None, ()) == "198.51.100.13"
    assert client_ip("198.51.100.13:5555", None, ()) == "198.51.100.13"
    assert client_ip("[2001:db8::1]:443", "1.2.3.4", ()) == "2001:db8::1"
    # A mapped or ported trusted proxy is still trusted.
    assert client_ip("::ffff:10.0.0.2", "1.2.3.4", PROXIES) == "1.2.3.4"
    assert client_ip("10.0.0.2:40000", "1.2.3.4", PROXIES) == "1.2.3.4"
    # A mapped untrusted peer is still untrusted.
    assert client_ip("::ffff:203.0.113.9", "1.2.3.4", PROXIES) == "203.0.113.9"


def test_proxy_listed_as_mapped_network_trusts_the_plain_ipv4_peer():
    proxies = (ipaddress.ip_network("::ffff:10.0.0.0/104"),)
    assert client_ip("10.0.0.2", "1.2.3.4", proxies) == "1.2.3.4"


def test_a_peer_that_is_not_an_address_is_returned_unchanged():
    assert client_ip("testclient", "1.2.3.4", PROXIES) == "testclient"
    assert client_ip(None, "1.2.3.4", PROXIES) == "unknown"
    assert client_ip("", None, ()) == "unknown"


# --- throttle_bucket -----------------------------------------------------------------

def test_two_addresses_of_one_64_share_a_bucket():
    a = throttle_bucket("2001:db8:1:2::1")
    b = throttle_bucket("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert a == b == "2001:db8:1:2::/64"


def test_addresses_of_different_64s_do_not():
    assert throttle_bucket("2001:db8:1:2::1") != throttle_bucket("2001:db8:1:3::1")


def test_mapped_and_plain_ipv4_share_a_bucket():
    assert throttle_bucket("::ffff:198.51.100.13") == throttle_bucket("198.51.100.13")
    assert throttle_bucket("198.51.100.13") == "198.51.100.13"
    assert throttle_bucket("198.51.100.14") != throttle_bucket("198.51.100.13")


def test_ipv4_is_counted_per_address_whatever_the_prefix():
    assert throttle_bucket("198.51.100.13", 1) == "198.51.100.13"


def test_custom_prefix():
    assert throttle_bucket("2001:db8:1:2ff::1", 56) == "2001:db8:1:200::/56"
    assert throttle_bucket("2001:db8:1:2ff::1", 56) == throttle_bucket("2001:db8:1:201::9", 56)
    assert throttle_bucket("2001:db8:1:2::1", 128) == "2001:db8:1:2::1/128"
    assert throttle_bucket("2001:db8:1:2::1", 128) != throttle_bucket("2001:db8:1:2::2", 128)


def test_spellings_of_one_address_share_a_bucket():
    assert throttle_bucket("2001:DB8:1:2:0:0:0:1") == throttle_bucket("[2001:db8:1:2::9]:443")
    assert throttle_bucket("fe80::1%eth0", 128) == "fe80::1/128"


@pytest.mark.parametrize("text", ["unknown", "testclient", "", "garbage:1:2"])
def test_not_an_address_is_returned_unchanged(text):
    assert throttle_bucket(text) == text


@pytest.mark.parametrize("prefix", [0, 129, -64])
def test_prefix_out_of_range_is_refused(prefix):
    with pytest.raises(ValueError, match="1 to 128"):
        throttle_bucket("2001:db8::1", prefix)


@pytest.mark.parametrize("prefix", [True, 64.0, "64"])
def test_prefix_must_be_an_int(prefix):
    with pytest.raises(TypeError):
        throttle_bucket("2001:db8::1", prefix)


def test_client_ip_then_bucket():
    # The red-team cases end to end: a ported hop behind a trusted proxy gets its own
    # bucket, not the proxy's; a /64 is one bucket.
    ip = client_ip("10.0.0.2", "198.51.100.87:5555", PROXIES)
    assert throttle_bucket(ip) == "198.51.100.87"
    ip = client_ip("10.0.0.2", "[2001:db8:1:2::abcd]:443", PROXIES)
    assert throttle_bucket(ip) == "2001:db8:1:2::/64"


# --- network_bucket: the coarser IPv6 bucket of log-ins ------------------------------

def test_64s_of_one_48_share_its_network_bucket_and_other_48s_do_not():
    a = network_bucket("2001:db8:1:2::1")
    assert a == network_bucket("[2001:DB8:1:ffff:ffff::9]:443") == "2001:db8:1::/48"
    assert network_bucket("2001:db8:2::1") == "2001:db8:2::/48" != a
    assert network_bucket("2001:db8:1:2::1", 56) == "2001:db8:1::/56"


@pytest.mark.parametrize("text", ["198.51.100.7", "::ffff:198.51.100.7", "unknown",
                                  "testclient", "", "garbage:1:2", "127.1"])
def test_ipv4_and_non_addresses_have_no_network_bucket(text):
    assert network_bucket(text) is None


@pytest.mark.parametrize(("prefix", "error"), [(0, ValueError), (129, ValueError),
                                               (True, TypeError), ("48", TypeError)])
def test_network_prefix_is_checked(prefix, error):
    with pytest.raises(error):
        network_bucket("2001:db8::1", prefix)
