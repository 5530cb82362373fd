"""The repositories fakehub serves: PRs indexed per repository, kept sorted, changed while serving.

PRs are held in the dataset format of DATASETS.md (connections as plain lists, as
`fakehub.datasets.normalize_pr` returns them). GraphQL-shaped views of them are built on first
use and cached until the PR changes. Each repository keeps its PRs sorted by `createdAt` and by
`updatedAt` (ties broken by number), so a page is a bisect and a slice, and cursors that encode
(sort key, number) stay valid across inserts and updates.

Size: over 400 lines because keeping the served repositories is one job: the sort indexes, the
cursor pagination over them, and the changes (upsert, check suites, push, rename) that must keep
those indexes and cursors right, under one lock.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import hashlib
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fakehub.datasets import normalize_pr, normalize_repo

__all__ = [
    "PRPage",
    "Repo",
    "Store",
    "StoreError",
    "decode_pr_cursor",
    "encode_pr_cursor",
    "iso",
    "parse_iso",
]

ORDER_FIELDS = {"CREATED_AT": "createdAt", "UPDATED_AT": "updatedAt"}


class StoreError(Exception):
    """A change the store refuses (unknown repository or PR, invalid node); one-line message."""


def iso(epoch: float) -> str:
    """Return `epoch` as GitHub writes dates: UTC, whole seconds, `Z`."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """Return the epoch seconds of a `YYYY-MM-DDTHH:MM:SSZ` date."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def encode_pr_cursor(key: str, number: int) -> str:
    """An opaque PR cursor: the sort key value and the PR number, base64."""
    return base64.b64encode(f"cursor:v2:{key}|{number}".encode()).decode()


def decode_pr_cursor(cursor: str) -> tuple[str, int] | None:
    """Return (sort key, number) from a PR cursor, or None when it is not one of ours."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.startswith("cursor:v2:") or "|" not in text:
        return None
    key, _, number = text[len("cursor:v2:") :].rpartition("|")
    if not number.isdigit():
        return None
    return key, int(number)


def stable_id(text: str, bits: int = 31) -> int:
    """A positive integer derived from `text` (GraphQL Int is 32-bit signed)."""
    return (zlib.crc32(text.encode()) & ((1 << bits) - 1)) or 1


def fake_sha(text: str) -> str:
    """A 40-hex git object id derived from `text`."""
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(slots=True)
class PRPage:
    """One page of a repository's PRs: (cursor, PR) pairs in answer order, and page info."""

    items: list[tuple[str, dict[str, Any]]]
    total_count: int
    has_next_page: bool
    has_previous_page: bool


