"""Writes to the catalog. Each records its versions in one transaction.

`actor` is the user making the change (`None`: a process outside any request,
not permission-checked, recorded with no user). Data keys are model field names;
`category` is a category's primary key (or None) and `tags` a list of tag names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from history.bulk import history_bulk_create, history_bulk_update
from history.changesets import changeset_scope
from history.errors import (
    HistoryErrorCode,
    OperationDenied,
    as_invalid,
    operation_error,
)
from history.heads import related_pks
from history.locks import lock_objects
from history.revert import RevertResult, history_revert
from history.signals import mark_lock_held
from history.validation import assign_fields, clean_reason, text_problem
from history.versions import as_stored
from history.writes import (
    history_delete,
    history_save,
    locked_instance,
    require_permission,
    tracked_create,
    tracked_update,
)
from products.models import MAX_TAGS, Category, Product, Tag

PRODUCT_FIELDS = (
    "name",
    "description",
    "price",
    "quantity",
    "category",
    "supplier_cost",
)
CATEGORY_FIELDS = ("name", "description")
STAFF_ONLY_FIELDS = ("supplier_cost",)
CENT = Decimal("0.01")
MAX_PERCENT = Decimal(10_000)
MAX_AMOUNT = Decimal(10**10)
OTHER_THAN_PRICE = [f.name for f in Product._meta.fields if f.name != "price"]


@dataclass(frozen=True)
class PriceAdjustment:
    """What `product_adjust_prices` did.

    Attributes:
        changed: The products whose price changed, each with one new version,
            in primary-key order.
        unchanged: The products whose price it left as it was (the change
            rounded to nothing, say, or the price already at zero), with no new
            version, in primary-key order.
    """

    changed: list[Product]
    unchanged: list[Product]


def products_by_pk(pks: Sequence[Any]) -> list[Product]:
    """Products with their category and tags loaded, in primary-key order."""
    return list(
        Product.objects.filter(pk__in=pks)
        .select_related("category")
        .prefetch_related("tags")
        .order_by("pk")
    )


def _check_staff_fields(actor: Any | None, data: Mapping[str, Any]) -> None:
    if actor is None:
        return
    for name in STAFF_ONLY_FIELDS:
        if name in data and not actor.is_staff:
            raise OperationDenied(f"Only staff may set {name}.")


def _lock_categories(pks: Iterable[Any]) -> None:
    """Keep categories from being deleted until the transaction ends.

    A shared lock: `category_delete` takes it exclusively (`locked_instance`), so a
    product cannot be put into a category whose deletion is under way, while
    writers into one category do not wait for each other. Callers take it
    before locking any product, the order `category_delete` locks them in.
    """
    lock_objects(Category, pks, shared=True)


def _category(pk: Any) -> Category | None:
    if pk is None:
        return None
    _lock_categories([pk])
    category = Category.objects.filter(pk=pk).first()
    if category is None:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such category.", field="category"
        )
    return category


def _clean_tag_names(
    names: Iterable[str], checked: dict[str, str | None] | None = None
) -> list[str]:
    """Tag names stripped, without blanks or repeats, sorted; checked as tag
    names and against `MAX_TAGS`. Costs no query. `checked` remembers each
    name's problems (or None) across calls: an import checks each name once.

    Raises:
        ValidationError: INVALID on `tags`.
    """
    cleaned = sorted({name.strip() for name in names if name.strip()})
    if len(cleaned) > MAX_TAGS:
        raise operation_error(
            HistoryErrorCode.INVALID,
            f"A product has at most {MAX_TAGS} tags ({len(cleaned)} given).",
            field="tags",
        )
    errors = [problem for name in cleaned if (problem := text_problem(name))]
    if errors:
        raise operation_error(HistoryErrorCode.INVALID, errors[0], field="tags")
    checked = {} if checked is None else checked
    for name in cleaned:
        if name not in checked:
            try:
                Tag(name=name).clean_fields()
                checked[name] = None
            except ValidationError as error:
                checked[name] = " ".join(error.messages)
    errors = [problem for name in cleaned if (problem := checked[name])]
    if errors:
        raise operation_error(HistoryErrorCode.INVALID, " ".join(errors), field="tags")
    return cleaned


def _tag_ids_by_name(cleaned: Sequence[str]) -> dict[str, int]:
    """The ids of tags by (cleaned) name, creating the missing ones, in a few
    statements whatever the number of names."""
    if not cleaned:
        return {}
    # A concurrent writer may be creating the same tag: skip the names that exist
    # by then (waiting for its commit), then read every id back. The tags are
    # then kept from being deleted (`tag_delete` locks a tag exclusively) until
    # the transaction ends; one deleted before its lock was granted is created
    # anew, as a missing name would be.
    for _ in range(2):
        Tag.objects.bulk_create(
            [Tag(name=name) for name in cleaned], ignore_conflicts=True
        )
        ids = dict(
            Tag.objects.filter(name__in=cleaned)
            .order_by("name")
            .values_list("name", "pk")
        )
        lock_objects(Tag, ids.values(), shared=True)
        if Tag.objects.filter(pk__in=ids.values()).count() == len(ids):
            return ids
    raise operation_error(
        HistoryErrorCode.STALE,
        "Tags were deleted while this change was being written; try again.",
        field="tags",
    )


def _tag_ids(names: Iterable[str]) -> list[int]:
    """The ids of tags by name, creating the missing ones."""
    return list(_tag_ids_by_name(_clean_tag_names(names)).values())


def _split(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Separate field values from many-to-many values; resolve the category."""
    fields = dict(data)
    m2m = {}
    if "tags" in fields:
        m2m["tags"] = _tag_ids(fields.pop("tags") or [])
    if "category" in fields:
        fields["category"] = _category(fields["category"])
    return fields, m2m


