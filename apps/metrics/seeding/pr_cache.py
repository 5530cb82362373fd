"""The readers' map name (SPEC.md) of PRCache, now in `apps.metrics.seeding.cache`."""

from apps.metrics.seeding.cache import (
    CACHE_FORMAT,
    DIGEST_FORMAT,
    CacheCorrupt,
    PRCache,
    adopt_shared,
    append_partial,
    drop_partial,
    fuller_on_disk,
    get_cache_path,
    iter_partial_pages,
    partial_path,
    read_partial,
    start_partial,
    team_cache_dir,
)

__all__ = [
    "CACHE_FORMAT",
    "CacheCorrupt",
    "DIGEST_FORMAT",
    "PRCache",
    "adopt_shared",
    "append_partial",
    "drop_partial",
    "fuller_on_disk",
    "get_cache_path",
    "iter_partial_pages",
    "partial_path",
    "read_partial",
    "start_partial",
    "team_cache_dir",
]
