"""What a version's hash covers: every hashed column, in a form that does not
depend on the database the version was written to or read back from."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.test import Client

from history.chains import hashed_fields, version_hash
from history.context import RequestContext
from history.selectors import tracked_models
from history.tracking import history_model_for
from products.models import Category, Product, Tag
from products.services import (
    category_create,
    product_adjust_prices,
    product_create,
    product_import,
    product_revert,
    product_update,
)
from tests.conftest import GraphQL
from tests.helpers import gid
from tests.history.chain_oracle import chain_problems, chain_types
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model

HASHED_COLUMNS = [
    pytest.param(model, field.attname, id=f"{model._meta.label_lower}-{field.attname}")
    for model in tracked_models()
    for field in hashed_fields(history_model_for(model))
]


def other_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A value of `field`'s column other than `value` (which may be null)."""
    if isinstance(field, models.ForeignKey):
        return other_value(field.target_field, value)
    if field.choices:
        return next(choice for choice, _ in field.choices if choice != value)
    if isinstance(field, models.JSONField):
        return {"other": value}
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.DecimalField):
        return (value or Decimal(0)) + Decimal("0.01")
    if isinstance(field, models.IntegerField | models.AutoField):
        return (value or 0) + 1
    if isinstance(field, models.DateTimeField):
        moment = value or datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        return moment + datetime.timedelta(microseconds=1)
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.GenericIPAddressField):
        return "2001:db8::2" if value == "2001:db8::1" else "2001:db8::1"
    assert isinstance(field, models.CharField | models.TextField), field
    return f"{value or ''}x"


def write_versions(model: type[models.Model]) -> Any:
    """A few versions of one object of `model`; returns its newest, read back."""
    if model is Note:
        note = Note.objects.create(title="Note", body="body", priority=1)
        note.priority = 2
        note.save()
        return Note.history.model.objects.filter(id=note.pk).latest("history_id")
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk, "tags": ["a"]},
        actor=None,
        reason="new",
    )
    first = HistoricalProduct.objects.get(id=lamp.pk)
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="undo")
    if model is Category:
        return Category.history.model.objects.get(id=lighting.pk)
    return HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")


@pytest.mark.parametrize(("model", "column"), HASHED_COLUMNS)
def test_a_version_hash_changes_with_each_hashed_column(
    model: type[models.Model], column: str
) -> None:
    version = write_versions(model)
    history_model = history_model_for(model)
    fields = hashed_fields(history_model)
    field = next(f for f in fields if f.attname == column)
    label = model._meta.label_lower
    stored = version.history_hash

    assert version_hash(label, fields, version, version.history_prev_hash) == stored
    setattr(version, column, other_value(field, getattr(version, column)))
    assert version_hash(label, fields, version, version.history_prev_hash) != stored


def test_every_column_but_the_chain_and_derived_ones_is_hashed() -> None:
    for model in tracked_models():
        history_model = history_model_for(model)
        columns = {f.attname for f in history_model._meta.concrete_fields}
        hashed = {f.attname for f in hashed_fields(history_model)}
        assert columns - hashed == {
            "history_id",
            "history_hash",
            "history_prev_hash",
            "history_user_id",
            "history_search",
        }, model


def test_a_version_hash_changes_with_its_previous_hash_and_its_model() -> None:
    version = write_versions(Product)
    fields = hashed_fields(HistoricalProduct)
    prev = version.history_prev_hash

    assert version_hash("products.product", fields, version, prev) == (
        version.history_hash
    )
    assert version_hash("products.product", fields, version, "f" * 64) != (
        version.history_hash
    )
    assert version_hash("products.category", fields, version, prev) != (
        version.history_hash
    )


# -- the same hash on either database -----------------------------------------------

AWKWARD_PRICES = ["0", "0.1", "10", "10.5", "0.07", "9999999999.99"]
AWKWARD_TEXT = 'Tête-à-tête \u2014 \U0001f4a1 naïve\r\nline "quoted" \\ tab\t end '


def as_request(
    monkeypatch: pytest.MonkeyPatch, ip_address: str | None, user_agent: str = "probe"
) -> None:
    """Versions written from now on record this request context."""
    context = RequestContext(
        ip_address=ip_address, user_agent=user_agent, request_id="req-\u00e9"
    )
    for module in ("history.signals", "history.bulk"):
        monkeypatch.setattr(f"{module}.current_request_context", lambda: context)


