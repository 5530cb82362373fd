"""Fixtures shared by the client's tests.

Redis isolation: every test run gets its own key prefix (`prharvest-test-<hex>`), and only keys
under it are ever deleted, so two suites sharing one Redis (REDIS_TEST_URL, DB 15 by default)
neither see nor wipe each other's keys.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import redis

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
RUN_PREFIX = f"prharvest-test-{secrets.token_hex(4)}"


def delete_prefixed(conn: redis.Redis, prefix: str) -> None:
    """Delete every key under `prefix` (and only those)."""
    keys = list(conn.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        conn.delete(*keys)


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this run and this test: nothing else uses its keys."""
    return f"{RUN_PREFIX}-{secrets.token_hex(3)}"


@pytest.fixture
def redis_url(redis_prefix: str) -> Iterator[str]:
    """REDIS_TEST_URL, checked reachable; the test's keys (under `redis_prefix`) are removed
    afterwards. Fails (never skips) when Redis is unreachable."""
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        conn.ping()
    except redis.ConnectionError:
        # Never a skip: a skipped coordination test proves nothing (.ci/run starts Redis).
        pytest.fail(
            f"Redis at {REDIS_TEST_URL} is unreachable; start it with `redis-server"
            " --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`"
        )
    try:
        yield REDIS_TEST_URL
    finally:
        delete_prefixed(conn, redis_prefix)
