"""Helpers shared by the tests of related data in history (categories, a
product's category and tags in its versions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from history.selectors import history_versions
from history.tracking import m2m_history_model
from products import services
from products.models import Category, Product, Tag

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model
HistoricalProductTags = m2m_history_model(Product, Product._meta.get_field("tags"))


# -- helpers ------------------------------------------------------------------------


def rows(queryset: Any, order: str) -> list[dict[str, Any]]:
    return [dict(row) for row in queryset.order_by(order).values()]


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row, all columns, of the catalog and of its history."""
    return {
        "categories": rows(Category.objects.all(), "pk"),
        "category_versions": rows(HistoricalCategory.objects.all(), "history_id"),
        "products": rows(Product.objects.all(), "pk"),
        "product_versions": rows(HistoricalProduct.objects.all(), "history_id"),
        "tags": rows(Tag.objects.all(), "pk"),
        "product_tags": rows(Product.tags.through.objects.all(), "pk"),
        "product_tag_versions": rows(HistoricalProductTags.objects.all(), "pk"),
    }


def category_versions(category_pk: int) -> list[Any]:
    """The versions of a category, oldest first (works after deletion)."""
    return list(reversed(history_versions(model=Category, pk=category_pk)))


def product_versions(product_pk: int) -> list[Any]:
    """The versions of a product, oldest first (works after deletion)."""
    return list(reversed(history_versions(model=Product, pk=product_pk)))


def change(
    field: str,
    old: str | None,
    new: str | None,
    *,
    label: str | None = None,
    delta: str | None = None,
    added: list[str] | None = None,
    removed: list[str] | None = None,
) -> dict[str, Any]:
    """A `FieldChange` as `CHANGE` selects it."""
    return {
        "field": field,
        "label": label or field[:1].upper() + field[1:],
        "oldValue": old,
        "newValue": new,
        "delta": delta,
        "added": added,
        "removed": removed,
    }


CHANGE = "{ field label oldValue newValue delta added removed }"
OPERATION_INFO = "... on OperationInfo { messages { kind message field code } }"


def make_category(actor: Any, name: str, description: str = "") -> Category:
    return services.category_create(
        data={"name": name, "description": description},
        actor=actor,
        reason=f"create {name}",
    )


def make_product(
    actor: Any,
    name: str,
    *,
    price: str = "10.00",
    category: Category | None = None,
    tags: list[str] | None = None,
    reason: str | None = None,
    **data: Any,
) -> Product:
    values = {
        "name": name,
        "price": Decimal(price),
        "category": category.pk if category else None,
        **data,
    }
    if tags is not None:
        values["tags"] = tags
    return services.product_create(
        data=values, actor=actor, reason=reason or f"create {name}"
    )


def change_product(product: Product, actor: Any, reason: str, **data: Any) -> Product:
    if "price" in data:
        data["price"] = Decimal(data["price"])
    if isinstance(data.get("category"), Category):
        data["category"] = data["category"].pk
    return services.product_update(pk=product.pk, data=data, actor=actor, reason=reason)


# -- categories: the life of a tracked model --------------------------------------

CATEGORY = "fragment C on Category { id name description }"
CREATE_CATEGORY = f"""
{CATEGORY}
mutation($input: CreateCategoryInput!) {{
  createCategory(input: $input) {{ __typename ...C {OPERATION_INFO} }}
}}
"""
UPDATE_CATEGORY = f"""
{CATEGORY}
mutation($input: UpdateCategoryInput!) {{
  updateCategory(input: $input) {{ __typename ...C {OPERATION_INFO} }}
}}
"""
DELETE_CATEGORY = f"""
{CATEGORY}
mutation($input: DeleteCategoryInput!) {{
  deleteCategory(input: $input) {{ __typename ...C {OPERATION_INFO} }}
}}
"""
REVERT_CATEGORY = f"""
{CATEGORY}
mutation($input: RevertCategoryInput!) {{
  revertCategory(input: $input) {{
    __typename
    ... on RevertCategoryResult {{
      category {{ ...C }}
      record {{
        historyType historyChangeReason historyUser {{ username }}
        revertedFrom {{ historyId }}
        changes {CHANGE}
      }}
      changes {CHANGE}
    }}
    {OPERATION_INFO}
  }}
}}
"""


def tag_names(*names: str) -> list[dict[str, Any]]:
    return [{"name": name} for name in names]


# -- revert with category and tags ---------------------------------------------------

REVERT_PRODUCT = f"""
mutation($input: RevertProductInput!) {{
  revertProduct(input: $input) {{
    __typename
    ... on RevertProductResult {{
      product {{ id price category {{ name }} tags {{ name }} }}
      record {{
        historyType historyChangeReason revertedFrom {{ historyId }}
        price category {{ name }} tags {{ name }}
        changes {CHANGE}
      }}
      changes {CHANGE}
    }}
    {OPERATION_INFO}
  }}
}}
"""


# -- filters and search of the audit feed -------------------------------------------

FEED = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters) {
    totalCount edges { node { name historyType historyChangeReason } }
  }
}
"""


def feed_nodes(*entries: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "productHistory": {
            "totalCount": len(entries),
            "edges": [
                {
                    "node": {
                        "name": name,
                        "historyType": history_type,
                        "historyChangeReason": reason,
                    }
                }
                for name, history_type, reason in entries
            ],
        }
    }
