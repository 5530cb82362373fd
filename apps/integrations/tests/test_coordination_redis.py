"""RedisCoordinator against a real Redis (the `redis_url` fixture of conftest.py)."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
import redis

from apps.integrations.github.coordination_redis import RedisCoordinator

pytestmark = pytest.mark.redis

KEY = "0123456789abcdef"


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    """This test's own key prefix (conftest.py): other runs on the same Redis never collide."""
    return redis_prefix


_KEEP_MAX = """
local peak = tonumber(redis.call('get', KEYS[1]) or '0')
if tonumber(ARGV[1]) > peak then redis.call('set', KEYS[1], ARGV[1]) end
"""


def _hold_lock_and_count(url: str, prefix: str, rounds: int) -> None:
    """Take the token lock `rounds` times, tracking how many holders overlap in Redis."""
    coordinator = RedisCoordinator(url, prefix=prefix, lock_wait=60)
    conn = redis.Redis.from_url(url)
    for _ in range(rounds):
        with coordinator.token_lock(KEY):
            holders = conn.incr(f"{prefix}:in_flight")
            conn.eval(_KEEP_MAX, 1, f"{prefix}:peak", holders)
            time.sleep(0.002)  # widen the window a second holder would need
            conn.decr(f"{prefix}:in_flight")
            conn.incr(f"{prefix}:total")


def _die_holding_lock(url: str, prefix: str) -> None:
    """Take the lock for 180 s, then die without releasing it (a worker killed mid-request)."""
    coordinator = RedisCoordinator(url, prefix=prefix, lock_ttl=180)
    with coordinator.token_lock(KEY):
        os._exit(1)


def test_one_token_sends_one_request_at_a_time_across_processes(
    redis_url: str, prefix: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_hold_lock_and_count, args=(redis_url, prefix, 25)) for _ in range(4)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    conn = redis.Redis.from_url(redis_url)
    assert int(conn.get(f"{prefix}:total")) == 100
    assert int(conn.get(f"{prefix}:peak")) == 1


