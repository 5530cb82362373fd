"""Generate deterministic synthetic repositories in fakehub's dataset format (docs/DATASETS.md).

Size: over 400 lines for one job, one generator of every PR part GitHub returns; each part draws
from its own random stream so adding one changes no other value.

What git histories cannot give, this does: open, closed and draft PRs, reviews of every state,
review rounds (changes requested, new commits, a re-review), labels, milestones, check suites,
bots and deleted users; and each PR's life: drafts that become ready (some reviewed while still
drafts), review requests and re-requests, force pushes after a review, review threads with
comments. Output depends only on
(full_name, prs, seed, ci) and `now`; every date lies in the 90 days before `now`.

`ci` says how the repository's CI reports: "checks" (check runs in check suites, the default),
"statuses" (commit statuses only, as CircleCI, Jenkins or Travis report them: each would-be
check becomes one `StatusContext`, holding its latest run's outcome) or "both" (the first app's
runs stay check runs, the other apps report statuses; a PR with one app reports its last run's
check, re-runs included, as a status). The same random draws
are made whatever `ci` is, so the rest of the data is the same and so are the nested sizes.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from datetime import UTC, datetime
from typing import Any

__all__ = ["CI_STYLES", "HEAVY_SIZES", "WINDOW_DAYS", "generate_repository", "is_heavy"]

CI_STYLES = ("checks", "statuses", "both")

WINDOW_DAYS = 90
# PR numbers with number % 1000 == 500 carry these nested sizes: each connection overflows the
# client's first nested page, so the client needs exactly one follow-up request for them.
HEAVY_SIZES = {
    "files": 180,
    "commits": 130,
    "reviews": 60,
    "check_runs": 40,
    "timeline_items": 60,
    "review_threads": 60,
}

_FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
_DAY = 86_400

# (login, display name, email): an invented team; a few emails are not linked to the account.
_HUMANS = [
    ("ada-lovelace", "Ada Lovelace", "ada@analytical.example.com"),
    ("grace-h", "Grace Hopper", "grace@cobol.example.org"),
    ("linus-t", "Linus T.", "linus@kernel.example.net"),
    ("jmuller", "José Müller", "jose.muller@example.de"),
    ("zoe-oconnor", "Zoë O'Connor", "zoe@example.ie"),
    ("wangwei", "王伟", "wang.wei@example.cn"),
    ("sakura-t", "田中さくら", "sakura@example.jp"),
    ("olga-k", "Ольга Кузнецова", "olga@example.ru"),
    ("amir-h", "أمير حسن", "amir@example.eg"),
    ("priya-patel", "Priya Patel", "priya@example.in"),
    ("kwame-a", "Kwame Asante", "kwame@example.gh"),
    ("lea-dubois", "Léa Dubois", "lea@example.fr"),
    ("sven-s", "Sven Svensson", "sven@example.se"),
    ("maria-g", "María García", "maria@example.es"),
    ("noah-k", "Noah Kim", "noah@example.kr"),
    ("fatima-z", "Fatima Zahra", "fatima@example.ma"),
    ("thanh-n", "Nguyễn Thành", "thanh@example.vn"),
    ("emil-n", "Emil Nowak", "emil@example.pl"),
    ("ingrid-b", "Ingrid Berg", "ingrid@example.no"),
    ("rafael-s", "Rafael Souza", "rafael@example.br"),
    ("chloe-w", "Chloé Wang", "chloe@example.ca"),
    ("dev-ops-dan", "Dan", "dan@ops.example.com"),
    ("night-owl-42", None, "42+night-owl-42@users.noreply.github.com"),
    ("m4ya", "Maya 🌸", "maya@example.il"),
]
_DISPLAY_NAMES = {login: name for login, name, _ in _HUMANS}
_MAINTAINERS = 6  # the first logins above review and merge most PRs
# Accounts imported from another code host, never claimed (GraphQL's Mannequin).
_MANNEQUINS = ["svn-import-hgarcia", "bitbucket-jdoe", "gitlab-import-mkowalski"]
_BOTS = {
    "dependabot": ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    "renovate": ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com"),
}
_REVIEW_BOTS = ["github-actions", "copilot-pull-request-reviewer", "coderabbitai"]
_LABELS = [
    ("bug", "d73a4a"),
    ("enhancement", "a2eeef"),
    ("documentation", "0075ca"),
    ("dependencies", "0366d6"),
    ("good first issue", "7057ff"),
    ("help wanted", "008672"),
    ("needs review 👀", "fbca04"),
    ("breaking change", "b60205"),
    ("performance ⚡", "f9d0c4"),
    ("ci", "ededed"),
    ("refactor", "c5def5"),
    ("security", "ee0701"),
    ("🚀 release", "0e8a16"),
]
_DIRS = [
    "src/core",
    "src/api",
    "src/api/v2",
    "src/cli",
    "src/utils",
    "src/i18n",
    "tests",
    "tests/integration",
    "docs",
    "docs/guides",
    "scripts",
    ".github/workflows",
]
_STEMS = [
    "app",
    "auth",
    "cache",
    "client",
    "config",
    "db",
    "errors",
    "events",
    "export",
    "forms",
    "hooks",
    "http",
    "index",
    "jobs",
    "logging",
    "models",
    "parser",
    "queue",
    "routes",
    "schema",
    "search",
    "session",
    "signals",
    "storage",
    "sync",
    "templates",
    "tokens",
    "übersetzung",
    "views",
    "webhooks",
]
_EXTS = [".py", ".ts", ".md", ".yml", ".json"]
_VERBS = [
    "Fix",
    "Add",
    "Remove",
    "Refactor",
    "Improve",
    "Speed up",
    "Document",
    "Rename",
    "Support",
]
_OBJECTS = [
    "session cache invalidation",
    "CSV export for large teams",
    "retry on 502 from upstream",
    "the café menu parser",
    "timezone handling in reports",
    "naïve datetime warnings",
    "emoji in commit messages 🎉",
    "日本語 search results",
    "pagination of the audit log",
    "webhook signature checks",
    "dark mode 🌙",
    "flaky integration test",
    "type hints in the CLI",
    "Ünïcödé file names",
    "memory use of the importer",
]
_PACKAGES = ["requests", "django", "pytest", "eslint", "typescript", "urllib3", "react", "celery"]
_BODIES = [
    "## Summary\n\n{title}.\n\n## Testing\n\n- [x] unit tests\n- [ ] manual check\n\n{closes}",
    "{closes}\n\nThis changes how we handle it; see the discussion in the issue. ✅",
    "Small one. 🙏",
    "### Why\n\nUsers reported errors — «ça ne marche pas». 🐛\n\n### What\n\n{title}.\n\n{closes}",
    "Follow-up to the previous PR.\n\n```python\nprint('héllo, wörld')\n```\n",
    "",
]
_REVIEW_BODIES = {
    "APPROVED": ["", "LGTM 👍", "Looks good, thanks!", "🚢 it"],
    "CHANGES_REQUESTED": ["Please add a test for this.", "This breaks the API — see inline.", "❌"],
    "COMMENTED": [
        "Nit: naming.",
        "Why not reuse the helper?",
        "",
        "Thanks! 🙌 One question inline.",
    ],
    "DISMISSED": ["Stale review.", ""],
}
# Check-run names per app; the first app gets most runs.
_CHECK_APPS = {
    "GitHub Actions": [
        "test (3.11)",
        "test (3.12)",
        "lint",
        "build",
        "typecheck",
        "docs",
        "e2e 🧪",
    ],
    "Codecov": ["codecov/patch", "codecov/project"],
    "Vercel": ["Vercel – Preview"],
}
_APP_NAMES = list(_CHECK_APPS)
# Completed check-run conclusions, as weights: mostly green, every other value present.
_CONCLUSIONS = [
    "SUCCESS",
    "FAILURE",
    "NEUTRAL",
    "CANCELLED",
    "SKIPPED",
    "TIMED_OUT",
    "ACTION_REQUIRED",
]
_CONCLUSION_WEIGHTS = [68, 10, 4, 4, 8, 3, 3]
# A third of the failed runs are re-run and pass, as long as the PR keeps at most 12 runs (the
# PRs generated with HEAVY_SIZES, set to overflow the client's first page once, get none).
_RERUN_SHARE = 0.35
_MAX_RUNS_WITH_RERUNS = 12
_CHANGE_TYPES = ["MODIFIED", "ADDED", "DELETED", "RENAMED", "COPIED", "CHANGED"]
_CHANGE_WEIGHTS = [70, 12, 6, 6, 2, 4]
_REVIEW_STATES = ["COMMENTED", "APPROVED", "CHANGES_REQUESTED", "DISMISSED"]
_REVIEW_WEIGHTS = [40, 35, 17, 8]
# Share of human PRs with at least one review that go through review rounds (the dashboard's
# "changes requested -> new commits -> re-review", apps/metrics/pr_metrics.py), and of those, the
# share with two rounds rather than one.
_ROUND_SHARE = 0.3
_TWO_ROUNDS_SHARE = 0.3
# A PR with rounds lives at least this long (or until now): reviews and pushes take hours.
_ROUND_MIN_LIFE = 4 * 3600
# A PR whose lifetime would pass `now` ends this many seconds before it instead (squeeze()).
_SQUEEZE_MIN = 120
_SQUEEZE_MAX = 6 * 3600
# A suite's conclusion: the first of these found among its runs, else SUCCESS (or the lone kind).
_SUITE_PRIORITY = ["ACTION_REQUIRED", "TIMED_OUT", "CANCELLED", "FAILURE"]


def is_heavy(number: int) -> bool:
    """Return True for PR numbers generated with HEAVY_SIZES nested connections."""
    return number % 1000 == 500


def generate_repository(
    full_name: str, prs: int, seed: int = 1, now: datetime | None = None, ci: str = "checks"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return (repo.json dict, PR nodes 1..prs) for `full_name`, deterministic given `now`."""
    if ci not in CI_STYLES:
        raise ValueError(f"ci must be one of {', '.join(CI_STYLES)}, got {ci!r}")
    if not isinstance(full_name, str) or not _FULL_NAME.fullmatch(full_name):
        raise ValueError(f'repository name must be "owner/name", got {full_name!r}')
    if isinstance(prs, bool) or not isinstance(prs, int) or prs < 0:
        raise ValueError(f"number of PRs must be a non-negative integer, got {prs!r}")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    # Seeded from a stable hash: Python's hash() of a str changes between processes.
    digest = hashlib.sha256(f"{full_name}\x00{seed}".encode()).digest()
    generator = _Generator(
        random.Random(int.from_bytes(digest[:16], "big")),
        random.Random(int.from_bytes(digest[16:], "big")),
        full_name,
        prs,
        now,
    )
    # The PR's life (timeline events, review threads) draws from a third stream, so every value
    # the first two give is the same with or without it.
    generator.life = random.Random(
        int.from_bytes(hashlib.sha256(f"{full_name}\x00{seed}\x00life".encode()).digest(), "big")
    )
    nodes_meta = generator.run()
    if ci != "checks":
        for node in nodes_meta[1]:
            _report_as_statuses(node, full_name, both=ci == "both")
    return nodes_meta