def _tags_changed(product: Product, tag_ids: list[int] | None) -> bool:
    if tag_ids is None:
        return False
    return related_pks(product, "tags") != set(tag_ids)


@changeset_scope()
@transaction.atomic
def product_create(
    *, data: Mapping[str, Any], actor: Any | None, reason: str | None = None
) -> Product:
    """Create a product (with its category and tags) and its CREATED version."""
    require_permission(actor, Product, "add")
    _check_staff_fields(actor, data)
    fields, m2m = _split(data)
    product = Product()
    assign_fields(product, fields, allowed=PRODUCT_FIELDS)
    history_save(
        instance=product,
        actor=actor,
        reason=clean_reason(reason, required=False),
        m2m=m2m,
    )
    return product


@changeset_scope()
@transaction.atomic
def product_update(
    *, pk: Any, data: Mapping[str, Any], actor: Any | None, reason: str | None = None
) -> Product:
    """Change a product's fields, category or tags and record an UPDATED version.

    The row is locked first, so concurrent writers to one product serialise. An
    update that changes no value writes nothing.
    """
    require_permission(actor, Product, "change")
    _check_staff_fields(actor, data)
    # Lock order: tags, categories, then the product (as `tag_delete` and
    # `category_delete` lock theirs before the products).
    fields, m2m = _split(data)
    product = locked_instance(Product, pk)
    changed = assign_fields(product, fields, allowed=PRODUCT_FIELDS)
    if not changed and not _tags_changed(product, m2m.get("tags")):
        product.refresh_from_db()  # drop the assigned, equal values
        return product
    history_save(
        instance=product,
        actor=actor,
        reason=clean_reason(reason, required=False),
        m2m=m2m,
    )
    return product


@changeset_scope()
@transaction.atomic
def product_delete(*, pk: Any, actor: Any | None, reason: str | None = None) -> Product:
    """Delete a product, recording its DELETED version; versions survive it."""
    require_permission(actor, Product, "delete")
    product = locked_instance(Product, pk)
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
    """Bring a product (fields, category, tags) back to one of its versions;
    see `history_revert`."""
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


