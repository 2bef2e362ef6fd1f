"""/account/security lists the linked outside log-ins, with Link (a POST to the landing
app) per provider and Unlink, which the core refuses for the account's only way in."""

from __future__ import annotations

from auth_utils import hash_password
from auth_utils.config import OidcProvider
from devtools.testing import LANDING, csrf_token


def test_linked_identities_are_listed_and_unlinked_only_when_another_way_in_is_left(
        web, make_core, django_setup, db):
    from web import services

    provider = OidcProvider("corp", "Corp SSO", "https://sso.example.com", "c", "s")
    core = services.configure(make_core(oidc_providers=(provider,)))
    now = core.sessions.clock()
    users = {}
    for name, unknown in (("alice", False), ("oscar", True)):
        user = core.storage.users.create(name, hash_password("correct horse"), now,
                                         password_unknown=unknown)
        assert core.storage.identities.link(
            id=f"id-{name}", issuer=provider.issuer, subject=f"sub-{name}", provider="corp",
            user_id=user.id, email=f"{name}@corp.example", created_at=now)
        users[name] = core.sessions.create_session(user.id, user.username)[0]
    web.cookies["auth_session"] = users["alice"]
    page = web.get("/account/security").content.decode()
    assert "{#" not in page and "#}" not in page  # a template comment shown as text
    assert "alice@corp.example" in page and "/account/identities/id-alice/unlink" in page
    # A link to the landing app's own confirmation page (a cross-origin form would be
    # posted with `Origin: null` by a browser, and refused).
    assert f'href="{LANDING}/login/oidc/corp?intent=link"' in page
    token = csrf_token(web, "/account/security")
    done = web.post("/account/identities/id-alice/unlink", {"csrfmiddlewaretoken": token})
    assert done.status_code == 303 and db.linked_identities.count_documents(
        {"_id": "id-alice"}) == 0
    # oscar's only way in is his outside log-in: refused, still linked.
    web.cookies["auth_session"] = users["oscar"]
    token = csrf_token(web, "/account/security")
    refused = web.post("/account/identities/id-oscar/unlink", {"csrfmiddlewaretoken": token})
    assert refused.status_code == 400 and "only way to log in" in refused.content.decode()
    assert db.linked_identities.count_documents({"_id": "id-oscar"}) == 1