# A check run's conclusion as the commit status a CI reporting statuses would set
# (docs.github.com/rest/commits/statuses: states error, failure, pending, success).
_STATUS_OF = {
    "SUCCESS": "SUCCESS",
    "NEUTRAL": "SUCCESS",
    "SKIPPED": "SUCCESS",
    "FAILURE": "FAILURE",
    "TIMED_OUT": "ERROR",
    "CANCELLED": "ERROR",
    "ACTION_REQUIRED": "FAILURE",
}


def _report_as_statuses(node: dict[str, Any], full_name: str, *, both: bool) -> None:
    """Turn (some of) a PR's check runs into commit statuses of the same commit, in place."""
    suites = node.get("checkSuites") or []
    if not suites:
        return
    keep = 0
    if both:
        keep = 1 if len(suites) > 1 else 0
    moved: list[dict[str, Any]] = []
    if both and len(suites) == 1:
        # The last run's check moves with its earlier tries (a flaky check's failed run and
        # its re-run report through the same CI), so no check is half run, half status.
        runs = suites[0]["checkRuns"]
        last = runs[-1]["name"]
        kept = [run for run in runs if run["name"] != last]
        if not kept:
            return
        moved = [run for run in runs if run["name"] == last]
        suites[0]["checkRuns"] = kept
        suites[0]["conclusion"] = _suite_conclusion(kept)
    else:
        for suite in suites[keep:]:
            moved.extend(suite["checkRuns"])
        node["checkSuites"] = suites[:keep]
    # GitHub keeps one status per context for a commit, the latest ("success if the latest
    # status for all contexts is success",
    # docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference),
    # so a re-run (a later run of the same check) replaces its failed try's status.
    statuses: dict[str, dict[str, Any]] = {}
    for run in sorted(moved, key=lambda run: run["databaseId"]):
        state = _STATUS_OF.get(run["conclusion"] or "", "PENDING")
        if run["status"] != "COMPLETED":
            state = "PENDING"
        slug = run["name"].lower().replace(" ", "-")
        statuses[f"ci/{slug}"] = {
            "context": f"ci/{slug}",
            "state": state,
            "description": f"{run['name']}: {state.lower()}",
            "targetUrl": f"https://ci.example.com/{full_name}/{run['databaseId']}",
            "createdAt": run["completedAt"] or run["startedAt"] or node["createdAt"],
        }
    node["statusContexts"] = list(statuses.values())


