"""The page spool: an open walk's fetched pages on disk, so a kill costs one page at most.

While a walk is open, each fetched page is kept beside the cache file, one JSON line per page,
in two steps:

- As it arrives, in the fetching thread, before the next request is sent: the page's complete
  GraphQL nodes as GitHub sent them, in `<cache file>.nodes`. A dump of a few milliseconds, so
  the next request waits for little more than the answer before it.
- Before its rows reach the database, in the writing thread, while the next request travels:
  its PRs mapped, as the cache file keeps them, in `<cache file>.partial`. A page without
  nodes (REST check runs) is kept there at once, in the fetching thread.

Each line also carries where the page sits in its walk (`"page"`: start and end cursor,
has_next, done, page sizes, high-water, pushedAt), so a full walk killed half-way writes the
pages it had already fetched from here on resume instead of asking GitHub again
(`PageSpool.replay()`, driven by apps/metrics/pipeline/walk.py): from their PRs, or from their
nodes mapped again when the kill came before. When the walk completes, the PRs in `.partial`
are folded into the cache file (`save_with_partial()`): every page written is there by then,
and the nodes are dropped. A last line cut short by a kill is ignored, and cut off before the
next line is appended.

The seeder decides when a spool is opened, kept or dropped; the walk only appends and replays.
Each file has one writer thread, so their lines need no lock.

Size: over 400 lines because the page line's one format is written, cut when torn, indexed for a
replay (PRs before nodes) and folded into the cache file here; split, each part would repeat
what a valid line of which walk is.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from apps.metrics.dates import parse_github_datetime, to_github_iso
from apps.metrics.pipeline.fetched import FetchedPRFull
from apps.metrics.pipeline.pages import FULL, PRPage
from apps.metrics.pipeline.walk import MapNodes, WalkPlan
from apps.metrics.seeding.cache import (
    DECODE_ERRORS,
    PRCache,
    dumps_line,
    get_cache_path,
    nodes_path,
    partial_path,
)


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


def start_partial(repo: str, cache_dir: str | os.PathLike[str], walk_id: str) -> None:
    """Begin the partial pages of a new walk (drops those of any earlier walk)."""
    cache_path = get_cache_path(repo, cache_dir)
    for path in (partial_path(cache_path), nodes_path(cache_path)):
        _atomic_write_text(path, _header(walk_id, repo))


def _header(walk_id: str, repo: str) -> str:
    return json.dumps({"walk": walk_id, "repo": repo}) + "\n"


def append_partial(
    repo: str,
    cache_dir: str | os.PathLike[str],
    walk_id: str,
    prs: Iterable[FetchedPRFull],
    page: dict[str, Any] | None = None,
) -> None:
    """Append one page of an open walk before its rows are committed to the database.

    Written before the database commit, so the partial pages always hold at least every page
    the database's checkpoint has passed. `page`: where the page sits in its walk (JSON values:
    cursors, sizes, ...), kept so a resumed walk can write the page again without fetching it.
    A last line cut short by a kill is cut off first, so the pages stay one valid line each.
    """
    record: dict[str, Any] = {"walk": walk_id}
    if page is not None:
        record["page"] = page
    record["prs"] = [pr.to_dict() for pr in prs]
    _append_line(partial_path(get_cache_path(repo, cache_dir)), dumps_line(record))


def _append_line(path: Path, line: str) -> None:
    """Append one page line, after cutting off a line a kill left half-written."""
    _cut_torn_line(path)
    with path.open("a", encoding="utf-8") as handle:
        # Written through to the kernel when the file closes, which is what a kill -9 needs;
        # no fsync: it would hold up the next page's request for a power cut's sake, and
        # a cut's torn or lost pages are only fetched again.
        handle.write(line + "\n")


def _cut_torn_line(path: Path) -> None:
    """Cut `path` after its last newline when a kill left a line half-written after it."""
    try:
        handle = path.open("r+b")
    except OSError:
        return  # missing: the append creates it
    with handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            chunk = handle.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            end = start
        handle.truncate(0)


class _PartialInvalid(Exception):
    """The partial pages are missing, of another walk, or broken before their last line."""


def _iter_partial_records(
    path: Path, walk_id: str, kind: str = "prs"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(offset, record) of each page line (`{"walk", "page"?, kind}`) of walk `walk_id` in
    `path` (`.partial`: "prs"; `.nodes`: "nodes"), in the order written.

    A last line cut short by a kill is ignored (its page was not committed either). Raises
    _PartialInvalid when the pages are missing, belong to another walk, or are broken before
    their last line.
    """
    try:
        handle = path.open("rb")
    except OSError:
        raise _PartialInvalid from None
    with handle:
        try:
            header = json.loads(handle.readline())
        except ValueError:
            raise _PartialInvalid from None
        if not isinstance(header, dict) or header.get("walk") != walk_id:
            raise _PartialInvalid
        offset = handle.tell()
        line = handle.readline()
        while line:
            following = handle.readline()
            try:
                record = _page_record(line, walk_id, kind)
            except DECODE_ERRORS:
                if not following:
                    return  # torn last write
                raise _PartialInvalid from None
            yield offset, record
            offset += len(line)
            line = following


