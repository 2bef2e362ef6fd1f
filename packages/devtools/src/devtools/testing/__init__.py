"""Test support shared by every member's tests; the fixtures live in the conftest files
and in `devtools.testing.fixtures`. Each job has its module, all re-exported here:

- `environment`: the test URLs, TEST_ENV, ARTIFACTS, Chromium's arguments;
- `helpers`: waiting, parallel calls, metrics, CSRF tokens, assertions;
- `authenticator`: SoftAuthenticator, a software passkey;
- `live`: both apps as real processes (start_live_system), the example partner app
  beside them (start_partner);
- `journeys`: a user's steps over HTTP (post a form, enrol a second factor);
- `oidc` (imported by name): an outside OpenID Connect provider (panva's oidc-provider);
- `provider` (imported by name): a client's consent and tokens from our own provider,
  through the core;
- slow clients: `devtools.slowclients` (shared with `uv run loadtest`).
"""

from __future__ import annotations

from db_utils.monitoring import CommandCounter
from devtools.slowclients import SlowClients
from devtools.testing.authenticator import SoftAuthenticator
from devtools.testing.environment import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    FAST_MAIL_SENDER,
    LANDING,
    TEST_ENV,
    WEB,
)
from devtools.testing.helpers import (
    assert_only_valid_users,
    assert_redirect_stays_home,
    core_user_with_address,
    csrf_of,
    csrf_token,
    leftovers_of,
    link_token,
    mail_to,
    mailed_link,
    metric_value,
    parallel,
    wait_for,
)
from devtools.testing.journeys import enrol_totp, next_step_code, post, sign_up_with_address
from devtools.testing.live import LiveSystem, start_live_system, start_partner

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "FAST_MAIL_SENDER",
    "LANDING",
    "TEST_ENV",
    "WEB",
    "CommandCounter",
    "LiveSystem",
    "SlowClients",
    "SoftAuthenticator",
    "assert_only_valid_users",
    "assert_redirect_stays_home",
    "core_user_with_address",
    "csrf_of",
    "csrf_token",
    "enrol_totp",
    "leftovers_of",
    "link_token",
    "mail_to",
    "mailed_link",
    "metric_value",
    "next_step_code",
    "parallel",
    "post",
    "sign_up_with_address",
    "start_live_system",
    "start_partner",
    "wait_for",
]
