"""`auth-admin clients` and `auth-admin keys`: the apps on other domains that log in with
us (OpenID Connect clients), the back-channel log-outs they heard or did not, and the
provider's signing keys."""

from __future__ import annotations

import argparse
import sys

from auth_utils.core import AuthCore
from auth_utils.ops.commands import CommandError

__all__ = ["clients", "keys"]


def clients(core: AuthCore, args: argparse.Namespace) -> None:
    """Relying parties of our OpenID Connect provider (apps on other domains)."""
    openid = core.openid
    if args.action == "add":
        try:
            client_id, secret = openid.register(
                args.name, args.redirect_uri, public=args.public,
                first_party=args.first_party,
                post_logout_redirect_uris=args.post_logout_redirect_uri or [],
                backchannel_logout_uri=args.backchannel_logout_uri or "")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        print(f"client_id\t{client_id}")
        if secret:
            print(f"client_secret\t{secret}")
            print("auth-admin: the secret is shown this once (only its hash is kept); store "
                  "it in the client's secret store now", file=sys.stderr)
        print(f"issuer\t{core.settings.landing_url}")
    elif args.action == "logouts":
        _logouts(core, args)
    elif args.action == "list":
        for c in openid.clients():
            kind = "public" if c.public else "confidential"
            party = "first-party" if c.first_party else "asks consent"
            print(f"{c.id}\t{c.name}\t{kind}\t{party}\t{' '.join(c.redirect_uris)}\t"
                  f"{c.created_at:%Y-%m-%d}")
    elif not openid.remove(args.client_id):
        raise CommandError(f"no client {args.client_id!r}")
    else:
        print(f"client {args.client_id} removed; its tokens no longer work")


def _logouts(core: AuthCore, args: argparse.Namespace) -> None:
    """Back-channel log-outs: which client heard (or did not hear) of which ended session.
    A failed one is a client that still holds a session of ours after every retry."""
    openid = core.openid
    names = {c.id: c.name for c in openid.clients()}
    if args.client is not None and args.client not in names:
        raise CommandError(f"no client {args.client!r} (see `auth-admin clients list`)")
    if args.requeue:
        count = openid.backchannel.requeue_failed(args.client)
        print(f"{count} failed log-out(s) queued again")
        return
    status = "failed" if args.failed else args.status
    print("\t".join(f"{s} {n}" for s, n in openid.logout_counts().items()))
    users: dict[str, str] = {}
    for r in openid.logouts(status=status, client_id=args.client, limit=args.limit):
        if r.user_id not in users:
            found = core.storage.users.by_id(r.user_id)
            users[r.user_id] = found.username if found else f"(deleted user {r.user_id})"
        when = r.ended_at or r.created_at
        print(f"{when:%Y-%m-%d %H:%M:%S}\t{r.status}\t{r.attempts} attempt(s)\t"
              f"{r.client_id}\t{names.get(r.client_id, '(removed)')}\t{users[r.user_id]}\t"
              f"{r.last_error or '-'}")


def keys(core: AuthCore, args: argparse.Namespace) -> None:
    """The provider's ID-token signing keys; `rotate` with a published overlap."""
    signing = core.openid.keys
    if args.action == "rotate":
        print(f"now signing with {signing.rotate()}")
    for k in signing.list():
        print(f"{k.kid}\t{k.state}\t{k.created_at:%Y-%m-%d %H:%M:%S}")
