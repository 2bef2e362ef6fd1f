"""Where the mail sender runs: a thread of each landing process, started with the app and
stopped with it (docs/deploy.md)."""

from __future__ import annotations

from starlette.testclient import TestClient

from auth_utils.services.mail import Message
from devtools.testing import LANDING
from landing.app import create_app


def test_the_landing_process_delivers_the_outbox_while_it_runs(make_core, smtp_server):
    core = make_core(smtp_url=smtp_server.url)
    with TestClient(create_app(core), base_url=LANDING):
        assert core.mail_sender is not None and core.mail_sender.running
        message_id = core.outbox.enqueue(Message("bob@example.com", "Hello", "Hi Bob."))
        assert smtp_server.wait_for(1, 10)
        assert smtp_server.message_ids() == [message_id]
    assert core.mail_sender is None  # stopped with the app


def test_with_mail_off_the_landing_process_runs_no_sender(make_core):
    core = make_core(mail=False)
    with TestClient(create_app(core), base_url=LANDING) as client:
        assert client.get("/healthz").status_code == 200
        assert core.mail_sender is None


def test_with_mail_sender_off_the_process_queues_but_delivers_nothing(make_core,
                                                                      smtp_server):
    """MAIL_SENDER=off: mail is queued (another process delivers it), this process runs no
    sender, so it never claims a message it could not send."""
    core = make_core(smtp_url=smtp_server.url, mail_sender=False)
    with TestClient(create_app(core), base_url=LANDING):
        assert core.mail_sender is None
        message_id = core.outbox.enqueue(Message("bob@example.com", "Hello", "Hi Bob."))
        assert not smtp_server.wait_for(1, 1.5)
        assert core.outbox.get(message_id).status == "pending"
