"""The readers' map name (SPEC.md) of REAL_PROJECTS, now in `apps.metrics.seeding.projects`."""

from apps.metrics.seeding.projects import REAL_PROJECTS, RealProject, get_project

__all__ = ["REAL_PROJECTS", "RealProject", "get_project"]
