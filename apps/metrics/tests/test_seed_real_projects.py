"""seed_real_projects end to end against fakehub: the seed's example, the cache, bad input."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.metrics.models import PRCheckRun, PullRequest, Team, TrackedRepository
from apps.metrics.seeding.cache import CACHE_FORMAT, PRCache, get_cache_path, team_cache_dir
from apps.metrics.tests.seed_support import snapshot
from fakehub.control import FakeHubControl
from fakehub.server import FakeHub

ROOT = Path(__file__).resolve().parents[3]
ANTIWORK = [("antiwork/gumroad", 40, 1), ("antiwork/flexile", 60, 2), ("antiwork/helper", 30, 3)]


@pytest.fixture
def antiwork(fakehub_factory, settings, tmp_path):
    hub = fakehub_factory(synthetic=ANTIWORK)
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "dummy-token"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path / "cache"
    return hub


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_real_projects", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_seed_example_costs_at_most_six_requests(antiwork):
    output = seed("--project", "antiwork", "--max-prs", "10")

    stats = antiwork.stats()
    assert stats["requests"] <= 6
    assert stats["requests_while_limited"] == 0
    assert PullRequest.objects.filter(team__slug="antiwork").count() == 30
    assert "total: 3 repositories, 30 PRs" in output


@pytest.mark.django_db
def test_seeding_twice_gives_identical_rows_and_the_rerun_costs_no_points(antiwork):
    seed("--project", "antiwork")
    first = snapshot("antiwork")
    antiwork.reset_stats()

    seed("--project", "antiwork")

    stats = antiwork.stats()
    assert snapshot("antiwork") == first
    assert len(first["prs"]) == 130
    assert stats["graphql_points"] == 0
    assert stats["requests"] == 3  # one 304 probe per repository
    assert stats["not_modified"] == 3


@pytest.mark.django_db
def test_every_pr_lands_with_members_created_on_the_fly(antiwork):
    seed("--project", "antiwork")

    team = Team.objects.get(slug="antiwork")
    assert PullRequest.objects.filter(team=team, author__isnull=True).count() == 0
    logins = set(team.members.values_list("github_login", flat=True))
    authors = set(
        PullRequest.objects.filter(team=team).values_list("author__github_login", flat=True)
    )
    assert authors <= logins
    snap = snapshot("antiwork")
    assert snap["reviews"] and snap["commits"] and snap["files"] and snap["check_runs"]
    assert all(row[1] == "closed" for row in snap["tracked"])  # no walk left open


@pytest.mark.django_db
def test_clear_refills_the_database_from_the_cache_without_graphql(antiwork):
    seed("--project", "antiwork")
    before = snapshot("antiwork")
    antiwork.reset_stats()

    output = seed("--project", "antiwork", "--clear")

    assert snapshot("antiwork") == before
    assert antiwork.stats()["graphql_points"] == 0
    assert "cleared 130 PRs" in output


@pytest.mark.django_db
def test_no_cache_neither_reads_nor_writes_the_cache(antiwork, settings):
    seed("--project", "antiwork", "--max-prs", "5", "--no-cache")

    assert not Path(settings.SEEDING_CACHE_DIR).exists() or not any(
        Path(settings.SEEDING_CACHE_DIR).iterdir()
    )
    antiwork.reset_stats()
    seed("--project", "antiwork", "--max-prs", "5", "--no-cache")
    # Without the cache the database's ETag still makes an unchanged re-run free.
    assert antiwork.stats()["graphql_points"] == 0


# --- options that change what a PR holds: limits, check runs ------------------------------------


def check_runs_of(slug: str = "antiwork") -> int:
    return PRCheckRun.objects.filter(pull_request__team__slug=slug).count()


@pytest.mark.django_db
def test_a_seed_without_check_runs_does_not_keep_a_later_seed_from_storing_them(antiwork):
    seed("--repo", "antiwork/gumroad", "--no-check-runs")
    assert check_runs_of() == 0

    output = seed("--repo", "antiwork/gumroad")

    assert "antiwork/gumroad: unchanged" not in output
    assert check_runs_of() > 0
    header = json.loads(
        get_cache_path("antiwork/gumroad", antiwork_cache(), "antiwork").open().readline()
    )
    assert header["check_runs"] == "graphql"


@pytest.mark.django_db
def test_clear_does_not_refill_check_runs_from_a_cache_fetched_without_them(antiwork):
    seed("--repo", "antiwork/gumroad")
    with_runs = snapshot("antiwork")
    seed("--repo", "antiwork/gumroad", "--no-check-runs", "--clear")
    assert check_runs_of() == 0

    seed("--repo", "antiwork/gumroad", "--clear")

    assert snapshot("antiwork")["check_runs"] == with_runs["check_runs"]


@pytest.mark.django_db
def test_rest_check_runs_are_an_option_the_cache_remembers(antiwork):
    seed("--repo", "antiwork/gumroad", "--max-prs", "3")
    antiwork.reset_stats()

    output = seed("--repo", "antiwork/gumroad", "--max-prs", "3", "--rest-check-runs")

    assert "antiwork/gumroad: unchanged" not in output
    assert antiwork.stats()["graphql_requests"] >= 1
    assert "core requests remain" in output
    header = json.loads(
        get_cache_path("antiwork/gumroad", antiwork_cache(), "antiwork").open().readline()
    )
    assert header["check_runs"] == "rest"


@pytest.mark.django_db
def test_without_the_cache_check_runs_come_back_after_a_seed_without_them(antiwork):
    seed("--repo", "antiwork/gumroad", "--no-cache", "--no-check-runs")

    output = seed("--repo", "antiwork/gumroad", "--no-cache")

    assert "antiwork/gumroad: unchanged" not in output
    assert check_runs_of() > 0


@pytest.mark.django_db
def test_without_the_cache_wider_limits_fetch_what_a_narrower_seed_left_out(antiwork):
    seed("--project", "antiwork", "--no-cache", "--max-prs", "5")
    assert PullRequest.objects.filter(team__slug="antiwork").count() == 15

    output = seed("--project", "antiwork", "--no-cache")

    assert "unchanged" not in output
    assert PullRequest.objects.filter(team__slug="antiwork").count() == 130
    antiwork.reset_stats()
    seed("--project", "antiwork", "--no-cache")
    assert antiwork.stats()["graphql_points"] == 0  # the same options again: 304s


@pytest.mark.django_db
def test_an_all_304_run_shows_the_rest_budget_it_knows(antiwork):
    seed("--project", "antiwork", "--max-prs", "2")

    output = seed("--project", "antiwork", "--max-prs", "2")

    total = output.splitlines()[-1]
    assert total.startswith("total: 3 repositories")
    assert "GraphQL points remaining unknown this run (no GraphQL request)" in total
    core = antiwork.stats()
    assert "REST " in total and " remaining (resets " in total, total
    assert "points remaining unknown" not in total.replace("GraphQL points remaining unknown", "")
    assert core["requests"] >= 3


def antiwork_cache() -> Path:
    from django.conf import settings

    return Path(settings.SEEDING_CACHE_DIR)


@pytest.mark.django_db
def test_refresh_drops_the_cache_and_fetches_again(antiwork):
    seed("--project", "antiwork", "--max-prs", "5")
    antiwork.reset_stats()

    seed("--project", "antiwork", "--max-prs", "5", "--refresh")

    # The three first pages in one many-repository query.
    assert antiwork.stats()["graphql_requests"] == 1
    antiwork.reset_stats()

    seed("--project", "antiwork", "--max-prs", "5", "--refresh", "--per-repo")

    assert antiwork.stats()["graphql_requests"] == 3


@pytest.mark.django_db
def test_the_projects_first_pages_go_in_one_query_and_store_what_one_by_one_stores(antiwork):
    seed("--project", "antiwork", "--max-prs", "10", "--no-cache")
    batched = snapshot("antiwork")
    stats = antiwork.stats()
    # Three probes (their ETags make the next run free), then one query for three first pages.
    assert (stats["requests"], stats["rest_requests"], stats["graphql_requests"]) == (4, 3, 1)

    seed("--project", "antiwork", "--max-prs", "10", "--no-cache", "--clear", "--per-repo")
    assert snapshot("antiwork") == batched
    antiwork.reset_stats()
    seed("--project", "antiwork", "--max-prs", "10", "--no-cache")
    assert antiwork.stats()["graphql_points"] == 0  # unchanged: three 304s


@pytest.mark.django_db
def test_a_corrupt_cache_file_is_replaced_and_the_seed_completes(antiwork, settings, caplog):
    seed("--repo", "antiwork/gumroad", "--max-prs", "5")
    path = get_cache_path("antiwork/gumroad", settings.SEEDING_CACHE_DIR, "antiwork")
    path.write_text("{ not json")

    seed("--repo", "antiwork/gumroad", "--max-prs", "5")

    warnings = [r.getMessage() for r in caplog.records if "corrupt" in r.getMessage()]
    assert len(warnings) == 1
    assert path.read_text().startswith("{") and '"prs"' in path.read_text()


def damage_a_pr_line(path: Path) -> None:
    """Cut one PR line of a cache file short, leaving its header and trailer intact."""
    lines = path.read_text().splitlines()
    lines[5] = lines[5][:40]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.django_db
def test_an_unchanged_rerun_reads_no_pr_of_the_cache(antiwork, settings, caplog):
    seed("--repo", "antiwork/gumroad")
    damage_a_pr_line(get_cache_path("antiwork/gumroad", settings.SEEDING_CACHE_DIR, "antiwork"))
    antiwork.reset_stats()

    output = seed("--repo", "antiwork/gumroad")

    # Only the header and trailer were read: the damaged line went unnoticed, at no cost.
    assert "antiwork/gumroad: unchanged" in output and "corrupt" not in output
    assert not [r for r in caplog.records if "corrupt" in r.getMessage()]
    assert antiwork.stats()["requests"] == 1


@pytest.mark.django_db
def test_a_cache_damaged_inside_is_dropped_in_one_line_and_fetched_again(antiwork, settings):
    seed("--repo", "antiwork/gumroad")
    before = snapshot("antiwork")
    path = get_cache_path("antiwork/gumroad", settings.SEEDING_CACHE_DIR, "antiwork")
    damage_a_pr_line(path)

    output = seed("--repo", "antiwork/gumroad", "--clear")

    assert snapshot("antiwork") == before
    assert output.count("corrupt") == 1
    rebuilt = PRCache.load(
        "antiwork/gumroad", team_cache_dir(settings.SEEDING_CACHE_DIR, "antiwork")
    )
    assert rebuilt is not None and len(list(rebuilt.iter_prs())) == rebuilt.pr_count == 40


@pytest.mark.django_db
def test_an_old_single_document_cache_refills_the_database_and_is_rewritten_as_lines(
    antiwork, settings
):
    seed("--repo", "antiwork/gumroad")
    before = snapshot("antiwork")
    path = get_cache_path("antiwork/gumroad", settings.SEEDING_CACHE_DIR, "antiwork")
    old = PRCache.load(
        "antiwork/gumroad", team_cache_dir(settings.SEEDING_CACHE_DIR, "antiwork")
    ).to_dict()
    old["format"] = 2
    path.write_text(json.dumps(old))  # what the seed wrote before the cache was streamed
    antiwork.reset_stats()

    seed("--repo", "antiwork/gumroad", "--clear")

    assert snapshot("antiwork") == before
    assert antiwork.stats()["graphql_points"] == 0
    antiwork.upsert_pr("antiwork/gumroad", {"number": 3, "title": "edited"})
    seed("--repo", "antiwork/gumroad")
    rewritten = path.read_text().splitlines()
    assert json.loads(rewritten[0])["format"] == CACHE_FORMAT and len(rewritten) == 42
    assert PullRequest.objects.get(team__slug="antiwork", github_pr_id=3).title == "edited"


@pytest.mark.django_db
def test_a_project_repository_github_does_not_know_is_reported_skipped_and_fails_the_run(
    fakehub_factory, settings, tmp_path
):
    hub = fakehub_factory(synthetic=ANTIWORK[:2])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "dummy-token"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path

    out = io.StringIO()
    with pytest.raises(
        CommandError, match=r"^1 of 3 repositories not found on GitHub: antiwork/helper"
    ):
        call_command("seed_real_projects", "--project", "antiwork", "--max-prs", "3", stdout=out)
    output = out.getvalue()

    assert "antiwork/helper: not found on GitHub, skipped" in output
    assert PullRequest.objects.filter(team__slug="antiwork").count() == 6
    assert not TrackedRepository.objects.filter(full_name="antiwork/helper").exists()


@pytest.mark.django_db
def test_ad_hoc_repositories_seed_into_the_named_team(antiwork):
    seed(
        "--repo",
        "antiwork/helper",
        "--repo",
        "antiwork/gumroad",
        "--team-slug",
        "mine",
        "--max-prs",
        "2",
    )

    assert PullRequest.objects.filter(team__slug="mine").count() == 4


@pytest.mark.django_db
def test_list_projects_names_the_registry(antiwork):
    output = seed("--list-projects")
    assert "antiwork" in output and "antiwork/gumroad, antiwork/flexile, antiwork/helper" in output
    assert antiwork.stats()["requests"] == 0


@pytest.mark.django_db
def test_an_unknown_project_is_a_command_error_naming_the_known_ones(antiwork):
    with pytest.raises(CommandError, match="unknown project 'nope'.*antiwork"):
        seed("--project", "nope")


# --- bad input, as a user sees it: one line on stderr, non-zero exit, no traceback ---------------


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seeddb") / "db.sqlite3"
    env = {**os.environ, "SQLITE_PATH": str(path)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return path


@pytest.fixture(scope="module")
def strict_hub():
    """fakehub that accepts one token only, serving one repository."""
    hub = FakeHub(synthetic=[("antiwork/gumroad", 5, 1)], tokens=["good-token"]).start()
    yield FakeHubControl(hub.url)
    hub.stop()


def run_seed(args, *, db: Path, url: str, token: str | None = "good-token", **extra: str):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and k != "DATABASE_URL"
    }
    env.update(
        {
            "SQLITE_PATH": str(db),
            "GITHUB_API_URL": url,
            "SEEDING_CACHE_DIR": str(db.parent / "cache"),
        }
    )
    if token is not None:
        env["GITHUB_TOKEN"] = token
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "seed_real_projects", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


BAD_INPUT = {
    "no token": (["--project", "antiwork"], {"token": None}, "no GitHub token"),
    "bad token": (["--repo", "antiwork/gumroad"], {"token": "wrong-token"}, "401"),
    "unknown project": (["--project", "nope"], {}, "unknown project"),
    "malformed repo": (["--repo", "not-a-repo"], {}, "OWNER/NAME"),
    "missing repo": (["--repo", "antiwork/missing"], {}, "antiwork/missing"),
    "negative max-prs": (["--project", "antiwork", "--max-prs", "-3"], {}, "--max-prs"),
    "negative days-back": (["--project", "antiwork", "--days-back", "-1"], {}, "--days-back"),
    "not a number": (["--project", "antiwork", "--max-prs", "ten"], {}, "--max-prs"),
    "bad on-limit": (["--project", "antiwork", "--on-limit", "later"], {}, "--on-limit"),
    "nothing to seed": ([], {}, "nothing to seed"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_and_a_non_zero_exit(case, migrated_db, strict_hub):
    args, options, expected = BAD_INPUT[case]
    result = run_seed(args, db=migrated_db, url=strict_hub.url, **options)

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    given = options.get("token", "good-token")
    assert given is None or given not in result.stderr + result.stdout


def test_an_unreachable_database_is_one_line_before_any_request(tmp_path, strict_hub):
    strict_hub.reset_stats()
    result = run_seed(
        ["--project", "antiwork"], db=tmp_path / "missing" / "db.sqlite3", url=strict_hub.url
    )

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "database" in lines[0]
    assert strict_hub.stats()["requests"] == 0


def test_an_unreachable_github_is_one_line(migrated_db):
    result = run_seed(["--repo", "antiwork/gumroad"], db=migrated_db, url="http://127.0.0.1:9")

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "GITHUB_API_URL" in lines[0]
    assert "Traceback" not in result.stderr


# --- the first hour: zero results say why, the budget and the caches the status page shows -------


def team_cache(slug: str = "antiwork") -> Path:
    return team_cache_dir(antiwork_cache(), slug)


@pytest.mark.django_db
def test_a_seed_with_max_prs_keeps_a_fuller_cache_and_goes_by_the_database(antiwork):
    seed("--repo", "antiwork/gumroad")
    path = get_cache_path("antiwork/gumroad", antiwork_cache(), "antiwork")
    full = path.read_bytes()

    output = seed("--repo", "antiwork/gumroad", "--max-prs", "10")

    assert "kept as it is; this seed goes by the database" in output
    assert path.read_bytes() == full  # 40 PRs, not 10
    antiwork.reset_stats()
    again = seed("--repo", "antiwork/gumroad", "--max-prs", "10")
    assert "antiwork/gumroad: unchanged" in again
    assert antiwork.stats()["graphql_points"] == 0  # the database's ETag: one free 304
    antiwork.reset_stats()
    seed("--repo", "antiwork/gumroad")
    assert antiwork.stats()["graphql_points"] == 0  # the full cache still answers a full seed
    assert PRCache.load("antiwork/gumroad", team_cache()).pr_count == 40


@pytest.mark.django_db
def test_two_teams_seeding_one_repository_keep_their_own_view_of_it(antiwork):
    seed("--repo", "antiwork/gumroad", "--team-slug", "small", "--max-prs", "5")
    seed("--repo", "antiwork/gumroad", "--team-slug", "whole")
    antiwork.reset_stats()

    output = seed("--repo", "antiwork/gumroad", "--team-slug", "small", "--max-prs", "5")

    assert "antiwork/gumroad: unchanged" in output
    assert antiwork.stats()["graphql_points"] == 0
    assert PRCache.load("antiwork/gumroad", team_cache("small")).pr_count == 5
    assert PRCache.load("antiwork/gumroad", team_cache("whole")).pr_count == 40
    assert PullRequest.objects.filter(team__slug="small").count() == 5


@pytest.mark.django_db
def test_a_cache_with_lines_removed_and_its_trailer_edited_is_fetched_again_counting_each_pr_once(
    antiwork,
):
    seed("--repo", "antiwork/gumroad")
    before = snapshot("antiwork")
    path = get_cache_path("antiwork/gumroad", antiwork_cache(), "antiwork")
    header, *prs, trailer = path.read_text().splitlines()
    edited = json.loads(trailer) | {"prs": 31}
    path.write_text("\n".join([header, *prs[:31], json.dumps(edited)]) + "\n")
    antiwork.reset_stats()

    output = seed("--repo", "antiwork/gumroad", "--clear")

    assert output.count("does not match the digest") == 1
    assert antiwork.stats()["graphql_points"] > 0  # fetched again from GitHub
    assert snapshot("antiwork") == before
    assert "antiwork/gumroad: full, 40 PRs (40 new, 0 updated)" in output
    assert "total: 1 repositories, 40 PRs" in output
    assert PRCache.load("antiwork/gumroad", team_cache()).pr_count == 40


@pytest.mark.django_db
def test_seeding_records_the_rate_limit_budget_it_saw_on_each_repository(antiwork):
    seed("--project", "antiwork", "--max-prs", "3")

    left = 5000 - antiwork.stats()["graphql_points"]  # fakehub's default budget, one window
    rows = TrackedRepository.objects.filter(team__slug="antiwork")
    seen = {r.full_name: r.rate_limit_remaining for r in rows}
    # Each repository keeps what GitHub said when its seed ended: the last one, the final count.
    assert seen["antiwork/helper"] == left
    assert left <= seen["antiwork/flexile"] <= seen["antiwork/gumroad"] < 5000
    assert all(r.rate_limit_reset_at is not None for r in rows)


@pytest.mark.django_db
def test_the_sync_status_page_reads_the_teams_cache_where_the_seed_wrote_it(antiwork, client):
    from django.contrib.auth.models import User

    seed("--project", "antiwork", "--max-prs", "3")
    client.force_login(User.objects.create_user("viewer"))

    html = client.get("/sync/?team=antiwork").content.decode()

    assert "no cache file" not in html
    assert html.count("3 PRs (max 3 PRs)") == 3
    remaining = TrackedRepository.objects.filter(team__slug="antiwork").first()
    assert f'class="num">{remaining.rate_limit_remaining}</td>' in html


@pytest.mark.django_db
def test_a_days_back_older_than_the_newest_pr_says_both_dates(fakehub_factory, settings, tmp_path):
    hub = fakehub_factory(synthetic=[("acme/old", 0)])
    hub.upsert_pr(
        "acme/old",
        {"number": 1, "createdAt": "2020-05-01T10:00:00Z", "updatedAt": "2020-05-02T10:00:00Z"},
    )
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "dummy-token"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path

    output = seed("--repo", "acme/old", "--days-back", "90")

    line = next(line for line in output.splitlines() if line.startswith("acme/old: 0 PRs:"))
    assert "no PR created in the last 90 days (since " in line
    assert "the newest PR was created 2020-05-01" in line
    again = seed("--repo", "acme/old", "--days-back", "90")
    assert "acme/old: 0 PRs: no PR created in the last 90 days" in again


@pytest.mark.django_db
def test_a_repository_without_any_pull_request_says_so(fakehub_factory, settings, tmp_path):
    hub = fakehub_factory(synthetic=[("acme/empty", 0)])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "dummy-token"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path

    output = seed("--repo", "acme/empty")

    assert "acme/empty: 0 PRs: GitHub has no pull request in this repository" in output


@pytest.mark.django_db
def test_a_cache_thrown_away_half_way_through_a_refill_counts_each_pr_once(
    fakehub_factory, settings, tmp_path
):
    hub = fakehub_factory(synthetic=[("acme/big", 250, 4)])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "dummy-token"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path
    seed("--repo", "acme/big")
    path = get_cache_path("acme/big", tmp_path, "acme")
    # A PR line that reads as JSON but not as a PR, past the first chunk written from the
    # cache, in a file whose digest was made to match: found only while the cache is written.
    header, *prs, trailer = path.read_text().splitlines()
    prs[150] = json.dumps({"number": json.loads(prs[150])["number"]})
    body = "".join(line + "\n" for line in [header, *prs]).encode()
    fixed = json.loads(trailer) | {"sha256": hashlib.sha256(body).hexdigest()}
    path.write_bytes(body + json.dumps(fixed).encode() + b"\n")

    output = seed("--repo", "acme/big", "--clear")

    assert output.count("corrupt") == 1
    assert "total: 1 repositories, 250 PRs" in output
    assert PullRequest.objects.filter(team__slug="acme").count() == 250
