"""Who holds a lock, and whether that process is still alive.

The locks: a repository's sync lock (`apps/metrics/sync/locks.py`) and a token's request lock
(`coordination_redis.py`).

A lock records its holder as "<host> <pid> <start>" (`start`: the process's start time in clock
ticks since boot, from /proc/<pid>/stat, so a pid the kernel handed to a new process is not
mistaken for the old holder). A lock whose holder ran on this host and is gone (killed with
`kill -9`, crashed, a zombie) is taken over at once instead of waiting for its TTL; a holder on
another host, or one we cannot tell about, is trusted until the TTL says otherwise.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from pathlib import Path

from redis.exceptions import LockError
from redis.lock import Lock


@functools.cache
def _host() -> str:
    return socket.gethostname().replace(" ", "_") or "unknown-host"


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, None when it does not exist or no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ... starttime": comm may hold spaces and parentheses; fields follow the
    # last ")" (proc(5): state is field 3, starttime field 22).
    rest = text[text.rfind(")") + 2 :].split()
    if len(rest) < 20:
        return None
    return rest[0], rest[19]


def process_holder() -> str:
    """This process as a lock holder: "<host> <pid> <start>"."""
    return _holder_of(os.getpid())


@functools.cache
def _holder_of(pid: int) -> str:
    # Once per process (keyed by pid, so a forked worker gets its own): the token lock asks
    # for every request it sends.
    stat = _proc_stat(pid)
    return f"{_host()} {pid} {stat[1] if stat else '-'}"


def holder_is_dead(holder: str) -> bool:
    """True only when `holder` names a process of this host that no longer runs."""
    parts = holder.split(" ")
    if len(parts) < 3 or parts[0] != _host() or not parts[1].isdigit():
        return False
    pid, start = int(parts[1]), parts[2]
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    # A zombie has exited (its parent has not reaped it yet); another start time, another process.
    return state in ("Z", "X") or (start != "-" and started != start)


def holder_token() -> str:
    """A redis-py lock token naming this process: "<host> <pid> <start> <random>"."""
    return f"{process_holder()} {uuid.uuid4().hex}"


def take_over_if_dead(lock: Lock) -> str | None:
    """Delete `lock` when its holder is a dead process of this host; return that holder.

    None when the lock is free, held by a live or unknown process, or changed hands meanwhile
    (redis-py's release deletes only while the key still holds the token it is given).
    """
    held = lock.redis.get(lock.name)
    holder = held.decode(errors="replace") if held else ""
    if not (holder and holder_is_dead(holder)):
        return None
    try:
        lock.do_release(holder)
    except LockError:
        return None
    return holder
