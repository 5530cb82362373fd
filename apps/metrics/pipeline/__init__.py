"""The pipeline seeding and production sync share: fetched values, PR pages, the walk, the writer."""
