"""The pr_metrics and recompute_metrics commands: formats, filters, and one-line refusals."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from apps.metrics.models import PullRequest, Team
from apps.metrics.tests.factories import (
    PRReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Team:
    """Three PRs merged an hour ago (cycle 2, 4 and 9 h; one in acme/api), one still open."""
    team = TeamFactory(slug="acme")
    dev = TeamMemberFactory(team=team, github_login="dev")
    merged = timezone.now() - timedelta(hours=1)
    for number, (hours, repo) in enumerate(
        ((2, "acme/web"), (4, "acme/web"), (9, "acme/api")), start=1
    ):
        PullRequestFactory(
            team=team,
            author=dev,
            github_repo=repo,
            github_pr_id=number,
            pr_created_at=merged - timedelta(hours=hours),
            merged_at=merged,
            cycle_time_hours=float(hours),
            ci_passed=number != 3,
        )
    PullRequestFactory(team=team, author=dev, github_pr_id=4, state="open", merged_at=None)
    return team


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("pr_metrics", *args, stdout=out)
    return out.getvalue()


def test_json_output_carries_the_hand_computed_totals(team: Team) -> None:
    data = json.loads(run("--team", "acme", "--weeks", "2", "--format", "json"))
    assert data["team"] == "acme"
    assert len(data["weeks"]) == 2
    total = data["total"]
    assert total["merged"] == 3
    assert total["cycle_time_p50_hours"] == 4.0
    # 2, 4, 9: p75 at position 1.5 -> 4 + 0.5 * 5.
    assert total["cycle_time_p75_hours"] == 6.5
    assert total["ci_success_rate"] == pytest.approx(0.6667, abs=1e-4)


def test_csv_output_has_one_row_per_week_and_a_total(team: Team) -> None:
    weeks = run("--team", "acme", "--weeks", "3", "--format", "csv").split("\n\n")[0]
    rows = list(csv.DictReader(io.StringIO(weeks)))
    assert [r["week"] for r in rows][-1] == "total"
    assert len(rows) == 4
    assert rows[-1]["merged"] == "3"
    assert rows[-1]["cycle_time_p50_hours"] == "4.0"


def test_the_table_ends_with_a_one_line_summary(team: Team) -> None:
    out = run("--team", "acme", "--weeks", "2")
    assert "Cycle p50" in out
    assert out.strip().splitlines()[-1].startswith("acme: 3 PRs merged in 2 week(s)")


def test_a_repository_filter_narrows_the_figures(team: Team) -> None:
    data = json.loads(
        run("--team", "acme", "--weeks", "2", "--repo", "acme/api", "--format", "json")
    )
    assert data["total"]["merged"] == 1
    assert data["total"]["cycle_time_p50_hours"] == 9.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nope"], "unknown team 'nope'; known teams: acme"),
        (["--team", "acme", "--weeks", "0"], "--weeks must be at least 1, got 0"),
        (["--team", "acme", "--weeks", "many"], "--weeks must be a whole number, got 'many'"),
        (["--team", "acme", "--repo", "not-a-repo"], "--repo must look like OWNER/NAME"),
        (
            ["--team", "acme", "--repo", "nope/nope"],
            "unknown repository 'nope/nope' for team 'acme'; its repositories: acme/api, ",
        ),
        (["--team", "acme", "--member", "nobody"], "unknown member 'nobody' of team 'acme'"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    team: Team, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    command = load_command_class("apps.metrics", "pr_metrics")
    with pytest.raises(SystemExit) as exit_info:
        command.run_from_argv(["manage.py", "pr_metrics", *args])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err


def test_recompute_metrics_rewrites_stale_values(team: Team) -> None:
    pr = PullRequest.objects.get(team=team, github_pr_id=1)
    PullRequest.objects.filter(pk=pr.pk).update(cycle_time_hours=999.0, size_bucket="XL")
    out = io.StringIO()
    call_command("recompute_metrics", "--team", "acme", "--repo", "acme/web", stdout=out)
    pr.refresh_from_db()
    assert pr.cycle_time_hours == pytest.approx(2.0)
    assert pr.size_bucket == "S"
    assert out.getvalue().startswith("recomputed metrics of 2 PRs:")


def test_recompute_metrics_refuses_an_unknown_team(team: Team) -> None:
    with pytest.raises(CommandError, match="unknown team 'ghosts'"):
        call_command("recompute_metrics", "--team", "ghosts")


def test_a_range_with_nothing_merged_says_when_the_newest_merge_was(team: Team) -> None:
    PullRequest.objects.filter(team=team).exclude(merged_at=None).update(
        merged_at=timezone.now() - timedelta(weeks=30)
    )
    out = run("--team", "acme", "--weeks", "4")
    last = out.strip().splitlines()[-1]
    assert last.startswith("no PR of acme merged from ")
    assert "the newest was merged " in last and "(--weeks 31 reaches it)" in last
    err = io.StringIO()
    call_command(
        "pr_metrics", "--team", "acme", "--format", "json", stdout=io.StringIO(), stderr=err
    )
    assert err.getvalue().startswith("no PR of acme merged from ")  # stdout keeps to the JSON


def test_a_team_without_any_merged_pr_says_so(team: Team) -> None:
    PullRequest.objects.filter(team=team).update(merged_at=None, state="open")
    last = run("--team", "acme").strip().splitlines()[-1]
    assert last.endswith("none of its 4 stored PRs is merged yet")


def test_repository_and_member_match_whatever_their_case(team: Team) -> None:
    data = json.loads(
        run("--team", "acme", "--repo", "ACME/Api", "--member", "DEV", "--format", "json")
    )
    assert (data["repo"], data["member"], data["total"]["merged"]) == ("acme/api", "dev", 1)


def test_no_review_collected_is_no_review_data_not_zero_percent(team: Team) -> None:
    out = run("--team", "acme", "--weeks", "2")
    assert "reviewed by someone else no review data" in out
    total_row = next(line for line in out.splitlines() if "total" in line)
    assert "no data" in total_row
    total = json.loads(run("--team", "acme", "--format", "json"))["total"]
    assert (total["reviewed_share"], total["review_data"], total["reviewed"]) == (None, False, None)


def test_reviewed_share_is_a_figure_once_any_review_is_collected(team: Team) -> None:
    pr = PullRequest.objects.filter(team=team, github_repo="acme/api").get()
    PRReviewFactory(pull_request=pr, reviewer=TeamMemberFactory(team=team, github_login="rev"))
    total = json.loads(run("--team", "acme", "--format", "json"))["total"]
    assert total["review_data"] is True and total["reviewed_share"] == 0.0


def test_table_rounds_and_csv_review_rounds_are_the_same_figure_per_merged_pr(team: Team) -> None:
    PullRequest.objects.filter(team=team, github_pr_id__in=[1, 2]).update(review_rounds=3)
    table = run("--team", "acme", "--weeks", "2")
    csv_text = run("--team", "acme", "--weeks", "2", "--format", "csv")
    total = [r for r in csv.DictReader(io.StringIO(csv_text.split("\n\n")[0]))][-1]
    assert "Rounds/PR" in table and "review_rounds" not in csv_text.split("\n")[0].replace(
        "review_rounds_per_pr", ""
    ).replace("review_rounds_total", "")
    assert (total["review_rounds_per_pr"], total["review_rounds_total"]) == ("2.0", "6")
    total_row = next(line for line in table.splitlines() if "total" in line)
    assert "2.00" in total_row


def test_the_csv_and_json_carry_the_reviewer_table(team: Team) -> None:
    pr = PullRequest.objects.filter(team=team, github_repo="acme/api").get()
    reviewer = TeamMemberFactory(team=team, github_login="rev")
    PRReviewFactory(
        pull_request=pr, reviewer=reviewer, state="approved", submitted_at=timezone.now()
    )
    _, reviewers = run("--team", "acme", "--format", "csv").split("\n\n")
    rows = list(csv.DictReader(io.StringIO(reviewers)))
    assert rows == [
        {
            "reviewer": "rev",
            "is_bot": "False",
            "reviews": "1",
            "prs_reviewed": "1",
            "approvals": "1",
            "changes_requested": "0",
        }
    ]
    data = json.loads(run("--team", "acme", "--format", "json"))
    assert [r["login"] for r in data["reviewers"]] == ["rev"]
