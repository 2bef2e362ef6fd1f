"""Prometheus counters for a monitor to scrape (`GET /metrics` on both apps).

With several worker processes, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory
shared by the workers of one app before they start (prometheus-client's multi-process
mode): every worker writes its values there and a scrape of any worker adds them up.
Only addresses in `METRICS_ALLOWED_NETWORKS` may read them; others get a 404.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "CACHE_ENTRIES",
    "DATABASE_DOWN",
    "DATABASE_OUTAGES",
    "EARLY_REFUSALS",
    "FEED_LAG",
    "FEED_RESTARTS",
    "HASH_DURATION",
    "MAIL_ATTEMPTS",
    "REQUEST_SECONDS",
    "SECURITY_EVENTS",
    "VALIDATIONS",
    "allowed",
    "render",
]

SECURITY_EVENTS = Counter(
    "auth_security_events_total",
    "Authentication events by kind and outcome (log-ins, sign-ups, throttled requests, "
    "second factor, log-outs, revocations...), including failed log-ins for unknown names",
    ["kind", "outcome"])
EARLY_REFUSALS = Counter(
    "auth_early_refusals_total",
    "Log-ins and sign-ups refused from memory before their body was read: the client's "
    "address is over its limit (over_limit) or has its checks in progress (client_share)",
    ["reason"])
MAIL_ATTEMPTS = Counter(
    "auth_mail_attempts_total",
    "Outbox messages handed to SMTP, by outcome: delivered, retry (backing off), failed "
    "(given up: see the outbox), stale (the lease had passed to another sender)",
    ["outcome"])
VALIDATIONS = Counter(
    "auth_session_validations_total",
    "Session cookies checked, by where the answer came from (cache, database, invalid)",
    ["path"])
CACHE_ENTRIES = Gauge("auth_session_cache_entries", "Sessions in the process caches",
                      multiprocess_mode="livesum")
FEED_RESTARTS = Counter("auth_session_feed_restarts_total",
                        "Times a session cache stopped trusting its change stream")
FEED_LAG = Gauge("auth_session_feed_seconds_since_caught_up",
                 "Seconds since a process's change stream last caught up",
                 multiprocess_mode="livemax")
HASH_DURATION = Histogram("auth_password_hash_seconds", "argon2id hashing and verifying time",
                         buckets=(.01, .02, .03, .04, .05, .075, .1, .2, .5, 1, 2))
DATABASE_DOWN = Gauge("auth_database_down",
                      "1 while a process knows the database is down (answering 503 at once)",
                      multiprocess_mode="livemax")
DATABASE_OUTAGES = Counter("auth_database_outages_total",
                           "Times a process found the database down")
REQUEST_SECONDS = Histogram("http_request_duration_seconds", "Request latency by route",
                            ["app", "route", "method"])

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type (all workers' values in multi-process
    mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
