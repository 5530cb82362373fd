"""What the team lead's pages show, one module per page (apps.dashboard.views_lead renders it).

`scope` reads a page's filters, `tables` holds the table and CSV scaffold every page shares,
`stats` the grouped percentiles the database computes for them.
"""
