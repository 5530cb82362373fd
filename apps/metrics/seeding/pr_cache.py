"""PRCache: the seeding cache, one JSON file per repository in `.seeding_cache/`.

A cache file holds the fetched PRs of one repository (`FetchedPRFull.to_dict()`), what was asked
for (`max_prs`, `days_back`), and what tells us whether GitHub changed since: the ETag of the
REST pulls probe (a `304` to `If-None-Match` costs no rate-limit point), the repository's
`pushedAt` (the seed's original change check) and the watermark (the newest PR `updatedAt`
GitHub reported when the fetch started; the next incremental fetch starts just below it).

Files are written atomically (a temporary file in the same folder, then `os.replace`), so a
crash never leaves half a file. Older files without `repo_pushed_at`, `etag` or `watermark` still
load. A corrupt file is reported in one warning line, ignored, and replaced by the next save.
A token never reaches a cache file: nothing here is given one.

While a walk is open, each fetched page is also appended to `<file>.partial` (JSON lines). When
the walk completes, those pages are merged into the cache; a walk killed half-way resumes with
its partial pages intact (see apps/metrics/seeding/walk.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apps.metrics.seeding.fetched import FetchedPRFull

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 1: the seed's files (no etag, watermark, page_size, params)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def get_cache_path(repo: str, cache_dir: str | os.PathLike[str]) -> Path:
    """Return the cache file of `repo` ("owner/name") in `cache_dir`: `owner__name.json`."""
    owner, _, name = repo.partition("/")
    stem = f"{_SAFE.sub('-', owner)}__{_SAFE.sub('-', name)}"
    return Path(cache_dir) / f"{stem}.json"


def _normalise_limit(value: int | None) -> int | None:
    """0 and None both mean "no limit"."""
    return value if value else None


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class PRCache:
    """The cached PRs of one repository and what decides whether they are still current."""

    repo: str
    fetched_at: datetime
    prs: list[FetchedPRFull] = field(default_factory=list)
    repo_pushed_at: datetime | None = None
    etag: str | None = None
    watermark: datetime | None = None
    page_size: int = 25
    max_prs: int | None = None
    days_back: int | None = None
    format: int = CACHE_FORMAT

    # --- validity ---------------------------------------------------------------------------

    def is_valid(
        self,
        repo_pushed_at: datetime | None = None,
        *,
        max_prs: int | None = None,
        days_back: int | None = None,
    ) -> bool:
        """True when this cache answers the same request and GitHub's `pushedAt` has not moved.

        `repo_pushed_at` is the seed's check (from `fetch_repo_metadata`); pass None when the
        ETag probe decides instead. The limits must match what was fetched (0 = None = no limit).
        """
        if _normalise_limit(max_prs) != self.max_prs:
            return False
        if _normalise_limit(days_back) != self.days_back:
            return False
        if repo_pushed_at is not None:
            # An old file without repo_pushed_at cannot prove it is current.
            return self.repo_pushed_at is not None and self.repo_pushed_at >= repo_pushed_at
        return True

    @property
    def since_watermark(self) -> datetime:
        """Where an incremental fetch may stop: the watermark, else (old files) `fetched_at`."""
        return self.watermark or self.fetched_at

    # --- merge ------------------------------------------------------------------------------

    def merge(self, prs: Iterable[FetchedPRFull]) -> None:
        """Replace cached PRs by number with `prs` (newer data wins), keep newest-created first."""
        by_number = {pr.number: pr for pr in self.prs}
        for pr in prs:
            old = by_number.get(pr.number)
            if old is None or pr.updated_at >= old.updated_at:
                by_number[pr.number] = pr
        self.prs = sorted(by_number.values(), key=lambda p: (p.created_at, p.number), reverse=True)

    # --- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CACHE_FORMAT,
            "repo": self.repo,
            "fetched_at": _dt(self.fetched_at),
            "repo_pushed_at": _dt(self.repo_pushed_at),
            "etag": self.etag,
            "watermark": _dt(self.watermark),
            "page_size": self.page_size,
            "max_prs": self.max_prs,
            "days_back": self.days_back,
            "prs": [pr.to_dict() for pr in self.prs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PRCache:
        """Build from a file's JSON; keys missing from older files take their defaults."""
        return cls(
            repo=str(data["repo"]),
            fetched_at=_parse_dt(data["fetched_at"]) or datetime.now(UTC),
            prs=[FetchedPRFull.from_dict(item) for item in data.get("prs") or []],
            repo_pushed_at=_parse_dt(data.get("repo_pushed_at")),
            etag=data.get("etag") or None,
            watermark=_parse_dt(data.get("watermark")),
            page_size=int(data.get("page_size") or 25),
            max_prs=_normalise_limit(data.get("max_prs")),
            days_back=_normalise_limit(data.get("days_back")),
            format=int(data.get("format") or 1),
        )

    # --- files ------------------------------------------------------------------------------

    def save(self, cache_dir: str | os.PathLike[str]) -> Path:
        """Write this cache atomically to its file in `cache_dir`; return the path."""
        path = get_cache_path(self.repo, cache_dir)
        _atomic_write_text(path, json.dumps(self.to_dict(), separators=(",", ":")))
        return path

    @classmethod
    def load(cls, repo: str, cache_dir: str | os.PathLike[str]) -> PRCache | None:
        """Read the cache of `repo`; None when absent, or corrupt (one warning line, ignored)."""
        path = get_cache_path(repo, cache_dir)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("seeding cache %s unreadable (%s); ignoring it", path, exc.strerror)
            return None
        try:
            cache = cls.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = type(exc).__name__
            logger.warning(
                "seeding cache %s is corrupt (%s); ignoring it, it will be replaced", path, reason
            )
            return None
        if cache.repo.lower() != repo.lower():
            logger.warning("seeding cache %s belongs to %s; ignoring it", path, cache.repo)
            return None
        return cache

    @staticmethod
    def delete(repo: str, cache_dir: str | os.PathLike[str]) -> None:
        """Remove the cache of `repo` and its partial pages, if any."""
        path = get_cache_path(repo, cache_dir)
        path.unlink(missing_ok=True)
        partial_path(path).unlink(missing_ok=True)


