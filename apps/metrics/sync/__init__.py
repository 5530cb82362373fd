"""Production sync; `apps.metrics.sync` is a readers' map name for its parts.

`run` syncs one repository, `round` many at once, `ci_repoll` re-polls PRs whose CI was running,
`locks` keeps two syncs of one repository apart, `github` builds the client from settings.
"""
