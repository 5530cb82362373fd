"""PRCache: one file per repository, streamed (JSON Lines), written atomically, old files load,
corrupt ones are replaced."""

from __future__ import annotations

import hashlib
import json
import logging
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from apps.metrics.pipeline.fetched import (
    FetchedCheckRun,
    FetchedCommit,
    FetchedFile,
    FetchedPRFull,
    FetchedReview,
    FetchedUser,
)
from apps.metrics.pipeline.pages import FULL, GitHubGraphQLFetcher, PRPage
from apps.metrics.pipeline.walk import WalkPlan
from apps.metrics.seeding import cache as pr_cache
from apps.metrics.seeding import spool
from apps.metrics.seeding.cache import CacheCorrupt, PRCache, get_cache_path
from apps.metrics.seeding.seeder import RealProjectSeeder
from apps.metrics.tests.seed_support import make_client

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_pr(number: int, *, updated: datetime | None = None, title: str = "") -> FetchedPRFull:
    alice = FetchedUser(login="alice", github_id=1, name="Alice", email="a@example.com")
    bot = FetchedUser(login="dependabot[bot]", is_bot=True)
    created = T0 + timedelta(hours=number)
    return FetchedPRFull(
        repo_full_name="acme/rocket",
        number=number,
        node_id=f"PR_{number}",
        title=title or f"PR {number}",
        body="",
        state="merged",
        is_draft=False,
        author=alice,
        url=f"https://github.com/acme/rocket/pull/{number}",
        created_at=created,
        updated_at=updated or created + timedelta(hours=2),
        merged_at=created + timedelta(hours=2),
        merged_by=FetchedUser.ghost(),
        labels=("bug",),
        assignees=(alice,),
        reviews=(FetchedReview(10 + number, bot, "approved", "", created + timedelta(hours=1)),),
        commits=(FetchedCommit(f"{number:040x}", None, "Bob", "b@example.com", "fix"),),
        files=(FetchedFile("a.py", "modified", 3, 1),),
        check_runs=(FetchedCheckRun(900 + number, "ci", "completed", "success"),),
    )


def make_cache(**changes: object) -> PRCache:
    values: dict[str, object] = {
        "repo": "acme/rocket",
        "fetched_at": T0 + timedelta(days=1),
        "prs": [make_pr(1), make_pr(2)],
        "repo_pushed_at": T0,
        "etag": 'W/"abc"',
        "watermark": T0 + timedelta(hours=4),
        "page_size": 12,
        "max_prs": 10,
        "days_back": None,
    }
    values.update(changes)
    return PRCache(**values)  # type: ignore[arg-type]


def test_the_cache_path_is_one_file_per_repository_in_the_cache_dir(tmp_path):
    path = get_cache_path("antiwork/gumroad", tmp_path)
    assert path.parent == tmp_path
    assert path.name == "antiwork__gumroad.json"
    assert get_cache_path("antiwork/flexile", tmp_path) != path


def test_a_saved_cache_loads_back_equal(tmp_path):
    cache = make_cache()
    cache.save(tmp_path)
    loaded = PRCache.load("acme/rocket", tmp_path)
    assert loaded is not None
    assert loaded.prs == cache.prs
    assert (loaded.etag, loaded.watermark, loaded.page_size) == ('W/"abc"', cache.watermark, 12)
    assert (loaded.repo_pushed_at, loaded.max_prs, loaded.days_back) == (T0, 10, None)


