"""`manage.py import_products FILE --reason TEXT`: products from CSV or JSON
through the tracked bulk import, all or nothing."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from products.models import Category, Product, Tag
from tests.factories import CategoryFactory, ProductFactory
from tests.helpers import command_help, product_state

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def run(path: Path, *args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command("import_products", str(path), *args, stdout=out, **options)
    return out.getvalue()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def imported() -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "description": p.description,
            "price": p.price,
            "quantity": p.quantity,
            "category": p.category.name if p.category else None,
            "tags": sorted(t.name for t in p.tags.all()),
        }
        for p in Product.objects.order_by("pk")
    ]


def test_a_csv_file_becomes_products_with_versions(tmp_path: Path) -> None:
    CategoryFactory(name="Lamps")
    path = write(
        tmp_path,
        "spring.csv",
        "name,description,price,quantity,category,tags\n"
        "Desk lamp,Small,29.90,40,Lamps,brass;desk\n"
        "Mug,,7.5,,,\n",
    )

    out = run(path, reason="Spring catalog")

    assert out == "Imported 2 products.\n"
    assert imported() == [
        {
            "name": "Desk lamp",
            "description": "Small",
            "price": Decimal("29.90"),
            "quantity": 40,
            "category": "Lamps",
            "tags": ["brass", "desk"],
        },
        {
            "name": "Mug",
            "description": "",
            "price": Decimal("7.50"),
            "quantity": 0,
            "category": None,
            "tags": [],
        },
    ]
    versions = list(HistoricalProduct.objects.order_by("history_id"))
    assert [(v.history_type, v.history_change_reason) for v in versions] == [
        ("+", "Spring catalog"),
        ("+", "Spring catalog"),
    ]
    assert versions[0].history_user_id is None
    assert versions[0].history_changeset_id == versions[1].history_changeset_id
    assert versions[0].history_snapshot["tags"] == [
        {"id": Tag.objects.get(name=name).pk, "label": name}
        for name in ("brass", "desk")
    ]
    assert sorted(versions[0].tags.values_list("tag__name", flat=True)) == [
        "brass",
        "desk",
    ]


def test_a_json_file_takes_tags_as_a_list_or_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "spring.json",
        json.dumps(
            [
                {"name": "Lamp", "price": 0.1, "quantity": 3, "tags": ["a", "b"]},
                {"name": "Mug", "price": "2", "tags": "c;d"},
            ]
        ),
    )

    assert run(path, reason="Spring") == "Imported 2 products.\n"
    assert [(p["name"], p["price"], p["tags"]) for p in imported()] == [
        ("Lamp", Decimal("0.10"), ["a", "b"]),
        ("Mug", Decimal("2.00"), ["c", "d"]),
    ]


def test_format_overrides_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "products.txt", "name,price\nLamp,1\n")

    with pytest.raises(CommandError, match="give --format csv or --format json"):
        run(path, reason="x")
    assert run(path, reason="x", format="csv") == "Imported 1 products.\n"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "a.csv",
            "name,price,colour,size\nLamp,1,red,L\n",
            "Unknown columns: colour, size; a product has name, description, "
            "price, quantity, category, tags.",
        ),
        (
            "a.csv",
            "name,price,category\nLamp,1,Lamps\nMug,1,Cups\nCup,1,Cups\n",
            "Unknown categories: Cups, Lamps. Create them first; nothing was imported.",
        ),
        ("a.csv", "name,price\nLamp,cheap\n", "Row 1: price 'cheap' is not a decimal"),
        ("a.csv", "name,price\nLamp,NaN\n", "Row 1: price 'NaN' is not a decimal"),
        ("a.csv", "name,price,quantity\nL,1,2.5\n", "quantity '2.5' is not a whole"),
        (
            "a.csv",
            "name,price\nLamp,1\n,2\nMug,-1\n",
            "Nothing was imported: name: Row 2: This field cannot be blank. "
            "price: Row 3: Ensure this value is greater than or equal to 0.",
        ),
        ("a.csv", "name,price\nLamp,1,extra\n", "a row has more cells than the header"),
        ("a.csv", "", "holds no products"),
        ("a.json", "[]", "holds no products"),
        ("a.json", '{"name": "Lamp"}', "must hold a list of objects"),
        ("a.json", "[1, 2]", "must hold a list of objects"),
        ("a.json", '[{"name": "Lamp",}]', "is not valid JSON"),
        ("a.json", '[{"name": "Lamp", "price": true}]', "price must be a number"),
        ("a.json", '[{"name": "Lamp", "price": 1, "category": 3}]', "by its name"),
        ("a.json", '[{"name": "Lamp", "price": 1, "tags": [1]}]', "list of names"),
        ("a.json", '[{"name": "Lamp", "price": 1, "tags": {}}]', "list of names"),
        ("a.json", '[{"name": ["Lamp"], "price": 1}]', "name must be text"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    ProductFactory(name="Existing")
    before = product_state()

    with pytest.raises(CommandError) as error:
        run(write(tmp_path, name, text), reason="Spring")

    assert message in str(error.value)
    assert product_state() == before


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.csv"):
        run(tmp_path / "missing.csv", reason="x")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"name,price\n\xff\xfe,1\n")
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        run(binary, reason="x")


def test_a_reason_is_required(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "name,price\nLamp,1\n")

    with pytest.raises(CommandError, match="--reason must not be blank"):
        run(path, reason="  ")
    with pytest.raises(CommandError, match="required: --reason"):
        run(path)
    assert not Product.objects.exists()


def test_two_categories_of_one_name_are_refused(tmp_path: Path) -> None:
    CategoryFactory(name="Lamps")
    CategoryFactory(name="Lamps")
    path = write(tmp_path, "a.csv", "name,price,category\nLamp,1,Lamps\n")

    with pytest.raises(CommandError, match="More than one category is named Lamps"):
        run(path, reason="x")
    assert Category.objects.count() == 2
    assert not Product.objects.exists()


def test_help_explains_the_command() -> None:
    text = command_help("import_products")

    assert "FILE" in text
    assert "--format {csv,json}" in text
    assert "--reason TEXT" in text
    assert "all or nothing" in text
