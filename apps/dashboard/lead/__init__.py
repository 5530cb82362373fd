"""What the team lead's pages show, one module per page (apps.dashboard.views_lead renders it).

`scope` reads a page's filters and `tables` holds the table and CSV scaffold every page shares;
the figures come from apps.metrics (aggregates, percentiles), computed by the database.
"""
