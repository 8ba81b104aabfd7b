"""Mutations: log in and out, and write products with a reason.

Each resolver unpacks its input, calls one service and returns; expected failures
come back as `OperationInfo` with a stable code.
"""

from __future__ import annotations

from typing import Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.contrib import auth
from graphql import GraphQLError
from strawberry.types import Info
from strawberry.utils.str_converters import to_snake_case

from products import services
from schema.context import refresh_viewer, viewer_of
from schema.ids import pk_of
from schema.inputs import (
    CreateProductInput,
    DeleteProductInput,
    RevertProductInput,
    UpdateProductInput,
)
from schema.types import (
    FieldChangeType,
    HistoricalProductType,
    ProductType,
    UserType,
    field_changes,
)

PRODUCT_FIELDS = ("name", "description", "price", "quantity")


@strawberry.type(
    name="RevertProductResult", description="What a revert did, or would do."
)
class RevertProductResult:
    product: ProductType
    record: HistoricalProductType | None = strawberry.field(
        description="The version the revert wrote; null on a dry run."
    )
    changes: list[FieldChangeType] = strawberry.field(
        description="What the revert changed, or would change."
    )


def _actor(info: Info[Any, Any]) -> Any:
    return viewer_of(info).user


def _data(input: Any) -> dict[str, Any]:
    return {
        name: getattr(input, name)
        for name in PRODUCT_FIELDS
        if getattr(input, name, strawberry.UNSET) is not strawberry.UNSET
    }


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Log in with a username and password (session cookie)."
    )
    async def login(
        self, info: Info[Any, Any], username: str, password: str
    ) -> UserType | None:
        request = info.context.request
        user = await sync_to_async(auth.authenticate)(
            request, username=username, password=password
        )
        if user is None:
            raise GraphQLError(
                "Invalid username or password.",
                extensions={"code": "INVALID_CREDENTIALS"},
            )
        await sync_to_async(auth.login)(request, user)
        await sync_to_async(refresh_viewer)(info, user)
        return user  # type: ignore[return-value]

    @strawberry.mutation(
        description="Log out of the session; true if someone was logged in."
    )
    async def logout(self, info: Info[Any, Any]) -> bool:
        request = info.context.request
        was_logged_in = viewer_of(info).is_authenticated
        await sync_to_async(auth.logout)(request)
        refresh_viewer(info, request.user)
        return was_logged_in

    @strawberry_django.mutation(
        description="Create a product (needs products.add_product)."
    )
    def create_product(
        self, info: Info[Any, Any], input: CreateProductInput
    ) -> ProductType:
        return services.product_create(  # type: ignore[return-value]
            data=_data(input), actor=_actor(info), reason=input.reason
        )

    @strawberry_django.mutation(
        description="Change a product (needs products.change_product)."
    )
    def update_product(
        self, info: Info[Any, Any], input: UpdateProductInput
    ) -> ProductType:
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
        self, info: Info[Any, Any], input: DeleteProductInput
    ) -> ProductType:
        return services.product_delete(  # type: ignore[return-value]
            pk=pk_of(input.id, "Product"), actor=_actor(info), reason=input.reason
        )

    @strawberry_django.mutation(
        description=(
            "Bring a product back to one of its versions, with a reason; restores a "
            "deleted product under its old id (needs products.change_product, and "
            "products.add_product to restore)."
        )
    )
    def revert_product(
        self, info: Info[Any, Any], input: RevertProductInput
    ) -> RevertProductResult:
        result = services.product_revert(
            pk=pk_of(input.id, "Product"),
            record_id=pk_of(input.record, "HistoricalProduct"),
            actor=_actor(info),
            reason=input.reason,
            fields=None
            if input.fields is None
            else [to_snake_case(f) for f in input.fields],
            # A malformed id can never be the newest version: it is STALE.
            expected_latest_id=(
                None
                if input.expected_latest is None
                else pk_of(input.expected_latest, "HistoricalProduct") or -1
            ),
            dry_run=input.dry_run,
        )
        return RevertProductResult(
            product=result.instance,  # type: ignore[arg-type]
            record=result.record,
            changes=field_changes(result.changes),
        )
