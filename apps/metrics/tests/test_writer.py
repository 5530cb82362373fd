"""The writer against a real database: upserts, idempotence, children removal, members, atomicity."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from apps.metrics.models import (
    Commit,
    PRCheckRun,
    PRFile,
    PRReview,
    PullRequest,
    TeamMember,
    TrackedRepository,
)
from apps.metrics.pipeline.fetched import (
    FetchedCheckRun,
    FetchedCommit,
    FetchedFile,
    FetchedPRFull,
    FetchedReview,
    FetchedUser,
)
from apps.metrics.pipeline.writer import SaveStats, save_page, save_pull_requests
from apps.metrics.tests.factories import TeamFactory, TrackedRepositoryFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

ALICE = FetchedUser("alice", 101, "Alice A.", "alice@example.com")
BOB = FetchedUser("bob", 102, "Bob B.", None)
CAROL = FetchedUser("carol", 103, None, None)
DEPENDABOT = FetchedUser("dependabot[bot]", 49699333, None, None, is_bot=True)


def make_pr(number: int = 1, repo: str = "acme/rocket", **overrides: Any) -> FetchedPRFull:
    """A complete merged PR by alice, reviewed by bob, with 2 commits, 2 files and 2 check runs."""
    values: dict[str, Any] = {
        "repo_full_name": repo,
        "number": number,
        "node_id": f"PR_{repo}_{number}",
        "title": f"Change {number}",
        "body": "Body",
        "state": "merged",
        "is_draft": False,
        "author": ALICE,
        "url": f"https://github.com/{repo}/pull/{number}",
        "created_at": T0,
        "updated_at": T0 + timedelta(hours=30),
        "merged_at": T0 + timedelta(hours=30),
        "closed_at": T0 + timedelta(hours=30),
        "merged_by": BOB,
        "additions": 30,
        "deletions": 5,
        "changed_files": 2,
        "commits_count": 2,
        "comments_count": 1,
        "head_ref": f"feature-{number}",
        "base_ref": "main",
        "labels": ("bug", "backend"),
        "milestone_title": "v1",
        "assignees": (ALICE, CAROL),
        "review_requests": ("carol",),
        "linked_issues": (7,),
        "reviews": (
            FetchedReview(number * 1000 + 1, BOB, "changes_requested", "fix", T0 + timedelta(hours=2)),
            FetchedReview(number * 1000 + 2, BOB, "approved", "", T0 + timedelta(hours=6)),
        ),
        "commits": (
            FetchedCommit(
                f"{number:04d}aaaa", ALICE, "Alice A.", "alice@example.com", "first",
                T0, T0 + timedelta(minutes=5), 20, 5,
            ),
            FetchedCommit(
                f"{number:04d}bbbb", None, "Unlinked Person", "nobody@example.com", "second",
                T0 + timedelta(hours=3), T0 + timedelta(hours=4), 10, 0,
            ),
        ),
        "files": (
            FetchedFile("src/app.py", "modified", 25, 5),
            FetchedFile("README.md", "added", 5, 0),
        ),
        "check_runs": (
            FetchedCheckRun(number * 1000 + 1, "tests", "completed", "success",
                            T0 + timedelta(hours=4), T0 + timedelta(hours=4, minutes=3), "GitHub Actions"),
            FetchedCheckRun(number * 1000 + 2, "lint", "completed", "skipped", None, None, "GitHub Actions"),
        ),
        # Its life, collected: never a draft, no timeline events, no threads.
        "timeline_events": (),
        "review_threads_count": 0,
        "review_threads_resolved_count": 0,
        "total_comments_count": 1,
    }  # fmt: skip
    values.update(overrides)
    return FetchedPRFull(**values)


def dump_all() -> dict[str, list[dict[str, Any]]]:
    """Every metrics row, as dicts, minus the write timestamps a re-save legitimately moves."""
    skip = {"synced_at"}
    out: dict[str, list[dict[str, Any]]] = {}
    for model in (TeamMember, PullRequest, PRReview, Commit, PRFile, PRCheckRun, TrackedRepository):
        rows = []
        for obj in model.objects.order_by("pk"):
            row = model_to_dict(obj)
            row["pk"] = obj.pk
            for name in ("created_at", "updated_at"):
                if hasattr(obj, name):
                    row[name] = getattr(obj, name)
            rows.append({k: v for k, v in row.items() if k not in skip})
        out[model.__name__] = rows
    return out


def test_it_saves_a_pull_request_with_all_its_parts():
    team = TeamFactory()
    stats = save_pull_requests(team, [make_pr(1)])

    assert stats == SaveStats(
        prs_created=1, prs_updated=0, reviews=2, commits=2, files=2, check_runs=2, members_created=3
    )
    pr = PullRequest.objects.get(team=team, github_repo="acme/rocket", github_pr_id=1)
    assert pr.author.github_login == "alice"
    assert pr.merged_by.github_login == "bob"
    assert pr.state == PullRequest.State.MERGED
    assert pr.labels == ["bug", "backend"]
    assert pr.assignees == ["alice", "carol"]
    assert pr.review_requests == ["carol"]
    assert pr.linked_issues == [7]
    assert pr.milestone_title == "v1"
    assert pr.synced_at is not None
    assert pr.cycle_time_hours == 30.0
    assert pr.first_review_at == T0 + timedelta(hours=2)
    assert pr.time_to_first_review_hours == 2.0
    assert pr.review_time_hours == 4.0  # first review (+2 h) to the last approval (+6 h)
    assert pr.review_rounds == 1
    assert pr.commits_after_first_review == 1
    assert pr.ci_passed is True
    assert pr.size_bucket == "S"
    assert pr.is_bot_author is False
    assert sorted(pr.files.values_list("filename", "changes")) == [
        ("README.md", 5),
        ("src/app.py", 30),
    ]
    run = pr.check_runs.get(name="tests")
    assert run.duration_seconds == 180
    assert run.app_name == "GitHub Actions"
    assert list(pr.reviews.values_list("reviewer__github_login", "state")) == [
        ("bob", "changes_requested"),
        ("bob", "approved"),
    ]


def test_saving_the_same_pull_requests_twice_changes_and_duplicates_nothing():
    team = TeamFactory()
    prs = [make_pr(n) for n in range(1, 6)]
    save_pull_requests(team, prs)
    first = dump_all()

    stats = save_pull_requests(team, prs)

    assert dump_all() == first
    assert stats.prs_created == 0
    assert stats.prs_updated == 5
    assert stats.members_created == 0
    assert PullRequest.objects.count() == 5
    assert PRReview.objects.count() == 10


def test_a_resave_moves_synced_at_forward():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(1)])
    first = PullRequest.objects.get().synced_at
    save_pull_requests(team, [make_pr(1)])
    assert PullRequest.objects.get().synced_at >= first


def test_children_no_longer_on_github_are_deleted():
    team = TeamFactory()
    pr = make_pr(1)
    save_pull_requests(team, [pr])
    # A force-push: one commit and one file gone, a check run replaced, a review added.
    pushed = dataclasses.replace(
        pr,
        commits=pr.commits[1:],
        files=pr.files[:1],
        check_runs=(FetchedCheckRun(9999, "tests", "completed", "failure", None, None, "CI"),),
        reviews=(
            *pr.reviews,
            FetchedReview(1003, CAROL, "commented", "hm", T0 + timedelta(hours=7)),
        ),
    )

    stats = save_pull_requests(team, [pushed])

    row = PullRequest.objects.get()
    assert list(row.commits.values_list("sha", flat=True)) == ["0001bbbb"]
    assert list(row.files.values_list("filename", flat=True)) == ["src/app.py"]
    assert list(row.check_runs.values_list("github_check_run_id", flat=True)) == [9999]
    assert row.reviews.count() == 3
    assert row.ci_passed is False
    assert stats.prs_updated == 1


def test_children_changed_in_place_are_updated():
    team = TeamFactory()
    running = FetchedCheckRun(77, "tests", "in_progress", None, T0, None, "CI")
    pr = make_pr(1, check_runs=(running,))
    save_pull_requests(team, [pr])
    assert PullRequest.objects.get().ci_passed is None

    done = dataclasses.replace(
        running, status="completed", conclusion="success", completed_at=T0 + timedelta(minutes=2)
    )
    edited = dataclasses.replace(pr.reviews[0], body="edited")
    bigger = dataclasses.replace(pr.files[0], additions=99)
    save_pull_requests(
        team,
        [
            dataclasses.replace(
                pr,
                check_runs=(done,),
                reviews=(edited, *pr.reviews[1:]),
                files=(bigger, *pr.files[1:]),
            )
        ],
    )

    row = PullRequest.objects.get()
    run = row.check_runs.get()
    assert (run.status, run.conclusion, run.duration_seconds) == ("completed", "success", 120)
    assert row.reviews.get(github_review_id=1001).body == "edited"
    assert row.files.get(filename="src/app.py").changes == 104
    assert row.ci_passed is True


def test_an_unchanged_pull_request_writes_no_child_rows_again():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(1), make_pr(2)])
    with CaptureQueriesContext(connection) as queries:
        save_pull_requests(team, [make_pr(1), make_pr(2)])
    children = ("metrics_prreview", "metrics_commit", "metrics_prfile", "metrics_prcheckrun")
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and any(t in q["sql"] for t in children)
    ]
    assert writes == []


def test_nul_characters_and_over_long_values_are_stored_not_fatal():
    team = TeamFactory()
    long_name = "matrix (" + "x" * 400 + ")"
    odd = make_pr(
        1,
        head_ref="b" * 300,
        body="binary\x00junk",
        commits=(FetchedCommit("abc", None, "N" * 300, "e@example.com", "msg\x00", T0, T0, 1, 0),),
        check_runs=(FetchedCheckRun(1, long_name, "completed", "success", None, None, "CI"),),
    )

    save_pull_requests(team, [odd])
    first = dump_all()
    save_pull_requests(team, [odd])

    row = PullRequest.objects.get()
    assert row.body == "binaryjunk"
    assert row.head_ref == "b" * 255
    assert row.commits.get().message == "msg"
    assert row.commits.get().author_name == "N" * 255
    assert row.check_runs.get().name == long_name[:255]
    assert dump_all() == first


def test_children_of_other_pull_requests_are_left_alone():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(1), make_pr(2)])
    save_pull_requests(team, [dataclasses.replace(make_pr(1), files=())])
    assert PRFile.objects.filter(pull_request__github_pr_id=1).count() == 0
    assert PRFile.objects.filter(pull_request__github_pr_id=2).count() == 2


def test_members_are_created_for_ghosts_bots_and_assignees_and_never_skip_a_pr():
    team = TeamFactory()
    ghost_pr = make_pr(1, author=FetchedUser.ghost(), merged_by=None, assignees=())
    bot_pr = make_pr(
        2,
        author=DEPENDABOT,
        reviews=(FetchedReview(5, FetchedUser.ghost(), "approved", "", T0 + timedelta(hours=1)),),
    )

    save_pull_requests(team, [ghost_pr, bot_pr])

    logins = dict(TeamMember.objects.filter(team=team).values_list("github_login", "is_bot"))
    assert logins == {
        "alice": False,
        "bob": False,
        "carol": False,
        "ghost": False,
        "dependabot[bot]": True,
    }
    assert PullRequest.objects.get(github_pr_id=1).author.github_login == "ghost"
    bot_row = PullRequest.objects.get(github_pr_id=2)
    assert bot_row.author.is_bot and bot_row.is_bot_author
    assert bot_row.reviews.get().reviewer.github_login == "ghost"


def test_a_commit_author_without_an_account_keeps_its_name_but_no_member():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(1)])
    commit = Commit.objects.get(sha="0001bbbb")
    assert commit.author is None
    assert commit.author_name == "Unlinked Person"
    assert commit.author_email == "nobody@example.com"
    assert not TeamMember.objects.filter(github_login="Unlinked Person").exists()


def test_members_gain_details_but_never_lose_them():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(1)])
    # Bob seen again as a bare reviewer (no name, no id): what we knew of him stays.
    bare_bob = FetchedUser("bob")
    carol_named = FetchedUser("carol", 103, "Carol C.", "carol@example.com")
    save_pull_requests(
        team,
        [make_pr(2, merged_by=bare_bob, assignees=(carol_named,))],
    )
    bob = TeamMember.objects.get(github_login="bob")
    carol = TeamMember.objects.get(github_login="carol")
    assert (bob.github_id, bob.display_name) == (102, "Bob B.")
    assert (carol.display_name, carol.email) == ("Carol C.", "carol@example.com")


def test_members_belong_to_their_team():
    first, second = TeamFactory(), TeamFactory()
    save_pull_requests(first, [make_pr(1)])
    stats = save_pull_requests(second, [make_pr(1)])
    assert stats.members_created == 3
    assert stats.prs_created == 1
    assert PullRequest.objects.count() == 2
    assert TeamMember.objects.filter(team=second).count() == 3


def test_a_page_that_lists_a_pr_twice_keeps_the_newest():
    team = TeamFactory()
    old = make_pr(1, title="old")
    new = dataclasses.replace(old, title="new", updated_at=old.updated_at + timedelta(hours=1))
    stats = save_pull_requests(team, [new, old])
    assert PullRequest.objects.get().title == "new"
    assert stats.prs_created == 1


def test_updates_to_a_pull_request_are_written():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(1, state="open", merged_at=None, closed_at=None)])
    assert PullRequest.objects.get().cycle_time_hours is None
    save_pull_requests(team, [make_pr(1)])
    row = PullRequest.objects.get()
    assert row.state == "merged"
    assert row.cycle_time_hours == 30.0


def test_on_commit_runs_inside_the_transaction_and_a_failure_keeps_nothing():
    team = TeamFactory()
    seen: list[int] = []

    def checkpoint() -> None:
        seen.append(PullRequest.objects.count())
        raise RuntimeError("checkpoint store failed")

    with pytest.raises(RuntimeError):
        save_pull_requests(team, [make_pr(1), make_pr(2)], on_commit=checkpoint)

    assert seen == [2]
    assert PullRequest.objects.count() == 0
    assert TeamMember.objects.count() == 0


def test_save_page_stores_rows_checkpoint_and_state_together():
    tracked = TrackedRepositoryFactory(full_name="acme/rocket")
    checkpoint = {
        "mode": "full",
        "cursor": "Y3Vyc29yOjI1",
        "page_size": 25,
        "high_water": "2024-03-02T15:00:00+00:00",
        "started_at": "2024-03-05T00:00:00+00:00",
        "prs_done": 2,
    }

    stats = save_page(
        tracked, [make_pr(1), make_pr(2)], checkpoint, status="running", rate_limit_remaining=4990
    )

    stored = TrackedRepository.objects.get(pk=tracked.pk)
    assert stored.checkpoint == checkpoint
    assert stored.status == "running"
    assert stored.rate_limit_remaining == 4990
    assert tracked.checkpoint == checkpoint
    assert stats.prs_created == 2
    assert PullRequest.objects.filter(team=tracked.team).count() == 2


def test_save_page_rejects_unknown_state_fields_before_writing():
    tracked = TrackedRepositoryFactory()
    with pytest.raises(TypeError, match="no_such_field"):
        save_page(tracked, [make_pr(1)], None, no_such_field=1)
    assert PullRequest.objects.count() == 0


def test_save_page_with_no_prs_still_stores_the_checkpoint():
    tracked = TrackedRepositoryFactory()
    save_page(tracked, [], None, status="ok")
    stored = TrackedRepository.objects.get(pk=tracked.pk)
    assert (stored.checkpoint, stored.status) == (None, "ok")


def test_one_saved_pr_is_one_stored_row_of_its_team():
    team = TeamFactory()
    save_pull_requests(team, [make_pr(3)])
    row = PullRequest.objects.get(team=team, github_pr_id=3)
    assert isinstance(row, PullRequest)
    assert (row.github_pr_id, row.team_id) == (3, team.pk)


def test_save_stats_add_up():
    total = SaveStats(1, 2, 3, 4, 5, 6, 7) + SaveStats(1, 1, 1, 1, 1, 1, 1)
    assert total == SaveStats(2, 3, 4, 5, 6, 7, 8)
    assert total.prs_saved == 5


def test_a_page_of_25_prs_is_written_in_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    team = TeamFactory()
    prs = [make_pr(n) for n in range(1, 26)]
    with django_assert_max_num_queries(19):
        save_pull_requests(team, prs)
    # The second save (all updates, children compared) is bounded the same way.
    with django_assert_max_num_queries(19):
        save_pull_requests(team, prs)


def test_a_heavy_pr_with_hundreds_of_children_lands_complete():
    team = TeamFactory()
    files = tuple(FetchedFile(f"src/file_{i}.py", "modified", i, 1) for i in range(700))
    commits = tuple(
        FetchedCommit(f"{i:040x}", ALICE, "Alice", "a@example.com", "m", T0, T0, 1, 0)
        for i in range(300)
    )
    save_pull_requests(team, [make_pr(500, files=files, commits=commits)])
    row = PullRequest.objects.get()
    assert row.files.count() == 700
    assert row.commits.count() == 300
    save_pull_requests(team, [make_pr(500, files=files[:10], commits=commits[:5])])
    assert row.files.count() == 10
    assert row.commits.count() == 5


def _race_two_writers(team_slug: str) -> dict[str, Any]:
    """Two threads save overlapping pages three times each, at once; report what was stored."""
    import threading

    from django.db import connections

    from apps.metrics.models import Team

    team = Team.objects.create(name=team_slug, slug=team_slug)
    pages = [[make_pr(n) for n in range(1, 16)], [make_pr(n) for n in range(10, 26)]]
    errors: list[str] = []
    start = threading.Barrier(2)

    def write(page: list[FetchedPRFull]) -> None:
        try:
            start.wait()
            for _ in range(3):
                save_pull_requests(team, page)
        except Exception as exc:  # reported in the result, from the caller's thread
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(page,)) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "errors": errors,
        "prs": PullRequest.objects.filter(team=team).count(),
        "reviews": PRReview.objects.filter(pull_request__team=team).count(),
        "members": TeamMember.objects.filter(team=team).count(),
    }


_RACE_SCRIPT = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from apps.metrics.tests.test_writer import _race_two_writers
print(json.dumps(_race_two_writers("race")))
"""


@pytest.mark.django_db(transaction=True)
def test_two_writers_saving_overlapping_pages_at_once_leave_one_copy_of_each_row(tmp_path):
    if connection.vendor == "postgresql":
        result = _race_two_writers("race")
    else:
        # The SQLite test database is shared-cache in-memory, which locks differently from the
        # file a deployment uses: race on a real file, in a child process.
        import json
        import os
        import subprocess
        import sys
        from pathlib import Path

        root = Path(__file__).resolve().parents[3]
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(
            SQLITE_PATH=str(tmp_path / "race.sqlite3"), DJANGO_SETTINGS_MODULE="config.settings"
        )
        done = subprocess.run(
            [sys.executable, "-c", _RACE_SCRIPT],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result == {"errors": [], "prs": 25, "reviews": 50, "members": 3}
