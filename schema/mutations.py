"""Mutations: write the catalog with a reason (log in and out: `schema.auth`).

Each resolver unpacks its input, calls one service and returns; expected failures
come back as `OperationInfo` with a stable code.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

import strawberry
import strawberry_django
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo

from history.errors import HistoryErrorCode, operation_error
from products import services
from products.models import Product
from schema.auth import AuthMutation
from schema.catalog import ProductType
from schema.context import viewer_of
from schema.inputs import AdjustPricesInput, ImportProductsInput
from schema.limits import list_bound
from schema.writes import object_data, reference

MAX_BULK = 1000


@strawberry.type(name="ProductsResult", description="Products a bulk change wrote.")
class ProductsResult:
    products: list[ProductType] = strawberry.field(
        description="The products, each with one new version.",
        metadata=list_bound(MAX_BULK),
    )
    count: int = strawberry.field(description="How many products were written.")
    unchanged: list[ProductType] = strawberry.field(
        default_factory=list,
        description=(
            "The products asked for that the change left as they were (their "
            "price would stay the same): no version was written for them."
        ),
        metadata=list_bound(MAX_BULK),
    )


AdjustPricesPayload: TypeAlias = Annotated[
    ProductsResult | OperationInfo,
    strawberry.union(
        "AdjustPricesPayload", description="The repriced products, or why not."
    ),
]
ImportProductsPayload: TypeAlias = Annotated[
    ProductsResult | OperationInfo,
    strawberry.union(
        "ImportProductsPayload", description="The imported products, or why not."
    ),
]


def _actor(info: Info[Any, Any]) -> Any:
    return viewer_of(info).user


def _ids(ids: list[strawberry.ID], type_name: str) -> list[int]:
    if len(ids) > MAX_BULK:
        raise operation_error(
            HistoryErrorCode.INVALID, f"At most {MAX_BULK} at once.", field="ids"
        )
    return [reference(value, type_name) or -1 for value in ids]


@strawberry.type(description="Changes to the catalog, each recorded as a version.")
class Mutation(AuthMutation):
    @strawberry_django.mutation(
        description=(
            "Change the price of many products by a percentage or an amount, in "
            "one transaction, one version each (needs products.change_product)."
        )
    )
    def adjust_prices(
        self,
        info: Info[Any, Any],
        input: Annotated[
            AdjustPricesInput,
            strawberry.argument(description="The products, the change and why."),
        ],
    ) -> AdjustPricesPayload:
        percent, amount = input.change()
        adjustment = services.product_adjust_prices(
            pks=_ids(input.ids, "Product"),
            actor=_actor(info),
            reason=input.reason,
            percent=percent,
            amount=amount,
        )
        changed = adjustment.changed
        return ProductsResult(
            products=changed,  # type: ignore[arg-type]
            count=len(changed),
            unchanged=adjustment.unchanged,  # type: ignore[arg-type]
        )

    @strawberry_django.mutation(
        description=(
            "Create many products at once, each with a CREATED version (needs "
            "products.add_product)."
        )
    )
    def import_products(
        self,
        info: Info[Any, Any],
        input: Annotated[
            ImportProductsInput,
            strawberry.argument(description="The products and why."),
        ],
    ) -> ImportProductsPayload:
        if len(input.products) > MAX_BULK:
            raise operation_error(
                HistoryErrorCode.INVALID,
                f"At most {MAX_BULK} at once.",
                field="products",
            )
        products = services.product_import(
            rows=[object_data(Product, row) for row in input.products],
            actor=_actor(info),
            reason=input.reason,
        )
        return ProductsResult(products=products, count=len(products))  # type: ignore[arg-type]
