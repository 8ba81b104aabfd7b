"""`schema.graphql` is the committed source of truth: it must match the code."""

from pathlib import Path

from strawberry.printer import print_schema

from schema.root import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    exported = print_schema(schema)
    assert SCHEMA_FILE.read_text(encoding="utf-8") == exported, (
        "schema.graphql is stale: run `make schema` and commit it."
    )


def test_every_type_and_field_is_described() -> None:
    undescribed = [
        f"{name}.{field_name}"
        for name, gql_type in schema._schema.type_map.items()
        if not name.startswith("__") and hasattr(gql_type, "fields")
        for field_name, field in gql_type.fields.items()
        if not field.description
        and name in {"Query", "Mutation", "HistoricalProduct", "Product"}
    ]
    assert undescribed == []
