"""The GitHub client shared by seeding and production sync; no Django imports below here.

Import from the modules: `client` (GitHubGraphQLClient), `queries` (the FETCH_* documents),
`completion` (follow-ups), `values`, `errors`, `retry` (RetryPolicy), `clock` (SystemClock,
InstantClock), `ratelimit`, `coordination`, `tokens`, `transport`.
"""
