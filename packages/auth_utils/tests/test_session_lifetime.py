"""The absolute session lifetime (ASVS 5.0 7.3.2, SESSION_MAX_LIFETIME_DAYS): however
often a session is used, it ends `max_lifetime` after its log-in; renewal never sets its
expiry (nor the cookie's Max-Age) past that, and the cache never serves it beyond."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from auth_utils import SessionPolicy, Verdict, judge, load_settings
from auth_utils.http import cookie_after
from devtools.testing import TEST_ENV, wait_for

DAY = timedelta(days=1)


@dataclass
class Record:  # a StoredSession as the store returns it
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    pending: bool = False


def test_default_and_setting():
    assert SessionPolicy().max_lifetime == 90 * DAY
    assert load_settings(TEST_ENV).session_max_lifetime_days == 90
    assert load_settings({**TEST_ENV, "SESSION_MAX_LIFETIME_DAYS": "30"}
                         ).session_max_lifetime_days == 30


def test_judge_ends_a_session_at_its_absolute_end():
    policy, t0 = SessionPolicy(), datetime(2025, 1, 1)
    capped = Record(t0, t0 + 90 * DAY, t0 + 89 * DAY)
    assert judge(capped, t0 + 89 * DAY + timedelta(minutes=1), policy) is Verdict.VALID
    assert judge(capped, t0 + 90 * DAY, policy) is Verdict.ENDED
    # Stored before the limit existed (or was lowered): its expiry is later, it ends anyway.
    legacy = Record(t0, t0 + 110 * DAY, t0 + 85 * DAY)
    assert judge(legacy, t0 + 91 * DAY, policy) is Verdict.ENDED
    # Unused for 30 days before its absolute end: plain expiry, not "ended by age".
    idle = Record(t0, t0 + 50 * DAY, t0 + 20 * DAY)
    assert judge(idle, t0 + 95 * DAY, policy) is Verdict.EXPIRED
    # Near the end with the expiry already at it: nothing left to renew.
    seen_day_79 = Record(t0, t0 + 90 * DAY, t0 + 79 * DAY)
    assert judge(seen_day_79, t0 + 80 * DAY, policy) is Verdict.TOUCH  # not RENEW


def test_renewed_every_fifteen_days_still_ends_at_the_max(make_core, clock, db):
    core = make_core()
    sessions = core.sessions
    token, created = sessions.create_session("u1", "carol")
    end = created.created_at + 90 * DAY
    renewals, expiries = 0, []
    while clock.now + 15 * DAY < end:
        clock.advance(days=15, hours=1)
        validation = sessions.validate_session_token(token)
        assert validation.valid, clock.now - created.created_at
        expiries.append(validation.session.expires_at)
        if validation.session.fresh:
            renewals += 1
            cookie = cookie_after(validation, token, core.cookie, clock.now)
            max_age = int(cookie.serialize().split("Max-Age=")[1].split(";")[0])
            assert max_age <= (end - clock.now).total_seconds() + 1
    assert renewals >= 4 and max(expiries) == end  # renewed, and capped at the end
    assert all(e <= end for e in expiries)
    assert db.sessions.find_one({"_id": created.id})["expires_at"].replace(
        tzinfo=end.tzinfo) == end
    clock.now = end - timedelta(seconds=1)
    assert sessions.validate_session_token(token).valid
    clock.now = end
    validation = sessions.validate_session_token(token)
    assert not validation.valid and validation.ended_by_age
    assert db.sessions.count_documents({"_id": created.id}) == 0  # deleted
    assert cookie_after(validation, token, core.cookie, clock.now).serialize().startswith(
        "auth_session=;")  # the app sends a blank cookie


def test_a_shorter_limit_caps_even_the_first_expiry(make_core, clock, db):
    sessions = make_core(session_max_lifetime_days=7).sessions
    token, session = sessions.create_session("u1", "carol")
    assert session.expires_at == session.created_at + 7 * DAY
    clock.advance(days=7)
    assert sessions.validate_session_token(token).ended_by_age


def test_sessions_from_before_a_lowered_limit_end_and_are_not_listed(make_core, clock, db):
    old = make_core(session_max_lifetime_days=365).sessions
    token, session = old.create_session("u1", "carol")
    for _ in range(4):  # kept alive for 60 days under the old limit
        clock.advance(days=15, hours=1)
        assert old.validate_session_token(token).valid
    new = make_core(session_max_lifetime_days=30).sessions
    assert [s.id for s in old.list_user_sessions("u1")] == [session.id]
    assert new.list_user_sessions("u1") == []
    validation = new.validate_session_token(token)
    assert not validation.valid and validation.ended_by_age


def test_an_idle_expiry_is_not_reported_as_ended_by_age(make_core, clock, db):
    sessions = make_core().sessions
    token, _ = sessions.create_session("u1", "carol")
    clock.advance(days=31)
    validation = sessions.validate_session_token(token)
    assert not validation.valid and not validation.ended_by_age


@pytest.fixture
def cached_core(make_core):
    core = make_core(cache=True)
    assert wait_for(lambda: core.sessions.store.active)
    return core


def test_the_cache_never_serves_a_session_past_its_end(cached_core, clock, db):
    sessions = cached_core.sessions
    token, session = sessions.create_session("u1", "carol")
    end = session.created_at + 90 * DAY
    # Kept alive by renewals, then cached with an expiry at the absolute end.
    while clock.now + 15 * DAY < end:
        clock.advance(days=15, hours=1)
        assert sessions.validate_session_token(token).valid
    clock.now = end - timedelta(minutes=1)
    for _ in range(2):  # the first refreshes last-seen (and evicts), the second caches
        assert sessions.validate_session_token(token).valid
    assert sessions.store.peek(session.id) is not None  # served from memory now
    assert sessions.validate_cached(token).valid
    clock.now = end
    assert sessions.validate_cached(token) is None  # not from memory: read and judged
    validation = sessions.validate_session_token(token)
    assert not validation.valid and validation.ended_by_age


def test_the_cache_ends_a_session_stored_beyond_the_limit(make_core, clock, db):
    """A cached record whose expiry is past the absolute end (stored under a longer limit)
    is judged by the limit, not by its expiry."""
    old = make_core(session_max_lifetime_days=365).sessions
    token, session = old.create_session("u1", "carol")
    for _ in range(5):  # renewed to day 105
        clock.advance(days=15, hours=1)
        assert old.validate_session_token(token).valid
    core = make_core(cache=True, session_max_lifetime_days=90)
    assert wait_for(lambda: core.sessions.store.active)
    clock.now = session.created_at + 90 * DAY - timedelta(minutes=1)
    for _ in range(2):
        assert core.sessions.validate_session_token(token).valid
    assert core.sessions.store.peek(session.id).expires_at > clock.now + 15 * DAY
    clock.now = session.created_at + 90 * DAY
    assert core.sessions.validate_cached(token) is None
    assert core.sessions.validate_session_token(token).ended_by_age


def test_pending_log_ins_keep_their_ten_minutes(make_core, clock, db):
    sessions = make_core(session_max_lifetime_days=1).sessions
    _, pending = sessions.create_session("u1", "carol", pending=True)
    assert pending.expires_at - pending.created_at == timedelta(minutes=10)
    assert replace(SessionPolicy(), max_lifetime=DAY).pending_lifetime == timedelta(minutes=10)
