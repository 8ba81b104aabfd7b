"""Home of the classes `schema.registry` generates for tracked models, so that
lazy annotations can name them (`strawberry.lazy("schema.generated")`)."""
