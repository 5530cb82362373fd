"""Fixtures shared by the client's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A flushed Redis test DB; fails when REDIS_TEST_URL is set (CI) but unreachable."""
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        conn.ping()
    except redis.ConnectionError:
        if "REDIS_TEST_URL" in os.environ:
            pytest.fail(f"Redis at {REDIS_TEST_URL} is unreachable")
        pytest.skip("no Redis on 127.0.0.1:6379 (set REDIS_TEST_URL to require it)")
    conn.flushdb()
    yield REDIS_TEST_URL
    conn.flushdb()
