"""Prepare the SQLite database of the Django-auth baseline and print a session cookie."""

import django
from django.core.management import call_command


def main() -> None:
    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from django.test import Client

    User.objects.filter(username="bench").delete()
    password = "correct horse battery"  # noqa: S105 - a benchmark account on loopback
    User.objects.create_user("bench", password=password)
    client = Client()
    assert client.login(username="bench", password=password)
    print(client.cookies["sessionid"].value)


if __name__ == "__main__":
    main()
