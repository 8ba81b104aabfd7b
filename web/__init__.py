"""The version-history page: one static HTML page and its assets, a client of
the GraphQL API."""