class Repo:
    """One repository: its metadata, its PRs by number and its sort indexes."""

    def __init__(self, meta: dict[str, Any], database_id: int) -> None:
        self.full_name: str = meta["nameWithOwner"]
        self.owner, self.name = self.full_name.split("/", 1)
        self.key = self.full_name.lower()
        # The name node ids are derived from: the first one, kept through renames (GitHub's
        # global ids do not change when a repository is renamed or transferred).
        self.id_name = self.full_name
        self.meta = meta
        self.database_id = database_id
        self.node_id = "R_" + _b64(self.full_name)
        self.default_branch: str = meta.get("defaultBranch") or "main"
        self.created_at: str = meta.get("createdAt") or "2020-01-01T00:00:00Z"
        self.pushed_at: str | None = meta.get("pushedAt")
        self.updated_at: str = meta.get("updatedAt") or self.pushed_at or self.created_at
        self.prs: dict[int, dict[str, Any]] = {}
        self.views: dict[int, dict[str, Any]] = {}
        self.sorted: dict[str, list[tuple[str, int]]] = {"createdAt": [], "updatedAt": []}
        self.state_counts: Counter[str] = Counter()
        self.last_oids: dict[str, int] = {}
        self.version = 0

    def insert(self, pr: dict[str, Any]) -> None:
        """Add or replace one normalised PR, keeping the indexes right."""
        number = pr["number"]
        old = self.prs.get(number)
        if old is not None:
            for field, keys in self.sorted.items():
                index = bisect.bisect_left(keys, (old[field], number))
                if index < len(keys) and keys[index] == (old[field], number):
                    del keys[index]
            self.state_counts[old["state"]] -= 1
            if old["commits"]:
                self.last_oids.pop(old["commits"][-1]["oid"], None)
        self.prs[number] = pr
        self.views.pop(number, None)
        for field, keys in self.sorted.items():
            bisect.insort(keys, (pr[field], number))
        self.state_counts[pr["state"]] += 1
        if pr["commits"]:
            self.last_oids[pr["commits"][-1]["oid"]] = number
        self.version += 1

    def bulk_load(self, prs: Iterable[dict[str, Any]]) -> None:
        """Add many PRs at once (one sort instead of one insort per PR)."""
        for pr in prs:
            if pr["number"] in self.prs:
                self.insert(pr)
                continue
            self.prs[pr["number"]] = pr
            self.state_counts[pr["state"]] += 1
            if pr["commits"]:
                self.last_oids[pr["commits"][-1]["oid"]] = pr["number"]
        for field in self.sorted:
            self.sorted[field] = sorted((pr[field], number) for number, pr in self.prs.items())
        self.views.clear()
        self.version += 1

    def count(self, states: frozenset[str] | None) -> int:
        """How many PRs are in one of `states` (all when None)."""
        if states is None:
            return len(self.prs)
        return sum(self.state_counts[state] for state in states)

    def page(
        self,
        field: str,
        descending: bool,
        states: frozenset[str] | None,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> PRPage:
        """Select one page as GitHub's cursor pagination does (first/after or last/before)."""
        keys = self.sorted[field]
        lo, hi = 0, len(keys)
        after_key = decode_pr_cursor(after) if after else None
        before_key = decode_pr_cursor(before) if before else None
        # In DESC order "after" means smaller keys; in ASC order larger ones.
        if after_key is not None:
            if descending:
                hi = bisect.bisect_left(keys, after_key)
            else:
                lo = bisect.bisect_right(keys, after_key)
        if before_key is not None:
            if descending:
                lo = max(lo, bisect.bisect_right(keys, before_key))
            else:
                hi = min(hi, bisect.bisect_left(keys, before_key))
        forward = last is None or first is not None
        indexes: Iterable[int]
        # Walk from the end the page starts at; pick matching PRs until one past the page.
        indexes = range(lo, hi) if forward == (not descending) else range(hi - 1, lo - 1, -1)
        want = first if first is not None else last
        assert want is not None
        picked: list[tuple[str, int]] = []
        more = False
        for index in indexes:
            key = keys[index]
            if states is not None and self.prs[key[1]]["state"] not in states:
                continue
            if len(picked) == want:
                more = True
                break
            picked.append(key)
        if not forward:
            picked.reverse()
        items = [(encode_pr_cursor(key, number), self.prs[number]) for key, number in picked]
        if forward:
            has_next, has_previous = more, after_key is not None and (lo > 0 or hi < len(keys))
        else:
            has_next, has_previous = before_key is not None and (lo > 0 or hi < len(keys)), more
        return PRPage(items, self.count(states), has_next, has_previous)

    def rest_order(self, field: str, descending: bool, states: frozenset[str] | None) -> list[int]:
        """PR numbers in REST list order, filtered by state."""
        keys = self.sorted[field]
        ordered = reversed(keys) if descending else iter(keys)
        if states is None:
            return [number for _, number in ordered]
        return [number for _, number in ordered if self.prs[number]["state"] in states]


class Store:
    """Every repository fakehub serves; thread-safe; changes take effect for the next request."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        # Former names (lower case) of renamed or transferred repositories -> the repository.
        self.redirects: dict[str, Repo] = {}

    # --- loading -------------------------------------------------------------------------------

    def add_repository(self, meta: dict[str, Any], prs: Sequence[dict[str, Any]]) -> Repo:
        """Serve one repository (repo.json dict, normalised PRs); replaces one of the same name."""
        meta = normalize_repo(meta)
        repo = Repo(meta, stable_id("repo:" + meta["nameWithOwner"].lower()))
        repo.bulk_load(prs)
        with self.lock:
            self.repos[repo.key] = repo
        return repo

    def get_repo(self, owner: str, name: str) -> Repo | None:
        """The repository `owner/name` (case-insensitive), or None."""
        return self.repos.get(f"{owner}/{name}".lower())

    def moved_repo(self, owner: str, name: str) -> Repo | None:
        """The repository once named `owner/name` and renamed since (None when it was not)."""
        key = f"{owner}/{name}".lower()
        return None if key in self.repos else self.redirects.get(key)

    def rename_repository(self, full_name: str, new_full_name: str) -> Repo:
        """Rename (or transfer) a repository; its former name keeps redirecting to it.

        docs.github.com/repositories/creating-and-managing-repositories/renaming-a-repository:
        "all existing information, with the exception of project site URLs, is automatically
        redirected to the new name"; a repository created later under the old name ends that.
        """
        if not isinstance(new_full_name, str) or new_full_name.count("/") != 1:
            raise StoreError(f'the new name must be "owner/name", got {new_full_name!r}')
        owner, name = new_full_name.split("/")
        if not owner or not name:
            raise StoreError(f'the new name must be "owner/name", got {new_full_name!r}')
        with self.lock:
            repo = self.repo_by_full_name(full_name)
            new_key = new_full_name.lower()
            if new_key in self.repos and self.repos[new_key] is not repo:
                raise StoreError(f"repository {new_full_name} already exists")
            del self.repos[repo.key]
            self.redirects[repo.key] = repo
            self.redirects.pop(new_key, None)
            repo.full_name, repo.owner, repo.name, repo.key = new_full_name, owner, name, new_key
            self.repos[new_key] = repo
            repo.views.clear()  # URLs and nameWithOwner change; ids do not
            repo.updated_at = max(repo.updated_at, self.now_iso())
            repo.version += 1
            return repo

    def repo_by_full_name(self, full_name: str) -> Repo:
        """The repository `full_name`, or StoreError."""
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise StoreError(f"repository {full_name} is not served")
        return repo

    def pr_by_node_id(self, node_id: str) -> tuple[Repo, dict[str, Any]] | None:
        """The (repository, PR) a PullRequest node id names, or None."""
        if not node_id.startswith("PR_"):
            return None
        text = _unb64(node_id[3:])
        if text is None or "#" not in text:
            return None
        full_name, _, number = text.rpartition("#")
        repo = self.repos.get(full_name.lower()) or self.redirects.get(full_name.lower())
        if repo is None or not number.isdigit():
            return None
        pr = repo.prs.get(int(number))
        return (repo, pr) if pr is not None else None

    # --- live changes --------------------------------------------------------------------------

    def now_iso(self) -> str:
        return iso(self.clock())

    def _bumped(self, previous: str | None) -> str:
        """Now, or one second after `previous` when the clock has not moved past it yet.

        GitHub dates have whole seconds; a PR changed within the second of the newest change
        must still become the newest, or a client probing the newest updatedAt (and the REST
        ETag built on it) would miss the change.
        """
        now = self.clock()
        if previous is not None:
            now = max(now, parse_iso(previous) + 1)
        return iso(now)

    def upsert_pr(self, full_name: str, node: dict[str, Any]) -> dict[str, Any]:
        """Create or update one PR from a partial node keyed by `number`; returns the stored PR.

        List keys replace the stored lists. `updatedAt` becomes now unless the node gives it;
        a `commits` key also bumps the repository's `pushedAt`.
        """
        if not isinstance(node, dict) or not isinstance(node.get("number"), int):
            raise StoreError('a PR node must be a JSON object with an integer "number"')
        with self.lock:
            repo = self.repo_by_full_name(full_name)
            number = node["number"]
            old = repo.prs.get(number)
            now = self.now_iso()
            if old is None:
                merged: dict[str, Any] = {
                    "number": number,
                    "title": f"Pull request #{number}",
                    "body": "",
                    "state": "OPEN",
                    "isDraft": False,
                    "createdAt": now,
                    "updatedAt": now,
                    "mergedAt": None,
                    "closedAt": None,
                    "baseRefName": repo.default_branch,
                    "headRefName": f"feature/pr-{number}",
                    "author": {"__typename": "User", "login": "octocat"},
                    "mergedBy": None,
                    "additions": 0,
                    "deletions": 0,
                    "changedFiles": 0,
                    "files": [],
                    "commits": [],
                }
            else:
                merged = copy.deepcopy(old)
            merged.update(copy.deepcopy(node))
            if "files" in node:
                files = merged["files"] or []
                merged.setdefault("changedFiles", len(files))
                if "changedFiles" not in node:
                    merged["changedFiles"] = len(files)
                if "additions" not in node:
                    merged["additions"] = sum(f.get("additions", 0) for f in files)
                if "deletions" not in node:
                    merged["deletions"] = sum(f.get("deletions", 0) for f in files)
            if "state" in node:
                if node["state"] in ("MERGED", "CLOSED") and "closedAt" not in node:
                    merged["closedAt"] = merged.get("closedAt") or now
                if node["state"] == "MERGED" and "mergedAt" not in node:
                    merged["mergedAt"] = merged.get("mergedAt") or now
                if node["state"] == "OPEN":
                    merged.setdefault("mergedAt", None)
                    if "closedAt" not in node:
                        merged["closedAt"] = None
                    if "mergedAt" not in node:
                        merged["mergedAt"] = None
            if "updatedAt" not in node:
                newest = repo.sorted["updatedAt"][-1][0] if repo.sorted["updatedAt"] else None
                merged["updatedAt"] = self._bumped(newest)
            try:
                pr = normalize_pr(merged)
            except Exception as exc:  # datasets raises its private _Invalid: one line each
                raise StoreError(str(exc)) from None
            repo.insert(pr)
            if "commits" in node:
                repo.pushed_at = self._bumped(repo.pushed_at)
            repo.updated_at = max(repo.updated_at, pr["updatedAt"])
            return pr

    def set_check_suites(
        self, full_name: str, number: int, suites: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Replace the last commit's check suites; `updatedAt` stays (as on GitHub)."""
        with self.lock:
            repo = self.repo_by_full_name(full_name)
            old = repo.prs.get(number)
            if old is None:
                raise StoreError(f"PR #{number} not found in {full_name}")
            merged = copy.deepcopy(old)
            merged["checkSuites"] = copy.deepcopy(suites)
            try:
                pr = normalize_pr(merged)
            except Exception as exc:
                raise StoreError(str(exc)) from None
            repo.insert(pr)
            return pr

    def push(self, full_name: str) -> str:
        """Bump the repository's `pushedAt` to now; returns it."""
        with self.lock:
            repo = self.repo_by_full_name(full_name)
            repo.pushed_at = self._bumped(repo.pushed_at)
            repo.updated_at = max(repo.updated_at, repo.pushed_at)
            repo.version += 1
            return repo.pushed_at

    def get_pr(self, full_name: str, number: int) -> dict[str, Any]:
        """The stored PR in dataset format."""
        repo = self.repo_by_full_name(full_name)
        pr = repo.prs.get(number)
        if pr is None:
            raise StoreError(f"PR #{number} not found in {full_name}")
        return pr
