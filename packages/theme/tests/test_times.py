"""Relative times, and the <time> element both apps render."""

from datetime import UTC, datetime, timedelta

import pytest

from theme.times import exact, relative, time_html

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("ago", "text"), [
    (timedelta(seconds=0), "just now"),
    (timedelta(seconds=59), "just now"),
    (timedelta(seconds=-30), "just now"),  # another machine's clock a little ahead
    (timedelta(minutes=1), "1 minute ago"),
    (timedelta(minutes=5, seconds=40), "5 minutes ago"),
    (timedelta(hours=2), "2 hours ago"),
    (timedelta(hours=30), "yesterday"),
    (timedelta(days=3), "3 days ago"),
    (timedelta(days=15), "2 weeks ago"),
    (timedelta(days=70), "2 months ago"),
    (timedelta(days=800), "2 years ago"),
])
def test_relative(ago, text):
    assert relative(NOW - ago, NOW) == text


def test_naive_datetimes_are_utc():
    """MongoDB returns naive UTC datetimes."""
    naive = datetime(2026, 11, 24, 11, 55)
    assert relative(naive, NOW) == "5 minutes ago"
    assert exact(naive) == "2026-11-24 11:55 UTC"


def test_time_element_carries_the_exact_time():
    html = time_html(NOW - timedelta(minutes=5), NOW)
    assert html == ('<time datetime="2026-11-24T11:55:00Z" title="2026-11-24 11:55 UTC">'
                    "5 minutes ago</time>")
    assert time_html(None, NOW) == "never"


def test_a_wait_says_how_long_never_shorter_than_it_is():
    from theme.times import wait, wait_message

    assert wait(14) == "less than a minute"
    assert wait(60) == "about 1 minute"
    assert wait(61) == "about 2 minutes"
    assert wait(840) == "about 14 minutes"
    assert wait(3 * 3600) == "about 3 hours"
    assert wait(2 * 86400) == "about 2 days"
    assert wait_message(840) == "Too many attempts. Try again in about 14 minutes."
    assert "wait a while" in wait_message(None)
