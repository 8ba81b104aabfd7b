"""`manage.py import_products FILE --reason TEXT`: create products from a CSV or
JSON file, all or nothing, each with a CREATED version."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from products.models import Category
from products.services import product_import_rows

COLUMNS = ("name", "description", "price", "quantity", "category", "tags")
TAG_SEPARATOR = ";"
# Left out when empty: the product's default (or none) applies.
OPTIONAL = ("description", "quantity", "category", "tags")


class Command(BaseCommand):
    help = (
        "Create the products of FILE, all or nothing, each with a CREATED version "
        "carrying --reason, through the tracked bulk path. A CSV file has a header "
        "row; a JSON file holds a list of objects. Columns or keys are the "
        "product's fields: name, description, price, quantity, and optionally "
        "category (an existing category's name: unknown names are refused and "
        "listed) and tags (names separated by ';' in CSV, a list or such a text "
        "in JSON; missing tags are created). Any other column is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="The CSV or JSON file.")
        parser.add_argument(
            "--format",
            choices=("csv", "json"),
            help="The file's format; by default its extension (.csv or .json).",
        )
        parser.add_argument(
            "--reason",
            required=True,
            metavar="TEXT",
            help="Why the products are imported: every version records it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("--reason must not be blank.")
        records = _read(path, options["format"] or _format_of(path))
        if not records:
            raise CommandError(f"{path} holds no products.")
        unknown = sorted({key for record in records for key in record} - set(COLUMNS))
        if unknown:
            raise CommandError(
                f"Unknown columns: {', '.join(unknown)}; "
                f"a product has {', '.join(COLUMNS)}."
            )
        rows = [_row(index, record) for index, record in enumerate(records, 1)]
        _resolve_categories(rows)
        try:
            products = product_import_rows(rows=rows, actor=None, reason=reason)
        except ValidationError as error:
            raise CommandError(f"Nothing was imported: {_describe(error)}") from error
        self.stdout.write(f"Imported {len(products)} products.")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("csv", "json"):
        raise CommandError(
            f"Cannot tell the format of {path}: give --format csv or --format json."
        )
    return suffix


def _read(path: Path, file_format: str) -> list[Mapping[str, Any]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            if file_format == "csv":
                reader = csv.DictReader(file)
                records: Any = list(reader)
                if reader.fieldnames is None:
                    return []
                if any(None in record for record in records):
                    raise CommandError(f"{path}: a row has more cells than the header.")
            else:
                records = json.load(file)
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
    except UnicodeDecodeError as error:
        raise CommandError(f"{path} is not UTF-8 text.") from error
    except csv.Error as error:
        raise CommandError(f"{path} is not valid CSV: {error}.") from error
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{path} is not valid JSON: {error.msg} (line {error.lineno})."
        ) from error
    if not isinstance(records, list) or not all(
        isinstance(record, dict) for record in records
    ):
        raise CommandError(f"{path} must hold a list of objects.")
    return records


def _row(number: int, record: Mapping[str, Any]) -> dict[str, Any]:
    """A file's record (the `number`th) as `product_import_rows` takes it: empty
    optional cells left out, price a decimal, quantity an integer, tags a list.

    Raises:
        CommandError: a price or quantity that is not a number.
    """
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key in OPTIONAL and value in ("", None):
            continue
        if key == "price":
            value = _number(number, key, value, Decimal)
        elif key == "quantity":
            value = _number(number, key, value, int)
        elif key == "tags":
            if isinstance(value, str):
                value = value.split(TAG_SEPARATOR)
            if not isinstance(value, list) or not all(
                isinstance(name, str) for name in value
            ):
                raise CommandError(
                    f"Row {number}: tags are names separated by "
                    f"'{TAG_SEPARATOR}', or a list of names."
                )
            value = [name for name in value if name.strip()]
        elif key in ("name", "description") and not isinstance(value, str):
            raise CommandError(f"Row {number}: {key} must be text, not {value!r}.")
        row[key] = value
    return row


def _number(number: int, key: str, value: Any, kind: type[Any]) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CommandError(f"Row {number}: {key} must be a number, not {value!r}.")
    try:
        # A JSON float goes through its text: Decimal(0.1) is not 0.1.
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        parsed = None
    if (
        parsed is None
        or not parsed.is_finite()
        or (kind is int and parsed != parsed.to_integral_value())
    ):
        raise CommandError(
            f"Row {number}: {key} {value!r} is not "
            + ("a whole number." if kind is int else "a decimal number.")
        )
    return int(parsed) if kind is int else parsed


def _resolve_categories(rows: list[dict[str, Any]]) -> None:
    """Replace category names by primary keys; refuse names no category has,
    or more than one has."""
    names = {row["category"] for row in rows if "category" in row}
    if not names:
        return
    if not all(isinstance(name, str) for name in names):
        raise CommandError("A category is given by its name, as text.")
    found: dict[str, list[int]] = {}
    for pk, name in Category.objects.filter(name__in=names).values_list("pk", "name"):
        found.setdefault(name, []).append(pk)
    missing = sorted(names - set(found))
    if missing:
        raise CommandError(
            f"Unknown categories: {', '.join(missing)}. Create them first; "
            "nothing was imported."
        )
    ambiguous = sorted(name for name, pks in found.items() if len(pks) > 1)
    if ambiguous:
        raise CommandError(
            f"More than one category is named {', '.join(ambiguous)}; "
            "nothing was imported."
        )
    for row in rows:
        if "category" in row:
            row["category"] = found[row["category"]][0]


def _describe(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)
