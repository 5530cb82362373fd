"""fakehub's dataset loader: the shared datasets load; bad input is one line naming file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakehub.datasets import DatasetError, load_dataset_dir, normalize_pr
from fakehub.reference import shared_dir

# shared/ sits beside the repository root (a read-only copy in CI): missing data fails the test.
SHARED_DATA = shared_dir() / "data"


def make_pr(number: int = 1, **changes: Any) -> dict[str, Any]:
    """A minimal PR node with every key DATASETS.md requires."""
    pr: dict[str, Any] = {
        "number": number,
        "title": f"PR {number}",
        "body": "",
        "state": "MERGED",
        "isDraft": False,
        "createdAt": "2025-01-01T10:00:00Z",
        "updatedAt": "2025-01-02T10:00:00Z",
        "mergedAt": "2025-01-02T10:00:00Z",
        "closedAt": "2025-01-02T10:00:00Z",
        "baseRefName": "main",
        "headRefName": "feature",
        "author": {"__typename": "User", "login": "ada"},
        "mergedBy": None,
        "additions": 3,
        "deletions": 1,
        "changedFiles": 1,
        "files": [{"path": "a.py", "additions": 3, "deletions": 1, "changeType": "MODIFIED"}],
        "commits": [
            {
                "oid": "a" * 40,
                "messageHeadline": "Do it",
                "authoredDate": "2025-01-01T10:00:00Z",
                "committedDate": "2025-01-01T11:00:00Z",
                "author": {"name": "Ada", "email": "ada@example.com", "login": "ada"},
                "additions": 3,
                "deletions": 1,
            }
        ],
    }
    pr.update(changes)
    return pr


def write_dataset(
    folder: Path, prs: list[dict[str, Any]] | list[str], name: str = "acme/rocket"
) -> Path:
    """Write repo.json and prs.jsonl (dicts as JSON lines, strings verbatim) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "repo.json").write_text(json.dumps({"nameWithOwner": name}), encoding="utf-8")
    lines = [line if isinstance(line, str) else json.dumps(line) for line in prs]
    (folder / "prs.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder


def dataset_error(path: Path) -> str:
    with pytest.raises(DatasetError) as caught:
        load_dataset_dir(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_shared_gumroad_dataset_loads_its_10_prs() -> None:
    assert SHARED_DATA.is_dir(), f"shared datasets missing at {SHARED_DATA}"
    [(repo, prs)] = load_dataset_dir(SHARED_DATA / "antiwork-gumroad")
    assert repo["nameWithOwner"] == "antiwork/gumroad"
    assert len(prs) == 10
    assert all(pr["state"] == "MERGED" for pr in prs)


def test_the_shared_flask_dataset_loads_its_1515_prs_with_defaults_filled() -> None:
    assert SHARED_DATA.is_dir(), f"shared datasets missing at {SHARED_DATA}"
    [(repo, prs)] = load_dataset_dir(SHARED_DATA / "pallets-flask")
    assert repo["nameWithOwner"] == "pallets/flask"
    assert repo["defaultBranch"] == "main"
    assert len(prs) == 1515
    assert len({pr["number"] for pr in prs}) == 1515
    for pr in prs:
        assert pr["reviews"] == [] and pr["checkSuites"] == [] and pr["commentCount"] == 0
        assert all(commit["message"] for commit in pr["commits"])


def test_a_folder_of_repositories_loads_each_of_them_sorted_by_folder() -> None:
    assert SHARED_DATA.is_dir(), f"shared datasets missing at {SHARED_DATA}"
    names = [repo["nameWithOwner"] for repo, _ in load_dataset_dir(SHARED_DATA)]
    assert names[:3] == ["antiwork/flexile", "antiwork/gumroad", "pallets/flask"]


def test_optional_keys_get_their_defaults(tmp_path: Path) -> None:
    [(repo, [pr])] = load_dataset_dir(write_dataset(tmp_path / "r", [make_pr()]))
    assert pr["labels"] == []
    assert pr["milestone"] is None
    assert pr["assignees"] == [] and pr["reviewRequests"] == []
    assert pr["closingIssuesReferences"] == []
    assert pr["reviews"] == [] and pr["checkSuites"] == []
    assert pr["commentCount"] == 0
    assert pr["commits"][0]["message"] == "Do it"
    assert repo["defaultBranch"] == "main"
    assert repo["pushedAt"] == "2025-01-02T10:00:00Z"
    assert repo["createdAt"] == "2025-01-01T10:00:00Z"


def test_nested_optional_keys_get_their_defaults(tmp_path: Path) -> None:
    pr = make_pr(
        labels=[{"name": "bug"}],
        milestone={"title": "v1"},
        closingIssuesReferences=[{"number": 7}],
        reviews=[
            {
                "databaseId": 5,
                "author": None,
                "state": "APPROVED",
                "submittedAt": "2025-01-01T12:00:00Z",
            }
        ],
        checkSuites=[
            {
                "app": {"name": "CI"},
                "checkRuns": [{"databaseId": 9, "name": "t", "status": "QUEUED"}],
            }
        ],
    )
    [(_, [loaded])] = load_dataset_dir(write_dataset(tmp_path / "r", [pr]))
    assert loaded["labels"] == [{"name": "bug", "color": "ededed"}]
    assert loaded["milestone"] == {"title": "v1", "number": 1, "dueOn": None}
    assert loaded["closingIssuesReferences"] == [{"number": 7, "title": "Issue #7"}]
    assert loaded["reviews"][0]["body"] == ""
    suite = loaded["checkSuites"][0]
    assert suite["conclusion"] is None
    assert suite["checkRuns"][0] == {
        "databaseId": 9,
        "name": "t",
        "status": "QUEUED",
        "conclusion": None,
        "startedAt": None,
        "completedAt": None,
    }


def test_dates_with_offsets_become_utc_with_a_z(tmp_path: Path) -> None:
    pr = make_pr(createdAt="2025-01-01T12:00:00+02:00", updatedAt="2025-01-02T10:00:00.123Z")
    [(_, [loaded])] = load_dataset_dir(write_dataset(tmp_path / "r", [pr]))
    assert loaded["createdAt"] == "2025-01-01T10:00:00Z"
    assert loaded["updatedAt"] == "2025-01-02T10:00:00Z"


def test_blank_lines_are_skipped_and_line_numbers_still_count_them(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "r", [make_pr(1), "", make_pr(1)])
    message = dataset_error(folder)
    assert "prs.jsonl:3: duplicate PR number 1 (first on line 1)" in message


def test_normalize_pr_is_idempotent() -> None:
    once = normalize_pr(make_pr(labels=[{"name": "x"}], milestone={"title": "m"}))
    assert normalize_pr(json.loads(json.dumps(once))) == once


def test_normalize_pr_raises_a_dataset_error_naming_the_pr_and_key() -> None:
    with pytest.raises(DatasetError, match=r"PR #4: files\[0\]\.changeType must be one of"):
        normalize_pr(
            make_pr(4, files=[{"path": "a", "additions": 0, "deletions": 0, "changeType": "X"}])
        )


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["{not json"], "prs.jsonl:1: invalid JSON at column 2"),
        (
            [make_pr(1), make_pr(2), make_pr(1)],
            "prs.jsonl:3: duplicate PR number 1 (first on line 1)",
        ),
        ([make_pr(True)], "prs.jsonl:1: number must be a positive integer, got true"),
        (["[1, 2]"], "prs.jsonl:1: expected a JSON object, got a list"),
        (
            [{k: v for k, v in make_pr().items() if k != "title"}],
            "prs.jsonl:1: PR #1: missing key title",
        ),
        ([make_pr(state="DONE")], "prs.jsonl:1: PR #1: state must be one of CLOSED, MERGED, OPEN"),
        ([make_pr(createdAt="yesterday")], "PR #1: createdAt must be an ISO 8601 date"),
        (
            [make_pr(author={"login": "x", "__typename": "Org"})],
            "author.__typename must be User, Bot or Mannequin",
        ),
        ([make_pr(additions=-1)], "PR #1: additions must be a non-negative integer, got -1"),
        (
            [make_pr(commits=[{"oid": "a"}])],
            "PR #1: missing key commits[0].messageHeadline",
        ),
        (
            [
                make_pr(
                    reviews=[
                        {"databaseId": 3, "author": None, "state": "APPROVED", "submittedAt": None},
                        {
                            "databaseId": 3,
                            "author": None,
                            "state": "COMMENTED",
                            "submittedAt": None,
                        },
                    ]
                )
            ],
            "reviews[1].databaseId 3 is already used by another review",
        ),
        (
            [
                make_pr(
                    checkSuites=[
                        {
                            "app": None,
                            "checkRuns": [{"databaseId": 1, "name": "t", "status": "DONE"}],
                        }
                    ]
                )
            ],
            "checkSuites[0].checkRuns[0].status must be one of COMPLETED, IN_PROGRESS",
        ),
    ],
)
def test_bad_pull_requests_are_one_line_naming_file_and_line(
    tmp_path: Path, lines: list[Any], expected: str
) -> None:
    message = dataset_error(write_dataset(tmp_path / "r", lines))
    assert str(tmp_path / "r" / "prs.jsonl") in message
    assert expected in message


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    message = dataset_error(tmp_path / "nowhere")
    assert message == f"{tmp_path / 'nowhere'}: dataset folder not found"


def test_a_folder_without_repositories_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert "no repo.json here nor in any sub-folder" in dataset_error(tmp_path / "empty")


def test_a_missing_prs_file_is_one_line(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "r", [])
    (folder / "prs.jsonl").unlink()
    assert dataset_error(folder) == f"{folder / 'prs.jsonl'}: file not found"


def test_bad_json_in_repo_json_names_its_line(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "r", [make_pr()])
    (folder / "repo.json").write_text('{\n  "nameWithOwner": "a/b",\n}\n', encoding="utf-8")
    assert dataset_error(folder).startswith(f"{folder / 'repo.json'}:3: invalid JSON")


def test_a_name_without_owner_is_one_line(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "r", [make_pr()], name="rocket")
    message = dataset_error(folder)
    assert message == f'{folder / "repo.json"}: nameWithOwner must be "owner/name", got "rocket"'


def test_the_same_repository_twice_is_one_line(tmp_path: Path) -> None:
    write_dataset(tmp_path / "all" / "one", [make_pr()])
    write_dataset(tmp_path / "all" / "two", [make_pr()])
    message = dataset_error(tmp_path / "all")
    assert "repository acme/rocket is already loaded from" in message