@changeset_scope()
@transaction.atomic
def product_adjust_prices(
    *,
    pks: Sequence[Any],
    actor: Any | None,
    reason: str | None,
    percent: Decimal | None = None,
    amount: Decimal | None = None,
) -> PriceAdjustment:
    """Change the price of many products by a percentage or an amount, in one
    transaction, writing one UPDATED version per product whose price changes,
    with `reason`.

    Exactly one of `percent` and `amount` is given. Prices are rounded half up
    to the cent. A product whose price would stay the same (the change rounds
    to nothing) is left as it is, with no version, and reported as unchanged.
    If any product is missing or any new price is invalid, nothing is written.

    Raises:
        ValidationError: INVALID for both or neither of `percent` and `amount`,
            either out of range, no products or an invalid new price;
            NOT_FOUND for a missing product; REASON_REQUIRED without a reason.
        OperationDenied: when `actor` may not change products.
    """
    require_permission(actor, Product, "change")
    cleaned_reason = clean_reason(reason, required=True)
    if (percent is None) == (amount is None):
        raise operation_error(
            HistoryErrorCode.INVALID, "Give exactly one of percent and amount."
        )
    if percent is not None and not -100 <= percent <= MAX_PERCENT:
        raise operation_error(
            HistoryErrorCode.INVALID,
            f"percent must be between -100 and {MAX_PERCENT}.",
            field="percent",
        )
    if amount is not None and abs(amount) > MAX_AMOUNT:
        raise operation_error(
            HistoryErrorCode.INVALID,
            f"amount must be between -{MAX_AMOUNT} and {MAX_AMOUNT}.",
            field="amount",
        )
    unique = list(dict.fromkeys(pks))
    if not unique:
        raise operation_error(
            HistoryErrorCode.INVALID, "No products given.", field="ids"
        )
    lock_objects(Product, unique)
    products = list(Product.objects.select_for_update().filter(pk__in=unique))
    if len(products) != len(unique) or None in unique:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "Some products do not exist.", field="ids"
        )
    errors: dict[str, list[ValidationError]] = {}
    previous_prices = {product.pk: product.price for product in products}
    for product in products:
        price = Decimal(product.price)
        if percent is not None:
            new_price = price * (1 + percent / 100)
        else:
            new_price = price + (amount or 0)
        product.price = new_price.quantize(CENT, rounding=ROUND_HALF_UP)
        try:
            # Only the price changes: validating the other fields (the category's
            # existence, say) would cost a query per product.
            product.clean_fields(exclude=OTHER_THAN_PRICE)
        except ValidationError as error:
            for message in as_invalid(error).messages:
                errors.setdefault("price", []).append(
                    ValidationError(
                        f"{product.name} (#{product.pk}): {message}",
                        code=HistoryErrorCode.INVALID,
                    )
                )
    if errors:
        raise ValidationError(errors)
    unchanged_pks = {p.pk for p in products if p.price == previous_prices[p.pk]}
    products = [p for p in products if p.pk not in unchanged_pks]
    if products:
        _record_prices(products, actor=actor, reason=cleaned_reason)
    loaded = products_by_pk(unique)
    return PriceAdjustment(
        changed=[p for p in loaded if p.pk not in unchanged_pks],
        unchanged=[p for p in loaded if p.pk in unchanged_pks],
    )


def _record_prices(
    products: list[Product], *, actor: Any | None, reason: str | None
) -> None:
    """Save the new prices of `products`, one UPDATED version each."""
    now = timezone.now()
    for product in products:
        product.updated_at = now
    history_bulk_update(
        model=Product,
        instances=products,
        fields=["price", "updated_at"],
        actor=actor,
        reason=reason,
    )


@changeset_scope()
@transaction.atomic
def product_import(
    *, rows: Sequence[Mapping[str, Any]], actor: Any | None, reason: str | None
) -> list[Product]:
    """Create many products at once, recording a CREATED version of each.

    Rows take the fields of `product_create`, tags included (each version
    records its product's tags). Every row is validated first; if one fails,
    nothing is written. Returns the products with their category and tags
    loaded; `product_import_rows` writes the same and reads nothing back.
    """
    created = product_import_rows(rows=rows, actor=actor, reason=reason)
    return products_by_pk([product.pk for product in created])


@changeset_scope()
@transaction.atomic
def product_import_rows(
    *, rows: Sequence[Mapping[str, Any]], actor: Any | None, reason: str | None
) -> list[Product]:
    """What `product_import` writes, in a few statements whatever the number
    of rows; returns the new products as written (values as stored, primary
    keys set), their relations not loaded.

    Raises:
        OperationDenied: the actor may not add products (or set staff fields).
        ValidationError: INVALID (with the row numbers), NOT_FOUND for a
            missing category; nothing is written.
    """
    require_permission(actor, Product, "add")
    cleaned_reason = clean_reason(reason, required=False)
    if not rows:
        raise operation_error(
            HistoryErrorCode.INVALID, "No products given.", field="rows"
        )
    # The tags and categories of every row are looked up together: a few
    # statements for the whole import, none per row.
    tag_names = []
    checked: dict[str, str | None] = {}
    for row in rows:
        _check_staff_fields(actor, row)
        tag_names.append(
            _clean_tag_names(row["tags"] or [], checked) if "tags" in row else []
        )
    try:
        category_pks = {
            Category._meta.pk.to_python(row["category"])
            for row in rows
            if row.get("category") is not None
        }
    except ValidationError as error:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such category.", field="category"
        ) from error
    _lock_categories(category_pks)
    categories = Category.objects.in_bulk(category_pks)
    if len(categories) != len(category_pks):
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such category.", field="category"
        )
    products = []
    errors: dict[str, list[ValidationError]] = {}
    for index, row in enumerate(rows):
        fields = {name: value for name, value in row.items() if name != "tags"}
        if fields.get("category") is not None:
            fields["category"] = categories[
                Category._meta.pk.to_python(fields["category"])
            ]
        product = Product()
        assign_fields(product, fields, allowed=PRODUCT_FIELDS)
        try:
            # The categories were read above: no query per row for them.
            product.full_clean(exclude=["category"], validate_unique=False)
        except ValidationError as error:
            for name, messages in as_invalid(error).message_dict.items():
                errors.setdefault(name, []).extend(
                    ValidationError(
                        f"Row {index + 1}: {m}", code=HistoryErrorCode.INVALID
                    )
                    for m in messages
                )
        products.append(product)
    if errors:
        raise ValidationError(errors)
    tag_ids = _tag_ids_by_name(sorted({name for names in tag_names for name in names}))
    created = history_bulk_create(
        model=Product,
        instances=products,
        actor=actor,
        reason=cleaned_reason,
        m2m=[{"tags": [tag_ids[name] for name in names]} for names in tag_names],
    )
    for product in created:
        as_stored(product)
    return created


