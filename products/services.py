"""Writes to the catalog. Each records one version, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from history.errors import HistoryErrorCode, operation_error
from history.services import (
    RevertResult,
    assign_fields,
    clean_reason,
    history_delete,
    history_revert,
    history_save,
    lock_object,
    require_permission,
)
from products.models import Product

EDITABLE_FIELDS = ("name", "description", "price", "quantity")


def _locked(pk: Any) -> Product:
    lock_object(Product, pk)
    product = Product.objects.select_for_update().filter(pk=pk).first()
    if product is None:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such product.", field="id"
        )
    return product


@transaction.atomic
def product_create(
    *, data: Mapping[str, Any], actor: Any | None, reason: str | None = None
) -> Product:
    """Create a product and its CREATED version."""
    require_permission(actor, Product, "add")
    product = Product()
    assign_fields(product, data, allowed=EDITABLE_FIELDS)
    history_save(
        instance=product, actor=actor, reason=clean_reason(reason, required=False)
    )
    return product


@transaction.atomic
def product_update(
    *, pk: Any, data: Mapping[str, Any], actor: Any | None, reason: str | None = None
) -> Product:
    """Change a product's fields and record an UPDATED version.

    The row is locked first, so concurrent writers to one product serialise. An
    update that changes no value writes nothing.
    """
    require_permission(actor, Product, "change")
    product = _locked(pk)
    if not assign_fields(product, data, allowed=EDITABLE_FIELDS):
        product.refresh_from_db()  # drop the assigned, equal values
        return product
    history_save(
        instance=product, actor=actor, reason=clean_reason(reason, required=False)
    )
    return product


@transaction.atomic
def product_delete(*, pk: Any, actor: Any | None, reason: str | None = None) -> Product:
    """Delete a product, recording its DELETED version; versions survive it."""
    require_permission(actor, Product, "delete")
    product = _locked(pk)
    deleted_pk = product.pk
    history_delete(
        instance=product, actor=actor, reason=clean_reason(reason, required=False)
    )
    product.pk = deleted_pk
    return product


def product_revert(
    *,
    pk: Any,
    record_id: Any,
    actor: Any | None,
    reason: str | None,
    fields: Iterable[str] | None = None,
    expected_latest_id: Any | None = None,
    dry_run: bool = False,
) -> RevertResult:
    """Bring a product back to one of its versions; see `history_revert`."""
    return history_revert(
        model=Product,
        pk=pk,
        record_id=record_id,
        actor=actor,
        reason=reason,
        fields=fields,
        expected_latest_id=expected_latest_id,
        dry_run=dry_run,
    )
