"""The GraphQL layer: types, filters, inputs, queries, mutations, the root schema.

`schema` is imported lazily so that Django is set up before the types are built.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "schema":
        from schema.root import schema

        return schema
    raise AttributeError(name)