@pytest.mark.parametrize(
    "ip_address",
    [
        "2001:db8::1",
        "2001:0DB8:0000:0000:0000:0000:0000:0001",
        "::ffff:192.0.2.1",
        "fe80::1:2:3:4",
        "::1",
        "192.0.2.10",
        None,
    ],
)
def test_versions_read_back_hash_as_they_were_written(
    monkeypatch: pytest.MonkeyPatch, ip_address: str | None
) -> None:
    """Decimals at fewer places than their field's, moments with
    microseconds in any time zone, IPv6 addresses in any spelling, JSON with
    any characters: read back from the database, every version hashes to
    the hash computed from the values it was written with."""
    as_request(monkeypatch, ip_address, user_agent=AWKWARD_TEXT)
    lighting = category_create(
        data={"name": "Lumière \U0001f4a1", "description": AWKWARD_TEXT}, actor=None
    )
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    products = [
        Product.objects.create(
            name=f"Lamp {price}",
            description=AWKWARD_TEXT,
            price=Decimal(price),
            quantity=int(Decimal(price)) % 7,
            category=lighting,
            created_at=datetime.datetime(2024, 2, 29, 23, 59, 59, 999_999, tokyo),
        )
        for price in AWKWARD_PRICES
    ]
    for product in products:
        product.tags.add(Tag.objects.get_or_create(name="smörgåsbord \u00e6")[0])
        product_update(
            pk=product.pk,
            data={"price": str(product.price), "name": f"{product.name} \u2603"},
            actor=None,
            reason=AWKWARD_TEXT,
        )
    product_adjust_prices(
        pks=[p.pk for p in products],
        actor=None,
        reason="\u00bd off",
        percent=Decimal(-50),
    )
    product_import(
        rows=[{"name": "Imported \u00e9", "price": "0.5", "tags": ["x", "y"]}],
        actor=None,
        reason=None,
    )

    # Each product: created, tagged, renamed and halved (but the one at zero,
    # whose price stays); the category; the imported product.
    assert sorted(chain_types().values()) == sorted(
        ["+", "+", "+~~", *["+~~~"] * (len(AWKWARD_PRICES) - 1)]
    )
    assert chain_problems() == []


def test_a_request_records_an_ipv6_peer_and_its_versions_hash_as_written(
    gql: GraphQL, editor: Any
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    client = Client(REMOTE_ADDR="2001:DB8:0:0:0:0:0:A")

    answer = gql(
        """mutation($input: UpdateProductInput!) {
          updateProduct(input: $input) { __typename }
        }""",
        {"input": {"id": gid("Product", lamp.pk), "price": "1.5", "reason": "r"}},
        user=editor,
        client=client,
    )

    assert answer == {"data": {"updateProduct": {"__typename": "Product"}}}
    newest = HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")
    assert (newest.history_ip_address, newest.price) == ("2001:db8::a", Decimal("1.50"))
    assert chain_problems() == []


@pytest.mark.parametrize(
    ("price", "stored"),
    [
        (Decimal("10.5000"), "10.50"),
        (Decimal("10.555"), "10.56"),
        (Decimal("10.545"), "10.55"),
        (Decimal("1E+1"), "10.00"),
        ("7", "7.00"),
        (10.1, "10.10"),
    ],
)
def test_a_plain_save_of_a_decimal_the_database_converts_hashes_as_stored(
    price: Any, stored: str
) -> None:
    """The services validate decimals; a plain save may hold one with more
    places than the field's, which the database rounds: the version records
    (and hashes) the rounded value."""
    lamp = Product.objects.create(name="Lamp", price=price)
    lamp.price = price
    lamp.save()

    versions = HistoricalProduct.objects.filter(id=lamp.pk).order_by("history_id")
    assert [str(v.price) for v in versions] == [stored, stored]
    assert versions[1].history_changes == {}
    assert chain_problems() == []


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
@pytest.mark.parametrize(
    "created_at",
    [
        datetime.datetime(2024, 1, 1, 12, 0, 0, 123),
        "2024-01-01 12:00:00.5",
        "2024-01-01T12:00:00+05:30",
    ],
)
def test_a_plain_save_of_a_naive_or_textual_moment_hashes_as_stored(
    created_at: Any,
) -> None:
    Product.objects.create(name="Lamp", price=Decimal(1), created_at=created_at)

    assert chain_problems() == []
