"""What the session cache costs as the product grows (bench sections 6-8), in-process
against the bench's own database server.

6. change events each process receives while N active users refresh their sessions,
   with the old stream (updates too) and today's (deletions only);
7. validation with the cache off against a collection of 1k and of `sessions` sessions;
8. the cache's hit ratio when the active set is twice `max_entries`, and its memory
   per entry.
"""

from __future__ import annotations

import random
import secrets
import statistics
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from pymongo import MongoClient

from auth_utils import CachedSessionStore, SessionManager, utc_now
from auth_utils.rules.tokens import hash_token
from auth_utils.storage.mongo import MongoStorage

OLD_EVENTS = ["delete", "update", "replace", "invalidate", "drop", "rename", "dropDatabase"]


def _session_docs(count: int, user_prefix: str) -> list[dict]:
    now = utc_now()
    return [{"_id": secrets.token_hex(32), "user_id": f"{user_prefix}{i}", "username": "bench",
             "expires_at": now + timedelta(days=30), "created_at": now, "last_seen_at": now,
             "user_agent": "", "ip": ""} for i in range(count)]


def _count_events(collection, pipeline: list, stop: threading.Event, out: list[int]) -> None:
    with collection.watch(pipeline, max_await_time_ms=100) as stream:
        out.append(0)  # open
        while not stop.is_set():
            if stream.try_next() is not None:
                out[0] += 1


def events_per_process(uri: str, users: int) -> None:
    """Row 6: N users each refresh once (a last-seen write: due on every request here)
    and 10 log out; events each process's stream delivers, per second of that traffic."""
    client = MongoClient(uri, tz_aware=True)
    sessions = client.get_default_database()[f"bench_sessions_{users}"]
    docs = _session_docs(users, "u")
    for start in range(0, users, 5000):
        sessions.insert_many(docs[start:start + 5000], ordered=False)
    stop, counts = threading.Event(), {"before (updates too)": [], "after (deletions only)": []}
    after = [{"$match": {"operationType": {"$in": [
        "delete", "invalidate", "drop", "rename", "dropDatabase"]}}}]
    watchers = [
        threading.Thread(target=_count_events, args=(
            sessions, [{"$match": {"operationType": {"$in": OLD_EVENTS}}}], stop,
            counts["before (updates too)"])),
        threading.Thread(target=_count_events, args=(sessions, after, stop,
                                                     counts["after (deletions only)"])),
    ]
    for w in watchers:
        w.start()
    while not all(counts.values()):
        time.sleep(0.01)
    began = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda d: sessions.update_one(
            {"_id": d["_id"]}, {"$max": {"last_seen_at": utc_now()}}), docs))
    for d in docs[:10]:
        sessions.delete_one({"_id": d["_id"]})
    seconds = time.perf_counter() - began
    time.sleep(0.5)  # let the streams drain
    stop.set()
    for w in watchers:
        w.join(timeout=5)
    for label, (received,) in counts.items():
        print(f"  N={users:>6}: {users / seconds:7.0f} refreshes/s -> {label:<24} "
              f"{received / seconds:8.1f} events/s per process ({received} events)",
              flush=True)
    sessions.drop()
    client.close()


def validation_at_size(uri: str, total: int) -> None:
    """Row 7: validation with the cache off, 1k sessions vs `total` (the _id index keeps
    it flat)."""
    # Patient with a server busy writing a million documents (it can stall for seconds).
    client = MongoClient(uri, tz_aware=True, socketTimeoutMS=120_000)
    storage = MongoStorage(client.get_default_database())
    storage.prepare()
    manager = SessionManager(storage.sessions)
    # The filler writes on a client of its own, patient with a busy server.
    filler = MongoClient(uri, tz_aware=True, socketTimeoutMS=120_000)
    collection = filler.get_default_database().sessions
    collection.delete_many({})
    tokens = []
    for i in range(200):
        token, _ = manager.create_session(f"bench-user{i}", "bench")
        tokens.append(token)

    def timed() -> float:
        sample = []
        for token in random.sample(tokens, len(tokens)):
            start = time.perf_counter()
            assert manager.validate_session_token(token).valid
            sample.append(time.perf_counter() - start)
        return statistics.median(sample) * 1000

    rows = []
    for size in (1000, total):
        have = collection.count_documents({})
        while have < size:
            batch = min(1000, size - have)
            collection.insert_many(_session_docs(batch, f"filler{have}-"), ordered=False)
            have += batch
        rows.append((size, statistics.median(timed() for _ in range(3))))
    base = rows[0][1]
    for size, ms in rows:
        print(f"  {size:>9} sessions: validation p50 {ms:6.3f} ms  ({ms / base:4.2f}x of 1k)",
              flush=True)
    collection.drop()  # (deleting a million documents one by one takes minutes)
    storage.prepare()
    filler.close()
    client.close()


def hit_ratio_and_memory(uri: str, max_entries: int = 1000) -> None:
    """Row 8: active set = 2x max_entries, uniformly used; and bytes per cached entry."""
    import db_utils

    db_utils.connect(uri)
    storage = MongoStorage()
    cache = CachedSessionStore(storage.sessions, storage.invalidations, ttl=3600,
                               max_entries=max_entries)
    manager = SessionManager(cache)
    deadline = time.monotonic() + 10
    while not cache.active and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        tokens = [manager.create_session(f"hit{i}", "bench")[0] for i in range(2 * max_entries)]
        reads = [0]
        real_get = cache.inner.get

        def counting_get(session_id: str):
            reads[0] += 1
            return real_get(session_id)

        lookups = 10 * max_entries
        for token in random.choices(tokens, k=lookups):  # warm up: steady state only
            manager.validate_session_token(token)
        cache.inner.get = counting_get  # type: ignore[method-assign]
        for token in random.choices(tokens, k=lookups):
            manager.validate_session_token(token)
        hit = 1 - reads[0] / lookups
        print(f"  active set {2 * max_entries} = 2x max_entries ({max_entries}): hit ratio "
              f"{hit:.2f} over {lookups} validations after as many to warm up (ideal for "
              "uniform use: 0.50)", flush=True)
        cache.flush()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for token in tokens[:max_entries]:
            cache.get(hash_token(token))
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        size = sum(s.size_diff for s in after.compare_to(before, "filename"))
        print(f"  memory: {size / max_entries:.0f} bytes per cached session "
              f"({size / 1024:.0f} KiB for {max_entries}; ~{size / max_entries * 1e5 / 2**20:.0f}"
              f" MiB at the default max_entries of 100k)", flush=True)
    finally:
        cache.close()
