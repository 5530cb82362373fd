"""The readers' map name (SPEC.md) of PRCache and its page spool: `apps.metrics.seeding.cache`
and `apps.metrics.seeding.spool`."""

from apps.metrics.seeding.cache import (
    CACHE_FORMAT,
    DIGEST_FORMAT,
    CacheCorrupt,
    PRCache,
    adopt_shared,
    fuller_on_disk,
    get_cache_path,
    nodes_path,
    partial_path,
    team_cache_dir,
)
from apps.metrics.seeding.spool import (
    PageSpool,
    append_partial,
    drop_partial,
    save_with_partial,
    start_partial,
)

__all__ = [
    "CACHE_FORMAT",
    "CacheCorrupt",
    "DIGEST_FORMAT",
    "PRCache",
    "PageSpool",
    "adopt_shared",
    "append_partial",
    "drop_partial",
    "fuller_on_disk",
    "get_cache_path",
    "nodes_path",
    "partial_path",
    "save_with_partial",
    "start_partial",
    "team_cache_dir",
]
