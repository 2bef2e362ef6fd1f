"""The flows' shape: one re-authentication rule for every sensitive change, an event for
every state change a flow makes, and the import direction between the core's parts."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pyotp
import pytest

from auth_utils import Result
from auth_utils.flows.outcomes import REAUTH
from devtools.testing import WEB, SoftAuthenticator

SRC = Path(__file__).resolve().parents[1] / "src" / "auth_utils"


@pytest.fixture
def stale(core, clock):
    """alice with the second factor on and a passkey, whose session was last verified 11
    minutes ago; (core, session, user, credential id)."""
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(out.user.id, "alice")
    assert core.passkeys.add(out.session, out.user, json.dumps(device.register(options)),
                             "laptop").ok
    assert core.second_factor.start(out.session, out.user).ok
    enrolment = core.second_factor.status(out.user).enrolment
    outcome, _ = core.second_factor.confirm(out.session, out.user,
                                            pyotp.TOTP(enrolment.secret).at(clock()))
    assert outcome.ok
    clock.advance(minutes=11)
    credential_id = core.passkeys.for_user(out.user.id)[0].id
    return core, out.session, out.user, credential_id


def test_every_sensitive_change_is_refused_alike_with_a_stale_verification(stale, db):
    core, session, user, credential_id = stale
    before = {name: list(db[name].find({}, {"_id": 0})) for name in
              ("users", "second_factors", "passkeys")}
    refusals = {
        "set the second factor up": core.second_factor.start(session, user),
        "turn the second factor on": core.second_factor.confirm(session, user, "123456")[0],
        "second factor off": core.second_factor.disable(session, user),
        "new recovery codes": core.second_factor.regenerate_recovery_codes(session, user)[0],
        "passkey options": core.passkeys.registration_options(session, user)[0],
        "add a passkey": core.passkeys.add(session, user, "{}", "x"),
        "remove a passkey": core.passkeys.remove(session, user, credential_id),
        "change the password": core.passwords.change_password(
            user, "correct horse", "new password 1", "new password 1", ip="1",
            keep_session_id=session.id, session=session),
        "delete the account": core.lifecycle.delete_own(session, user, "alice"),
    }
    assert {name: (o.result, o.message) for name, o in refusals.items()} == {
        name: (Result.REAUTH, REAUTH) for name in refusals}
    assert before == {name: list(db[name].find({}, {"_id": 0})) for name in before}


def test_the_flows_record_every_state_change(core, db, clock):
    """TOTP start, passkey rename and the operator's mfa-reset skipped the flows and
    recorded nothing; each is an event now, with where it came from."""
    out = core.accounts.sign_up("bob", "correct horse", ip="1")
    who = {"ip": "192.0.2.44", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}
    db.security_events.delete_many({})
    assert core.second_factor.start(out.session, out.user, **who).ok
    enrolment = core.second_factor.status(out.user).enrolment
    core.second_factor.confirm(out.session, out.user, pyotp.TOTP(enrolment.secret).at(clock()),
                               **who)
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(out.user.id, "bob")
    core.passkeys.add(out.session, out.user, json.dumps(device.register(options)), "a", **who)
    credential_id = core.passkeys.for_user(out.user.id)[0].id
    assert core.passkeys.rename(out.session, out.user, credential_id, " b ", **who).ok
    assert not core.passkeys.rename(out.session, out.user, credential_id, "  ", **who).ok
    assert core.second_factor.reset_by_operator(out.user) == 1
    events = list(db.security_events.find({}, sort=[("at", 1), ("_id", 1)]))
    assert [e["kind"] for e in events] == [
        "second_factor_setup", "second_factor_on", "passkey_added", "passkey_renamed",
        "second_factor_off", "session_revoked"]
    assert all(e["ip"] == "192.0.2.44" and e["browser"] == "Firefox on Linux"
               for e in events[:4])
    assert "operator" in events[4]["detail"]
    assert not core.second_factor.enabled(out.user.id)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("auth_utils")}


def test_import_direction():
    """The flows sit above the rules and storage and below the core that builds them:
    a flow never imports the core, the HTTP decisions, the CLI or the Mongo adapter, and
    only the core (and the package's front door) imports the flows."""
    above_flows = {"auth_utils.core", "auth_utils.http", "auth_utils.ops.cli",
                   "auth_utils.storage.mongo", "auth_utils.services.session_cache"}
    for path in (SRC / "flows").glob("*.py"):
        assert not _imports(path) & above_flows, path.name
    for path in SRC.glob("*.py"):
        if path.stem not in {"core", "__init__"}:
            assert not any(m.startswith("auth_utils.flows") for m in _imports(path)), path


def test_no_import_circle_in_the_core():
    """Every import between auth_utils modules (lazy ones too) points one way."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = {m for m in _imports(path) if m != name}
    # A package imports its own modules (its front door), never the other way round.
    graph = {name: {m for m in deps if m in modules and not name.startswith(m + ".")
                    and m != "auth_utils"} for name, deps in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for dep in graph[name]:
            visit(dep, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_turning_the_second_factor_on_needs_a_recent_verification(core, clock):
    """Issue 25, item 5: an attacker with a stolen cookie enrolled their own secret 11
    minutes after the last verification. Set-up and confirmation now need a recent
    re-authentication, and confirming ends every other session."""
    out = core.accounts.sign_up("mallory_target", "correct horse", ip="1")
    other = core.accounts.log_in("mallory_target", "correct horse", ip="2")
    clock.advance(minutes=11)
    assert core.second_factor.start(out.session, out.user).result is Result.REAUTH
    assert core.second_factor.status(out.user).enrolment is None
    assert core.passwords.reauthenticate(out.session, out.user, "correct horse", "",
                                        ip="1").ok
    session = core.sessions.validate_session_token(out.token).session
    assert core.second_factor.start(session, out.user).ok
    secret = core.second_factor.status(out.user).enrolment.secret
    clock.advance(minutes=11)  # set up in time, confirmed too late
    refused, codes = core.second_factor.confirm(session, out.user,
                                                pyotp.TOTP(secret).at(clock()))
    assert refused.result is Result.REAUTH and codes == []
    assert not core.second_factor.enabled(out.user.id)
    core.passwords.reauthenticate(session, out.user, "correct horse", "", ip="1")
    session = core.sessions.validate_session_token(out.token).session
    done, codes = core.second_factor.confirm(session, out.user, pyotp.TOTP(secret).at(clock()))
    assert done.ok and len(codes) == 10
    assert not core.sessions.validate_session_token(other.token).valid  # others ended
    assert not core.sessions.validate_session_token(out.token).valid  # rotated:
    assert core.sessions.validate_session_token(done.token).valid  # a new token