class _Generator:
    """One repository's worth of state: ids handed out, the people, the clock window."""

    def __init__(
        self, rng: random.Random, spread: random.Random, full_name: str, prs: int, now: datetime
    ) -> None:
        self.rng = rng
        # A second stream for pulling clamped PRs back from `now` (squeeze()): drawing from it
        # leaves every other value `rng` gives unchanged.
        self.spread = spread
        self.full_name = full_name
        self.count = prs
        self.now = int(now.timestamp())
        self.start = self.now - WINDOW_DAYS * _DAY
        self.oids: set[int] = set()
        self.review_id = 1_000_000 + rng.randrange(1_000_000)
        self.check_run_id = 10_000_000 + rng.randrange(1_000_000)
        self.paths = [f"{d}/{s}{e}" for d in _DIRS for s in _STEMS for e in _EXTS]
        # Milestones: a title, its number and a due date inside the window (or none).
        self.milestones = [
            {
                "title": f"v{major}.{minor}",
                "number": index + 1,
                "dueOn": self.iso(self.start + rng.randrange(WINDOW_DAYS * _DAY))
                if index % 3
                else None,
            }
            for index, (major, minor) in enumerate([(1, 4), (1, 5), (2, 0), (2, 1), (3, 0)])
        ]
        self.people = _HUMANS[: 15 + rng.randrange(len(_HUMANS) - 14)]
        self.life = random.Random(0)  # replaced by generate_repository()

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def iso(ts: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

    def oid(self) -> str:
        while True:
            value = self.rng.getrandbits(160)
            if value not in self.oids:
                self.oids.add(value)
                return f"{value:040x}"

    def human(self, maintainer_bias: bool = False) -> tuple[str, str | None, str]:
        if maintainer_bias and self.rng.random() < 0.7:
            return self.people[self.rng.randrange(_MAINTAINERS)]
        return self.people[self.rng.randrange(len(self.people))]

    @staticmethod
    def user(login: str) -> dict[str, Any]:
        # GraphQL's User.name (the display name) rides along; fakehub serves it when present.
        return {"__typename": "User", "login": login, "name": _DISPLAY_NAMES[login]}

    def size(self, mean: float, low: int, high: int) -> int:
        """A skewed count in [low, high]: most small, a few large."""
        return min(high, low + int(self.rng.expovariate(1.0 / mean)))

    # --- the repository -----------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        nodes: list[dict[str, Any]] = []
        span = (self.now - self.start) / max(self.count, 1)
        pushed = self.start
        for number in range(1, self.count + 1):
            # Creation times rise with the number: GitHub numbers PRs in creation order.
            created = self.start + int((number - 1 + self.rng.random() * 0.9) * span)
            node, last_push = self.pull_request(number, created)
            pushed = max(pushed, last_push)
            nodes.append(node)
        owner, name = self.full_name.split("/")
        repo = {
            "nameWithOwner": self.full_name,
            "url": f"https://github.com/{owner}/{name}",
            "defaultBranch": "main",
            "pushedAt": self.iso(pushed),
            "createdAt": self.iso(self.start),
            "generator": "fakehub.synthetic",
            "prCount": self.count,
        }
        return repo, nodes

    def pull_request(self, number: int, created: int) -> tuple[dict[str, Any], int]:
        rng = self.rng
        heavy = is_heavy(number)
        roll = rng.random()
        state = "MERGED" if roll < 0.6 else "OPEN" if roll < 0.8 else "CLOSED"

        # Who opened it: mostly people, some bots, a few deleted accounts (author null).
        kind = rng.random()
        bot = None
        person = None
        if kind < 0.03:
            author = None
            author_name, author_email = "Former Contributor", "gone@example.com"
        elif kind < 0.11:
            bot = "dependabot" if kind < 0.08 else "renovate"
            author = {"__typename": "Bot", "login": bot}
            author_name, author_email = _BOTS[bot]
        else:
            person = self.human()
            author = self.user(person[0])
            author_name, author_email = person[1], person[2]

        n_commits = HEAVY_SIZES["commits"] if heavy else self.size(2.2, 1, 12)
        n_files = HEAVY_SIZES["files"] if heavy else self.size(6.0, 1, 40)
        n_reviews = HEAVY_SIZES["reviews"] if heavy else self.size(1.8, 0, 8)
        n_runs = (
            HEAVY_SIZES["check_runs"]
            if heavy
            else (0 if rng.random() < 0.15 else self.size(4.0, 1, 12))
        )
        if bot and not heavy:
            n_commits, n_files = 1, min(n_files, 2)

        # Review rounds: a change request, 1-3 commits pushed after it, then a re-review; twice
        # for some PRs. Their PRs get enough reviews and commits to play it out.
        pushes: list[int] = []
        if not bot and n_reviews and rng.random() < _ROUND_SHARE:
            rounds = 2 if rng.random() < _TWO_ROUNDS_SHARE else 1
            pushes = [1 + rng.randrange(3) for _ in range(rounds)]
            if not heavy:  # heavy PRs keep their exact sizes, which already suffice
                n_reviews = max(n_reviews, rounds + 1)
                n_commits = max(n_commits, 1 + sum(pushes))

        # Time: every event of the PR falls in [created, created + life], life < now - created.
        horizon = self.now - created
        if state == "OPEN":
            life = int(horizon * rng.random())
        else:
            life = min(horizon, int(rng.expovariate(1.0 / (3 * _DAY))))
        if pushes:
            life = max(life, min(horizon, _ROUND_MIN_LIFE))
        if life >= horizon:
            life = self.squeeze(horizon)
        points = sorted(
            created + int(rng.random() * life) for _ in range(n_commits + n_reviews + 1)
        )
        end = created + life
        # Without rounds every commit precedes every review; `forced` pins review states by index.
        commit_times = points[:n_commits]
        review_times = points[n_commits : n_commits + n_reviews]
        forced: dict[int, str] = {}
        if pushes:
            planned = self.round_layout(points[:-1], n_commits, n_reviews, pushes, state)
            if planned is not None:  # None: the dates were too close to be strictly ordered
                commit_times, review_times, forced = planned
        closed_at = points[-1] if state != "OPEN" else None
        updated_at = end

        # Files first: the PR's totals are their sums.
        files = self.files(n_files)
        additions = sum(f["additions"] for f in files)
        deletions = sum(f["deletions"] for f in files)

        if bot:
            package = _PACKAGES[rng.randrange(len(_PACKAGES))]
            old = f"{rng.randrange(1, 5)}.{rng.randrange(20)}.{rng.randrange(10)}"
            new = f"{old.split('.')[0]}.{rng.randrange(20, 40)}.0"
            title = f"Bump {package} from {old} to {new}"
            head = f"{bot}/pip/{package}-{new}"
        else:
            title = f"{_VERBS[rng.randrange(len(_VERBS))]} {_OBJECTS[rng.randrange(len(_OBJECTS))]}"
            head = f"{(person or ('ghost',))[0]}/{title.split()[0].lower()}-{number}"

        closing = [
            {"number": self.count + rng.randrange(1, max(self.count, 10)), "title": f"Bug: {obj}"}
            for obj in rng.sample(_OBJECTS, self.size(0.6, 0, 2))
        ]
        body = self.body(number, title, closing)

        commits = self.commits(commit_times, author, person, bot, title, additions, deletions)
        last_commit = commit_times[-1]
        reviews = self.reviews(review_times, author, state, forced)

        merged_by = None
        if state == "MERGED":
            merger = rng.random()
            if merger < 0.03:
                merged_by = None  # the merger's account was deleted since
            elif merger < 0.06:
                merged_by = {"__typename": "Bot", "login": "github-actions"}
            else:
                merged_by = self.user(self.human(maintainer_bias=True)[0])

        labels = [
            {"name": name, "color": color}
            for name, color in rng.sample(_LABELS, self.size(0.9, 0, 4))
        ]
        if bot and not any(label["name"] == "dependencies" for label in labels):
            labels.insert(0, {"name": "dependencies", "color": "0366d6"})
            labels = labels[:4]
        milestone = (
            dict(self.milestones[rng.randrange(len(self.milestones))])
            if rng.random() < 0.3
            else None
        )
        assignees = [
            {"login": login}
            for login in dict.fromkeys(self.human(True)[0] for _ in range(self.size(0.5, 0, 2)))
        ]
        requested = [
            {"login": login}
            for login in dict.fromkeys(
                self.human(True)[0] for _ in range(self.size(0.8 if state == "OPEN" else 0.3, 0, 3))
            )
            if author is None or login != author["login"]
        ]

        suites_end = closed_at if closed_at is not None else self.now
        check_suites = self.check_suites(n_runs, state, last_commit, suites_end)

        is_draft = state == "OPEN" and rng.random() < 0.3
        timeline, threads = self.life_events(
            heavy=heavy,
            created=created,
            end=end,
            is_draft=is_draft,
            author=author if person else None,
            commit_times=commit_times,
            review_times=review_times,
            reviews=reviews,
            requested=[r["login"] for r in requested],
            paths=[f["path"] for f in files],
            merged=state == "MERGED",
        )

        pr = {
            "number": number,
            "title": title,
            "body": body,
            "state": state,
            "isDraft": is_draft,
            "createdAt": self.iso(created),
            "updatedAt": self.iso(updated_at),
            "mergedAt": self.iso(closed_at) if state == "MERGED" else None,
            "closedAt": self.iso(closed_at) if closed_at is not None else None,
            "baseRefName": "main" if rng.random() < 0.92 else "release/2.x",
            "headRefName": head,
            "author": author,
            "authorName": author_name,
            "authorEmail": author_email,
            "mergedBy": merged_by,
            "additions": additions,
            "deletions": deletions,
            "changedFiles": len(files),
            "files": files,
            "commits": commits,
            "labels": labels,
            "milestone": milestone,
            "assignees": assignees,
            "reviewRequests": requested,
            "closingIssuesReferences": closing,
            "reviews": reviews,
            "checkSuites": check_suites,
            "commentCount": self.size(2.5, 0, 40),
            "timelineItems": timeline,
            "reviewThreads": threads,
        }
        self.imported_and_auto_merge(pr, number, created, updated_at)
        pushed = max(last_commit, closed_at if state == "MERGED" else last_commit)
        return pr, pushed

    def imported_and_auto_merge(
        self, pr: dict[str, Any], number: int, created: int, updated: int
    ) -> None:
        """Mannequin authors (accounts imported from another code host) on about 2 % of the
        PRs people opened; auto-merge on about a quarter of the open, ready PRs, a third of
        those in the merge queue. Drawn from a stream of their own, so every other value of
        the repository stays what it was."""
        extra = random.Random(f"{self.full_name}#{number}:imported-and-auto-merge")
        author = pr["author"]
        if author is not None and author["__typename"] == "User" and extra.random() < 0.02:
            pr["author"] = {
                "__typename": "Mannequin",
                "login": _MANNEQUINS[extra.randrange(len(_MANNEQUINS))],
            }
        if pr["state"] != "OPEN" or pr["isDraft"] or extra.random() >= 0.25:
            return
        enabled = created + int((updated - created) * extra.random())
        enabler = (
            pr["author"] if pr["author"] and pr["author"]["__typename"] != "Mannequin" else None
        )
        enabler = enabler or self.user(self.people[extra.randrange(_MAINTAINERS)][0])
        pr["autoMergeRequest"] = {
            "enabledAt": self.iso(enabled),
            "enabledBy": enabler,
            "mergeMethod": extra.choice(("SQUASH", "SQUASH", "MERGE", "REBASE")),
            "commitHeadline": f"{pr['title']} (#{number})",
            "commitBody": None,
            "authorEmail": None,
        }
        if extra.random() < 1 / 3:
            pr["mergeQueueEntry"] = {
                "enqueuedAt": self.iso(enabled),
                "enqueuer": enabler,
                "position": 1 + extra.randrange(5),
                "state": extra.choice(("QUEUED", "AWAITING_CHECKS", "MERGEABLE")),
                "estimatedTimeToMerge": 60 * (5 + extra.randrange(55)),
            }

    def life_events(
        self,
        *,
        heavy: bool,
        created: int,
        end: int,
        is_draft: bool,
        author: dict[str, Any] | None,
        commit_times: list[int],
        review_times: list[int],
        reviews: list[dict[str, Any]],
        requested: list[str],
        paths: list[str],
        merged: bool,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A human PR's timeline events (oldest first) and review threads; none for bots.

        Draft PRs become ready (or are converted back), reviewers are requested before they
        review and re-requested before a re-review, some PRs are force-pushed after a review,
        and change requests and comments leave threads of comments.
        """
        rng = self.life
        if author is None:
            return [], []
        login = author["login"]
        events: list[tuple[int, dict[str, Any]]] = []

        def event(ts: int, typename: str, **extra: Any) -> None:
            events.append(
                (min(max(ts, created), end), {"__typename": typename, "actor": author, **extra})
            )

        first_review = review_times[0] if review_times else None
        # When the PR was opened for review: at creation, after a draft period, or never.
        open_at: int | None = created
        if is_draft:
            open_at = None
            if rng.random() < 0.2 and end - created > 3600:
                # Opened ready, converted back to a draft later.
                event(created + int(rng.random() * (end - created)), "ConvertToDraftEvent")
                open_at = created
        elif rng.random() < 0.25 and end - created > 600:
            # Opened as a draft. Usually ready before the first review; sometimes reviewed
            # while still a draft (then the ready event comes between reviews).
            anchor = end
            if review_times:
                anchor = review_times[-1] if rng.random() < 0.3 else review_times[0]
            open_at = created + 60 + int(rng.random() * max(0, anchor - created - 60))
            event(open_at, "ReadyForReviewEvent")
        # Review requests: each human reviewer before their first review; pending ones too.
        asked = open_at if open_at is not None else created
        seen: set[str] = set()
        for index, review in enumerate(reviews):
            who = review["author"]
            if not who or who["__typename"] != "User" or who["login"] == login:
                continue
            if who["login"] not in seen:
                seen.add(who["login"])
                at = review_times[index]
                when = asked + int(rng.random() * max(0, at - asked)) if at > asked else at - 1
                event(
                    when,
                    "ReviewRequestedEvent",
                    requestedReviewer={"__typename": "User", "login": who["login"]},
                )
            elif (
                review["state"] != "CHANGES_REQUESTED"
                and index
                and (reviews[index - 1]["state"] == "CHANGES_REQUESTED")
            ):
                # A re-review after a change request: the author asked again once they pushed.
                pushed = max((t for t in commit_times if t < review_times[index]), default=None)
                if pushed is not None and pushed > review_times[index - 1]:
                    when = pushed + (review_times[index] - pushed) // 2
                    event(
                        when,
                        "ReviewRequestedEvent",
                        requestedReviewer={"__typename": "User", "login": who["login"]},
                    )
        for other in requested:
            if other not in seen:
                event(asked + int(rng.random() * max(0, end - asked) * 0.5), "ReviewRequestedEvent",
                      requestedReviewer={"__typename": "User", "login": other})  # fmt: skip
        if rng.random() < 0.05:
            # Someone requested, then taken off the list.
            other = self.people[rng.randrange(_MAINTAINERS)][0]
            if other != login and other not in seen and other not in requested:
                when = asked + int(rng.random() * max(0, end - asked) * 0.5)
                event(
                    when,
                    "ReviewRequestedEvent",
                    requestedReviewer={"__typename": "User", "login": other},
                )
                event(when + 60 + int(rng.random() * 3600), "ReviewRequestRemovedEvent",
                      requestedReviewer={"__typename": "User", "login": other})  # fmt: skip
        # Force pushes: after the first review (rework by rebase), or before any review.
        if first_review is not None and rng.random() < 0.15:
            event(first_review + 1 + int(rng.random() * max(0, end - first_review - 1)),
                  "HeadRefForcePushedEvent")  # fmt: skip
        elif rng.random() < 0.05:
            event(created + int(rng.random() * (end - created)), "HeadRefForcePushedEvent")
        if heavy:
            while len(events) < HEAVY_SIZES["timeline_items"]:
                event(created + int(rng.random() * (end - created)), "HeadRefForcePushedEvent")
        events.sort(key=lambda pair: pair[0])
        timeline = [{**item, "createdAt": self.iso(ts)} for ts, item in events]

        # Threads: a change request or a comment review by someone else opens 0-3 of them.
        threads: list[dict[str, Any]] = []
        wanted = HEAVY_SIZES["review_threads"] if heavy else 0
        for review in reviews:
            who = review["author"]
            if review["state"] not in ("CHANGES_REQUESTED", "COMMENTED") or not who:
                continue
            if who["login"] == login:
                continue
            for _ in range(min(3, int(rng.expovariate(1.0)))):
                threads.append(self.thread(paths, merged))
        while len(threads) < wanted:
            threads.append(self.thread(paths, merged))
        return timeline, threads

    def thread(self, paths: list[str], merged: bool) -> dict[str, Any]:
        rng = self.life
        return {
            "path": paths[rng.randrange(len(paths))] if paths else "README.md",
            "isResolved": rng.random() < (0.8 if merged else 0.4),
            "isOutdated": rng.random() < 0.2,
            "commentCount": 1 + min(6, int(rng.expovariate(1.0 / 0.8))),
        }

    def files(self, count: int) -> list[dict[str, Any]]:
        rng = self.rng
        paths = self.paths
        kinds = rng.choices(_CHANGE_TYPES, _CHANGE_WEIGHTS, k=count)
        files = []
        for index, kind in zip(rng.sample(range(len(paths)), count), kinds, strict=True):
            if kind == "ADDED":
                add, rem = 1 + int(rng.expovariate(1 / 60)), 0
            elif kind == "DELETED":
                add, rem = 0, 1 + int(rng.expovariate(1 / 40))
            elif kind == "CHANGED":
                add, rem = 0, 0  # a mode change: no lines move
            elif kind in ("RENAMED", "COPIED"):
                add, rem = (0, 0) if rng.random() < 0.5 else (rng.randrange(10), rng.randrange(10))
            else:
                add, rem = int(rng.expovariate(1 / 25)), int(rng.expovariate(1 / 12))
            files.append(
                {"path": paths[index], "additions": add, "deletions": rem, "changeType": kind}
            )
        return files

    def commits(
        self,
        times: list[int],
        author: dict[str, Any] | None,
        person: tuple[str, str | None, str] | None,
        bot: str | None,
        title: str,
        additions: int,
        deletions: int,
    ) -> list[dict[str, Any]]:
        rng = self.rng
        count = len(times)
        commits = []
        for index, committed in enumerate(times):
            if bot:
                # A bot's commits carry its [bot] identity; commit.author.user is null on GitHub.
                name, email = _BOTS[bot]
                git_author: dict[str, Any] = {"name": name, "email": email, "login": None}
            elif author is None:
                git_author = {
                    "name": "Former Contributor",
                    "email": "gone@example.com",
                    "login": None,
                }
            else:
                who = person if person and rng.random() < 0.85 else self.human()
                login = who[0] if rng.random() < 0.93 else None  # email linked to no account
                git_author = {"name": who[1] or who[0], "email": who[2], "login": login}
            headline = (
                title if index == 0 else f"{_VERBS[rng.randrange(len(_VERBS))]} review comments"
            )
            message = (
                headline
                if rng.random() < 0.6
                else f"{headline}\n\nCo-authored-by: Zoë <zoe@example.ie>"
            )
            authored = max(times[0], committed - rng.randrange(3600))
            share_add = additions // count + (additions % count if index == count - 1 else 0)
            share_del = deletions // count + (deletions % count if index == count - 1 else 0)
            commits.append(
                {
                    "oid": self.oid(),
                    "messageHeadline": headline,
                    "message": message,
                    "authoredDate": self.iso(authored),
                    "committedDate": self.iso(committed),
                    "author": git_author,
                    "additions": share_add,
                    "deletions": share_del,
                }
            )
        return commits

    def squeeze(self, horizon: int) -> int:
        """Return a lifetime below `horizon` (> 0) for a PR whose events would otherwise reach now.

        Clamping at `now` would give every such PR updatedAt == now (a few percent of all PRs),
        a bunch no real history has; instead the PR ends a per-PR 2 minutes to 6 hours before
        now, or, created later than that, somewhere between its creation and now.
        """
        offset = _SQUEEZE_MIN + int(self.spread.random() * (_SQUEEZE_MAX - _SQUEEZE_MIN))
        if horizon > offset:
            return horizon - offset
        return int(horizon * self.spread.random())

    def round_layout(
        self, times: list[int], n_commits: int, n_reviews: int, pushes: list[int], state: str
    ) -> tuple[list[int], list[int], dict[int, str]] | None:
        """Interleave sorted `times` into commits and reviews that play out len(pushes) rounds.

        Phase 0 is the first commits then reviews ending in CHANGES_REQUESTED; phase i >= 1 is
        pushes[i-1] commits, then reviews opening with a re-review (which requests changes again
        when it also ends a phase before the last). Returns (commit times, review times, review
        states by review index), or None when a change request, the push after it and the
        re-review cannot be strictly ordered (equal seconds): pr_metrics counts strict order only.
        """
        rng = self.rng
        rounds = len(pushes)
        cuts = sorted(rng.sample(range(1, n_reviews), rounds))
        review_counts = [b - a for a, b in zip([0, *cuts], [*cuts, n_reviews], strict=True)]
        commit_counts = [n_commits - sum(pushes), *pushes]
        commit_times: list[int] = []
        review_times: list[int] = []
        forced: dict[int, str] = {}
        position = 0
        for phase in range(rounds + 1):
            first_commit = times[position]
            commit_times.extend(times[position : position + commit_counts[phase]])
            position += commit_counts[phase]
            if phase:
                # The change request < the first new commit < the re-review, to the second.
                if not review_times[-1] < first_commit < times[position]:
                    return None
                last = len(review_times) == n_reviews - 1
                approve = (state == "MERGED" and last) or rng.random() < 0.65
                forced[len(review_times)] = "APPROVED" if approve else "COMMENTED"
            review_times.extend(times[position : position + review_counts[phase]])
            position += review_counts[phase]
            if phase < rounds:
                forced[len(review_times) - 1] = "CHANGES_REQUESTED"
        return commit_times, review_times, forced

    def reviews(
        self,
        times: list[int],
        author: dict[str, Any] | None,
        state: str,
        forced: dict[int, str],
    ) -> list[dict[str, Any]]:
        rng = self.rng
        author_login = author["login"] if author and author["__typename"] == "User" else None
        reviewers = [h[0] for h in self.people[: _MAINTAINERS + 4] if h[0] != author_login]
        reviewers = rng.sample(reviewers, min(len(reviewers), 1 + rng.randrange(3)))
        reviews = []
        for index, submitted in enumerate(times):
            roll = rng.random()
            if index in forced:
                # A round's change request and re-review come from the PR's first reviewer, a
                # person other than the author, so pr_metrics counts them as qualifying.
                who: dict[str, Any] | None = self.user(reviewers[0])
                review_state = forced[index]
            elif roll < 0.05 and author_login:
                who = self.user(author_login)  # the author answering
                review_state = "COMMENTED"
            elif roll < 0.09:
                who = {"__typename": "Bot", "login": _REVIEW_BOTS[rng.randrange(len(_REVIEW_BOTS))]}
                review_state = "COMMENTED"
            elif roll < 0.11:
                who = None  # the reviewer's account was deleted since
                review_state = rng.choice(_REVIEW_STATES)
            else:
                who = self.user(reviewers[rng.randrange(len(reviewers))])
                review_state = rng.choices(_REVIEW_STATES, _REVIEW_WEIGHTS)[0]
                if state == "MERGED" and index == len(times) - 1:
                    review_state = "APPROVED"
            bodies = _REVIEW_BODIES[review_state]
            self.review_id += 1 + rng.randrange(40)
            reviews.append(
                {
                    "databaseId": self.review_id,
                    "author": who,
                    "state": review_state,
                    "submittedAt": self.iso(submitted),
                    "body": bodies[rng.randrange(len(bodies))],
                }
            )
        return reviews

    def check_suites(self, runs: int, state: str, start: int, end: int) -> list[dict[str, Any]]:
        rng = self.rng
        if runs == 0:
            return []
        # Runs still going happen on open PRs only.
        pending = state == "OPEN" and rng.random() < 0.3
        apps = _APP_NAMES[: min(runs, 1 + min(2, int(rng.expovariate(1.2))))]
        suites = [{"app": {"name": app}, "conclusion": None, "checkRuns": []} for app in apps]
        window = max(0, end - start)
        for index in range(runs):
            # One run for each extra app, the rest in the first suite.
            suite = suites[max(0, index - (runs - len(suites)))]
            names = _CHECK_APPS[suite["app"]["name"]]
            position = len(suite["checkRuns"])
            name = names[position % len(names)]
            if position >= len(names):
                name = f"{name} (shard {position // len(names) + 1})"
            # CI starts within minutes of the push and takes minutes, bounded by the PR's end.
            started = start + int(rng.random() * min(window, 1800))
            completed = min(end, started + 20 + int(rng.expovariate(1 / 600)))
            status = "COMPLETED"
            if pending and rng.random() < 0.5:
                status = "QUEUED" if rng.random() < 0.5 else "IN_PROGRESS"
            self.check_run_id += 1 + rng.randrange(20)
            suite["checkRuns"].append(
                {
                    "databaseId": self.check_run_id,
                    "name": name,
                    "status": status,
                    "conclusion": rng.choices(_CONCLUSIONS, _CONCLUSION_WEIGHTS)[0]
                    if status == "COMPLETED"
                    else None,
                    "startedAt": None if status == "QUEUED" else self.iso(started),
                    "completedAt": self.iso(completed) if status == "COMPLETED" else None,
                }
            )
        room = _MAX_RUNS_WITH_RERUNS - runs
        for suite in suites:
            if room > 0:
                room -= self.rerun_failures(suite, end, room)
        for suite in suites:
            suite["conclusion"] = _suite_conclusion(suite["checkRuns"])
        return suites

    def rerun_failures(self, suite: dict[str, Any], end: int, room: int) -> int:
        """Some failed runs are re-run on the same commit and pass (a flaky check).

        A re-run is a new check run with the same name in the same check suite ("In a check
        suite, GitHub limits the number of check runs with the same name to 1000",
        docs.github.com/rest/checks/runs#create-a-check-run), so the commit's status rollup
        lists both. Decided by a generator seeded from the failed run's id, so the main random
        stream, and every other field of the data, stays as it was. At most `room` re-runs;
        returns how many were added.
        """
        added = 0
        for run in list(suite["checkRuns"]):
            if added == room:
                break
            if run["conclusion"] not in ("FAILURE", "TIMED_OUT") or not run["completedAt"]:
                continue
            flaky = random.Random(f"rerun:{run['databaseId']}")
            if flaky.random() >= _RERUN_SHARE:
                continue
            started = _epoch(run["completedAt"]) + 60 + flaky.randrange(600)
            completed = started + 20 + int(flaky.expovariate(1 / 600))
            if completed > end:
                continue
            self.check_run_id += 1
            suite["checkRuns"].append(
                {
                    "databaseId": self.check_run_id,
                    "name": run["name"],
                    "status": "COMPLETED",
                    "conclusion": "SUCCESS",
                    "startedAt": self.iso(started),
                    "completedAt": self.iso(completed),
                }
            )
            added += 1
        return added

    def body(self, number: int, title: str, closing: list[dict[str, Any]]) -> str:
        rng = self.rng
        closes = " ".join(f"Fixes #{issue['number']}" for issue in closing)
        if number % 150 == 37:
            # A few very long descriptions (20-60 KB), as release notes and generated PRs have.
            paragraph = (
                "Ce paragraphe est long — très long. 這是一個很長的段落。 🚀🔥✨ "
                "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n"
            )
            repeats = rng.randrange(20_000, 60_000) // len(paragraph.encode()) + 1
            return paragraph * repeats + closes
        template = _BODIES[rng.randrange(len(_BODIES))]
        return template.format(title=title, closes=closes)


def _epoch(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _suite_conclusion(runs: list[dict[str, Any]]) -> str | None:
    """A suite concludes once all its runs have; the worst conclusion wins."""
    if not runs or any(run["status"] != "COMPLETED" for run in runs):
        return None
    found = {run["conclusion"] for run in runs}
    for conclusion in _SUITE_PRIORITY:
        if conclusion in found:
            return conclusion
    if "SUCCESS" in found:
        return "SUCCESS"
    return "SKIPPED" if found == {"SKIPPED"} else "NEUTRAL"
