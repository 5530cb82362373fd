"""PRCache: the seeding cache, one file per (team, repository) in `.seeding_cache/`, streamed.

Size: over 400 lines because one file format is one job: writing it atomically and streamed,
reading it back lazily with its digest checked, merging changed PRs into it, and still loading
the files users already have (formats 1-3, `adopt_shared()`).

A cache file holds the fetched PRs of one repository (`FetchedPRFull.to_dict()`), what was asked
for (`max_prs`, `days_back`, and `check_runs`: how check runs were fetched, "graphql", "rest" or
"none"), and what tells us whether GitHub changed since: the ETag of the REST pulls probe (a
`304` to `If-None-Match` costs no rate-limit point), the repository's `pushedAt` (the seed's
original change check) and the watermark (the newest PR `updatedAt` GitHub reported when the
fetch started; the next incremental fetch starts just below it).

Where: `get_cache_path(repo, cache_dir, team)` is `<cache_dir>/<team>/<owner>__<name>.json`, so
two teams seeding one repository each keep their own view of it (their own limits, ETag and
watermark); without a team it is `<cache_dir>/<owner>__<name>.json` (where files written
before caches were kept per team are still found: `adopt_shared()`).

The file is JSON Lines (format 4), so memory is bounded by a PR, not by the repository:

    {"format": 4, "repo": ..., "fetched_at": ..., "etag": ..., ...}    header: everything but PRs
    {"number": 61, ...}                                                 one PR per line, newest
    {"number": 60, ...}                                                 created first
    {"end": true, "prs": 2, "sha256": "..."}                            trailer: count and digest

`load()` reads the header and checks the trailer (a cut-off file is corrupt) without reading a
single PR; `iter_prs()` streams them, after checking once that the SHA-256 of every byte before
the trailer (header and PR lines) is the trailer's: a file with lines removed or edited, its
count made to match, is corrupt before a single PR of it is used. `prs` still gives the whole
list (read on first use) for callers that want one. Format 3 files (no digest) still load.
Files are written atomically (a temporary file in the same folder, then `os.replace`), so a crash never leaves half a file, and an incremental update streams the old
file into the new one, replacing or adding only the changed PRs (`save_changed()`; memory: the
changed PRs).
Older single-JSON-document files (formats 1 and 2, with or without `repo_pushed_at`, `etag`,
`watermark`) still load, whole, and are rewritten as JSON Lines on the next save. A corrupt file
is reported in one warning line, ignored, and replaced by the next save. A token never reaches a
cache file: nothing here is given one.

An open walk's pages wait beside the file, in `partial_path()` and `nodes_path()`:
apps/metrics/seeding/spool.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from apps.integrations.github.queries import PAGE_SIZE
from apps.metrics.dates import parse_github_datetime, to_github_iso
from apps.metrics.pipeline.fetched import FetchedPRFull

logger = logging.getLogger(__name__)

# 1: the seed's files (one JSON document, no etag, watermark, page_size, params);
# 2: one JSON document with those; 3: JSON Lines (header, one PR per line, trailer);
# 4: format 3 with the SHA-256 of the header and PR lines in the trailer (required).
CACHE_FORMAT = 4
DIGEST_FORMAT = 4  # from this format on a trailer without its digest is corrupt

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_TRAILER_PROBE = 4096  # bytes read from the end of a file to find its trailer line
DECODE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)
_CHUNK = 1 << 16  # bytes hashed at a time when a file's digest is checked (memory stays small)


class CacheCorrupt(ValueError):
    """A cache file turned out unreadable while its PRs were streamed (one line, names the file)."""


def team_cache_dir(cache_dir: str | os.PathLike[str], team: str) -> Path:
    """The folder of `team`'s cache files in `cache_dir`: `<cache_dir>/<team>/`."""
    return Path(cache_dir) / _SAFE.sub("-", team)


def get_cache_path(repo: str, cache_dir: str | os.PathLike[str], team: str | None = None) -> Path:
    """Return the cache file of `repo` ("owner/name"): `<cache_dir>/[<team>/]owner__name.json`.

    The one place a cache file's name is made: moving a repository's cache (a rename on GitHub)
    is moving `get_cache_path(old, dir, team)` to `get_cache_path(new, dir, team)`, with its
    `partial_path()` alongside.
    """
    owner, _, name = repo.partition("/")
    stem = f"{_SAFE.sub('-', owner)}__{_SAFE.sub('-', name)}"
    folder = team_cache_dir(cache_dir, team) if team else Path(cache_dir)
    return folder / f"{stem}.json"


