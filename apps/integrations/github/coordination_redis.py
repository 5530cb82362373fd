"""RedisCoordinator: the Coordinator promises (one request at a time per token, one shared view
of each token's budget) kept across processes and machines through one Redis server.

Keys (all under `prefix`, all named by a coordination key -- a PAT's `token_key` or an App
installation's stable key, a hex digest either way -- never by the token itself):

- `{prefix}:lock:{token_key}`: the per-token lock, redis-py's `Lock` (SET NX PX to take, a
  token-checked delete to release, as the repository lock in `apps/metrics/sync/locks.py`). Its
  token names the holding process (`lock_holder.py`): a waiter takes over at once the lock of a
  process of its own host that died holding it (killed mid-request); a holder on another host
  blocks the others for at most `lock_ttl` seconds, its TTL, never forever. It is held for one
  HTTP exchange, shorter than `lock_ttl` by construction, so it is never extended.
- `{prefix}:budget:{token_key}:{resource}`: hash {remaining, reset}; expires at the reset,
  when GitHub refills the budget and what we knew about it stops being true.
- `{prefix}:blocked:{token_key}:{resource}`: epoch seconds until which nobody sends; expires
  then. Only ever moved later, so a short wait never shortens a longer one.
- `{prefix}:secondary_hits:{token_key}`: consecutive secondary-limit hits (a counter); deleted
  by the next request that goes through, and expiring anyway, so a dead worker's streak fades.

`prefix` separates what shares one Redis: two GitHubs, or two test runs on one host.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from apps.integrations.github.clock import Clock, SystemClock
from apps.integrations.github.lock_holder import holder_token, take_over_if_dead

logger = logging.getLogger(__name__)

# A coordination key is a hex digest (sha256, first 16 chars by default). Refusing anything
# else keeps a token from ever being written into a Redis key by mistake.
_TOKEN_KEY = re.compile(r"^[0-9a-f]{8,64}$")

# While the token's lock is taken, how often a waiter looks whether its holder died.
DEAD_HOLDER_CHECK_SECONDS = 1.0

# Move the blocked-until mark later, never earlier; the key expires when the block ends.
_BLOCK = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('set', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
end
return 1
"""


class RedisCoordinator:
    """Coordinator backed by Redis: a TTL'd lock per token, budget and block keys that expire."""

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "prharvest",
        lock_ttl: float = 180.0,
        poll_interval: float = 0.005,
        lock_wait: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Connect lazily to `redis_url`.

        `lock_ttl` must exceed the longest single request (the client's timeout); `lock_wait`
        bounds how long token_lock() waits (None: as long as it takes).
        """
        self._redis = redis.Redis.from_url(redis_url)
        self._prefix = prefix
        self._lock_ttl = lock_ttl
        self._poll = poll_interval
        self._lock_wait = lock_wait
        # Reset times are compared with the client's clock (a test clock in tests); Redis
        # expiry itself runs on real time, which only ever errs on the side of forgetting.
        self._clock: Clock = clock or SystemClock()
        self._block = self._redis.register_script(_BLOCK)

    def __repr__(self) -> str:
        return f"RedisCoordinator(prefix={self._prefix!r})"

    def _key(self, kind: str, token_key: str, resource: str | None = None) -> str:
        if not _TOKEN_KEY.match(token_key):
            raise ValueError("token_key must be a hex digest, never the token itself")
        base = f"{self._prefix}:{kind}:{token_key}"
        return f"{base}:{resource}" if resource else base

    @contextmanager
    def token_lock(self, token_key: str) -> Iterator[None]:
        """Hold the token's lock for the block: one request at a time per token, all processes."""
        lock = self._redis.lock(
            self._key("lock", token_key),
            timeout=self._lock_ttl,
            sleep=self._poll,
            thread_local=False,  # one Lock object per hold: nothing shared between threads
        )
        if not self._acquire(lock, token_key):
            raise TimeoutError(f"token {token_key} stayed locked for {self._lock_wait:.0f}s")
        try:
            yield
        finally:
            try:
                lock.release()  # only our own: a token-checked delete
            except LockNotOwnedError:
                # Our TTL ran out while we held the lock: someone else may have sent meanwhile.
                logger.warning(
                    "lock of token %s expired while held; raise lock_ttl above the request timeout",
                    token_key,
                )

    def _acquire(self, lock: Lock, token_key: str) -> bool:
        """Take `lock` within `lock_wait`, taking it over from a holder that died on this host."""
        token = holder_token()
        if lock.acquire(token=token, blocking=False):
            return True
        # Taken: wait in slices of redis-py's own blocking acquire, looking between slices
        # whether the holder is a process of this host that died holding it.
        deadline = None if self._lock_wait is None else time.monotonic() + self._lock_wait
        while True:
            dead = take_over_if_dead(lock)
            if dead is not None:
                logger.warning(
                    "took over the lock of token %s from a dead process (%s)", token_key, dead
                )
            wait = DEAD_HOLDER_CHECK_SECONDS
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return False
            if lock.acquire(token=token, blocking_timeout=wait):
                return True

    def record_budget(self, token_key: str, resource: str, remaining: int, reset_at: float) -> None:
        """Remember what GitHub last said of this token's budget, until its reset."""
        key = self._key("budget", token_key, resource)
        reset_ms = int(reset_at * 1000)
        if reset_at <= self._clock.now():
            # Already refilled: the numbers describe a window that is over.
            self._redis.delete(key)
            return
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping={"remaining": int(remaining), "reset": repr(float(reset_at))})
        pipe.pexpireat(key, reset_ms)
        pipe.execute()

    def budget(self, token_key: str, resource: str) -> tuple[int, float] | None:
        """Return (remaining, reset epoch) last recorded by any process, or None when unknown."""
        values = self._redis.hgetall(self._key("budget", token_key, resource))
        if not values or b"remaining" not in values or b"reset" not in values:
            return None
        reset_at = float(values[b"reset"])
        if reset_at <= self._clock.now():
            return None
        return int(values[b"remaining"]), reset_at

    def block_until(self, token_key: str, resource: str, until: float) -> None:
        """Tell every process not to send on this token and resource before `until` (epoch)."""
        if until <= self._clock.now():
            return
        key = self._key("blocked", token_key, resource)
        self._block(keys=[key], args=[repr(float(until)), int(until * 1000)])

    def blocked_until(self, token_key: str, resource: str) -> float | None:
        """Return the epoch before which nobody may send, or None when not blocked."""
        raw = self._redis.get(self._key("blocked", token_key, resource))
        if raw is None:
            return None
        until = float(raw)
        return until if until > self._clock.now() else None

    def note_secondary_hit(self, token_key: str, forget_at: float) -> int:
        """Count one more consecutive secondary-limit hit of the token; return the streak."""
        key = self._key("secondary_hits", token_key)
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.pexpireat(key, int(max(forget_at, self._clock.now() + 1.0) * 1000))
        streak, _ = pipe.execute()
        return int(streak)

    def clear_secondary_hits(self, token_key: str) -> None:
        """A request of the token went through: its streak of secondary hits is over."""
        self._redis.delete(self._key("secondary_hits", token_key))
