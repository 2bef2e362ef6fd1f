import threading
from datetime import UTC, datetime

from pymongo import MongoClient

from db_utils.throttles import hit_counter
from devtools.testing import CommandCounter

NOW = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)


def test_forty_parallel_first_hits_see_forty_distinct_counts(db):
    barrier, counts, lock = threading.Barrier(40), [], threading.Lock()

    def hit() -> None:
        barrier.wait(timeout=10)
        count = hit_counter(db, "login-ip:198.51.100.7", 900, NOW)[0]
        with lock:
            counts.append(count)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(counts) == list(range(1, 41))


def test_a_hit_on_an_existing_window_is_one_round_trip(db, database_server):
    # The throttle's cost per attempt: a flood from one address pays it on every request.
    counter = CommandCounter()
    client = MongoClient(database_server.uri, event_listeners=[counter], tz_aware=True)
    try:
        monitored = client[db.name]
        assert hit_counter(monitored, "k", 900, NOW) == (1, datetime(2026, 1, 1, 12, 15,
                                                                     tzinfo=UTC))
        counter.commands.clear()
        assert hit_counter(monitored, "k", 900, NOW)[0] == 2
        assert hit_counter(monitored, "k", 900, NOW, -1)[0] == 1  # a refund
        assert counter.commands == ["findAndModify", "findAndModify"]
    finally:
        client.close()