def _page_record(line: bytes, walk_id: str, kind: str) -> dict[str, Any]:
    """One page line of walk `walk_id` decoded: its PRs (`kind` "prs") or nodes ("nodes").

    Raises _PartialInvalid for a line of another walk, one of DECODE_ERRORS for a broken one.
    """
    record = orjson.loads(line)
    if record.get("walk") != walk_id:
        raise _PartialInvalid
    items = record[kind]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise TypeError(f"not a page of {kind}")
    if kind == "prs" and not all("number" in item for item in items):
        raise TypeError("not a page of PRs")
    return record


def _iter_partial(path: Path, walk_id: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(sequence, record) of each PR of walk `walk_id`'s partial pages, a page at a time."""
    seq = 0
    for _offset, record in _iter_partial_records(path, walk_id):
        for item in record["prs"]:
            yield seq, item
            seq += 1


def _page_of(
    record: dict[str, Any], kind: str, map_nodes: MapNodes
) -> tuple[dict[str, Any], tuple[FetchedPRFull, ...]] | None:
    """(facts, PRs) of a page line of `kind`; None for one that cannot be given back (no
    facts: an older seed; PRs that do not decode)."""
    facts = record.get("page")
    if not isinstance(facts, dict):
        return None
    try:
        if kind == "prs":
            return facts, tuple(FetchedPRFull.from_dict(item) for item in record["prs"])
        return facts, map_nodes(record["nodes"])
    except DECODE_ERRORS:
        return None


def _replay_index(cache_path: Path, walk_id: str) -> dict[str | None, tuple[str, int]]:
    """Start cursor -> (kind, offset) of the line to replay that full-walk page from: its PRs
    when they were kept (no mapping needed), else its nodes. One entry per page."""
    index: dict[str | None, tuple[str, int]] = {}
    for kind, path in (("nodes", nodes_path(cache_path)), ("prs", partial_path(cache_path))):
        try:
            for offset, record in _iter_partial_records(path, walk_id, kind):
                facts = record.get("page")
                if isinstance(facts, dict) and facts.get("mode") == FULL:
                    index[facts.get("start")] = (kind, offset)  # PRs, read last, win
        except _PartialInvalid:
            pass  # the pages read before a broken line are sound
    return index


def _record_at(path: Path, offset: int, walk_id: str, kind: str) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return _page_record(handle.readline(), walk_id, kind)
    except (OSError, _PartialInvalid, *DECODE_ERRORS):
        return None


def _partial_winners(path: Path, walk_id: str) -> dict[int, int] | None:
    """PR number -> sequence of its copy to keep (newest `updatedAt`, later on ties); None when
    the partial pages are missing or of another walk. Holds two integers per PR, no PR."""
    best: dict[int, tuple[datetime, int]] = {}
    try:
        for seq, record in _iter_partial(path, walk_id):
            updated = parse_github_datetime(record.get("updated_at")) or datetime.min.replace(
                tzinfo=UTC
            )
            number = int(record["number"])
            old = best.get(number)
            if old is None or updated >= old[0]:
                best[number] = (updated, seq)
    except (_PartialInvalid, *DECODE_ERRORS):
        return None
    return {number: seq for number, (_, seq) in best.items()}


def drop_partial(repo: str, cache_dir: str | os.PathLike[str]) -> None:
    cache_path = get_cache_path(repo, cache_dir)
    partial_path(cache_path).unlink(missing_ok=True)
    nodes_path(cache_path).unlink(missing_ok=True)


def save_with_partial(cache: PRCache, cache_dir: str | os.PathLike[str], walk_id: str) -> bool:
    """Fold walk `walk_id`'s spooled pages into `cache` and write it; False when they are missing.

    An empty cache (a full walk) takes the pages in walk order (newest created first),
    streamed; otherwise the walk's PRs (the changed ones) are merged into the cached ones.
    A PR fetched twice (a page re-fetched after a resume) keeps its newest copy. The pages are
    read once when no PR is in them twice (the usual case: the fold is the work after a seed's
    last request), else a first reading picks each PR's copy.
    """
    partial = partial_path(get_cache_path(cache.repo, cache_dir))
    try:
        cache.save_changed(cache_dir, _each_once(_iter_partial(partial, walk_id)))
        return True
    except _PartialInvalid:
        return False
    except _SpooledTwice:
        pass
    winners = _partial_winners(partial, walk_id)
    if winners is None:
        return False
    records = (
        record
        for seq, record in _iter_partial(partial, walk_id)
        if winners.get(int(record["number"])) == seq
    )
    try:
        cache.save_changed(cache_dir, records)
    except _PartialInvalid:
        return False
    return True


class _SpooledTwice(Exception):
    """A PR is in the partial pages twice: which copy to keep is chosen before the fold."""


def _each_once(items: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The PR records of `items`, raising _SpooledTwice at the first PR seen again."""
    seen: set[int] = set()
    for _seq, record in items:
        try:
            number = int(record["number"])
        except DECODE_ERRORS:
            raise _PartialInvalid from None
        if number in seen:
            raise _SpooledTwice
        seen.add(number)
        yield record


class PageSpool:
    """A walk's fetched pages kept on disk as they arrive: the seeding cache's partial pages.

    `append()` (the fetching thread, before the next request) keeps a page's nodes with where
    it sits in its walk (start and end cursor, has_next, done, page sizes, high-water,
    pushedAt); `settle()` (the writing thread, before its rows are written) keeps its PRs.
    `replay()` gives back, as PRPages, the pages of a full walk that follow a cursor, chained by
    cursors. A page replayed is written with exactly the checkpoint it would have had when it
    was fetched.
    """

    def __init__(self, repo: str, cache_dir: str | os.PathLike[str]) -> None:
        self.repo = repo
        self.cache_dir = cache_dir
        self._cache_path = get_cache_path(repo, cache_dir)

    def append(self, plan: WalkPlan, start_cursor: str | None, page: PRPage) -> None:
        if not page.nodes:
            self._keep_prs(plan, start_cursor, page)
            return
        record = {"walk": plan.walk_id, "page": _facts(start_cursor, page), "nodes": page.nodes}
        path = nodes_path(self._cache_path)
        if not path.exists():  # a walk opened before nodes were spooled: its header first
            path.write_text(_header(plan.walk_id, self.repo), encoding="utf-8")
        _append_line(path, dumps_line(record))

    def settle(self, plan: WalkPlan, start_cursor: str | None, page: PRPage) -> None:
        if page.nodes:
            self._keep_prs(plan, start_cursor, page)

    def _keep_prs(self, plan: WalkPlan, start_cursor: str | None, page: PRPage) -> None:
        facts = _facts(start_cursor, page)
        append_partial(self.repo, self.cache_dir, plan.walk_id, page.prs, page=facts)

    def replay(self, plan: WalkPlan, cursor: str | None, map_nodes: MapNodes) -> Iterator[PRPage]:
        """The spooled pages of `plan`'s full walk from `cursor` on, in walk order, until the
        chain of cursors breaks or a page ends the walk. Nothing for an incremental walk.

        A page kept only as nodes comes back with them (and its PRs mapped by `map_nodes`), so
        `settle()` keeps its PRs before it is written.
        """
        if plan.mode != FULL:
            return
        index = _replay_index(self._cache_path, plan.walk_id)
        while cursor in index:
            kind, offset = index.pop(cursor)
            path = partial_path(self._cache_path) if kind == "prs" else nodes_path(self._cache_path)
            record = _record_at(path, offset, plan.walk_id, kind)
            found = _page_of(record, kind, map_nodes) if record is not None else None
            if found is None:
                return  # not a page this code can give back: fetch from here on
            facts, prs = found
            try:
                page = PRPage(
                    prs=prs,
                    mode=FULL,
                    end_cursor=facts["end"],
                    has_next=bool(facts["has_next"]),
                    done=bool(facts["done"]),
                    page_size=int(facts["page_size"]),
                    next_page_size=int(facts["next_page_size"]),
                    high_water=parse_github_datetime(facts.get("high_water")),
                    pushed_at=parse_github_datetime(facts.get("pushed_at")),
                    total_count=facts.get("total_count"),
                    points=0,  # no request: nothing spent
                    requests=0,
                    held=tuple(str(i) for i in facts.get("held") or ()),
                    nodes=tuple(record["nodes"]) if kind == "nodes" else (),
                )
            except (KeyError, TypeError, ValueError):
                return  # not a page this code wrote: fetch from here on
            yield page
            if page.done or not page.end_cursor:
                return
            cursor = page.end_cursor


def _facts(start_cursor: str | None, page: PRPage) -> dict[str, Any]:
    """Where `page` sits in its walk, as JSON values: what a replay needs besides its PRs."""
    return {
        "mode": page.mode,
        "start": start_cursor,
        "end": page.end_cursor,
        "has_next": page.has_next,
        "done": page.done,
        "page_size": page.page_size,
        "next_page_size": page.next_page_size,
        "high_water": to_github_iso(page.high_water),
        "pushed_at": to_github_iso(page.pushed_at),
        "total_count": page.total_count,
        "held": list(page.held),
    }


__all__ = [
    "PageSpool",
    "append_partial",
    "drop_partial",
    "save_with_partial",
    "start_partial",
]
