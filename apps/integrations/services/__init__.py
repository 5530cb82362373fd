"""The GitHub client shared by seeding and production sync; no Django imports below here.

Import from the modules: `github_graphql` (GitHubGraphQLClient, FETCH_* queries), `errors`,
`retry` (RetryPolicy), `clock` (SystemClock, InstantClock), `ratelimit`, `coordination`,
`tokens`, `transport`.
"""
