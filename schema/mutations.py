"""Mutations: log in and out, and write products with a reason.

Each resolver unpacks its input, calls one service and returns; expected failures
come back as `OperationInfo` with a stable code.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, TypeAlias

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.contrib import auth
from graphql import GraphQLError
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.types import OperationInfo

from history.tracking import tracked_field_names
from products import services
from products.models import Product
from schema.context import refresh_viewer, viewer_of
from schema.errors import AuthErrorCode
from schema.history import FieldChangeType, field_changes
from schema.ids import pk_of
from schema.inputs import (
    CreateProductInput,
    DeleteProductInput,
    RevertProductInput,
    UpdateProductInput,
)
from schema.permissions import can_view_history
from schema.types import HistoricalProductType, ProductType
from schema.users import UserType

NOT_DATA = {"id", "reason"}


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
        description="What the revert changed, or would change."
    )


def _actor(info: Info[Any, Any]) -> Any:
    return viewer_of(info).user


def _data(input: Any) -> dict[str, Any]:
    """The model fields an input sets: every given field but `id` and `reason`."""
    return {
        item.name: getattr(input, item.name)
        for item in dataclasses.fields(input)
        if item.name not in NOT_DATA
        and getattr(input, item.name) is not strawberry.UNSET
    }


def _model_field_names(model: Any, api_names: list[str] | None) -> list[str] | None:
    """Map API field names ("price") to model field names; unknown ones pass
    through as given, for the service to refuse."""
    if api_names is None:
        return None
    names = {to_camel_case(name): name for name in tracked_field_names(model)}
    return [names.get(api_name, api_name) for api_name in api_names]


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


@strawberry.type(description="Changes to the catalog, each recorded as a version.")
class Mutation:
    @strawberry.mutation(
        description="Log in with a username and password (session cookie)."
    )
    async def login(
        self,
        info: Info[Any, Any],
        username: Annotated[
            str,
            strawberry.argument(description="The user's login name."),
        ],
        password: Annotated[
            str,
            strawberry.argument(description="The user's password."),
        ],
    ) -> UserType | None:
        request = info.context.request
        user = await sync_to_async(auth.authenticate)(
            request, username=username, password=password
        )
        if user is None:
            raise GraphQLError(
                "Invalid username or password.",
                extensions={"code": AuthErrorCode.INVALID_CREDENTIALS.value},
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
            "Bring a product back to one of its versions, with a reason; restores a "
            "deleted product under its old id (needs products.change_product, and "
            "products.add_product to restore)."
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
        result = services.product_revert(
            pk=pk_of(input.id, "Product"),
            record_id=pk_of(input.record, "HistoricalProduct"),
            actor=_actor(info),
            reason=input.reason,
            fields=_model_field_names(Product, input.fields),
            # A malformed id can never be the newest version: it is STALE.
            expected_latest_id=(
                None
                if input.expected_latest is None
                else pk_of(input.expected_latest, "HistoricalProduct") or -1
            ),
            dry_run=bool(input.dry_run),
        )
        return RevertProductResult(
            product=result.instance,  # type: ignore[arg-type]
            record=result.record if can_view_history(info, Product) else None,
            changes=field_changes(result.changes),
        )
