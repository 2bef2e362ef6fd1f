import pytest
from pymongo import MongoClient
from pymongo.errors import ServerSelectionTimeoutError

import db_utils
from db_utils.connection import database_name
from db_utils.errors import translate_errors


def test_database_name_from_uri():
    assert database_name("mongodb://h:1/app?x=1") == "app"
    assert database_name("mongodb://h:1/?x=1") == "monorepo_auth"
    assert database_name("mongodb+srv://u:p@c.example.net/prod") == "prod"


def test_connect_is_idempotent(database_server):
    first = db_utils.connect(database_server.uri)
    assert db_utils.connect(database_server.uri) is first
    assert db_utils.ping()


def test_outage_errors_become_database_unavailable():
    # A real client aimed at a port where nothing listens: the real pymongo error.
    from devtools.dbserver import free_port

    client = MongoClient(f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=200")

    @translate_errors
    def query():
        return client.x.y.find_one({})

    with pytest.raises(db_utils.DatabaseUnavailable) as info:
        query()
    assert isinstance(info.value.__cause__, ServerSelectionTimeoutError)
    client.close()


def test_building_indexes_without_a_database_fails_within_the_request_budget():
    """The index build's long timeout (CSOT) also stretched server selection: an app
    whose database was not there waited ten minutes in its start-up instead of starting
    and answering 503."""
    import time

    from devtools.dbserver import free_port

    client = db_utils.new_client(f"mongodb://127.0.0.1:{free_port()}/down"
                                 "?directConnection=true&timeoutMS=1000")
    try:
        started = time.monotonic()
        with pytest.raises(db_utils.DatabaseUnavailable):
            db_utils.ensure_indexes(client["down"])
        assert time.monotonic() - started < 5
    finally:
        client.close()