def category_create(
    *, data: Mapping[str, Any], actor: Any | None, reason: str | None = None
) -> Category:
    """Create a category and its CREATED version."""
    category: Category = tracked_create(
        model=Category, data=data, actor=actor, reason=reason
    )
    return category


def category_update(
    *, pk: Any, data: Mapping[str, Any], actor: Any | None, reason: str | None = None
) -> Category:
    """Change a category and record an UPDATED version (its products' versions
    keep the name it had when they were written)."""
    category: Category = tracked_update(
        model=Category, pk=pk, data=data, actor=actor, reason=reason
    )
    return category


@changeset_scope()
@transaction.atomic
def category_delete(
    *, pk: Any, actor: Any | None, reason: str | None = None
) -> Category:
    """Delete a category. Its products leave it first, each with a version that
    says so; then the category's DELETED version is recorded."""
    require_permission(actor, Category, "delete")
    category = locked_instance(Category, pk)
    cleaned_reason = clean_reason(reason, required=False)
    listed = list(category.products.values_list("pk", flat=True))
    if listed:
        require_permission(actor, Product, "change")
    moved_reason = f"Category {category.name!r} deleted" + (
        f": {cleaned_reason}" if cleaned_reason else ""
    )
    # No product can enter the locked category (see `_lock_categories`), but one
    # may leave it or be deleted before its lock is granted: lock them all, in
    # key order as `product_adjust_prices` does, then move those still in it.
    lock_objects(Product, listed)
    for product in Product.objects.select_for_update().filter(
        pk__in=listed, category=category
    ):
        mark_lock_held(product)
        product.category = None
        history_save(instance=product, actor=actor, reason=moved_reason)
    deleted_pk = category.pk
    history_delete(instance=category, actor=actor, reason=cleaned_reason)
    category.pk = deleted_pk
    return category


@changeset_scope()
@transaction.atomic
def tag_delete(*, pk: Any, actor: Any | None, reason: str | None = None) -> Tag:
    """Delete a tag. Each product that has it loses it first, with a version of
    its own that says so (`Tag 'x' deleted`, then `reason` if given); then the
    tag is deleted. Versions keep the tag's name in their snapshots."""
    require_permission(actor, Tag, "delete")
    tag = locked_instance(Tag, pk)
    cleaned_reason = clean_reason(reason, required=False)
    through = Product.tags.through
    listed = list(
        through.objects.filter(tag_id=tag.pk)
        .order_by("product_id")
        .values_list("product_id", flat=True)
    )
    if listed:
        require_permission(actor, Product, "change")
    removed_reason = f"Tag {tag.name!r} deleted" + (
        f": {cleaned_reason}" if cleaned_reason else ""
    )
    # A product may lose the tag (or be deleted) before its lock is granted:
    # lock them all in key order, then read their tags again.
    lock_objects(Product, listed)
    tags: dict[Any, list[Any]] = {}
    for product_pk, tag_pk in through.objects.filter(product_id__in=listed).values_list(
        "product_id", "tag_id"
    ):
        tags.setdefault(product_pk, []).append(tag_pk)
    having = [product_pk for product_pk, pks in tags.items() if tag.pk in pks]
    for product in Product.objects.select_for_update().filter(pk__in=having):
        mark_lock_held(product)
        history_save(
            instance=product,
            actor=actor,
            reason=removed_reason,
            m2m={"tags": [pk for pk in tags[product.pk] if pk != tag.pk]},
        )
    deleted_pk = tag.pk
    tag.delete()
    tag.pk = deleted_pk
    return tag


def category_revert(
    *,
    pk: Any,
    record_id: Any,
    actor: Any | None,
    reason: str | None,
    fields: Iterable[str] | None = None,
    expected_latest_id: Any | None = None,
    dry_run: bool = False,
) -> RevertResult:
    """Bring a category back to one of its versions (restoring it if deleted)."""
    return history_revert(
        model=Category,
        pk=pk,
        record_id=record_id,
        actor=actor,
        reason=reason,
        fields=fields,
        expected_latest_id=expected_latest_id,
        dry_run=dry_run,
    )
