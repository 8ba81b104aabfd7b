"""What a user would otherwise write for W: stock strawberry-django types on the
same models, served with its optimizer, `changes` computed by simple-history's
`prev_record` + `diff_against`.

No `from __future__ import annotations`: strawberry resolves these classes'
annotations at run time, and they live here at module level so it can. Import
it once Django is set up.
"""

from decimal import Decimal
from typing import Any

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.optimizer import DjangoOptimizerExtension
from strawberry_django.relay import DjangoListConnection

from products.models import Product

VERSION_MODEL: Any = Product.history.model
# The fields `diff_against` compares, which the optimizer would otherwise defer.
COMPARED = [field.attname for field in VERSION_MODEL._meta.concrete_fields]


@strawberry.type(name="FieldChange")
class StockChange:
    field: str
    old_value: str | None
    new_value: str | None
    delta: str | None


@strawberry_django.type(get_user_model(), name="User")
class StockUser:
    username: strawberry.auto


@strawberry_django.type(VERSION_MODEL, name="HistoricalProduct")
class StockVersion(relay.Node):
    history_date: strawberry.auto
    history_user: StockUser | None

    @strawberry_django.field(only=COMPARED)
    def changes(self) -> list[StockChange]:
        version: Any = self
        previous = version.prev_record
        if previous is None:
            return []
        out = []
        for change in version.diff_against(previous).changes:
            old, new = change.old, change.new
            numeric = all(
                isinstance(value, int | Decimal) and not isinstance(value, bool)
                for value in (old, new)
            )
            out.append(
                StockChange(
                    field=to_camel_case(change.field),
                    old_value=None if old is None else str(old),
                    new_value=None if new is None else str(new),
                    delta=str(new - old) if numeric else None,
                )
            )
        return out


@strawberry_django.type(Product, name="Product")
class StockProduct(relay.Node):
    name: strawberry.auto
    history: DjangoListConnection[StockVersion] = strawberry_django.connection(
        field_name="versions"
    )


@strawberry.type
class Query:
    products: DjangoListConnection[StockProduct] = strawberry_django.connection()


schema = strawberry.Schema(query=Query, extensions=[DjangoOptimizerExtension])