def adopt_shared(repo: str, cache_dir: str | os.PathLike[str], team: str) -> bool:
    """Copy the repository's team-less cache file (written before caches were kept per team)
    to `team`'s, when the team has none yet; True when copied. The shared file stays for the
    other teams; a failed copy leaves nothing half-written (the next seed fetches instead)."""
    target = get_cache_path(repo, cache_dir, team)
    source = get_cache_path(repo, cache_dir)
    if target.exists() or not source.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        logger.warning("seeding cache %s not copied for team %s (%s)", source, team, exc.strerror)
        return False
    return True


def _normalise_limit(value: int | None) -> int | None:
    """0 and None both mean "no limit"."""
    return value if value else None


def dumps_line(value: Any) -> str:
    """One record as one line of JSON. orjson escapes every control character, newlines
    included, so a record stays on one line whatever its text holds; it is several times
    faster than the json module, and a page is serialised while its walk waits for it.
    A value orjson refuses (a lone surrogate the sanitiser did not see) takes the json
    module's slower path, which escapes it."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, separators=(",", ":"))


class _Entry(NamedTuple):
    """One cached PR as its JSON line, with what ordering and merging need."""

    key: tuple[datetime, int]  # (created_at, number): the file is sorted on it, descending
    updated_at: datetime
    line: str

    @property
    def number(self) -> int:
        return self.key[1]

    @classmethod
    def of_record(cls, record: dict[str, Any], line: str | None = None) -> _Entry:
        created = parse_github_datetime(record["created_at"])
        updated = parse_github_datetime(record["updated_at"])
        if created is None or updated is None:
            raise ValueError("a cached PR without created_at / updated_at")
        return cls((created, int(record["number"])), updated, line or dumps_line(record))


class _Source(NamedTuple):
    """Where a loaded cache's PRs are: a JSON Lines file as it was when it was loaded."""

    path: Path
    identity: tuple[int, int, int, int]  # (device, inode, size, mtime ns)
    offset: int  # the first PR line
    count: int  # PRs, from the trailer
    digest: str | None = None  # the trailer's SHA-256 of bytes [0, end); None: format 3
    end: int = 0  # where the trailer line starts
    verified: bool = False  # the digest was checked against the file (or it was just written)