def test_the_lock_of_a_holder_that_died_on_this_host_is_taken_over_at_once(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    proc = multiprocessing.get_context("spawn").Process(
        target=_die_holding_lock, args=(redis_url, prefix)
    )
    proc.start()
    proc.join(timeout=30)
    assert proc.exitcode == 1
    conn = redis.Redis.from_url(redis_url)
    held = conn.get(f"{prefix}:lock:{KEY}")
    assert held is not None and held.decode().split(" ")[1] == str(proc.pid)
    # A wait of 30 s ends only by the takeover: the dead holder's TTL is 180 s.
    waiter = RedisCoordinator(redis_url, prefix=prefix, lock_wait=30)
    with caplog.at_level("WARNING"), waiter.token_lock(KEY):
        mine = conn.get(f"{prefix}:lock:{KEY}")
    assert mine is not None and mine != held
    assert f"took over the lock of token {KEY} from a dead process" in caplog.text


def test_a_holder_on_another_host_is_waited_for_until_its_ttl(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = redis.Redis.from_url(redis_url)
    # Another host's process cannot be looked at from here: only its TTL frees the lock.
    conn.set(f"{prefix}:lock:{KEY}", "worker-7.example 4242 1 feed", px=1500)
    with (
        pytest.raises(TimeoutError),
        RedisCoordinator(redis_url, prefix=prefix, lock_wait=0.3).token_lock(KEY),
    ):
        pass
    waiter = RedisCoordinator(redis_url, prefix=prefix, lock_wait=30)
    with caplog.at_level("WARNING"), waiter.token_lock(KEY):
        assert conn.get(f"{prefix}:lock:{KEY}") != b"worker-7.example 4242 1 feed"
    assert "took over" not in caplog.text


def test_a_lock_wait_that_runs_out_raises_naming_the_token_key(redis_url: str, prefix: str) -> None:
    holder = RedisCoordinator(redis_url, prefix=prefix)
    waiter = RedisCoordinator(redis_url, prefix=prefix, lock_wait=0.05)
    with holder.token_lock(KEY), pytest.raises(TimeoutError, match=KEY), waiter.token_lock(KEY):
        pass


def test_a_budget_recorded_by_one_process_is_seen_by_another_until_reset(
    redis_url: str, prefix: str
) -> None:
    reset_at = time.time() + 300
    RedisCoordinator(redis_url, prefix=prefix).record_budget(KEY, "graphql", 42, reset_at)
    remaining, reset = RedisCoordinator(redis_url, prefix=prefix).budget(KEY, "graphql")
    assert remaining == 42
    assert reset == pytest.approx(reset_at)
    ttl_ms = redis.Redis.from_url(redis_url).pttl(f"{prefix}:budget:{KEY}:graphql")
    assert 0 < ttl_ms <= 300_000
    assert RedisCoordinator(redis_url, prefix=prefix).budget(KEY, "core") is None


def test_a_budget_whose_reset_has_passed_is_unknown(redis_url: str, prefix: str) -> None:
    coordinator = RedisCoordinator(redis_url, prefix=prefix)
    coordinator.record_budget(KEY, "graphql", 42, time.time() + 300)
    coordinator.record_budget(KEY, "graphql", 0, time.time() - 1)
    assert coordinator.budget(KEY, "graphql") is None


def test_a_block_only_ever_moves_later(redis_url: str, prefix: str) -> None:
    coordinator = RedisCoordinator(redis_url, prefix=prefix)
    later = time.time() + 120
    coordinator.block_until(KEY, "graphql", later)
    coordinator.block_until(KEY, "graphql", time.time() + 10)
    assert RedisCoordinator(redis_url, prefix=prefix).blocked_until(
        KEY, "graphql"
    ) == pytest.approx(later)
    assert coordinator.blocked_until(KEY, "core") is None


def test_a_block_in_the_past_blocks_nothing(redis_url: str, prefix: str) -> None:
    coordinator = RedisCoordinator(redis_url, prefix=prefix)
    coordinator.block_until(KEY, "graphql", time.time() - 5)
    assert coordinator.blocked_until(KEY, "graphql") is None


def test_it_refuses_a_token_where_a_token_key_belongs(redis_url: str, prefix: str) -> None:
    coordinator = RedisCoordinator(redis_url, prefix=prefix)
    with pytest.raises(ValueError, match="never the token"):
        coordinator.record_budget("ghp_secretsecretsecret", "graphql", 1, time.time() + 60)
    conn = redis.Redis.from_url(redis_url)
    assert list(conn.scan_iter(match=f"{prefix}:*")) == []
    assert not [key for key in conn.scan_iter() if b"secret" in key]


def test_a_streak_of_secondary_hits_is_shared_and_ended_by_a_success(
    redis_url: str, prefix: str
) -> None:
    one, other = (RedisCoordinator(redis_url, prefix=prefix) for _ in range(2))
    forget_at = time.time() + 600
    assert [one.note_secondary_hit(KEY, forget_at) for _ in range(2)] == [1, 2]
    assert other.note_secondary_hit(KEY, forget_at) == 3  # another worker hit again
    ttl_ms = redis.Redis.from_url(redis_url).pttl(f"{prefix}:secondary_hits:{KEY}")
    assert 0 < ttl_ms <= 600_000  # a dead worker's streak fades
    other.clear_secondary_hits(KEY)
    assert one.note_secondary_hit(KEY, forget_at) == 1


def test_two_prefixes_on_one_redis_never_see_each_others_keys(redis_url: str, prefix: str) -> None:
    mine = RedisCoordinator(redis_url, prefix=prefix)
    theirs = RedisCoordinator(redis_url, prefix=f"{prefix}-other")
    try:
        mine.block_until(KEY, "graphql", time.time() + 60)
        mine.record_budget(KEY, "graphql", 5, time.time() + 60)
        assert theirs.blocked_until(KEY, "graphql") is None
        assert theirs.budget(KEY, "graphql") is None
    finally:
        conn = redis.Redis.from_url(redis_url)
        for key in conn.scan_iter(match=f"{prefix}-other:*"):
            conn.delete(key)


def test_a_lock_that_expired_while_held_is_not_released_from_under_its_next_holder(
    redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    slow = RedisCoordinator(redis_url, prefix=prefix, lock_ttl=0.05)
    nxt = RedisCoordinator(redis_url, prefix=prefix, lock_wait=5).token_lock(KEY)
    with caplog.at_level("WARNING"), slow.token_lock(KEY):
        time.sleep(0.1)  # the TTL runs out while held, and the next holder takes the lock
        nxt.__enter__()
    # The expired holder's release deleted nobody's lock: it warned instead.
    assert "expired while held" in caplog.text
    assert redis.Redis.from_url(redis_url).exists(f"{prefix}:lock:{KEY}")
    nxt.__exit__(None, None, None)
    with RedisCoordinator(redis_url, prefix=prefix, lock_wait=0.05).token_lock(KEY):
        pass
