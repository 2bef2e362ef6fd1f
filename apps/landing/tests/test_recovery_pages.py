"""Issue 24 on the landing app's pages: "Forgot your password?" answers the same page for
every name, the reset link's page sets the password once (asking the code when the
account has one) and logs the browser out, the verification link's page confirms only on
POST. Links are read from the outbox the way the mail sender reads them (the test
environment's SMTP server does not answer, so bodies stay)."""

from __future__ import annotations

import pyotp

from devtools.mailserver import links_in


def link_in_outbox(core, kind: str) -> str:
    """The newest link in a queued message of `kind`, unsealed as the sender would."""
    core.recovery.background.join()
    for listed in core.outbox.list():  # newest first, without bodies
        mail = core.outbox.get(listed.message_id) if listed.kind == kind else None
        if mail is not None and (email := core.outbox.compose(mail)) is not None:
            return links_in(email)[0]
    raise AssertionError(f"no {kind} message queued")


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_login_links_to_the_reset_and_it_answers_alike_for_any_name(landing, landing_app):
    core = landing_app.state.core
    core.accounts.sign_up("alice", "correct horse", ip="1", email="alice@example.com")
    assert 'href="/password/reset"' in landing.get("/login").text
    form = landing.get("/password/reset")
    assert form.status_code == 200 and 'name="identifier"' in form.text
    pages = {name: landing.post("/password/reset", data={"identifier": name})
             for name in ("alice", "nobody", "alice@example.com", "nobody@example.com")}
    assert {r.status_code for r in pages.values()} == {200}
    assert len({r.text for r in pages.values()}) == 1  # byte for byte the same page
    empty = landing.post("/password/reset", data={"identifier": " "})
    assert empty.status_code == 400 and "Enter your username or email address" in empty.text


def test_the_link_page_sets_the_password_once_with_the_code(landing, landing_app, clock):
    core = landing_app.state.core
    out = core.accounts.sign_up("alice", "correct horse", ip="1", email="alice@example.com")
    assert core.email.verify(path_of(link_in_outbox(core, "email_verification"))
                             .rsplit("/", 1)[1]).ok
    enrolment = core.second_factor.factors.start(out.user.id, "alice")
    core.second_factor.confirm(out.session, out.user, pyotp.TOTP(enrolment.secret).at(clock()))
    landing.post("/password/reset", data={"identifier": "alice"})
    page_path = path_of(link_in_outbox(core, "password_reset"))

    page = landing.get(page_path)
    assert page.status_code == 200 and "alice" in page.text and 'name="code"' in page.text
    assert page.headers["referrer-policy"] == "strict-origin"
    assert page.headers["cache-control"] == "no-store"
    new = {"new_password": "a brand new passphrase", "confirm_password":
           "a brand new passphrase"}
    wrong = landing.post(page_path, data={**new, "code": "000000"})
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text
    clock.advance(seconds=31)
    done = landing.post(page_path, data={**new, "code": pyotp.TOTP(enrolment.secret).at(clock())})
    assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
    assert "Max-Age=0" in done.headers["set-cookie"]
    assert "Log in with the new password" in landing.get("/login?done=reset").text
    again = landing.get(page_path)
    assert again.status_code == 400 and "no longer valid" in again.text


def test_junk_reset_and_verification_links_are_a_clear_400(landing):
    for path in ("/password/reset/" + "x" * 43, "/password/reset/short",
                 "/email/verify/" + "y" * 43, "/email/verify/%00"):
        r = landing.get(path)
        assert r.status_code == 400 and "This link no longer works" in r.text, path
        assert landing.post(path, data={}).status_code == 400


def test_the_verification_page_confirms_only_on_post(landing, landing_app):
    core = landing_app.state.core
    out = core.accounts.sign_up("alice", "correct horse", ip="1", email="Alice@Example.com")
    page_path = path_of(link_in_outbox(core, "email_verification"))
    shown = landing.get(page_path)  # what a mail scanner fetching the link does
    assert shown.status_code == 200 and "Alice@example.com" in shown.text
    assert core.email.of(out.user.id).email is None
    confirmed = landing.post(page_path)
    assert confirmed.status_code == 200 and "is now the verified address" in confirmed.text
    assert core.email.of(out.user.id).email == "Alice@example.com"


def test_sign_up_takes_an_optional_address_and_refuses_a_bad_one(landing, landing_app, db):
    form = landing.get("/signup")
    assert 'name="email"' in form.text and "optional" in form.text
    bad = landing.post("/signup", data={"username": "alice", "password": "correct horse",
                                        "email": "not-an-address"})
    assert bad.status_code == 400 and "not a valid email address" in bad.text
    assert 'value="not-an-address"' in bad.text and db.users.count_documents({}) == 0
    ok = landing.post("/signup", data={"username": "alice", "password": "correct horse",
                                       "email": "alice@example.com"})
    assert ok.status_code == 303
    assert db.users.find_one({"username": "alice"})["pending_email"] == "alice@example.com"