def _identity(handle: IO[bytes]) -> tuple[int, int, int, int]:
    st = os.fstat(handle.fileno())
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _AtomicLines:
    """A cache file being written: header, PR lines, trailer, then `os.replace` over the old one."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.path = path
        self.tmp = Path(tmp)
        self.count = 0
        self.end = 0  # bytes written before the trailer
        self.digest = hashlib.sha256()
        self.handle = os.fdopen(fd, "wb")
        self._put(dumps_line(header))

    def _put(self, line: str) -> None:
        data = line.encode("utf-8") + b"\n"
        self.digest.update(data)
        self.handle.write(data)
        self.end += len(data)

    def add(self, line: str) -> None:
        self._put(line)
        self.count += 1

    def commit(self) -> None:
        trailer = {"end": True, "prs": self.count, "sha256": self.digest.hexdigest()}
        self.handle.write(dumps_line(trailer).encode("utf-8") + b"\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def _merged(old: Iterable[_Entry], changed: dict[int, _Entry]) -> Iterator[_Entry]:
    """`old` (newest created first) with `changed` replacing PRs by number or added in order.

    Newer data wins: a changed PR older (by `updatedAt`) than the cached one is dropped. Memory:
    the changed PRs only; `old` is streamed.
    """
    pending = sorted(changed.values(), key=lambda e: e.key, reverse=True)
    settled: set[int] = set()  # changed PRs already written, or beaten by the cached copy
    i = 0
    for entry in old:
        while i < len(pending) and pending[i].key > entry.key:
            if pending[i].number not in settled:
                settled.add(pending[i].number)
                yield pending[i]
            i += 1
        new = changed.get(entry.number)
        if new is None:
            yield entry
        elif new.number in settled or new.updated_at >= entry.updated_at:
            continue  # written already, or written at its place further on
        else:
            settled.add(entry.number)
            yield entry
    for entry in pending[i:]:
        if entry.number not in settled:
            yield entry


@dataclass
class PRCache:
    """The cached PRs of one repository and what decides whether they are still current.

    `prs` is the whole list (read from the file on first use); `iter_prs()` streams them.
    """

    repo: str
    fetched_at: datetime
    prs: list[FetchedPRFull] = field(default_factory=list, repr=False)
    repo_pushed_at: datetime | None = None
    etag: str | None = None
    watermark: datetime | None = None
    page_size: int = PAGE_SIZE
    max_prs: int | None = None
    days_back: int | None = None
    # How check runs were fetched: "graphql" | "rest" | "none"; None in files written before
    # it was recorded (unknown: accepted as they are).
    check_runs: str | None = None
    format: int = CACHE_FORMAT

    # `prs` is a property (installed below the class): a loaded cache keeps only where its PRs
    # are (`_source`) until someone asks for the list.

    def _get_prs(self) -> list[FetchedPRFull]:
        held = self.__dict__.get("_prs")
        if held is None:
            held = list(self.iter_prs())
            self.__dict__["_prs"] = held
        return held

    def _set_prs(self, value: Iterable[FetchedPRFull]) -> None:
        self.__dict__["_prs"] = list(value)
        self.__dict__["_source"] = None

    @property
    def pr_count(self) -> int:
        """How many PRs the cache holds, without reading them."""
        held = self.__dict__.get("_prs")
        if held is not None:
            return len(held)
        source: _Source | None = self.__dict__.get("_source")
        return source.count if source is not None else 0

    def iter_prs(self) -> Iterator[FetchedPRFull]:
        """The cached PRs, newest created first, one at a time (a loaded file is streamed).

        Raises CacheCorrupt when the file's PR lines turn out unreadable (or it was replaced).
        """
        held = self.__dict__.get("_prs")
        if held is not None:
            yield from held
            return
        for _, record in self._iter_file():
            try:
                yield FetchedPRFull.from_dict(record)
            except DECODE_ERRORS as exc:
                raise self._corrupt(type(exc).__name__) from None

    def _entries(self) -> Iterator[_Entry]:
        held = self.__dict__.get("_prs")
        if held is not None:
            for pr in held:
                yield _Entry.of_record(pr.to_dict())
            return
        for line, record in self._iter_file():
            try:
                yield _Entry.of_record(record, line)
            except DECODE_ERRORS as exc:
                raise self._corrupt(type(exc).__name__) from None

    def _iter_file(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(line, record) of each PR line of the loaded file; checks it is still that file."""
        source: _Source | None = self.__dict__.get("_source")
        if source is None:
            return
        try:
            handle = source.path.open("rb")
        except OSError as exc:
            raise self._corrupt(exc.strerror or type(exc).__name__) from None
        with handle:
            if _identity(handle) != source.identity:
                raise self._corrupt("replaced since it was read")
            if source.digest is not None and not source.verified:
                self._verify(handle, source)
                self.__dict__["_source"] = source._replace(verified=True)
            handle.seek(source.offset)
            for index in range(source.count):
                raw = handle.readline()
                try:
                    line = raw.decode("utf-8").rstrip("\n")
                    record = json.loads(line)
                    if not isinstance(record, dict) or "number" not in record:
                        raise ValueError("not a PR")
                except ValueError:
                    raise self._corrupt(f"PR line {index + 1}") from None
                yield line, record

    def _verify(self, handle: IO[bytes], source: _Source) -> None:
        """Check the trailer's digest against every byte before it (header and PR lines)."""
        digest = hashlib.sha256()
        lines = 0
        handle.seek(0)
        left = source.end
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            lines += chunk.count(b"\n")
            left -= len(chunk)
        if left or digest.hexdigest() != source.digest:
            raise self._corrupt("its content does not match the digest in its trailer")
        if lines != 1 + source.count:
            raise self._corrupt(f"{lines - 1} PR lines, its trailer says {source.count}")

    def _corrupt(self, reason: str) -> CacheCorrupt:
        source: _Source | None = self.__dict__.get("_source")
        where = source.path if source is not None else self.repo
        return CacheCorrupt(f"seeding cache {where} is corrupt ({reason}); it will be replaced")

    # --- validity ---------------------------------------------------------------------------

    def is_valid(
        self,
        repo_pushed_at: datetime | None = None,
        *,
        max_prs: int | None = None,
        days_back: int | None = None,
        check_runs: str | None = None,
    ) -> bool:
        """True when this cache answers the same request and GitHub's `pushedAt` has not moved.

        `repo_pushed_at` is the seed's check (from `fetch_repo_metadata`); pass None when the
        ETag probe decides instead. The limits must match what was fetched (0 = None = no limit),
        and so must `check_runs` ("graphql" | "rest" | "none") when both it and the file's are
        known: PRs cached without check runs cannot answer a seed that wants them.
        """
        if _normalise_limit(max_prs) != self.max_prs:
            return False
        if _normalise_limit(days_back) != self.days_back:
            return False
        if check_runs is not None and self.check_runs not in (None, check_runs):
            return False
        if repo_pushed_at is not None:
            # An old file without repo_pushed_at cannot prove it is current.
            return self.repo_pushed_at is not None and self.repo_pushed_at >= repo_pushed_at
        return True

    def covers(
        self,
        *,
        max_prs: int | None = None,
        days_back: int | None = None,
        check_runs: str | None = None,
    ) -> bool:
        """True when this cache holds at least what a fetch with these options would: its
        limits are as wide or wider (no limit is the widest), check runs fetched alike.

        A seed with narrower limits must not replace such a cache with its smaller one.
        """
        if check_runs is not None and self.check_runs not in (None, check_runs):
            return False
        wanted_prs, wanted_days = _normalise_limit(max_prs), _normalise_limit(days_back)
        if self.max_prs is not None and (wanted_prs is None or wanted_prs > self.max_prs):
            return False
        return self.days_back is None or (wanted_days is not None and wanted_days <= self.days_back)

    def is_fuller_than(
        self, *, max_prs: int | None, days_back: int | None, check_runs: str | None
    ) -> bool:
        """Covers a fetch with these options and holds more than it would (wider limits)."""
        options = {"max_prs": max_prs, "days_back": days_back, "check_runs": check_runs}
        return self.covers(**options) and not self.is_valid(**options)

    @property
    def since_watermark(self) -> datetime:
        """Where an incremental fetch may stop: the watermark, else (old files) `fetched_at`."""
        return self.watermark or self.fetched_at

    # --- JSON -------------------------------------------------------------------------------

    def header(self) -> dict[str, Any]:
        """Everything but the PRs: the first line of the file."""
        return {
            "format": CACHE_FORMAT,
            "repo": self.repo,
            "fetched_at": to_github_iso(self.fetched_at),
            "repo_pushed_at": to_github_iso(self.repo_pushed_at),
            "etag": self.etag,
            "watermark": to_github_iso(self.watermark),
            "page_size": self.page_size,
            "max_prs": self.max_prs,
            "days_back": self.days_back,
            "check_runs": self.check_runs,
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole cache as one JSON value (formats 1-2 shape; reads every PR)."""
        return {**self.header(), "prs": [pr.to_dict() for pr in self.iter_prs()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PRCache:
        """Build from a header or a whole old file; keys missing from older files take defaults."""
        return cls(
            repo=str(data["repo"]),
            fetched_at=parse_github_datetime(data["fetched_at"]) or datetime.now(UTC),
            prs=[FetchedPRFull.from_dict(item) for item in data.get("prs") or []],
            repo_pushed_at=parse_github_datetime(data.get("repo_pushed_at")),
            etag=data.get("etag") or None,
            watermark=parse_github_datetime(data.get("watermark")),
            page_size=int(data.get("page_size") or PAGE_SIZE),
            max_prs=_normalise_limit(data.get("max_prs")),
            days_back=_normalise_limit(data.get("days_back")),
            check_runs=(str(data["check_runs"]) if data.get("check_runs") else None),
            format=int(data.get("format") or 1),
        )

    # --- files ------------------------------------------------------------------------------

    def save(self, cache_dir: str | os.PathLike[str]) -> Path:
        """Write this cache atomically to its file in `cache_dir` (streaming); return the path."""
        return self._write(cache_dir, self._entries(), same_prs=True)

    def save_changed(
        self, cache_dir: str | os.PathLike[str], records: Iterable[dict[str, Any]]
    ) -> Path:
        """Write this cache with `records` (PRs as `to_dict()` gives them, each number once).

        An empty cache takes them in the order given (a full walk's: newest created first),
        streamed; otherwise they replace cached PRs by number (newer data wins) or are added in
        creation order while the old file is streamed into the new one: only they are held.
        """
        if self.pr_count == 0:
            return self._write(cache_dir, (_Entry.of_record(record) for record in records))
        changed = {}
        for record in records:
            entry = _Entry.of_record(record)
            changed[entry.number] = entry
        return self._write(cache_dir, _merged(self._entries(), changed))

    def _write(
        self,
        cache_dir: str | os.PathLike[str],
        entries: Iterable[_Entry],
        *,
        same_prs: bool = False,
    ) -> Path:
        """Stream `entries` into this cache's file (atomically); the file then backs `prs`."""
        path = get_cache_path(self.repo, cache_dir)
        out = _AtomicLines(path, self.header())
        try:
            for entry in entries:
                out.add(entry.line)
            out.commit()
        except BaseException:
            out.abort()
            raise
        self.format = CACHE_FORMAT
        if not same_prs or self.__dict__.get("_prs") is None:
            # The file is the truth now: its PRs are read from it when asked.
            with path.open("rb") as handle:
                handle.readline()
                offset = handle.tell()
                identity = _identity(handle)
            self.__dict__["_prs"] = None
            digest = out.digest.hexdigest()
            self.__dict__["_source"] = _Source(
                path, identity, offset, out.count, digest, out.end, verified=True
            )
        return path

    @classmethod
    def load(
        cls, repo: str, cache_dir: str | os.PathLike[str], *, quiet: bool = False
    ) -> PRCache | None:
        """Read the cache of `repo`; None when absent, or corrupt (one warning line, ignored).

        A JSON Lines file is not read beyond its header and trailer: its PRs stream on demand.
        `quiet`: a second look at a file already reported: its problems are not said again.
        """
        warn = logger.debug if quiet else logger.warning
        path = get_cache_path(repo, cache_dir)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            warn("seeding cache %s unreadable (%s); ignoring it", path, exc.strerror)
            return None
        try:
            with handle:
                cache = cls._read(handle, path)
        except OSError as exc:
            warn("seeding cache %s unreadable (%s); ignoring it", path, exc.strerror)
            return None
        except DECODE_ERRORS as exc:
            reason = type(exc).__name__
            warn("seeding cache %s is corrupt (%s); ignoring it, it will be replaced", path, reason)
            return None
        if cache.repo.lower() != repo.lower():
            warn("seeding cache %s belongs to %s; ignoring it", path, cache.repo)
            return None
        return cache

    @classmethod
    def _read(cls, handle: IO[bytes], path: Path) -> PRCache:
        first = handle.readline()
        try:
            header = json.loads(first)
        except ValueError:
            header = None  # an old file written over several lines, or a corrupt one
        if isinstance(header, dict) and int(header.get("format") or 0) >= 3:
            offset = handle.tell()
            identity = _identity(handle)
            start = max(offset, identity[2] - _TRAILER_PROBE)
            handle.seek(start)
            kept = handle.read().rstrip(b"\n")
            tail = kept.rsplit(b"\n", 1)[-1]
            end = start + len(kept) - len(tail)  # where the trailer line starts
            trailer = json.loads(tail)
            if not isinstance(trailer, dict) or trailer.get("end") is not True:
                raise ValueError("no trailer: the file was cut short")
            count = int(trailer["prs"])
            if count < 0:
                raise ValueError("a negative PR count")
            digest = trailer.get("sha256")
            if int(header["format"]) >= DIGEST_FORMAT and not isinstance(digest, str):
                raise ValueError("no digest in its trailer")
            cache = cls.from_dict({k: v for k, v in header.items() if k != "prs"})
            cache.__dict__["_prs"] = None
            cache.__dict__["_source"] = _Source(path, identity, offset, count, digest, end)
            return cache
        # Formats 1 and 2: one JSON document, read whole (rewritten as lines on the next save).
        handle.seek(0)
        data = json.loads(handle.read())
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return cls.from_dict(data)

    @staticmethod
    def delete(repo: str, cache_dir: str | os.PathLike[str]) -> None:
        """Remove the cache of `repo` and its partial pages, if any."""
        path = get_cache_path(repo, cache_dir)
        path.unlink(missing_ok=True)
        partial_path(path).unlink(missing_ok=True)
        nodes_path(path).unlink(missing_ok=True)


PRCache.prs = property(PRCache._get_prs, PRCache._set_prs)  # type: ignore[assignment,method-assign]


def fuller_on_disk(
    repo: str,
    cache_dir: str | os.PathLike[str],
    *,
    max_prs: int | None,
    days_back: int | None,
    check_runs: str | None,
) -> PRCache | None:
    """The cache on disk when it holds strictly more than a fetch with these options would
    (wider limits, same check runs): such a cache is kept, never replaced by the smaller one."""
    existing = PRCache.load(repo, cache_dir, quiet=True)
    if existing is not None and existing.is_fuller_than(
        max_prs=max_prs, days_back=days_back, check_runs=check_runs
    ):
        return existing
    return None


def partial_path(cache_path: Path) -> Path:
    """Where an open walk's pages wait as PRs (apps/metrics/seeding/spool.py)."""
    return cache_path.with_name(cache_path.name + ".partial")


def nodes_path(cache_path: Path) -> Path:
    """Where an open walk's pages wait as GitHub's nodes, until they are kept as PRs."""
    return cache_path.with_name(cache_path.name + ".nodes")
