"""The project's GraphQL schema (`manage.py export_schema config.schema`)."""

from schema.root import schema

__all__ = ["schema"]
