"""The team lead's pages through Django's test client: figures by hand, filters, CSV, query counts."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.dashboard.synthetic import SyntheticTeam
from apps.dashboard.views_lead import QUERY_BUDGETS
from apps.metrics.models import PRTimelineEvent, PullRequest
from apps.metrics.percentiles import grouped_percentiles
from apps.metrics.tests.factories import (
    CommitFactory,
    PRCheckRunFactory,
    PRReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
)

pytestmark = pytest.mark.django_db

PAGES = ["stages", "attention", "people", "people/alice", "repos", "labels", "ci"]


def metric(html: str, key: str) -> str:
    found = re.search(rf'data-metric="{re.escape(key)}">([^<]*)<', html)
    assert found, key
    return found.group(1)


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def row_texts(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.mark.parametrize("page", PAGES)
def test_every_lead_page_sends_anonymous_visitors_to_the_login_page(
    client: Client, page: str
) -> None:
    response = client.get(f"/teams/acme/{page}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("page", "budget"),
    [
        (path, QUERY_BUDGETS[path.split("/")[0] if path != "people/alice" else "person"])
        for path in PAGES
    ],
)
def test_every_lead_page_loads_with_data_within_its_query_budget(
    client_in: Client, acme: SyntheticTeam, django_assert_max_num_queries, page: str, budget: int
) -> None:
    with django_assert_max_num_queries(budget):
        response = client_in.get(f"/teams/acme/{page}/")
    assert response.status_code == 200
    html = response.content.decode()
    # Each page says which date its range counts PRs by.
    assert re.search(r'class="range basis">.*<strong>(merged|created|open now)</strong>', html)
    tables = re.findall(r'<table class="data lead" id="([^"]+)"', html)
    assert tables
    # Some table holds rows of data, not just its "nothing here" line.
    assert any(
        row_texts(html, t)
        and 'class="empty"' not in html.split(f'id="{t}"', 1)[1].split("</table>")[0]
        for t in tables
    ), page
    for table in tables:
        assert f"format=csv&amp;table={table}" in html


def test_the_stage_chart_stacks_the_four_stages_per_week(
    client_in: Client, acme: SyntheticTeam
) -> None:
    html = client_in.get("/teams/acme/stages/").content.decode()
    chart = re.search(r'<svg[^>]*data-chart="stages"[^>]*data-points="(\d+)"', html)
    assert chart and int(chart.group(1)) > 12
    for stage in ("coding", "pickup", "review", "merge"):
        assert f"<title>{stage}, " in html
    assert html.count('data-change="') == 7


def _merged(team, dev, merged_at: datetime, **fields) -> PullRequest:  # type: ignore[no-untyped-def]
    return PullRequestFactory(
        team=team,
        author=dev,
        pr_created_at=merged_at - timedelta(hours=30),
        merged_at=merged_at,
        **fields,
    )


def test_the_stage_cards_show_the_change_against_the_previous_period(client_in: Client) -> None:
    team = TeamFactory(slug="stages")
    dev = TeamMemberFactory(team=team, github_login="dev")
    end = datetime(2024, 3, 15, tzinfo=UTC)
    # This period (Mar 1-14): pickup 2 and 4 h (median 3); previous (Feb 16-29): 10 h.
    for pickup in (2.0, 4.0):
        _merged(team, dev, end - timedelta(days=3), pickup_time_hours=pickup, cycle_time_hours=20.0)
    _merged(team, dev, end - timedelta(days=20), pickup_time_hours=10.0, cycle_time_hours=30.0)
    html = client_in.get("/teams/stages/stages/?start=2024-03-01&end=2024-03-14").content.decode()
    assert metric(html, "merged") == "2"
    assert metric(html, "pickup") == "3.0 h"
    change = re.search(r'data-change="pickup">([^<]*)<', html).group(1)
    assert change.startswith("-7.0 h (-70.0%) vs 10.0 h before")
    assert 'class="sub change change-better" data-change="pickup"' in html
    assert re.search(r'data-change="cycle">-10.0 h', html)
    # A stage no PR went through is unknown on both sides: nothing to compare, not a zero.
    assert metric(html, "merge") == "—"
    assert re.search(r'data-change="merge">no figure to compare<', html)


def test_the_weekly_stage_csv_holds_every_week(client_in: Client, acme: SyntheticTeam) -> None:
    rows = csv_rows(client_in.get("/teams/acme/stages/?weeks=12&format=csv&table=weeks"))
    assert rows[0][:3] == ["week (Monday)", "merged", "coding median (h)"]
    assert len(rows) == 13
    assert sum(int(r[1]) for r in rows[1:]) > 0


def test_needs_attention_lists_each_kind_of_open_pr(client_in: Client) -> None:
    team = TeamFactory(slug="att")
    dev = TeamMemberFactory(team=team, github_login="dev")
    rev = TeamMemberFactory(team=team, github_login="rev")
    now = timezone.now()

    def open_pr(number: int, **fields) -> PullRequest:  # type: ignore[no-untyped-def]
        fields.setdefault("pr_created_at", now - timedelta(days=2))
        fields.setdefault("pr_updated_at", now - timedelta(hours=1))
        return PullRequestFactory(
            team=team, author=dev, github_pr_id=number, state="open", merged_at=None,
            title=f"PR {number}", **fields,
        )  # fmt: skip

    # Ready three days ago after a week as a draft: waiting since ready, not since creation.
    open_pr(1, pr_created_at=now - timedelta(days=10), ready_for_review_at=now - timedelta(days=3))
    # Changes requested after the last commit: waiting for the author.
    waiting_author = open_pr(2, first_review_at=now - timedelta(days=1))
    CommitFactory(pull_request=waiting_author, committed_at=now - timedelta(days=2))
    PRReviewFactory(
        pull_request=waiting_author, reviewer=rev, state="changes_requested",
        submitted_at=now - timedelta(days=1),
    )  # fmt: skip
    # Changes requested, then a new commit: not waiting for the author any more.
    answered = open_pr(3, first_review_at=now - timedelta(days=1))
    PRReviewFactory(
        pull_request=answered, reviewer=rev, state="changes_requested",
        submitted_at=now - timedelta(days=1),
    )  # fmt: skip
    CommitFactory(pull_request=answered, committed_at=now - timedelta(hours=2))
    # Changes requested, then a force push: the new code came as a force push.
    pushed = open_pr(4, first_review_at=now - timedelta(days=1))
    CommitFactory(pull_request=pushed, committed_at=now - timedelta(days=2))
    PRReviewFactory(
        pull_request=pushed, reviewer=rev, state="changes_requested",
        submitted_at=now - timedelta(days=1),
    )  # fmt: skip
    PRTimelineEvent.objects.create(
        pull_request=pushed, kind="head_ref_force_pushed", created_at=now - timedelta(hours=3),
        github_id="FP_4",
    )  # fmt: skip
    # Nothing for 20 days.
    open_pr(5, first_review_at=now - timedelta(days=25), pr_created_at=now - timedelta(days=30),
            pr_updated_at=now - timedelta(days=20))  # fmt: skip
    # A draft for 12 days.
    open_pr(6, is_draft=True, pr_created_at=now - timedelta(days=12))
    # A merged PR never needs attention.
    PullRequestFactory(
        team=team, author=dev, github_pr_id=7, pr_created_at=now - timedelta(days=40)
    )

    html = client_in.get("/teams/att/attention/?days=14").content.decode()
    numbers = {
        table: [int(re.search(r"\d+", row).group(0)) for row in row_texts(html, table)
                if "class=\"empty\"" not in row and re.search(r"\d", row)]
        for table in ("waiting", "changes", "stale", "drafts")
    }  # fmt: skip
    assert numbers == {"waiting": [1], "changes": [2], "stale": [5], "drafts": []}
    waiting = row_texts(html, "waiting")
    assert "3.0" in waiting[0]  # days since ready, not 10 since creation
    html = client_in.get("/teams/att/attention/?days=7").content.decode()
    assert "PR 6" in "".join(row_texts(html, "drafts"))
    rows = csv_rows(client_in.get("/teams/att/attention/?days=7&format=csv&table=drafts"))
    assert rows[1][0] == "6"
    assert rows[1][-1] == "https://github.com/acme/rocket/pull/6"


def test_a_person_page_shows_their_prs_reviews_and_pickup_as_reviewer(client_in: Client) -> None:
    team = TeamFactory(slug="ppl")
    ann = TeamMemberFactory(team=team, github_login="ann")
    bo = TeamMemberFactory(team=team, github_login="bo")
    day = datetime(2024, 5, 6, 9, tzinfo=UTC)
    mine = PullRequestFactory(team=team, author=ann, pr_created_at=day, title="Ann's change")
    # Bo asked for a review at +1 h, ann reviewed at +4 h: pickup 3 h.
    theirs = PullRequestFactory(team=team, author=bo, pr_created_at=day)
    PRTimelineEvent.objects.create(
        pull_request=theirs, kind="review_requested", requested_reviewer_login="ann",
        created_at=day + timedelta(hours=1), github_id="RR_1",
    )  # fmt: skip
    PRReviewFactory(pull_request=theirs, reviewer=ann, submitted_at=day + timedelta(hours=4))
    # Unrequested: from ready for review (+2 h) to ann's review at +7 h, 5 h; a review while
    # it was a draft is not a pickup.
    draft_first = PullRequestFactory(
        team=team, author=bo, pr_created_at=day, ready_for_review_at=day + timedelta(hours=2)
    )
    PRReviewFactory(pull_request=draft_first, reviewer=ann, submitted_at=day + timedelta(hours=7))
    early = PullRequestFactory(
        team=team, author=bo, pr_created_at=day, ready_for_review_at=day + timedelta(hours=9)
    )
    PRReviewFactory(pull_request=early, reviewer=ann, submitted_at=day + timedelta(hours=1))
    # Ann's reply on her own PR is not a review.
    PRReviewFactory(pull_request=mine, reviewer=ann, state="commented")

    html = client_in.get("/teams/ppl/people/ann/?start=2024-05-01&end=2024-05-31").content.decode()
    assert metric(html, "created") == "1"
    assert metric(html, "reviews") == "3"
    assert metric(html, "reviewer-pickup") == "4.0 h"  # median of 3 and 5
    assert "Ann&#x27;s change" in "".join(row_texts(html, "prs"))
    assert len(row_texts(html, "reviews")) == 3
    assert client_in.get("/teams/ppl/people/nobody/").status_code == 404
    people = client_in.get("/teams/ppl/people/?start=2024-05-01&end=2024-05-31").content.decode()
    assert 'href="/teams/ppl/people/ann/"' in people


def test_the_repository_comparison_has_hand_computed_medians(client_in: Client) -> None:
    team = TeamFactory(slug="repos")
    dev = TeamMemberFactory(team=team, github_login="dev")
    when = datetime(2024, 6, 12, tzinfo=UTC)
    for repo, cycles in (("acme/a", (1.0, 3.0, 8.0)), ("acme/b", (10.0, 20.0))):
        for cycle in cycles:
            _merged(team, dev, when, github_repo=repo, cycle_time_hours=cycle, ci_passed=True)
    rows = csv_rows(client_in.get(
        "/teams/repos/repos/?start=2024-06-01&end=2024-06-30&format=csv&table=repos"
    ))  # fmt: skip
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    assert body["acme/a"][header.index("merged")] == "3"
    assert body["acme/a"][header.index("cycle median (h)")] == "3.0"
    assert body["acme/a"][header.index("cycle p75 (h)")] == "5.5"
    assert body["acme/b"][header.index("cycle median (h)")] == "15.0"
    assert body["acme/b"][header.index("CI success rate")] == "1.0"
    # Unknown is not zero: no stage data, an empty cell.
    assert body["acme/b"][header.index("pickup median (h)")] == ""


def test_labels_break_down_and_filter_every_page(client_in: Client) -> None:
    team = TeamFactory(slug="lbl")
    dev = TeamMemberFactory(team=team, github_login="dev")
    when = datetime(2024, 6, 12, tzinfo=UTC)
    _merged(team, dev, when, labels=["bug"], cycle_time_hours=2.0)
    _merged(team, dev, when, labels=["bug", "ui"], cycle_time_hours=6.0)
    _merged(team, dev, when, labels=["bugfix"], cycle_time_hours=50.0)
    _merged(team, dev, when, labels=[], cycle_time_hours=9.0)
    rng = "start=2024-06-01&end=2024-06-30"
    rows = csv_rows(client_in.get(f"/teams/lbl/labels/?{rng}&format=csv&table=labels"))
    body = {r[0]: r[1:3] for r in rows[1:]}
    assert body == {"bug": ["2", "4.0"], "ui": ["1", "6.0"], "bugfix": ["1", "50.0"],
                    "(no label)": ["1", "9.0"]}  # fmt: skip
    html = client_in.get(f"/teams/lbl/stages/?{rng}&label=bug").content.decode()
    assert metric(html, "merged") == "2"
    assert metric(html, "cycle") == "4.0 h"
    assert "labelled <strong>bug</strong>" in html
    repos = csv_rows(client_in.get(f"/teams/lbl/repos/?{rng}&label=ui&format=csv&table=repos"))
    assert repos[1][1] == "1"
    # The PR list takes the label too, and keeps it in its links and its form.
    prs = client_in.get("/teams/lbl/prs/?start=2024-06-01&end=2024-06-30&label=bug").content
    html = prs.decode()
    assert re.search(
        r"class=\"count\">\S+ PRs <strong>created</strong> in range labelled <strong>bug</strong>",
        html,
    ), html[html.find('class="count"') :][:300]
    assert '<input type="hidden" name="label" value="bug">' in html
    assert re.search(r'href="\?[^"]*label=bug[^"]*&amp;format=csv"', html)


def test_ci_shows_median_durations_and_flaky_checks(client_in: Client) -> None:
    team = TeamFactory(slug="ci")
    created = timezone.now() - timedelta(days=3)
    one = PullRequestFactory(team=team, pr_created_at=created)
    two = PullRequestFactory(team=team, pr_created_at=created)
    for pr, seconds in ((one, 60), (two, 180)):
        PRCheckRunFactory(pull_request=pr, name="lint", duration_seconds=seconds)
    # tests: failed then passed on PR one (flaky); failed then failed on PR two (not flaky).
    PRCheckRunFactory(pull_request=one, name="tests", conclusion="failure", duration_seconds=600,
                      github_check_run_id=10)  # fmt: skip
    PRCheckRunFactory(pull_request=one, name="tests", conclusion="success", duration_seconds=300,
                      github_check_run_id=11)  # fmt: skip
    PRCheckRunFactory(pull_request=two, name="tests", conclusion="success", duration_seconds=900,
                      github_check_run_id=20)  # fmt: skip
    PRCheckRunFactory(pull_request=two, name="tests", conclusion="failure", duration_seconds=60,
                      github_check_run_id=21)  # fmt: skip
    PRCheckRunFactory(pull_request=two, name="deploy", status="in_progress", conclusion=None,
                      completed_at=None, duration_seconds=None)  # fmt: skip

    checks = csv_rows(client_in.get("/teams/ci/ci/?weeks=4&format=csv&table=checks"))
    header, body = checks[0], {r[0]: r for r in checks[1:]}
    assert body["lint"][header.index("median duration (min)")] == "2.0"
    assert body["tests"][header.index("runs")] == "4"
    assert body["tests"][header.index("flaky PRs")] == "1"
    assert body["tests"][header.index("success rate")] == "0.5"
    assert body["lint"][header.index("flaky PRs")] == "0"
    # A run still going has no duration: unknown, not zero minutes.
    assert body["deploy"][header.index("median duration (min)")] == ""
    assert body["deploy"][header.index("success rate")] == ""
    flaky = csv_rows(client_in.get("/teams/ci/ci/?weeks=4&format=csv&table=flaky"))
    assert [(r[0], r[1]) for r in flaky[1:]] == [("tests", str(one.github_pr_id))]
    html = client_in.get("/teams/ci/ci/?weeks=4").content.decode()
    assert re.search(r'data-chart="ci-durations" data-points="2"', html)


def test_an_unknown_csv_table_is_a_404(client_in: Client, acme: SyntheticTeam) -> None:
    assert client_in.get("/teams/acme/ci/?format=csv&table=nope").status_code == 404


def test_a_csv_cell_that_looks_like_a_formula_is_quoted(client_in: Client) -> None:
    team = TeamFactory(slug="xls")
    PullRequestFactory(team=team, title="=HYPERLINK(1)", state="open", merged_at=None,
                       pr_created_at=timezone.now(), pr_updated_at=timezone.now())  # fmt: skip
    rows = csv_rows(client_in.get("/teams/xls/attention/?format=csv&table=waiting"))
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_grouped_percentiles_interpolate_like_percentile_cont() -> None:
    team = TeamFactory(slug="pct")
    for repo, values in (("a/a", (1, 2, 3, 4)), ("a/b", (5,)), ("a/c", ())):
        for v in values:
            PullRequestFactory(team=team, github_repo=repo, cycle_time_hours=float(v))
    PullRequestFactory(team=team, github_repo="a/c", cycle_time_hours=None)
    got = grouped_percentiles(
        PullRequest.objects.filter(team=team), "github_repo", {"c": "cycle_time_hours"},
        ((1, 2), (3, 4)),
    )  # fmt: skip
    assert got["a/a"].rows == 4
    assert got["a/a"].median("c") == 2.5
    assert got["a/a"].p75("c") == 3.25
    assert got["a/b"].median("c") == 5.0
    assert got["a/c"].rows == 1
    assert got["a/c"].median("c") is None
    everything = grouped_percentiles(
        PullRequest.objects.filter(team=team), None, {"c": "cycle_time_hours"}
    )
    assert everything[0].rows == 6
    assert everything[0].median("c") == 3.0


def test_the_pr_list_links_titles_to_github_and_exports_every_row(
    client_in: Client, acme: SyntheticTeam
) -> None:
    html = client_in.get("/teams/acme/prs/?repo=acme/api").content.decode()
    assert re.search(
        r'<td class="title"><a href="https://github.com/acme/api/pull/\d+" rel="noopener" '
        r'target="_blank">Synthetic change \d+</a>',
        html,
    )
    assert "PRs <strong>created</strong> in range" in html
    count = int(re.search(r"(\d+) PRs <strong>created", html).group(1))
    assert count > 50  # more than one page: the CSV is not just the page
    rows = csv_rows(client_in.get("/teams/acme/prs/?repo=acme/api&sort=-cycle&format=csv"))
    assert rows[0][:3] == ["github_pr_id", "github_repo", "title"]
    assert len(rows) - 1 == count
    assert {r[1] for r in rows[1:]} == {"acme/api"}
    cycles = [float(r[9]) for r in rows[1:] if r[9]]
    assert cycles == sorted(cycles, reverse=True)


def test_the_team_page_tables_export_as_csv(client_in: Client, acme: SyntheticTeam) -> None:
    html = client_in.get("/teams/acme/").content.decode()
    reviewers = csv_rows(client_in.get("/teams/acme/?format=csv&table=reviewers"))
    assert reviewers[0][0] == "reviewer"
    assert (
        len(reviewers) - 1 == html.split('id="reviewers"')[1].split("</table>")[0].count("<tr>") - 1
    )
    sizes = csv_rows(client_in.get("/teams/acme/?format=csv&table=sizes"))
    assert [r[0] for r in sizes[1:]] == ["XS", "S", "M", "L", "XL"]
    weeks = csv_rows(client_in.get("/teams/acme/?weeks=12&format=csv&table=weeks"))
    assert len(weeks) == 13
    assert sum(int(r[1]) for r in weeks[1:]) == int(metric(html, "merged"))
    assert client_in.get("/teams/acme/?format=csv&table=nope").status_code == 404


@pytest.mark.parametrize("label", ["", "bug"])
def test_the_stage_page_agrees_with_the_metrics_aggregates(
    client_in: Client, acme: SyntheticTeam, label: str
) -> None:
    from apps.metrics.aggregates import MetricsFilter, stage_medians

    url = f"/teams/acme/stages/?weeks=12&label={label}&format=csv&table=weeks"
    rows = csv_rows(client_in.get(url))
    header = rows[0]
    expected = stage_medians(MetricsFilter.last_weeks(acme.team, 12, label=label))
    if label:
        everything = stage_medians(MetricsFilter.last_weeks(acme.team, 12))
        assert 0 < sum(w.merged for w in expected) < sum(w.merged for w in everything)
    assert len(rows) - 1 == len(expected)
    for row, week in zip(rows[1:], expected, strict=True):
        assert row[0] == week.week.isoformat()
        assert int(row[1]) == week.merged
        for stage in ("coding", "pickup", "review", "merge"):
            value = getattr(week, stage)
            cell = row[header.index(f"{stage} median (h)")]
            assert (cell == "") if value is None else float(cell) == round(value, 2), stage