# --- partial pages of an open walk -----------------------------------------------------------


def partial_path(cache_path: Path) -> Path:
    return cache_path.with_name(cache_path.name + ".partial")


def start_partial(repo: str, cache_dir: str | os.PathLike[str], walk_id: str) -> None:
    """Begin the partial pages of a new walk (drops those of any earlier walk)."""
    path = partial_path(get_cache_path(repo, cache_dir))
    _atomic_write_text(path, json.dumps({"walk": walk_id, "repo": repo}) + "\n")


def append_partial(
    repo: str, cache_dir: str | os.PathLike[str], walk_id: str, prs: Iterable[FetchedPRFull]
) -> None:
    """Append one page of an open walk, durably, before its rows are committed to the database.

    Written before the database commit, so the partial pages always hold at least every page
    the database's checkpoint has passed.
    """
    path = partial_path(get_cache_path(repo, cache_dir))
    line = json.dumps({"walk": walk_id, "prs": [pr.to_dict() for pr in prs]}, separators=(",", ":"))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_partial(
    repo: str, cache_dir: str | os.PathLike[str], walk_id: str
) -> list[FetchedPRFull] | None:
    """The PRs of walk `walk_id`'s partial pages; None when they are missing or of another walk.

    A last line cut short by a kill is ignored (its page was not committed either).
    """
    path = partial_path(get_cache_path(repo, cache_dir))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if not lines:
        return None
    try:
        header = json.loads(lines[0])
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("walk") != walk_id:
        return None
    prs: list[FetchedPRFull] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            record = json.loads(line)
            if record.get("walk") != walk_id:
                return None
            prs.extend(FetchedPRFull.from_dict(item) for item in record["prs"])
        except (ValueError, KeyError, TypeError, AttributeError):
            if number == len(lines):
                break  # torn last write
            return None
    return prs


def drop_partial(repo: str, cache_dir: str | os.PathLike[str]) -> None:
    partial_path(get_cache_path(repo, cache_dir)).unlink(missing_ok=True)