def test_the_file_is_replaced_atomically_never_rewritten_in_place(tmp_path):
    make_cache(prs=[make_pr(1, title="old")]).save(tmp_path)
    path = get_cache_path("acme/rocket", tmp_path)
    before = path.read_text()
    with path.open() as reader_of_the_old_file:
        make_cache(prs=[make_pr(3)]).save(tmp_path)
        # A rewrite in place would truncate what an open reader sees; a rename does not.
        assert reader_of_the_old_file.read() == before
    assert PRCache.load("acme/rocket", tmp_path).prs == [make_pr(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_an_old_file_without_pushed_at_etag_or_limits_still_loads(tmp_path):
    path = get_cache_path("acme/rocket", tmp_path)
    old = {
        "repo": "acme/rocket",
        "fetched_at": "2025-03-02T12:00:00+00:00",
        "prs": [make_pr(1).to_dict()],
    }
    path.write_text(json.dumps(old))
    loaded = PRCache.load("acme/rocket", tmp_path)
    assert loaded is not None
    assert loaded.repo_pushed_at is None and loaded.etag is None and loaded.watermark is None
    assert loaded.prs == [make_pr(1)]
    # With no watermark an incremental fetch starts from the fetch time.
    assert loaded.since_watermark == datetime(2025, 3, 2, 12, tzinfo=UTC)
    # pushedAt cannot be proven unchanged without a stored value.
    assert not loaded.is_valid(T0)
    assert loaded.is_valid()


def test_a_corrupt_file_is_reported_in_one_warning_line_and_ignored(tmp_path, caplog):
    path = get_cache_path("acme/rocket", tmp_path)
    path.write_text('{"repo": "acme/rocket", "prs": [')
    with caplog.at_level(logging.WARNING):
        assert PRCache.load("acme/rocket", tmp_path) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "corrupt" in warnings[0].getMessage() and "\n" not in warnings[0].getMessage()
    make_cache().save(tmp_path)
    assert PRCache.load("acme/rocket", tmp_path) is not None


def test_validity_follows_the_limits_and_pushed_at(tmp_path):
    cache = make_cache(max_prs=10, days_back=None)
    assert cache.is_valid(max_prs=10)
    assert not cache.is_valid(max_prs=20)
    assert not cache.is_valid(max_prs=10, days_back=30)
    assert make_cache(max_prs=None).is_valid(max_prs=0, days_back=0)
    assert cache.is_valid(T0, max_prs=10)
    assert not cache.is_valid(T0 + timedelta(seconds=1), max_prs=10)


def test_the_check_runs_mode_is_kept_in_the_header_and_decides_validity(tmp_path):
    make_cache(check_runs="none").save(tmp_path)
    header = json.loads(get_cache_path("acme/rocket", tmp_path).open().readline())
    loaded = PRCache.load("acme/rocket", tmp_path)

    assert header["check_runs"] == "none" and loaded is not None
    assert loaded.is_valid(max_prs=10, check_runs="none")
    assert not loaded.is_valid(max_prs=10, check_runs="graphql")
    assert not loaded.is_valid(max_prs=10, check_runs="rest")


def test_a_file_written_before_the_check_runs_mode_was_kept_stays_valid(tmp_path):
    header = make_cache().header()
    del header["check_runs"]
    header["format"] = 3  # written then: JSON Lines without a digest
    path = get_cache_path("acme/rocket", tmp_path)
    path.write_text(json.dumps(header) + "\n" + json.dumps({"end": True, "prs": 0}) + "\n")

    loaded = PRCache.load("acme/rocket", tmp_path)

    assert loaded is not None and loaded.check_runs is None
    assert loaded.is_valid(max_prs=10, check_runs="graphql")


def spool_walk(tmp_path, walk_id: str, *pages: list[FetchedPRFull]) -> None:
    """Spool `pages` as a walk `walk_id` does, a page at a time."""
    spool.start_partial("acme/rocket", tmp_path, walk_id)
    for page in pages:
        spool.append_partial("acme/rocket", tmp_path, walk_id, page)


def spooled_prs(tmp_path, walk_id: str) -> list[FetchedPRFull] | None:
    """The PRs walk `walk_id` spooled in `tmp_path`, as its fold into a new cache file keeps
    them; None when its pages are missing or of another walk."""
    if not spool.save_with_partial(make_cache(prs=[]), tmp_path, walk_id):
        return None
    return list(PRCache.load("acme/rocket", tmp_path).iter_prs())


def test_merge_replaces_prs_by_number_and_keeps_newer_data(tmp_path):
    make_cache(prs=[make_pr(2), make_pr(1)]).save(tmp_path)
    newer = make_pr(2, updated=T0 + timedelta(days=5), title="renamed")
    stale = make_pr(1, updated=T0, title="stale")
    spool_walk(tmp_path, "incremental:1", [newer, stale, make_pr(3)])
    assert spool.save_with_partial(PRCache.load("acme/rocket", tmp_path), tmp_path, "incremental:1")
    cache = PRCache.load("acme/rocket", tmp_path)
    by_number = {pr.number: pr for pr in cache.prs}
    assert sorted(by_number) == [1, 2, 3]
    assert by_number[2].title == "renamed"
    assert by_number[1].title == "PR 1"
    assert [pr.number for pr in cache.prs] == [3, 2, 1]  # newest created first


def test_partial_pages_survive_a_torn_last_line(tmp_path):
    spool.start_partial("acme/rocket", tmp_path, "walk-1")
    spool.append_partial("acme/rocket", tmp_path, "walk-1", [make_pr(1)])
    spool.append_partial("acme/rocket", tmp_path, "walk-1", [make_pr(2)])
    partial = pr_cache.partial_path(get_cache_path("acme/rocket", tmp_path))
    with partial.open("a") as handle:
        handle.write('{"walk": "walk-1", "prs": [{"numb')  # a kill in the middle of a write
    prs = spooled_prs(tmp_path, "walk-1")
    assert prs is not None and [pr.number for pr in prs] == [1, 2]
    assert spooled_prs(tmp_path, "walk-2") is None


def test_a_page_appended_after_a_torn_line_keeps_the_partial_pages_readable(tmp_path):
    spool.start_partial("acme/rocket", tmp_path, "walk-1")
    spool.append_partial("acme/rocket", tmp_path, "walk-1", [make_pr(1)], page={"start": None})
    partial = pr_cache.partial_path(get_cache_path("acme/rocket", tmp_path))
    with partial.open("a") as handle:
        handle.write('{"walk": "walk-1", "page": {"start": "c1"}, "prs": [{"numb')  # killed
    # The resumed walk appends the page it fetches again: the torn line goes first.
    spool.append_partial("acme/rocket", tmp_path, "walk-1", [make_pr(2)], page={"start": "c1"})

    prs = spooled_prs(tmp_path, "walk-1")
    assert prs is not None and [pr.number for pr in prs] == [1, 2]
    lines = [json.loads(line) for line in partial.read_text().splitlines()[1:]]
    assert [(line["page"]["start"], [pr["number"] for pr in line["prs"]]) for line in lines] == [
        (None, [1]),
        ("c1", [2]),
    ]
    assert partial.read_text().endswith("\n")


FULL_WALK = WalkPlan(
    mode=FULL,
    cursor=None,
    page_size=2,
    high_water=None,
    started_at=T0,
    prs_done=0,
    target_watermark=None,
    etag=None,
    pushed_at=None,
    max_prs=None,
    days_back=None,
    resumed=True,
)


def full_page(end: str, *prs: FetchedPRFull, done: bool = False) -> PRPage:
    return PRPage(
        prs=prs,
        mode=FULL,
        end_cursor=end,
        has_next=not done,
        done=done,
        page_size=2,
        next_page_size=2,
        high_water=max(pr.updated_at for pr in prs),
    )


def replayed(kept: spool.PageSpool, plan: WalkPlan, cursor: str | None = None) -> list[PRPage]:
    return list(kept.replay(plan, cursor, lambda nodes: ()))  # pages kept as PRs: no nodes


def test_a_full_walks_spooled_pages_replay_in_walk_order_with_their_facts(tmp_path):
    walk = FULL_WALK.walk_id
    spool.start_partial("acme/rocket", tmp_path, walk)
    spool.append_partial("acme/rocket", tmp_path, walk, [make_pr(7)])  # no facts: an older seed
    kept = spool.PageSpool("acme/rocket", tmp_path)
    first = full_page("c2", make_pr(6), make_pr(5))
    second = full_page("c4", make_pr(4), make_pr(3), done=True)
    kept.append(FULL_WALK, None, first)
    kept.append(FULL_WALK, "c2", second)

    # Written again from the spool, each page is the page fetched, at no cost.
    assert replayed(kept, FULL_WALK) == [first, second]
    assert replayed(kept, FULL_WALK, "c2") == [second]
    other_walk = replace(FULL_WALK, started_at=T0 + timedelta(days=1))
    assert replayed(kept, other_walk) == []
    assert replayed(spool.PageSpool("acme/other", tmp_path), FULL_WALK) == []
    # The facts do not disturb the fold into the cache.
    assert spool.save_with_partial(make_cache(prs=[]), tmp_path, walk)
    assert numbers(PRCache.load("acme/rocket", tmp_path)) == [7, 6, 5, 4, 3]


def test_a_replay_stops_before_a_broken_page(tmp_path):
    spool.start_partial("acme/rocket", tmp_path, FULL_WALK.walk_id)
    kept = spool.PageSpool("acme/rocket", tmp_path)
    kept.append(FULL_WALK, None, full_page("c1", make_pr(3)))
    broken = full_page("c2", make_pr(2))
    kept.append(FULL_WALK, "c1", broken)
    partial = pr_cache.partial_path(get_cache_path("acme/rocket", tmp_path))
    lines = partial.read_text().splitlines()
    record = json.loads(lines[-1])
    record["prs"][0]["created_at"] = "never"  # a PR this code did not write
    partial.write_text("\n".join([*lines[:-1], json.dumps(record)]) + "\n")
    kept.append(FULL_WALK, "c2", full_page("c3", make_pr(1), done=True))

    assert [page.end_cursor for page in replayed(kept, FULL_WALK)] == ["c1"]  # the rest: fetched


def seeder_for(client, cache_dir, **options) -> RealProjectSeeder:
    return RealProjectSeeder(
        GitHubGraphQLFetcher(client), team_slug="team", cache_dir=cache_dir, **options
    )


@pytest.mark.django_db
def test_no_token_ever_reaches_the_cache_file(fakehub_factory, tmp_path):
    token = "ghp_CACHETOKENMARKER42"
    hub = fakehub_factory(synthetic=[("acme/rocket", 30, 1)], tokens=[token])
    seeder = seeder_for(make_client(hub.url, token=token), tmp_path)
    seeder.fetch_prs_with_details("acme/rocket")  # a full fetch: the cache is written
    hub.upsert_pr("acme/rocket", {"number": 2, "title": "changed"})
    seeder.fetch_prs_with_details("acme/rocket")  # an incremental one: the cache is merged

    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert files and hub.stats()["per_token"]  # the token was used, and a cache written
    assert [path.name for path in files if b"CACHETOKENMARKER" in path.read_bytes()] == []


# --- streaming: JSON Lines ----------------------------------------------------------------------


def numbers(cache: PRCache) -> list[int]:
    return [pr.number for pr in cache.iter_prs()]


def test_the_file_is_a_header_line_then_one_pr_per_line_then_a_trailer(tmp_path):
    make_cache(prs=[make_pr(2), make_pr(1)]).save(tmp_path)

    lines = get_cache_path("acme/rocket", tmp_path).read_text().splitlines()

    header, *prs, trailer = (json.loads(line) for line in lines)
    assert header["format"] == 4 and header["repo"] == "acme/rocket" and "prs" not in header
    assert header["etag"] == 'W/"abc"' and header["page_size"] == 12
    assert [FetchedPRFull.from_dict(item) for item in prs] == [make_pr(2), make_pr(1)]
    body = "".join(line + "\n" for line in lines[:-1]).encode()
    assert trailer == {"end": True, "prs": 2, "sha256": hashlib.sha256(body).hexdigest()}


def test_loading_reads_no_pr_until_they_are_streamed(tmp_path):
    make_cache(prs=[make_pr(3), make_pr(2), make_pr(1)]).save(tmp_path)
    path = get_cache_path("acme/rocket", tmp_path)
    lines = path.read_text().splitlines()
    lines[3] = '{"number": 1, "title": "bro'  # the last PR line damaged, header and trailer intact
    path.write_text("\n".join(lines) + "\n")

    loaded = PRCache.load("acme/rocket", tmp_path)

    assert loaded is not None and loaded.pr_count == 3  # the damage is not seen yet
    streamed = loaded.iter_prs()
    # The first PR read checks the digest of the whole file: no PR of a damaged file is used.
    with pytest.raises(CacheCorrupt, match="corrupt"):
        next(streamed)


def test_a_file_cut_short_is_corrupt_and_ignored(tmp_path, caplog):
    make_cache().save(tmp_path)
    path = get_cache_path("acme/rocket", tmp_path)
    text = path.read_text()
    path.write_text(text[: text.rindex('{"end"') - 40])  # a copy that stopped half-way

    with caplog.at_level(logging.WARNING):
        assert PRCache.load("acme/rocket", tmp_path) is None

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "corrupt" in warnings[0]


def test_a_loaded_cache_replaced_on_disk_refuses_to_stream_the_other_file(tmp_path):
    make_cache(prs=[make_pr(1)]).save(tmp_path)
    loaded = PRCache.load("acme/rocket", tmp_path)
    make_cache(prs=[make_pr(7)]).save(tmp_path)

    with pytest.raises(CacheCorrupt, match="replaced"):
        list(loaded.iter_prs())


def test_an_old_single_document_file_with_pushed_at_loads_and_is_rewritten_as_lines(tmp_path):
    path = get_cache_path("acme/rocket", tmp_path)
    old = make_cache(prs=[make_pr(2), make_pr(1)]).to_dict()
    old["format"] = 2
    path.write_text(json.dumps(old, indent=2))  # formats 1-2: one document, any layout

    loaded = PRCache.load("acme/rocket", tmp_path)
    assert loaded is not None and loaded.format == 2
    assert loaded.repo_pushed_at == T0 and loaded.prs == [make_pr(2), make_pr(1)]

    spool_walk(tmp_path, "incremental:1", [make_pr(3)])
    assert spool.save_with_partial(loaded, tmp_path, "incremental:1")

    assert json.loads(path.read_text().splitlines()[0])["format"] == pr_cache.CACHE_FORMAT
    assert numbers(PRCache.load("acme/rocket", tmp_path)) == [3, 2, 1]


def test_an_incremental_fold_replaces_and_adds_by_number_in_creation_order(tmp_path):
    make_cache(prs=[make_pr(5), make_pr(3), make_pr(1)]).save(tmp_path)
    cache = PRCache.load("acme/rocket", tmp_path)
    renamed = make_pr(3, updated=T0 + timedelta(days=9), title="renamed")
    stale = make_pr(5, updated=T0, title="stale")

    spool_walk(tmp_path, "incremental:1", [make_pr(4), renamed, stale, make_pr(6), make_pr(2)])
    assert spool.save_with_partial(cache, tmp_path, "incremental:1")

    reloaded = PRCache.load("acme/rocket", tmp_path)
    titles = {pr.number: pr.title for pr in reloaded.iter_prs()}
    assert numbers(reloaded) == [6, 5, 4, 3, 2, 1] and reloaded.pr_count == 6
    assert titles[3] == "renamed" and titles[5] == "PR 5"
    assert cache.prs == reloaded.prs  # the saved object now reads the new file


def test_a_full_walks_pages_become_the_cache_keeping_the_newest_copy_of_a_refetched_page(
    tmp_path,
):
    spool.start_partial("acme/rocket", tmp_path, "full:1")
    spool.append_partial("acme/rocket", tmp_path, "full:1", [make_pr(6), make_pr(5)])
    spool.append_partial("acme/rocket", tmp_path, "full:1", [make_pr(4), make_pr(3)])
    # Killed after writing that page, before its commit: the resume fetches it again.
    again = [make_pr(4, updated=T0 + timedelta(days=3), title="edited meanwhile"), make_pr(3)]
    spool.append_partial("acme/rocket", tmp_path, "full:1", again)
    spool.append_partial("acme/rocket", tmp_path, "full:1", [make_pr(2), make_pr(1)])
    cache = make_cache(prs=[])

    assert spool.save_with_partial(cache, tmp_path, "full:1")

    loaded = PRCache.load("acme/rocket", tmp_path)
    assert numbers(loaded) == [6, 5, 4, 3, 2, 1]
    assert next(pr for pr in loaded.iter_prs() if pr.number == 4).title == "edited meanwhile"
    assert not spool.save_with_partial(
        make_cache(prs=[]), tmp_path, "full:2"
    )  # another walk's pages


def test_an_incremental_walks_pages_merge_into_the_cached_prs(tmp_path):
    make_cache(prs=[make_pr(3), make_pr(2), make_pr(1)]).save(tmp_path)
    spool.start_partial("acme/rocket", tmp_path, "incremental:1")
    edited = make_pr(2, updated=T0 + timedelta(days=4), title="edited")
    spool.append_partial("acme/rocket", tmp_path, "incremental:1", [edited, make_pr(4)])
    cache = PRCache.load("acme/rocket", tmp_path)

    assert spool.save_with_partial(cache, tmp_path, "incremental:1")

    loaded = PRCache.load("acme/rocket", tmp_path)
    assert numbers(loaded) == [4, 3, 2, 1]
    assert [pr.title for pr in loaded.iter_prs()][2] == "edited"


def test_an_incremental_save_holds_the_changed_prs_not_the_whole_cache(tmp_path):
    many = [make_pr(n) for n in range(1500, 0, -1)]
    make_cache(prs=many).save(tmp_path)
    del many
    size = get_cache_path("acme/rocket", tmp_path).stat().st_size
    edited = make_pr(700, updated=T0 + timedelta(days=200), title="edited")

    spool_walk(tmp_path, "incremental:1", [edited, make_pr(1501)])

    tracemalloc.start()
    try:
        cache = PRCache.load("acme/rocket", tmp_path)
        assert spool.save_with_partial(cache, tmp_path, "incremental:1")
        streamed = sum(1 for _ in PRCache.load("acme/rocket", tmp_path).iter_prs())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert streamed == 1501
    # Holding the PRs would take several times the file's size; a stream takes a few lines.
    assert peak < size / 10, (peak, size)


# --- integrity: a digest of the content in the trailer -----------------------------------------


def remove_pr_lines_and_fix_the_count(path, keep: int) -> None:
    """What a careless edit does: PR lines removed, the trailer's count made to match."""
    header, *prs, trailer = path.read_text().splitlines()
    fixed = json.loads(trailer)
    fixed["prs"] = keep
    path.write_text("\n".join([header, *prs[:keep], json.dumps(fixed)]) + "\n")


def test_a_cache_with_lines_removed_and_its_count_edited_to_match_is_corrupt_before_any_pr_is_used(
    tmp_path,
):
    make_cache(prs=[make_pr(n) for n in range(9, 0, -1)]).save(tmp_path)
    remove_pr_lines_and_fix_the_count(get_cache_path("acme/rocket", tmp_path), keep=6)

    loaded = PRCache.load("acme/rocket", tmp_path)

    assert loaded is not None and loaded.pr_count == 6  # header and trailer look consistent
    with pytest.raises(CacheCorrupt, match="does not match the digest"):
        next(loaded.iter_prs())


def test_a_trailer_count_edited_alone_is_corrupt(tmp_path):
    make_cache(prs=[make_pr(3), make_pr(2), make_pr(1)]).save(tmp_path)
    path = get_cache_path("acme/rocket", tmp_path)
    path.write_text(path.read_text().replace('"prs":3', '"prs":2'))

    with pytest.raises(CacheCorrupt, match="3 PR lines, its trailer says 2"):
        list(PRCache.load("acme/rocket", tmp_path).iter_prs())


def test_a_digest_trailer_removed_is_corrupt_in_one_warning_line(tmp_path, caplog):
    make_cache().save(tmp_path)
    path = get_cache_path("acme/rocket", tmp_path)
    *lines, trailer = path.read_text().splitlines()
    path.write_text("\n".join([*lines, json.dumps({"end": True, "prs": 2})]) + "\n")

    with caplog.at_level(logging.WARNING):
        assert PRCache.load("acme/rocket", tmp_path) is None

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "corrupt" in warnings[0]


# --- one file per (team, repository); a narrower fetch never replaces a fuller cache -----------


def test_each_team_has_its_own_cache_file_of_one_repository(tmp_path):
    web = get_cache_path("acme/rocket", tmp_path, "web")
    infra = get_cache_path("acme/rocket", tmp_path, "infra")

    assert web != infra
    assert web == pr_cache.team_cache_dir(tmp_path, "web") / "acme__rocket.json"
    assert get_cache_path("acme/rocket", pr_cache.team_cache_dir(tmp_path, "web")) == web
    make_cache(prs=[make_pr(1)]).save(pr_cache.team_cache_dir(tmp_path, "web"))
    assert PRCache.load("acme/rocket", pr_cache.team_cache_dir(tmp_path, "infra")) is None


def test_a_cache_without_limits_covers_every_narrower_fetch_and_is_fuller_than_it():
    everything = make_cache(max_prs=None, days_back=None, check_runs="graphql")
    ten = make_cache(max_prs=10, days_back=None, check_runs="graphql")

    assert everything.is_fuller_than(max_prs=10, days_back=None, check_runs="graphql")
    assert everything.is_fuller_than(max_prs=None, days_back=90, check_runs="graphql")
    assert not everything.is_fuller_than(max_prs=None, days_back=None, check_runs="graphql")
    assert not everything.is_fuller_than(max_prs=10, days_back=None, check_runs="none")
    assert ten.is_fuller_than(max_prs=5, days_back=None, check_runs="graphql")
    assert not ten.is_fuller_than(max_prs=20, days_back=None, check_runs="graphql")
    assert not ten.is_fuller_than(max_prs=None, days_back=None, check_runs="graphql")


@pytest.mark.django_db
def test_a_fetch_with_max_prs_never_replaces_a_fuller_cache(fakehub_factory, tmp_path):
    hub = fakehub_factory(synthetic=[("acme/rocket", 30, 1)])
    seeder = seeder_for(make_client(hub.url), tmp_path)
    seeder.fetch_prs_with_details("acme/rocket")
    path = get_cache_path("acme/rocket", seeder.cache_dir)
    full = path.read_bytes()

    narrow = seeder_for(make_client(hub.url), tmp_path, max_prs=10)
    assert len(narrow.fetch_prs_with_details("acme/rocket")) == 10

    assert path.read_bytes() == full
    assert PRCache.load("acme/rocket", seeder.cache_dir).pr_count == 30


def test_a_team_less_cache_file_is_copied_for_a_team_that_has_none(tmp_path):
    make_cache(prs=[make_pr(2), make_pr(1)]).save(tmp_path)

    assert pr_cache.adopt_shared("acme/rocket", tmp_path, "web")
    assert not pr_cache.adopt_shared("acme/rocket", tmp_path, "web")  # it has one now

    adopted = PRCache.load("acme/rocket", pr_cache.team_cache_dir(tmp_path, "web"))
    assert adopted is not None and numbers(adopted) == [2, 1]
    assert get_cache_path("acme/rocket", tmp_path).exists()  # other teams may still need it
