"""The time seam: every wait of the client goes through a Clock, so tests never really sleep.

`SystemClock` is the real thing. `InstantClock` advances a virtual clock on `sleep()` without
sleeping and records every sleep, so a test can assert how long the client *would* have waited
(stamina's "testing switch" idea, without patching anything of ours).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "InstantClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall time (epoch seconds, to compare with GitHub's reset times), monotonic time, sleep."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class InstantClock:
    """A test clock: `sleep(s)` returns at once, advances virtual time by s, and is recorded.

    `now()` starts at the real wall time (or `start`) so GitHub's epoch reset times compare
    sensibly; it then moves only by sleeps (and by `advance()`).
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._start = time.time() if start is None else float(start)
        self._offset = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._start + self._offset

    def monotonic(self) -> float:
        with self._lock:
            return self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            if seconds > 0:
                self._offset += seconds
            self.sleeps.append(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move virtual time forward without recording a sleep."""
        with self._lock:
            self._offset += seconds

    @property
    def slept(self) -> float:
        """Total virtual seconds slept."""
        with self._lock:
            return sum(self.sleeps)
