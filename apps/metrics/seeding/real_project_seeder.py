"""The readers' map name (SPEC.md) of RealProjectSeeder, now in `apps.metrics.seeding.seeder`."""

from apps.metrics.seeding.seeder import (
    ChangeCheck,
    Prefetched,
    RealProjectSeeder,
    RepoSeedResult,
    SeedProgress,
)

__all__ = ["ChangeCheck", "Prefetched", "RealProjectSeeder", "RepoSeedResult", "SeedProgress"]
