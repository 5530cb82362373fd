"""REAL_PROJECTS: public projects whose real pull requests seed a dev or demo database.

Each project becomes one team (its `team_slug`); `seed_real_projects --project NAME` seeds all
of its repositories. Only real, public GitHub repositories are listed. Offline, fakehub serves
`antiwork/*` (synthetic, or the recorded datasets in ../shared/data) and `pallets/flask`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RealProject:
    """A named set of repositories seeded into one team, with default limits (None = none)."""

    name: str
    team_name: str
    repos: tuple[str, ...]
    description: str = ""
    max_prs: int | None = None  # per repository
    days_back: int | None = None

    @property
    def team_slug(self) -> str:
        return self.name


REAL_PROJECTS: dict[str, RealProject] = {
    project.name: project
    for project in (
        RealProject(
            name="antiwork",
            team_name="Antiwork",
            repos=("antiwork/gumroad", "antiwork/flexile", "antiwork/helper"),
            description="Gumroad, Flexile and Helper: Antiwork's open-source products",
        ),
        RealProject(
            name="pallets",
            team_name="Pallets",
            repos=("pallets/flask", "pallets/click", "pallets/werkzeug", "pallets/jinja"),
            description="Flask and its libraries",
            days_back=365,
        ),
        RealProject(
            name="encode",
            team_name="Encode",
            repos=("encode/httpx", "encode/starlette", "encode/uvicorn"),
            description="HTTPX, Starlette and Uvicorn",
            days_back=365,
        ),
        RealProject(
            name="psf",
            team_name="Python Software Foundation",
            repos=("psf/requests", "psf/black"),
            description="Requests and Black",
            days_back=365,
        ),
    )
}


def get_project(name: str) -> RealProject:
    """The project called `name`; KeyError with the known names otherwise."""
    try:
        return REAL_PROJECTS[name]
    except KeyError:
        known = ", ".join(sorted(REAL_PROJECTS))
        raise KeyError(f"unknown project {name!r}: known projects are {known} (or 'all')") from None
