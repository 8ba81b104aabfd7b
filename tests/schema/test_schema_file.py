"""`schema.graphql` is the committed source of truth: it must match the code."""

import os
import subprocess
import sys
from pathlib import Path

from schema.root import schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema.graphql"


def test_schema_graphql_is_up_to_date(tmp_path: Path) -> None:
    # Exported with the project's own settings: the tests' schema also holds
    # the tests' tracked model.
    exported = tmp_path / "schema.graphql"
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "export_schema",
            "config.schema",
            "--path",
            str(exported),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=True,
        capture_output=True,
    )
    assert SCHEMA_FILE.read_text(encoding="utf-8") == exported.read_text(
        encoding="utf-8"
    ), "schema.graphql is stale: run `make schema` and commit it."


# Types strawberry and strawberry-django provide, with their own documentation.
LIBRARY_TYPES = {
    "Ordering",
    "OperationInfo",
    "OperationMessage",
    "OperationMessageKind",
}


def _is_library_type(name: str) -> bool:
    return name in LIBRARY_TYPES or name.endswith(("FilterLookup", "RangeLookup"))


def test_every_type_field_and_argument_is_described() -> None:
    undescribed = []
    for name, gql_type in schema._schema.type_map.items():
        if name.startswith("__") or _is_library_type(name):
            continue
        if not gql_type.description:
            undescribed.append(name)
        for field_name, field in getattr(gql_type, "fields", {}).items():
            if field_name == "DISTINCT":  # added by strawberry-django to filters
                continue
            if not field.description:
                undescribed.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    undescribed.append(f"{name}.{field_name}({arg_name})")
    assert undescribed == []
