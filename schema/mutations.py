"""Mutations: write the catalog with a reason (log in and out: `schema.auth`).

Each resolver unpacks its input, calls one service and returns; expected failures
come back as `OperationInfo` with a stable code.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, TypeAlias

import strawberry
import strawberry_django
from django.db import models
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.types import OperationInfo

from history.errors import HistoryErrorCode, operation_error
from history.services import RevertResult
from history.tracking import MAX_CHANGES, tracked_field_names
from products import services
from products.models import Category, Product
from schema.auth import AuthMutation
from schema.context import viewer_of
from schema.history import FieldChangeType, field_changes
from schema.ids import pk_of
from schema.inputs import (
    AdjustPricesInput,
    CreateCategoryInput,
    CreateProductInput,
    DeleteCategoryInput,
    DeleteProductInput,
    ImportProductsInput,
    RevertCategoryInput,
    RevertProductInput,
    UpdateCategoryInput,
    UpdateProductInput,
)
from schema.limits import list_bound
from schema.permissions import can_view_history
from schema.types import (
    CategoryType,
    HistoricalCategoryType,
    HistoricalProductType,
    ProductType,
)

NOT_DATA = {"id", "reason"}
MAX_BULK = 1000


@strawberry.type(
    name="RevertProductResult", description="What a revert did, or would do."
)
class RevertProductResult:
    product: ProductType = strawberry.field(
        description="The product after the revert (as it would be, on a dry run)."
    )
    record: HistoricalProductType | None = strawberry.field(
        description=(
            "The version the revert wrote; null on a dry run, and for viewers who "
            "may not read history."
        )
    )
    changes: list[FieldChangeType] = strawberry.field(
        description=(
            "What the revert changed, or would change; empty for viewers who may "
            "not read history (it shows the version's values)."
        ),
        metadata=list_bound(MAX_CHANGES),
    )


@strawberry.type(
    name="RevertCategoryResult", description="What a revert did, or would do."
)
class RevertCategoryResult:
    category: CategoryType = strawberry.field(
        description="The category after the revert (as it would be, on a dry run)."
    )
    record: HistoricalCategoryType | None = strawberry.field(
        description=(
            "The version the revert wrote; null on a dry run, and for viewers who "
            "may not read history."
        )
    )
    changes: list[FieldChangeType] = strawberry.field(
        description=(
            "What the revert changed, or would change; empty for viewers who may "
            "not read history (it shows the version's values)."
        ),
        metadata=list_bound(MAX_CHANGES),
    )


@strawberry.type(name="ProductsResult", description="Products a bulk change wrote.")
class ProductsResult:
    products: list[ProductType] = strawberry.field(
        description="The products, each with one new version.",
        metadata=list_bound(MAX_BULK),
    )
    count: int = strawberry.field(description="How many products were written.")


CreateProductPayload: TypeAlias = Annotated[
    ProductType | OperationInfo,
    strawberry.union(
        "CreateProductPayload", description="The new product, or why it was refused."
    ),
]
UpdateProductPayload: TypeAlias = Annotated[
    ProductType | OperationInfo,
    strawberry.union(
        "UpdateProductPayload",
        description="The changed product, or why it was refused.",
    ),
]
DeleteProductPayload: TypeAlias = Annotated[
    ProductType | OperationInfo,
    strawberry.union(
        "DeleteProductPayload",
        description="The deleted product, or why it was refused.",
    ),
]
RevertProductPayload: TypeAlias = Annotated[
    RevertProductResult | OperationInfo,
    strawberry.union(
        "RevertProductPayload",
        description="What the revert did (or would do), or why it was refused.",
    ),
]
CreateCategoryPayload: TypeAlias = Annotated[
    CategoryType | OperationInfo,
    strawberry.union(
        "CreateCategoryPayload", description="The new category, or why not."
    ),
]
UpdateCategoryPayload: TypeAlias = Annotated[
    CategoryType | OperationInfo,
    strawberry.union(
        "UpdateCategoryPayload", description="The changed category, or why not."
    ),
]
DeleteCategoryPayload: TypeAlias = Annotated[
    CategoryType | OperationInfo,
    strawberry.union(
        "DeleteCategoryPayload", description="The deleted category, or why not."
    ),
]
RevertCategoryPayload: TypeAlias = Annotated[
    RevertCategoryResult | OperationInfo,
    strawberry.union(
        "RevertCategoryPayload",
        description="What the revert did (or would do), or why it was refused.",
    ),
]
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


def _reference(value: Any, type_name: str) -> int | None:
    """The pk a given id names; -1 (names nothing) for a malformed one."""
    if value is None:
        return None
    pk = pk_of(value, type_name)
    return -1 if pk is None else pk


def _data(input: Any) -> dict[str, Any]:
    """The model fields an input sets: every given field but `id` and `reason`."""
    data = {
        item.name: getattr(input, item.name)
        for item in dataclasses.fields(input)
        if item.name not in NOT_DATA
        and getattr(input, item.name) is not strawberry.UNSET
    }
    if "category" in data:
        data["category"] = _reference(data["category"], "Category")
    if data.get("tags", ()) is None:
        data["tags"] = []
    return data


def _model_field_names(
    model: type[models.Model], api_names: list[str] | None
) -> list[str] | None:
    """Map API field names ("price") to model field names; unknown ones pass
    through as given, for the service to refuse."""
    if api_names is None:
        return None
    names = {to_camel_case(name): name for name in tracked_field_names(model)}
    return [names.get(api_name, api_name) for api_name in api_names]


def _revert(
    info: Info[Any, Any],
    model: type[models.Model],
    input: RevertProductInput | RevertCategoryInput,
    service: Any,
) -> RevertResult:
    history_type_name = f"Historical{model.__name__}"
    result: RevertResult = service(
        pk=pk_of(input.id, model.__name__),
        record_id=pk_of(input.record, history_type_name),
        actor=_actor(info),
        reason=input.reason,
        fields=_model_field_names(model, input.fields),
        # A malformed id can never be the newest version: it is STALE.
        expected_latest_id=(
            None
            if input.expected_latest is None
            else pk_of(input.expected_latest, history_type_name) or -1
        ),
        dry_run=bool(input.dry_run),
    )
    if not can_view_history(info, model):
        # The diff shows the version's values: none of it for such viewers.
        result = dataclasses.replace(result, record=None, changes=[])
    return result


def _ids(ids: list[strawberry.ID], type_name: str) -> list[int]:
    if len(ids) > MAX_BULK:
        raise operation_error(
            HistoryErrorCode.INVALID, f"At most {MAX_BULK} at once.", field="ids"
        )
    return [_reference(value, type_name) or -1 for value in ids]


@strawberry.type(description="Changes to the catalog, each recorded as a version.")
class Mutation(AuthMutation):
    @strawberry_django.mutation(
        description="Create a product (needs products.add_product)."
    )
    def create_product(
        self,
        info: Info[Any, Any],
        input: Annotated[
            CreateProductInput,
            strawberry.argument(description="The new product and why it is added."),
        ],
    ) -> CreateProductPayload:
        return services.product_create(  # type: ignore[return-value]
            data=_data(input), actor=_actor(info), reason=input.reason
        )

    @strawberry_django.mutation(
        description=(
            "Change a product (needs products.change_product); a change of no "
            "value writes no version."
        )
    )
    def update_product(
        self,
        info: Info[Any, Any],
        input: Annotated[
            UpdateProductInput,
            strawberry.argument(
                description="The product, the fields to change and why."
            ),
        ],
    ) -> UpdateProductPayload:
        return services.product_update(  # type: ignore[return-value]
            pk=pk_of(input.id, "Product"),
            data=_data(input),
            actor=_actor(info),
            reason=input.reason,
        )

    @strawberry_django.mutation(
        description=(
            "Delete a product (needs products.delete_product); its history stays."
        )
    )
    def delete_product(
        self,
        info: Info[Any, Any],
        input: Annotated[
            DeleteProductInput,
            strawberry.argument(description="The product and why it is deleted."),
        ],
    ) -> DeleteProductPayload:
        return services.product_delete(  # type: ignore[return-value]
            pk=pk_of(input.id, "Product"), actor=_actor(info), reason=input.reason
        )

    @strawberry_django.mutation(
        description=(
            "Bring a product (fields, category, tags) back to one of its versions, "
            "with a reason; restores a deleted product under its old id (needs "
            "products.change_product, and products.add_product to restore)."
        )
    )
    def revert_product(
        self,
        info: Info[Any, Any],
        input: Annotated[
            RevertProductInput,
            strawberry.argument(
                description="The product, the version to go back to, and why."
            ),
        ],
    ) -> RevertProductPayload:
        result = _revert(info, Product, input, services.product_revert)
        return RevertProductResult(
            product=result.instance,  # type: ignore[arg-type]
            record=result.record,
            changes=field_changes(result.changes),
        )

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
        products = services.product_adjust_prices(
            pks=_ids(input.ids, "Product"),
            actor=_actor(info),
            reason=input.reason,
            percent=input.percent,
            amount=input.amount,
        )
        return ProductsResult(products=products, count=len(products))  # type: ignore[arg-type]

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
            rows=[_data(row) for row in input.products],
            actor=_actor(info),
            reason=input.reason,
        )
        return ProductsResult(products=products, count=len(products))  # type: ignore[arg-type]

    @strawberry_django.mutation(
        description="Create a category (needs products.add_category)."
    )
    def create_category(
        self,
        info: Info[Any, Any],
        input: Annotated[
            CreateCategoryInput,
            strawberry.argument(description="The new category and why."),
        ],
    ) -> CreateCategoryPayload:
        return services.category_create(  # type: ignore[return-value]
            data=_data(input), actor=_actor(info), reason=input.reason
        )

    @strawberry_django.mutation(
        description="Change a category (needs products.change_category)."
    )
    def update_category(
        self,
        info: Info[Any, Any],
        input: Annotated[
            UpdateCategoryInput,
            strawberry.argument(description="The category, its changes and why."),
        ],
    ) -> UpdateCategoryPayload:
        return services.category_update(  # type: ignore[return-value]
            pk=pk_of(input.id, "Category"),
            data=_data(input),
            actor=_actor(info),
            reason=input.reason,
        )

    @strawberry_django.mutation(
        description=(
            "Delete a category (needs products.delete_category, and "
            "products.change_product when it holds products, which leave it first)."
        )
    )
    def delete_category(
        self,
        info: Info[Any, Any],
        input: Annotated[
            DeleteCategoryInput,
            strawberry.argument(description="The category and why."),
        ],
    ) -> DeleteCategoryPayload:
        return services.category_delete(  # type: ignore[return-value]
            pk=pk_of(input.id, "Category"), actor=_actor(info), reason=input.reason
        )

    @strawberry_django.mutation(
        description=(
            "Bring a category back to one of its versions, with a reason; restores "
            "a deleted category under its old id."
        )
    )
    def revert_category(
        self,
        info: Info[Any, Any],
        input: Annotated[
            RevertCategoryInput,
            strawberry.argument(
                description="The category, the version to go back to, and why."
            ),
        ],
    ) -> RevertCategoryPayload:
        result = _revert(info, Category, input, services.category_revert)
        return RevertCategoryResult(
            category=result.instance,  # type: ignore[arg-type]
            record=result.record,
            changes=field_changes(result.changes),
        )
