"""Times as a reader takes them in: "5 minutes ago", with the exact UTC time kept in a
`<time>` element (its title shows on hover), rendered on the server so no JavaScript is
needed. Both apps' templates use this one function."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

__all__ = ["exact", "relative", "time_html", "wait", "wait_message"]

_UNITS = ((86400 * 365, "year"), (86400 * 30, "month"), (86400 * 7, "week"),
          (86400, "day"), (3600, "hour"), (60, "minute"))


def _utc(when: datetime) -> datetime:
    # MongoDB hands back naive datetimes that are UTC.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def relative(when: datetime, now: datetime | None = None) -> str:
    """"just now", "5 minutes ago", "yesterday", "3 weeks ago"; a time a little ahead
    (another machine's clock) counts as now."""
    seconds = int((_utc(now or datetime.now(UTC)) - _utc(when)).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in _UNITS:
        count = seconds // size
        if count >= 1:
            if unit == "day" and count == 1:
                return "yesterday"
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"  # unreachable: a minute or more always matches a unit


def exact(when: datetime) -> str:
    return _utc(when).strftime("%Y-%m-%d %H:%M UTC")


def time_html(when: datetime | None, now: datetime | None = None, empty: str = "never"
              ) -> str:
    """`<time datetime="ISO" title="exact UTC">relative</time>` (escaped HTML), or `empty`."""
    if when is None:
        return escape(empty)
    iso = _utc(when).isoformat(timespec="seconds").replace("+00:00", "Z")
    return (f'<time datetime="{escape(iso)}" title="{escape(exact(when))}">'
            f"{escape(relative(when, now))}</time>")


def wait(seconds: int) -> str:
    """How long a `Retry-After` is, as a person says it, never shorter than it is:
    "less than a minute", "about 14 minutes", "about 2 hours", "about 1 day"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "less than a minute"
    minutes = -(-seconds // 60)  # rounded up
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes > 1 else ''}"
    hours = -(-seconds // 3600)
    if hours < 36:
        return f"about {hours} hours"
    days = -(-seconds // 86400)
    return f"about {days} days"


def wait_message(seconds: int | None) -> str:
    """The message of a throttled form: how long, from the answer's `Retry-After`."""
    if not seconds:
        return "Too many attempts. Please wait a while and try again."
    return f"Too many attempts. Try again in {wait(seconds)}."
