"""Where the reference data lives: shared/ beside the repository, or `PRHARVEST_SHARED_DIR`.

Tests and benchmarks read GitHub's schema, its OpenAPI subset and the recorded datasets from
shared/ (../shared/docs/DATASETS.md); they never copy it into the repository. GitHub's GraphQL
schema alone has a second source: the npm package `@octokit/graphql-schema`, fetched with
`npm pack` into `.cache/reference/` (gitignored) when shared/ lacks it. The pinned version ships
a `schema.graphql` byte-identical to shared's snapshot (GitHub's schema as of 2025-02-27); its
SHA-256 is checked, so a cache never holds anything else. A missing reference raises
`ReferenceMissing` with one line saying where it was looked for: conformance tests fail on it,
they never skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

__all__ = [
    "GRAPHQL_SCHEMA_PACKAGE",
    "GRAPHQL_SCHEMA_SHA256",
    "GRAPHQL_SCHEMA_VERSION",
    "REPO_ROOT",
    "SHARED_DIR_ENV",
    "ReferenceMissing",
    "cache_dir",
    "extract_graphql_schema",
    "github_schema_path",
    "shared_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR_ENV = "PRHARVEST_SHARED_DIR"

GRAPHQL_SCHEMA_PACKAGE = "@octokit/graphql-schema"
# 15.26.0 is the first release carrying the schema of octokit/graphql-schema's 2025-02-27 commit
# (blob 55a7e16f, the one in shared/github/graphql; 15.26.1 ships the same file).
GRAPHQL_SCHEMA_VERSION = "15.26.0"
GRAPHQL_SCHEMA_SHA256 = "3c62d0526d133cee53221c89de9b455ade24db78b9e7ad56d642c4c15bce2654"
_SCHEMA_MEMBER = "package/schema.graphql"  # npm tarballs keep the package under package/
_NPM_TIMEOUT_SECONDS = 300
# A failed fetch is not tried again in the same process: every test asking would otherwise
# wait for npm's own network retries once more.
_fetch_failures: dict[tuple[str, str, str], str] = {}


class ReferenceMissing(Exception):
    """A reference file is in none of the places it is looked for (message: one line)."""


def shared_dir() -> Path:
    """The shared/ reference directory: `$PRHARVEST_SHARED_DIR`, else `<repo root>/../shared`."""
    raw = os.environ.get(SHARED_DIR_ENV, "").strip()
    return Path(raw).expanduser().resolve() if raw else REPO_ROOT.parent / "shared"


def cache_dir() -> Path:
    """Where fetched references are kept: `<repo root>/.cache/reference` (gitignored)."""
    return REPO_ROOT / ".cache" / "reference"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_graphql_schema(tarball: Path, dest: Path) -> Path:
    """Write the pinned `schema.graphql` of an npm tarball to `dest` (atomically); return `dest`.

    Raises ReferenceMissing when the tarball has no schema or not the pinned one.
    """
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            member = archive.extractfile(_SCHEMA_MEMBER)
            if member is None:
                raise KeyError(_SCHEMA_MEMBER)
            content = member.read()
    except (KeyError, OSError, tarfile.TarError) as exc:
        raise ReferenceMissing(
            f"{tarball.name} holds no readable {_SCHEMA_MEMBER} ({exc.__class__.__name__})"
        ) from None
    found = hashlib.sha256(content).hexdigest()
    if found != GRAPHQL_SCHEMA_SHA256:
        raise ReferenceMissing(
            f"{tarball.name}: schema.graphql has SHA-256 {found[:12]}..., "
            f"not the pinned {GRAPHQL_SCHEMA_SHA256[:12]}..."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Write beside, then rename: a concurrent reader sees the whole file or none.
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".schema-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is public reference data
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _npm_pack(spec: str, into: Path, npm: str) -> Path:
    """`npm pack SPEC` into `into`; the tarball's path. Raises ReferenceMissing (one line)."""
    executable = shutil.which(npm)
    if executable is None:
        raise ReferenceMissing(f"`{npm}` is not installed")
    try:
        done = subprocess.run(
            [executable, "pack", spec, "--pack-destination", str(into), "--silent"],
            cwd=into,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReferenceMissing(f"`npm pack {spec}` did not finish ({exc})") from None
    tarballs = sorted(into.glob("*.tgz"))
    if done.returncode != 0 or not tarballs:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise ReferenceMissing(f"`npm pack {spec}` failed: {reason}")
    return tarballs[0]


def github_schema_path(*, fetch: bool = True, npm: str = "npm", cache: Path | None = None) -> Path:
    """GitHub's public GraphQL schema (SDL): shared/'s copy, else the pinned npm package's.

    Looks in shared_dir()/github/graphql/schema.graphql, then in `cache` (default cache_dir());
    with `fetch`, fills the cache with `npm pack @octokit/graphql-schema@<pinned>`. Raises
    ReferenceMissing (one line naming both places and what to do) when neither gives it.
    """
    local = shared_dir() / "github" / "graphql" / "schema.graphql"
    if local.is_file():
        return local
    cache = cache or cache_dir()
    cached = cache / f"graphql-schema-{GRAPHQL_SCHEMA_VERSION}" / "schema.graphql"
    if cached.is_file() and _sha256(cached) == GRAPHQL_SCHEMA_SHA256:
        return cached
    spec = f"{GRAPHQL_SCHEMA_PACKAGE}@{GRAPHQL_SCHEMA_VERSION}"
    attempt = (spec, str(cached), npm)
    if not fetch:
        reason = "fetching is off"
    elif attempt in _fetch_failures:
        reason = _fetch_failures[attempt]
    else:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".npm-pack-") as scratch:
            try:
                return extract_graphql_schema(_npm_pack(spec, Path(scratch), npm), cached)
            except ReferenceMissing as exc:
                reason = _fetch_failures[attempt] = str(exc)
    raise ReferenceMissing(
        f"GitHub's GraphQL schema is missing: not at {local} (set {SHARED_DIR_ENV} to the "
        f"shared/ directory) and not fetched from npm into {cached.parent} ({reason})"
    )
