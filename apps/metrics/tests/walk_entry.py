"""A cached seed's full walk in a subprocess, for the kill tests; it can hang inside a page's write.

    python -m apps.metrics.tests.walk_entry URL REPO TEAM [--hang-in-write N]

Test-only. Reads SQLITE_PATH and SEEDING_CACHE_DIR like the real command and walks REPO with
the seeding cache's spool, as a seed with the cache on does (a new walk, or the open one).
With --hang-in-write N it prints "writing page N" once page N's write has begun (page N is
spooled, page N+1 is on its way) and waits there, so a test can SIGKILL it at that exact point.
Nothing of ours is replaced: the hang is the walk's own `before_save` hook.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="walk_entry")
    parser.add_argument("url")
    parser.add_argument("repo")
    parser.add_argument("team")
    parser.add_argument("--hang-in-write", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from apps.metrics.models import Team, TrackedRepository
    from apps.metrics.pipeline.walk import new_walk, open_walk, walk_repository
    from apps.metrics.seeding.spool import PageSpool, start_partial
    from apps.metrics.tests.seed_support import make_client, make_fetcher

    cache_dir = settings.SEEDING_CACHE_DIR
    cache_dir.mkdir(parents=True, exist_ok=True)
    team, _ = Team.objects.get_or_create(slug=args.team, defaults={"name": args.team})
    tracked, _ = TrackedRepository.objects.get_or_create(team=team, full_name=args.repo)
    plan = open_walk(tracked)
    if plan is None:
        plan = new_walk(tracked, None, full=True)
        start_partial(args.repo, cache_dir, plan.walk_id)
    pages = [0]

    def before_save(plan: object, page: object) -> None:
        pages[0] += 1
        if pages[0] == args.hang_in_write:
            print(f"writing page {pages[0]}", flush=True)
            threading.Event().wait()  # until the test kills this process

    fetcher = make_fetcher(make_client(args.url))
    result = walk_repository(
        fetcher, tracked, plan, before_save=before_save, spool=PageSpool(args.repo, cache_dir)
    )
    print(f"pages {result.pages} replayed {result.replayed} completed {result.completed}")
    return 0 if result.completed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
